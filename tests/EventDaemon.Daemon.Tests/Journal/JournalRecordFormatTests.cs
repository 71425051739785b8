using System.Buffers.Binary;
using System.Text;
using EventDaemon.Daemon.Journal;
using EventDaemon.Daemon.Journal.Internal;
using Xunit;

namespace EventDaemon.Daemon.Tests.Journal;

/// <summary>
/// The journal stage writes records through a path tuned for its cost per event (word stores, one CRC
/// pass): the bytes must stay exactly those of JOURNAL.md, which journals already on disk hold.
/// </summary>
public sealed class JournalRecordFormatTests
{
    [Fact]
    public void Crc32C_OfTheStandardCheckString_IsTheCastagnoliCheckValue()
    {
        uint crc = Crc32C.Compute("123456789"u8);

        Assert.True(crc == 0xE306_9283, $"CRC-32C of \"123456789\" is 0x{crc:X8}, the published check value is 0xE3069283");
    }

    [Fact]
    public void Crc32C_WordAtATime_EqualsByteAtATime_AtEveryLengthAndAlignment()
    {
        byte[] data = new byte[300];
        new Random(13).NextBytes(data);
        for (int offset = 0; offset < 8; offset++)
        {
            for (int length = 0; length + offset <= data.Length; length++)
            {
                ReadOnlySpan<byte> span = data.AsSpan(offset, length);
                uint fast = Crc32C.Append(Crc32C.Seed, span);
                uint reference = Crc32C.AppendBytewise(Crc32C.Seed, span);
                Assert.True(fast == reference, $"{length} bytes at offset {offset}: 0x{fast:X8} word at a time, 0x{reference:X8} byte at a time");
            }
        }
    }

    [Fact]
    public void Crc32C_CopyAndAppend_CopiesExactlyTheBytes_AndGivesTheChecksumOfThem()
    {
        byte[] data = new byte[64];
        new Random(7).NextBytes(data);
        for (int length = 0; length <= 40; length++)
        {
            byte[] copy = new byte[length + 8];
            Array.Fill(copy, (byte)0xEE);

            uint crc = Crc32C.CopyAndAppend(0x1234_5678, data.AsSpan(3, length), copy);

            uint reference = Crc32C.AppendBytewise(0x1234_5678, data.AsSpan(3, length));
            Assert.True(crc == reference, $"{length} bytes: 0x{crc:X8} while copying, 0x{reference:X8} byte at a time");
            Assert.True(copy.AsSpan(0, length).SequenceEqual(data.AsSpan(3, length)), $"{length} bytes were not copied as they are");
            Assert.True(copy.AsSpan(length).IndexOfAnyExcept((byte)0xEE) < 0, $"copying {length} bytes wrote past them");
        }
    }

    [Fact]
    public void WriteRecord_EveryPaddingLength_WritesTheDocumentedBytes_OverDirtyMemory()
    {
        for (int length = 0; length <= 24; length++)
        {
            byte[] payload = Encoding.ASCII.GetBytes(new string('e', length));
            var entry = new JournalEntry(0x0102_0304_0506_0708 + length, -5_000 - length, 1_764_151_200_000_000_000 + length, (ushort)(0xA0B0 + length), 0xC0D0);
            byte[] written = new byte[JournalLayout.RecordBytes(length) + 16];
            // Whatever a group buffer held before (an earlier, longer group): the padding must still read as zeros.
            Array.Fill(written, (byte)0xEE);

            int size = JournalLayout.WriteRecord(written, entry, payload);

            byte[] expected = Reference(entry, payload);
            Assert.True(size == expected.Length, $"a {length}-byte payload made a {size}-byte record, expected {expected.Length}");
            Assert.True(written.AsSpan(0, size).SequenceEqual(expected), $"a {length}-byte payload's record differs from the documented layout: {Convert.ToHexString(written, 0, size)} vs {Convert.ToHexString(expected)}");
            Assert.True(written.AsSpan(size).IndexOfAnyExcept((byte)0xEE) < 0, $"a {length}-byte payload's record wrote past its {size} bytes");
            Assert.True(JournalLayout.TryReadRecord(written.AsSpan(0, size), out JournalEntry read, out ReadOnlySpan<byte> back, out _), $"a {length}-byte payload's record does not read back");
            Assert.True(read == entry && back.SequenceEqual(payload), $"a {length}-byte payload's record reads back as {read}");
        }
    }

    /// <summary>The layout of JOURNAL.md, field by field, CRC byte by byte: what records on disk hold.</summary>
    private static byte[] Reference(in JournalEntry entry, byte[] payload)
    {
        byte[] record = new byte[(40 + payload.Length + 7) & ~7];
        BinaryPrimitives.WriteInt32LittleEndian(record, payload.Length);
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(8), entry.Sequence);
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(16), entry.EventNanos);
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(24), entry.IngestNanos);
        BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(32), entry.Source);
        BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(34), entry.Flags);
        payload.CopyTo(record, 40);
        uint crc = Crc32C.AppendBytewise(Crc32C.Seed, record.AsSpan(0, 4));
        crc = Crc32C.AppendBytewise(crc, record.AsSpan(8, 32 + payload.Length));
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(4), ~crc);
        return record;
    }
}
