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
    public void Sequence_HoldsItsValueInsidePadding()
    {
        var sequence = new Sequence(41);
        ref byte start = ref Unsafe.As<RawObject>(sequence).FirstField;
        ref long value = ref Unsafe.As<byte, long>(ref Unsafe.Add(ref start, 56));
        Assert.True(value == 41, "the sequence's value is not at byte 56 of its padded storage");
        sequence.SetValue(7);
        Assert.True(value == 7, "writes do not land at byte 56 of the padded storage");
    }

    private sealed class RawObject
    {
        public byte FirstField;
    }
}
