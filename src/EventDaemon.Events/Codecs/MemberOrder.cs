using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using EventDaemon.Events.Codecs.Internal;

namespace EventDaemon.Events.Codecs;

/// <summary>
/// What one reader of a stream remembers of its lines' member names, by position: the name seen
/// last at member 0, 1, … of the top-level object, with its closing quote, and what the name table
/// said of it. Senders write every event of a stream with the same members in the same order, so
/// <see cref="JsonEventParser"/> settles a name that is where it was last time with one 16-byte
/// compare: no search for the quote, no hash, no table load.
/// </summary>
/// <remarks>
/// <para>One per reader (a connection's ingest, a datagram socket's loop), passed by
/// <see langword="ref"/> to every decode and never shared between threads: the decoder reads and
/// writes it without synchronisation. A default value is ready to use; nothing allocates.</para>
/// <para>A prediction is only ever a shortcut to the answer the full scan would give: it holds the
/// bytes of a name that the scan already found plain (printable ASCII, no quote or backslash) and
/// short enough for one load, followed by its quote. When the line's bytes at the name equal those
/// bytes, the scan would have found the same quote at the same place and looked up the same name,
/// so validation is exactly as strict. Anything else (a different name, an escaped, long or
/// non-ASCII one, a line shorter than a load) takes the full scan, which replaces the prediction
/// where it can. Predictions are tied to the <see cref="Fields.FieldCatalog"/> whose lookups they
/// remember and are dropped when a decode uses another one (after a reload).</para>
/// </remarks>
public struct MemberOrder : IMemberOrder
{
    /// <summary>Positions remembered: members after these take the full scan every time.</summary>
    /// <remarks>Events carry a handful of members; 16 covers them in under a kilobyte per reader.</remarks>
    public const int Positions = 16;

    // The table whose matches the predictions hold; null until the first decode.
    private MemberNameTable? _table;

    // Bit p set: position p holds a prediction.
    private uint _known;

    // Mutable struct, written in place by Learn.
    private Predictions _predictions;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void IMemberOrder.Use(MemberNameTable table)
    {
        if (!ReferenceEquals(_table, table))
        {
            // Only when the catalog changed (a reload), never per line.
            _table = table;
            _known = 0;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    bool IMemberOrder.TryPredict(int position, Vector128<byte> loaded, out int length, out int match)
    {
        if ((uint)position < Positions && (_known & (1u << position)) != 0)
        {
            ref Prediction p = ref _predictions[position];
            if ((loaded & p.Mask) == p.Bytes)
            {
                length = p.Length;
                match = p.Match;
                return true;
            }
        }

        length = 0;
        match = 0;
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void IMemberOrder.Learn(int position, Vector128<byte> loaded, int length, int match)
    {
        if ((uint)position < Positions)
        {
            ref Prediction p = ref _predictions[position];
            Vector128<byte> mask = ByteMasks.KeepFirst(length + 1);
            p.Mask = mask;
            p.Bytes = loaded & mask;
            p.Length = length;
            p.Match = match;
            _known |= 1u << position;
        }
    }

    /// <summary>One position's name: its bytes and closing quote, zero after; the mask of those bytes; the name's length and match.</summary>
    private struct Prediction
    {
        public Vector128<byte> Bytes;
        public Vector128<byte> Mask;
        public int Length;
        public int Match;
    }

    [InlineArray(Positions)]
    private struct Predictions
    {
        private Prediction _first;
    }
}
