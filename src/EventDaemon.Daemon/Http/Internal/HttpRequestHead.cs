using System.Text;

namespace EventDaemon.Daemon.Http.Internal;

/// <summary>
/// The parts of a request head the endpoint acts on, or the status that refuses it. Only
/// <c>GET</c> and <c>HEAD</c> of three paths are served, so the parser keeps nothing else: no
/// header is stored, and a body is refused rather than read.
/// </summary>
/// <param name="Status">0 when the request may be routed; else the refusal (400, 405, 413, 505).</param>
/// <param name="IsHead"><c>HEAD</c>: the reply has the headers of <c>GET</c> and no body.</param>
/// <param name="Path">The target without its query string; empty when refused before it was read.</param>
internal readonly record struct HttpRequestHead(int Status, bool IsHead, string Path)
{
    /// <summary>
    /// Parses a head (request line and header lines, without the blank line that ends it). Lines
    /// may end with CRLF or a bare LF, as RFC 9112 §2.2 lets a server accept.
    /// </summary>
    public static HttpRequestHead Parse(ReadOnlySpan<byte> head)
    {
        int end = head.IndexOf((byte)'\n');
        ReadOnlySpan<byte> line = TrimCr(end < 0 ? head : head[..end]);
        ReadOnlySpan<byte> headers = end < 0 ? [] : head[(end + 1)..];

        int firstSpace = line.IndexOf((byte)' ');
        int lastSpace = line.LastIndexOf((byte)' ');
        if (firstSpace <= 0 || lastSpace == firstSpace || lastSpace == line.Length - 1)
        {
            return new HttpRequestHead(400, false, "");
        }

        ReadOnlySpan<byte> method = line[..firstSpace];
        ReadOnlySpan<byte> target = line[(firstSpace + 1)..lastSpace];
        ReadOnlySpan<byte> version = line[(lastSpace + 1)..];
        if (target.IsEmpty || target.IndexOf((byte)' ') >= 0)
        {
            return new HttpRequestHead(400, false, "");
        }

        if (!version.StartsWith("HTTP/"u8))
        {
            return new HttpRequestHead(400, false, "");
        }

        if (!version.SequenceEqual("HTTP/1.1"u8) && !version.SequenceEqual("HTTP/1.0"u8))
        {
            return new HttpRequestHead(505, false, "");
        }

        bool isHead = method.SequenceEqual("HEAD"u8);
        if (!isHead && !method.SequenceEqual("GET"u8))
        {
            return new HttpRequestHead(405, false, "");
        }

        if (HasBody(headers))
        {
            return new HttpRequestHead(413, isHead, "");
        }

        int query = target.IndexOf((byte)'?');
        string path = Encoding.ASCII.GetString(query < 0 ? target : target[..query]);
        return new HttpRequestHead(0, isHead, path);
    }

    /// <summary>A <c>Content-Length</c> other than 0, or any <c>Transfer-Encoding</c>: a body follows, which nothing here reads.</summary>
    private static bool HasBody(ReadOnlySpan<byte> headers)
    {
        while (!headers.IsEmpty)
        {
            int end = headers.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = TrimCr(end < 0 ? headers : headers[..end]);
            headers = end < 0 ? [] : headers[(end + 1)..];
            int colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                continue;
            }

            ReadOnlySpan<byte> name = line[..colon];
            ReadOnlySpan<byte> value = line[(colon + 1)..].Trim(" \t"u8);
            if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
            {
                return true;
            }

            if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8) && !value.SequenceEqual("0"u8))
            {
                return true;
            }
        }

        return false;
    }

    private static ReadOnlySpan<byte> TrimCr(ReadOnlySpan<byte> line) =>
        !line.IsEmpty && line[^1] == (byte)'\r' ? line[..^1] : line;
}
