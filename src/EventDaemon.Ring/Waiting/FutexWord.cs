using System.Runtime.CompilerServices;
using EventDaemon.Ring.Interop;

namespace EventDaemon.Ring.Waiting;

/// <summary>
/// A generation word threads sleep on with futex(2): a sleeper sleeps only while the word still
/// holds the generation it read, and a waker bumps the word and wakes every sleeper in one system
/// call. No lock on either side, so a woken thread does not queue for a monitor its waker holds.
/// </summary>
/// <remarks>Who may sleep and when a wake is owed is the owner's business (see
/// <see cref="Sequence"/> and <see cref="WaitSignal"/>): this type is only the kernel's side.</remarks>
internal sealed unsafe class FutexWord
{
    // The word sits alone on a cache line inside a pinned array: the kernel keys a private futex
    // by address, so the word must not move, and the pinned heap gives a fixed address with no
    // native allocation to own.
    private const int WordIndex = 16;
    private readonly int[] _words = GC.AllocateArray<int>(2 * WordIndex, pinned: true);
    private readonly int* _word;

    public FutexWord() => _word = (int*)Unsafe.AsPointer(ref _words[WordIndex]);

    /// <summary>The current generation.</summary>
    /// <remarks>Acquire: a sleeper that reads a generation bumped by <see cref="WakeAll"/> sees every
    /// write its waker made before the bump.</remarks>
    public int Generation => Volatile.Read(ref *_word);

    /// <summary>Starts a new generation and wakes every thread sleeping on an older one.</summary>
    /// <remarks>The bump is a full fence: writes before it (the sequence that moved, an alert) are
    /// visible to a sleeper that reads the new generation.</remarks>
    public void WakeAll()
    {
        Interlocked.Increment(ref *_word);
        Libc.futex(Libc.SysFutex, _word, Libc.FutexWakePrivate, int.MaxValue, null, 0, 0);
    }

    /// <summary>Sleeps until a generation newer than <paramref name="generation"/> or the timeout
    /// (or a spurious wake-up: callers re-check their condition).</summary>
    /// <returns>True if the generation moved on (a wake-up was issued), false on timeout.</returns>
    public bool Sleep(int generation, int timeoutMs)
    {
        var timeout = new Libc.Timespec { Seconds = timeoutMs / 1000, Nanoseconds = timeoutMs % 1000 * 1_000_000L };
        // Returns at once (EAGAIN) if a wake-up already moved the word on.
        Libc.futex(Libc.SysFutex, _word, Libc.FutexWaitPrivate, generation, &timeout, 0, 0);
        return Volatile.Read(ref *_word) != generation;
    }
}
