using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;
using EventDaemon.Stages.Transforms.Internal;

namespace EventDaemon.Stages.Transforms;

/// <summary>
/// An enrich transform's CSV table, loaded once (at start and on every <c>reload</c>) into flat
/// arrays and looked up by the UTF-8 bytes of an event's field without allocating. Immutable once
/// loaded, so any number of threads may read it; a reload builds a new table, and the graph that
/// uses it, while the old one keeps running until the switch.
/// </summary>
/// <remarks>
/// <para>The header row names the columns; the join key is the first column or <c>key_column</c>;
/// the columns added are <c>columns</c>, or every column but the key. Each row's addition is
/// rendered once, here, as the JSON members <c>,"col":"value"</c> (values are strings, escaped
/// as JSON requires; an empty cell is <c>""</c>), so a sink only copies bytes.</para>
/// <para>When a key appears on several rows the last row wins, like a repeated name in a JSON
/// object. Keys compare byte for byte (case-sensitive, no trimming).</para>
/// </remarks>
public sealed class EnrichTable
{
    /// <summary>Largest CSV file loaded: the table lives in memory, bounded like everything else.</summary>
    public const long MaxFileBytes = 256L << 20;

    /// <summary>Longest rendered addition of one row: it is inserted into a line of at most max_event_bytes.</summary>
    public const int MaxRowBytes = 64 * 1024;

    /// <summary>A constant seed: the table's layout is built once and never exposed to crafted keys.</summary>
    private const ulong Seed = 0x0E_0817C4;

    private readonly byte[] _keys;
    private readonly int[] _keyStarts;
    private readonly byte[] _rendered;
    private readonly int[] _renderedStarts;
    private readonly int[] _index;
    private readonly int _mask;

    private EnrichTable(string source, string keyColumn, string[] columns, byte[] keys, int[] keyStarts, byte[] rendered, int[] renderedStarts, int[] index, int rows, int distinct, int maxRendered)
    {
        Source = source;
        KeyColumn = keyColumn;
        Columns = columns;
        _keys = keys;
        _keyStarts = keyStarts;
        _rendered = rendered;
        _renderedStarts = renderedStarts;
        _index = index;
        _mask = index.Length - 1;
        Rows = rows;
        DistinctKeys = distinct;
        MaxRenderedLength = maxRendered;
    }

    /// <summary>Where the table came from (its path), for messages.</summary>
    public string Source { get; }

    public string KeyColumn { get; }

    /// <summary>The columns added to a matching event, in order.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>Data rows (below the header): the range of row numbers <see cref="Find"/> returns.</summary>
    public int Rows { get; }

    /// <summary>Distinct keys (a key repeated on a later row counts once).</summary>
    public int DistinctKeys { get; }

    /// <summary>The longest <see cref="RenderedColumns"/> of any row: how much a line can grow.</summary>
    public int MaxRenderedLength { get; }

    /// <summary>Loads <paramref name="path"/>. Throws <see cref="EnrichTableException"/> with the reason and the fix.</summary>
    /// <param name="columns">Columns to add; empty = every column but the key.</param>
    public static EnrichTable Load(string path, string? keyColumn, IReadOnlyList<string> columns)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new EnrichTableException($"{path}: no such file (the enrich table must exist when the config is loaded)");
            }

            if (info.Length > MaxFileBytes)
            {
                throw new EnrichTableException($"{path}: {info.Length} bytes is larger than the {MaxFileBytes >> 20} MiB an enrich table may have");
            }

            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EnrichTableException($"{path}: cannot read the enrich table: {e.Message}");
        }

        return Parse(bytes, path, keyColumn, columns);
    }

    /// <summary>Builds a table from CSV bytes; <paramref name="source"/> names them in messages.</summary>
    public static EnrichTable Parse(ReadOnlySpan<byte> csv, string source, string? keyColumn, IReadOnlyList<string> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        string text;
        try
        {
            text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(csv);
        }
        catch (DecoderFallbackException)
        {
            throw new EnrichTableException($"{source}: not valid UTF-8 (save the table as UTF-8)");
        }

        List<(int Line, List<string> Fields)> records = CsvReader.Read(text, source);
        if (records.Count == 0)
        {
            throw new EnrichTableException($"{source}: empty; an enrich table needs a header row naming its columns");
        }

        List<string> header = records[0].Fields;
        var positions = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int c = 0; c < header.Count; c++)
        {
            if (!positions.TryAdd(header[c], c))
            {
                throw new EnrichTableException($"{source}:{records[0].Line}: column '{header[c]}' appears twice in the header");
            }
        }

        int key = 0;
        if (keyColumn is not null && !positions.TryGetValue(keyColumn, out key))
        {
            throw new EnrichTableException($"{source}:{records[0].Line}: key_column '{keyColumn}' is not a column of the table (columns: {string.Join(", ", header)})");
        }

        var added = new List<int>();
        if (columns.Count == 0)
        {
            added.AddRange(Enumerable.Range(0, header.Count).Where(c => c != key));
        }
        else
        {
            foreach (string column in columns)
            {
                if (!positions.TryGetValue(column, out int c))
                {
                    throw new EnrichTableException($"{source}:{records[0].Line}: column '{column}' is not a column of the table (columns: {string.Join(", ", header)})");
                }

                added.Add(c);
            }
        }

        // Each added column's `,"name":` prefix, escaped once.
        byte[][] prefixes = added.Select(c => Encoding.UTF8.GetBytes("," + JsonQuote(header[c]) + ":")).ToArray();

        int rows = records.Count - 1;
        using var keyBytes = new MemoryStream();
        using var renderedBytes = new MemoryStream();
        int[] keyStarts = new int[rows + 1];
        int[] renderedStarts = new int[rows + 1];
        int maxRendered = 0;
        for (int r = 0; r < rows; r++)
        {
            (int line, List<string> fields) = records[r + 1];
            if (fields.Count != header.Count)
            {
                throw new EnrichTableException($"{source}:{line}: {fields.Count} fields, but the header has {header.Count} (quote fields that contain commas)");
            }

            keyStarts[r] = (int)keyBytes.Length;
            keyBytes.Write(Encoding.UTF8.GetBytes(fields[key]));
            renderedStarts[r] = (int)renderedBytes.Length;
            for (int a = 0; a < added.Count; a++)
            {
                renderedBytes.Write(prefixes[a]);
                renderedBytes.Write(Encoding.UTF8.GetBytes(JsonQuote(fields[added[a]])));
            }

            int length = (int)renderedBytes.Length - renderedStarts[r];
            if (length > MaxRowBytes)
            {
                throw new EnrichTableException($"{source}:{line}: the columns of this row add {length} bytes to an event; at most {MaxRowBytes} are allowed");
            }

            maxRendered = Math.Max(maxRendered, length);
        }

        keyStarts[rows] = (int)keyBytes.Length;
        renderedStarts[rows] = (int)renderedBytes.Length;
        byte[] keys = keyBytes.ToArray();
        int capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, rows * 2));
        int[] index = new int[capacity];
        int distinct = 0;
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<byte> k = keys.AsSpan(keyStarts[r], keyStarts[r + 1] - keyStarts[r]);
            int i = (int)StableHash.Hash(k, Seed) & (capacity - 1);
            while (true)
            {
                int existing = index[i] - 1;
                if (existing < 0)
                {
                    index[i] = r + 1;
                    distinct++;
                    break;
                }

                if (keys.AsSpan(keyStarts[existing], keyStarts[existing + 1] - keyStarts[existing]).SequenceEqual(k))
                {
                    index[i] = r + 1; // the last row of a key wins
                    break;
                }

                i = (i + 1) & (capacity - 1);
            }
        }

        return new EnrichTable(source, header[key], added.Select(c => header[c]).ToArray(), keys, keyStarts, renderedBytes.ToArray(), renderedStarts, index, rows, distinct, maxRendered);
    }

    /// <summary>The row whose key is <paramref name="key"/> (UTF-8), or -1. Does not allocate.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(ReadOnlySpan<byte> key)
    {
        int[] index = _index;
        int[] starts = _keyStarts;
        int i = (int)StableHash.Hash(key, Seed) & _mask;
        while (true)
        {
            int row = index[i] - 1;
            if (row < 0)
            {
                return -1;
            }

            int start = starts[row];
            if (_keys.AsSpan(start, starts[row + 1] - start).SequenceEqual(key))
            {
                return row;
            }

            i = (i + 1) & _mask;
        }
    }

    /// <summary>The JSON members a row adds: <c>,"col":"value"</c> for each added column.</summary>
    public ReadOnlySpan<byte> RenderedColumns(int row) =>
        _rendered.AsSpan(_renderedStarts[row], _renderedStarts[row + 1] - _renderedStarts[row]);

    /// <summary>
    /// Writes <paramref name="jsonLine"/> (one JSON object, as validated at ingest) with the row's
    /// columns added as its last members: <c>{"a":1}</c> becomes <c>{"a":1,"col":"v"}</c>, and
    /// <c>{}</c> becomes <c>{"col":"v"}</c>. <paramref name="destination"/> must hold
    /// <c>jsonLine.Length + MaxRenderedLength</c> bytes. Returns the bytes written. Does not allocate.
    /// </summary>
    public int WriteEnriched(ReadOnlySpan<byte> jsonLine, int row, Span<byte> destination)
    {
        jsonLine.CopyTo(destination);
        return AddColumns(destination, jsonLine.Length, row);
    }

    /// <summary>
    /// Adds the row's columns, in place, as the last members of the JSON object in
    /// <c>line[..length]</c> (see <see cref="WriteEnriched"/>); <paramref name="line"/> must have
    /// <see cref="MaxRenderedLength"/> bytes to spare. Returns the new length. Several tables add
    /// theirs one after the other. Does not allocate.
    /// </summary>
    public int AddColumns(Span<byte> line, int length, int row)
    {
        ReadOnlySpan<byte> columns = RenderedColumns(row);
        int close = line[..length].LastIndexOf((byte)'}');
        if (close < 0 || columns.IsEmpty)
        {
            return length;
        }

        int last = close - 1;
        while (last >= 0 && line[last] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
        {
            last--;
        }

        // An empty object takes the members without the leading comma.
        if (last >= 0 && line[last] == (byte)'{')
        {
            columns = columns[1..];
        }

        // The closing brace and what follows it move right (an overlapping copy: memmove).
        line[close..length].CopyTo(line[(close + columns.Length)..]);
        columns.CopyTo(line[close..]);
        return length + columns.Length;
    }

    /// <summary>A JSON string literal: quotes, backslashes and control characters escaped.</summary>
    private static string JsonQuote(string s)
    {
        var b = new StringBuilder(s.Length + 2);
        b.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"':
                    b.Append("\\\"");
                    break;
                case '\\':
                    b.Append("\\\\");
                    break;
                case '\n':
                    b.Append("\\n");
                    break;
                case '\r':
                    b.Append("\\r");
                    break;
                case '\t':
                    b.Append("\\t");
                    break;
                default:
                    if (c < 0x20)
                    {
                        b.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        b.Append(c);
                    }

                    break;
            }
        }

        return b.Append('"').ToString();
    }
}
