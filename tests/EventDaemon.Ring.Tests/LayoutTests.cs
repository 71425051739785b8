using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Xunit;

namespace EventDaemon.Ring.Tests;

public sealed class LayoutTests
{
    [Fact]
    public void PaddedLong_KeepsItsValueAloneOnACacheLine()
    {
        Assert.True(Unsafe.SizeOf<PaddedLong>() == 128, $"PaddedLong is {Unsafe.SizeOf<PaddedLong>()} bytes, expected 128");
        int offset = (int)Marshal.OffsetOf<PaddedLong>(nameof(PaddedLong.Value));
        Assert.True(offset == 56, $"value at offset {offset}, expected 56 (56 bytes before it, 64 after)");
        Assert.True(128 - offset - sizeof(long) == 64, "less than a full cache line of padding after the value");
    }

    [Fact]
    public void SequenceCell_KeepsItsValueAndSleepersFlagAwayFromEveryOtherObject()
    {
        int size = Unsafe.SizeOf<SequenceCell>();
        int value = (int)Marshal.OffsetOf<SequenceCell>(nameof(SequenceCell.Value));
        int sleepers = (int)Marshal.OffsetOf<SequenceCell>(nameof(SequenceCell.Sleepers));
        Assert.True(size == 128, $"SequenceCell is {size} bytes, expected 128");
        Assert.True(value == 56, $"value at offset {value}, expected 56 (a line's worth minus 8 before it)");
        Assert.True(sleepers == value + sizeof(long), $"sleepers flag at offset {sleepers}, expected right after the value");
        // Any 64-byte line holding the value starts at or after byte 0; any holding the flag ends
        // at or before byte 127: both lines hold nothing but the cell.
        Assert.True(value - 56 >= 0 && sleepers + sizeof(int) + 60 <= size,
            "less than a cache line's worth of padding around the value and the flag");
    }

    [Fact]
    public void Sequence_HoldsItsValueInsideItsPaddedCell()
    {
        var sequence = new Sequence(41);
        ref byte start = ref Unsafe.As<RawObject>(sequence).FirstField;
        nint cell = Unsafe.ByteOffset(ref start, ref Unsafe.As<SequenceCell, byte>(ref sequence.Cell));
        ref long value = ref Unsafe.As<byte, long>(ref Unsafe.Add(ref start, cell + 56));
        Assert.True(value == 41, "the sequence's value is not at byte 56 of its padded cell");
        sequence.SetValue(7);
        Assert.True(value == 7, "writes do not land at byte 56 of the padded cell");
    }

    private sealed class RawObject
    {
        public byte FirstField;
    }
}
