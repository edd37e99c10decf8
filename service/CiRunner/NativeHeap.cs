using System.Runtime.InteropServices;

namespace CiRunner;

/// <summary>The C library's heap, which SQLite, libgit2 and the runtime's own threads allocate from.</summary>
internal static class NativeHeap
{
    /// <summary>The most heaps glibc's malloc keeps; it makes up to eight per core, one for each thread that meets a busy one.</summary>
    private const int MaxArenas = 2;

    /// <summary><c>M_ARENA_MAX</c> of glibc's <c>malloc.h</c>.</summary>
    private const int ArenaMaxParameter = -8;

    /// <summary>
    /// Caps glibc's malloc at <see cref="MaxArenas"/> heaps, as <c>MALLOC_ARENA_MAX=2</c> would. The service's threads
    /// mostly wait, and each extra heap keeps its freed pages resident: measured by bench/idle.sh, about 5 MiB of the
    /// idle service. Linux with glibc only; elsewhere (Windows, musl) nothing changes.
    /// </summary>
    public static void LimitArenas()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            _ = NativeMethods.mallopt(ArenaMaxParameter, MaxArenas);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            // A C library without mallopt (musl) has no arenas to cap.
        }
    }

    /// <summary>
    /// Hands the heaps' free pages back to the kernel (glibc's <c>malloc_trim(0)</c>): <c>free</c> gives memory back
    /// only from the top of a heap, so what start-up, polls and jobs freed below blocks still in use stays resident
    /// until this runs. Measured by bench/idle.sh: about 5 MiB of the idle service, which the kernel can give to others.
    /// True when pages were released. Linux with glibc only; elsewhere nothing happens and it says false.
    /// </summary>
    public static bool Trim()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            return NativeMethods.malloc_trim(0) != 0;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            // musl has no malloc_trim: its allocator returns freed memory by itself.
            return false;
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int mallopt(int param, int value);

        [DllImport("libc")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int malloc_trim(nuint pad);
    }
}
