using System.Runtime.InteropServices;
using CiRunner.Tests.Fixtures;
using Microsoft.Extensions.Time.Testing;

namespace CiRunner.Tests;

/// <summary>The C heap the service's native libraries allocate from, and the trim that gives its free pages back.</summary>
public sealed class NativeHeapTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public void Trim_MemoryFreedBetweenBlocksStillInUse_GoesBackToTheKernel()
    {
        // 1,500 blocks of 64 KiB, each followed by a small one that stays: freeing the large ones leaves 94 MiB of holes
        // that free() cannot hand back (only the top of a heap goes back by itself), as polls and jobs leave them.
        const int Blocks = 1500;
        const int Size = 64 * 1024;
        var freed = new IntPtr[Blocks];
        var kept = new IntPtr[Blocks];
        byte[] ones = new byte[Size];
        Array.Fill(ones, (byte)1);
        try
        {
            for (int i = 0; i < Blocks; i++)
            {
                freed[i] = Marshal.AllocHGlobal(Size);
                Marshal.Copy(ones, 0, freed[i], Size);
                kept[i] = Marshal.AllocHGlobal(64);
            }

            foreach (IntPtr block in freed)
            {
                Marshal.FreeHGlobal(block);
            }

            long before = AnonymousKiB();
            bool released = NativeHeap.Trim();
            long after = AnonymousKiB();

            Assert.True(released);
            Assert.True(before - after >= Blocks * (Size / 1024) / 2, $"anonymous memory went from {before} KiB to {after} KiB; expected at least {Blocks * (Size / 1024) / 2} KiB back");
        }
        finally
        {
            foreach (IntPtr block in kept)
            {
                Marshal.FreeHGlobal(block);
            }
        }
    }

    [Fact]
    public async Task Trimming_OncePerInterval()
    {
        var time = new FakeTimeProvider();
        int trims = 0;
        using var trimming = new NativeHeapTrimming(time, () => Interlocked.Increment(ref trims) > 0);
        await trimming.StartAsync(CancellationToken.None);

        // The service makes its timer once it runs, on a thread of its own: the clock moves a few seconds at a time
        // until the first minute of it has passed.
        await Eventually.TrueAsync("the first trim", () =>
        {
            time.Advance(TimeSpan.FromSeconds(5));
            return Task.FromResult(Volatile.Read(ref trims) == 1);
        }, Patience);
        time.Advance(NativeHeapTrimming.Interval);
        await Eventually.TrueAsync("the second trim", () => Task.FromResult(Volatile.Read(ref trims) == 2), Patience);
        await trimming.StopAsync(CancellationToken.None);

        Assert.Equal(2, Volatile.Read(ref trims));
    }

    /// <summary>The process's anonymous resident memory (<c>RssAnon</c>), which holds the C heap.</summary>
    private static long AnonymousKiB() =>
        long.Parse(File.ReadLines("/proc/self/status").Single(line => line.StartsWith("RssAnon:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
}
