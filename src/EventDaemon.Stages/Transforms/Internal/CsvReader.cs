using System.Text;

namespace EventDaemon.Stages.Transforms.Internal;

/// <summary>
/// Reads a CSV file (RFC 4180) into records of fields: comma-separated, quoted fields may hold
/// commas, quotes (doubled) and line breaks; records end with LF or CRLF; the last may end
/// without one. A UTF-8 byte-order mark is skipped; blank lines are ignored. Cold path: used when
/// a table is loaded, allocates freely.
/// </summary>
internal static class CsvReader
{
    /// <summary>Records with the line each starts on. Throws <see cref="EnrichTableException"/> on malformed input.</summary>
    public static List<(int Line, List<string> Fields)> Read(string text, string source)
    {
        var records = new List<(int, List<string>)>();
        int i = text.Length > 0 && text[0] == '\uFEFF' ? 1 : 0;
        int line = 1;
        var field = new StringBuilder();
        while (i < text.Length)
        {
            // Blank lines between records carry nothing.
            if (text[i] == '\n' || (text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n'))
            {
                i += text[i] == '\r' ? 2 : 1;
                line++;
                continue;
            }

            int recordLine = line;
            var fields = new List<string>();
            while (true)
            {
                field.Clear();
                if (i < text.Length && text[i] == '"')
                {
                    int quoteLine = line;
                    i++;
                    while (true)
                    {
                        if (i >= text.Length)
                        {
                            throw new EnrichTableException($"{source}:{quoteLine}: a quoted field is never closed (a '\"' is missing)");
                        }

                        char c = text[i];
                        if (c == '"')
                        {
                            if (i + 1 < text.Length && text[i + 1] == '"')
                            {
                                field.Append('"');
                                i += 2;
                                continue;
                            }

                            i++;
                            break;
                        }

                        if (c == '\n')
                        {
                            line++;
                        }

                        field.Append(c);
                        i++;
                    }

                    if (i < text.Length && text[i] != ',' && text[i] != '\n' && !(text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n'))
                    {
                        throw new EnrichTableException($"{source}:{line}: unexpected '{text[i]}' after a closing quote (a quote inside a quoted field is written \"\")");
                    }
                }
                else
                {
                    while (i < text.Length && text[i] != ',' && text[i] != '\n' && !(text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n'))
                    {
                        field.Append(text[i]);
                        i++;
                    }
                }

                fields.Add(field.ToString());
                if (i < text.Length && text[i] == ',')
                {
                    i++;
                    continue;
                }

                // End of the record: a line break or the end of the text.
                if (i < text.Length)
                {
                    i += text[i] == '\r' ? 2 : 1;
                    line++;
                }

                break;
            }

            records.Add((recordLine, fields));
        }

        return records;
    }
}
