using System.Runtime.InteropServices;
using CiRunner.Tests.Fixtures;
using Microsoft.Extensions.Time.Testing;

namespace CiRunner.Tests;

/// <summary>
/// The C heap the service's native libraries allocate from, and the trim that gives its free pages back. Alone: the
/// test reads the process's resident memory, which other tests' hosts (each trimming once a minute) and allocations move.
/// </summary>
[Collection(ProcessMemory.Name)]
public sealed class NativeHeapTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public void Trim_MemoryFreedBetweenBlocksStillInUse_GoesBackToTheKernel()
    {
        // 1,500 blocks of 64 KiB, each followed by a small one that stays: freeing the large ones leaves 94 MiB of holes
        // that free() cannot hand back (only the top of a heap goes back by itself), as polls and jobs leave them. The
        // kernel says which of their pages are resident (mincore), whatever the test process's other threads do.
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

            int written = ResidentPages(freed, Size);
            foreach (IntPtr block in freed)
            {
                Marshal.FreeHGlobal(block);
            }

            int before = ResidentPages(freed, Size);
            bool released = NativeHeap.Trim();
            int after = ResidentPages(freed, Size);

            Assert.True(released);
            Assert.True(before >= written / 2 && after <= before / 4, $"pages inside the blocks resident: {written} written, {before} freed, {after} after the trim");
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

    /// <summary>The whole pages inside the blocks that are resident now (mincore); an unmapped range counts as none.</summary>
    private static int ResidentPages(IntPtr[] blocks, int size)
    {
        long page = Environment.SystemPageSize;
        var vector = new byte[(size / page) + 1];
        int resident = 0;
        foreach (IntPtr block in blocks)
        {
            // Inside the block, past the allocator's own words at either end.
            long start = (block.ToInt64() + 64 + page - 1) / page * page;
            long end = (block.ToInt64() + size - 64) / page * page;
            if (end > start && NativeMethods.mincore(new IntPtr(start), (nuint)(end - start), vector) == 0)
            {
                resident += vector.Take((int)((end - start) / page)).Count(b => (b & 1) != 0);
            }
        }

        return resident;
    }

    private static class NativeMethods
    {
        [DllImport("libc")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int mincore(IntPtr address, nuint length, byte[] vector);
    }
}
