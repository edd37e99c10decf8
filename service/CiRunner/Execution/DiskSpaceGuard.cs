using System.Globalization;
using CiRunner.Configuration;
using Microsoft.Extensions.Options;

namespace CiRunner.Execution;

/// <summary>
/// Holds new jobs while the data directory's file system (job logs, the database) has less free space than
/// <c>Service:MinFreeDiskMb</c>: a job that runs out of space half-way is wasted work and a confusing error, a held
/// one simply starts later. Logs a warning once when holding starts and a line when it ends.
/// </summary>
public sealed partial class DiskSpaceGuard : IJobStartGate
{
    /// <summary>How often a held dispatcher looks again.</summary>
    public static readonly TimeSpan DefaultRecheckInterval = TimeSpan.FromSeconds(5);

    private readonly string _directory;
    private readonly int _minFreeMb;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<DiskSpaceGuard> _logger;
    private readonly TimeSpan _recheckInterval;
    private readonly Lock _episodeGate = new();
    private bool _holding;

    public DiskSpaceGuard(IOptions<ServiceOptions> service, DataPaths paths, TimeProvider timeProvider, ILogger<DiskSpaceGuard> logger)
        : this(paths.Root, service.Value.MinFreeDiskMb, timeProvider, logger, DefaultRecheckInterval)
    {
    }

    internal DiskSpaceGuard(string directory, int minFreeMb, TimeProvider timeProvider, ILogger<DiskSpaceGuard> logger, TimeSpan recheckInterval)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentOutOfRangeException.ThrowIfNegative(minFreeMb);
        _directory = Path.GetFullPath(directory);
        _minFreeMb = minFreeMb;
        _timeProvider = timeProvider;
        _logger = logger;
        _recheckInterval = recheckInterval;
    }

    public JobStartGateStatus Check() => Check(_directory, _minFreeMb);

    /// <summary>The same check for code without a guard (<c>cirunner status</c>).</summary>
    public static JobStartGateStatus Check(string directory, int minFreeMb)
    {
        const string Name = "disk";
        if (FreeMb(directory) is not { } free)
        {
            // Unmeasurable (the folder is not there yet): not a reason to stop work.
            return new JobStartGateStatus(Name, Open: true, $"free space of {directory} unknown");
        }

        string freeText = string.Create(CultureInfo.InvariantCulture, $"{free} MiB free in {directory}");
        if (minFreeMb == 0)
        {
            return new JobStartGateStatus(Name, Open: true, $"{freeText} (check off: Service:MinFreeDiskMb is 0)");
        }

        return free >= minFreeMb
            ? new JobStartGateStatus(Name, Open: true, string.Create(CultureInfo.InvariantCulture, $"{freeText} (Service:MinFreeDiskMb {minFreeMb})"))
            : new JobStartGateStatus(Name, Open: false, string.Create(
                CultureInfo.InvariantCulture,
                $"disk nearly full: {freeText}, less than Service:MinFreeDiskMb ({minFreeMb} MiB); new jobs are held and start by themselves once space is freed"));
    }

    public async Task WaitUntilOpenAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            JobStartGateStatus status = Check();
            lock (_episodeGate)
            {
                if (status.Open)
                {
                    if (_holding)
                    {
                        _holding = false;
                        LogResumed(status.Detail);
                    }

                    return;
                }

                if (!_holding)
                {
                    _holding = true;
                    LogHolding(status.Detail);
                }
            }

            await Task.Delay(_recheckInterval, _timeProvider, cancellationToken);
        }
    }

    private static long? FreeMb(string directory)
    {
        try
        {
            return new DriveInfo(directory).AvailableFreeSpace / (1024 * 1024);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Jobs held: {Reason}")]
    private partial void LogHolding(string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Jobs start again: {Detail}")]
    private partial void LogResumed(string detail);
}
