using System.Data.Common;
using Dapper;

namespace CiRunner.Results;

/// <summary>What the recheck poller knows of one Gerrit project.</summary>
/// <param name="Project">The Gerrit project (<c>openstack/puppet-keystone</c>).</param>
/// <param name="BaselineAt">Gerrit's time when the project was first read; older messages never start a run.</param>
/// <param name="LastUpdated">The newest change update seen, in Gerrit's time; null before any change was seen.</param>
/// <param name="LastPolledAt">When the last poll ended (this machine's clock).</param>
/// <param name="LastError">The last poll's error, redacted; null after a poll that worked.</param>
public sealed record RecheckProjectState(string Project, string BaselineAt, string? LastUpdated, DateTimeOffset LastPolledAt, string? LastError);

/// <summary>
/// The recheck poller's memory (the <c>recheck_projects</c> and <c>recheck_cursors</c> tables): per project its
/// baseline and the newest update seen, per change the newest message read. Gerrit times are kept as Gerrit writes
/// them (<c>2025-04-01 02:13:07.123000000</c>, UTC, fixed width), so text order is time order.
/// </summary>
public sealed class RecheckStateStore
{
    private readonly ResultsDatabase _database;
    private readonly TimeProvider _timeProvider;

    public RecheckStateStore(ResultsDatabase database, TimeProvider timeProvider)
    {
        _database = database;
        _timeProvider = timeProvider;
    }

    /// <summary>The project's state, or null before its first poll.</summary>
    public async Task<RecheckProjectState?> GetProjectAsync(string project, CancellationToken cancellationToken)
    {
        const string SelectProject = """
            SELECT project AS Project, baseline_at AS BaselineAt, last_updated AS LastUpdated, last_polled_at AS LastPolledAt, last_error AS LastError
            FROM recheck_projects WHERE project = @Project
            """;

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        ProjectRow? row = await connection.QuerySingleOrDefaultAsync<ProjectRow>(new CommandDefinition(SelectProject, new { Project = project }, cancellationToken: cancellationToken));
        return row is null ? null : new RecheckProjectState(row.Project, row.BaselineAt, row.LastUpdated, DbValue.ParseTime(row.LastPolledAt), row.LastError);
    }

    /// <summary>Records a poll that worked: the baseline on the first one, the newest update seen, no error.</summary>
    public async Task RecordPollAsync(string project, string baselineAt, string? lastUpdated, CancellationToken cancellationToken)
    {
        const string Upsert = """
            INSERT INTO recheck_projects (project, baseline_at, last_updated, last_polled_at, last_error)
            VALUES (@Project, @BaselineAt, @LastUpdated, @Now, NULL)
            ON CONFLICT (project) DO UPDATE SET last_updated = COALESCE(excluded.last_updated, recheck_projects.last_updated),
                last_polled_at = excluded.last_polled_at, last_error = NULL
            """;

        await _database.ExecuteWriteAsync(
            Upsert,
            new { Project = project, BaselineAt = baselineAt, LastUpdated = lastUpdated, Now = DbValue.Time(DbValue.Now(_timeProvider)) },
            cancellationToken);
    }

    /// <summary>Records a failed poll of a project already polled once; a project never polled keeps no row, so its baseline is still ahead.</summary>
    public async Task RecordFailureAsync(string project, string error, CancellationToken cancellationToken)
    {
        const string Failure = "UPDATE recheck_projects SET last_polled_at = @Now, last_error = @Error WHERE project = @Project";

        await _database.ExecuteWriteAsync(
            Failure, new { Project = project, Error = error, Now = DbValue.Time(DbValue.Now(_timeProvider)) }, cancellationToken);
    }

    /// <summary>The date of the newest message read on a change, or null when none was.</summary>
    public async Task<string?> GetCursorAsync(int changeNumber, CancellationToken cancellationToken)
    {
        const string SelectCursor = "SELECT last_message_at FROM recheck_cursors WHERE change_number = @Change";

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<string?>(new CommandDefinition(SelectCursor, new { Change = changeNumber }, cancellationToken: cancellationToken));
    }

    /// <summary>Moves a change's cursor forward (never back) to the newest message read.</summary>
    public async Task AdvanceCursorAsync(int changeNumber, string project, string lastMessageAt, CancellationToken cancellationToken)
    {
        const string Upsert = """
            INSERT INTO recheck_cursors (change_number, project, last_message_at, updated_at)
            VALUES (@Change, @Project, @LastMessageAt, @Now)
            ON CONFLICT (change_number) DO UPDATE SET last_message_at = excluded.last_message_at, updated_at = excluded.updated_at
            WHERE excluded.last_message_at > recheck_cursors.last_message_at
            """;

        await _database.ExecuteWriteAsync(
            Upsert,
            new { Change = changeNumber, Project = project, LastMessageAt = lastMessageAt, Now = DbValue.Time(DbValue.Now(_timeProvider)) },
            cancellationToken);
    }

    private sealed class ProjectRow
    {
        public string Project { get; set; } = "";

        public string BaselineAt { get; set; } = "";

        public string? LastUpdated { get; set; }

        public string LastPolledAt { get; set; } = "";

        public string? LastError { get; set; }
    }
}
