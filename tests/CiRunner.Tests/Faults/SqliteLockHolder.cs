using System.Diagnostics;

namespace CiRunner.Tests.Faults;

/// <summary>
/// Another process holding the results database locked: Debian's <c>sqlite3</c> shell in <c>BEGIN EXCLUSIVE</c>, as an
/// operator's open shell or a backup tool would. <see cref="ReleaseAsync"/> commits and ends it; disposing does too,
/// so no test leaves the process (or the lock) behind.
/// </summary>
public sealed class SqliteLockHolder : IAsyncDisposable
{
    private readonly Process _process;

    private SqliteLockHolder(Process process)
    {
        _process = process;
    }

    public bool Holding { get; private set; }

    /// <summary>Starts the shell and returns once it holds the lock (it waits up to 30 s for a writer to finish first).</summary>
    public static async Task<SqliteLockHolder> AcquireAsync(string databaseFile)
    {
        var start = new ProcessStartInfo("sqlite3")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-bail");
        start.ArgumentList.Add(databaseFile);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("sqlite3 did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("The database lock tests need Debian's sqlite3 shell; install it with deploy/setup-test-tools.sh (apt-get install sqlite3).", e);
        }

        var holder = new SqliteLockHolder(process);
        try
        {
            await process.StandardInput.WriteLineAsync(".timeout 30000");
            await process.StandardInput.WriteLineAsync("BEGIN EXCLUSIVE;");
            await process.StandardInput.WriteLineAsync("SELECT 'locked';");
            await process.StandardInput.FlushAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            string? line = await process.StandardOutput.ReadLineAsync(timeout.Token);
            if (line != "locked")
            {
                string error = await process.StandardError.ReadToEndAsync(timeout.Token);
                throw new InvalidOperationException($"sqlite3 could not lock {databaseFile}: {line} {error}");
            }

            holder.Holding = true;
            return holder;
        }
        catch
        {
            await holder.DisposeAsync();
            throw;
        }
    }

    /// <summary>Commits the (empty) transaction and ends the shell: the lock is gone when this returns.</summary>
    public async Task ReleaseAsync()
    {
        if (_process.HasExited)
        {
            Holding = false;
            return;
        }

        await _process.StandardInput.WriteLineAsync("COMMIT;");
        await _process.StandardInput.WriteLineAsync(".quit");
        await _process.StandardInput.FlushAsync();
        _process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        Holding = false;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await ReleaseAsync();
        }
        catch (IOException)
        {
            // The shell already ended (its stdin is closed); killing below covers the rest.
        }

        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
