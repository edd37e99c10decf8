using System.Data.Common;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using Dapper;
using Microsoft.Data.Sqlite;

namespace CiRunner.Tests.Results;

public sealed class ResultsDatabaseTests : IDisposable
{
    private readonly TempDatabase _temp = new();

    public static TheoryData<int> EarlierVersions
    {
        get
        {
            var versions = new TheoryData<int>();
            for (int version = 1; version < ResultsDatabase.CodeSchemaVersion; version++)
            {
                versions.Add(version);
            }

            return versions;
        }
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Migrations_Embedded_AreNumberedFromOneWithoutGaps()
    {
        IReadOnlyList<Migration> migrations = SchemaMigrations.For("Sqlite");

        Assert.True(migrations.Count >= 2);
        Assert.Equal(Enumerable.Range(1, migrations.Count), migrations.Select(m => m.Version));
        Assert.Equal("initial", migrations[0].Name);
        Assert.All(migrations, m => Assert.False(string.IsNullOrWhiteSpace(m.Script)));
    }

    [Fact]
    public async Task EnsureSchemaAsync_EmptyDatabase_AppliesEveryMigrationOnce()
    {
        ResultsDatabase database = _temp.CreateDatabase();

        await database.EnsureSchemaAsync(CancellationToken.None);
        await database.EnsureSchemaAsync(CancellationToken.None);

        Assert.Equal(ResultsDatabase.CodeSchemaVersion, await database.ReadSchemaVersionAsync(CancellationToken.None));
        await using SqliteConnection connection = await _temp.OpenRawAsync();
        IEnumerable<(long Version, string Name, string AppliedAt)> rows = await connection.QueryAsync<(long, string, string)>(
            "SELECT version, name, applied_at FROM schema_version ORDER BY version");
        Assert.Equal(SchemaMigrations.For("Sqlite").Select(m => (long)m.Version), rows.Select(r => r.Version));
        Assert.All(rows, r => Assert.Equal("2025-04-01T02:00:00.000Z", r.AppliedAt));
        IEnumerable<string> tables = await connection.QueryAsync<string>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
        Assert.Superset(
            new HashSet<string> { "runs", "jobs", "job_modules", "steps", "idempotency_changes", "branch_heads", "cell_results", "schema_version" },
            tables.ToHashSet());
    }

    [Theory]
    [MemberData(nameof(EarlierVersions))]
    public async Task EnsureSchemaAsync_DatabaseAtEarlierVersion_UpgradesAndKeepsData(int earlierVersion)
    {
        // Given a database an earlier CiRunner built, holding a finished nightly job and a finished patch set job
        await _temp.CreateDatabase().MigrateAsync(earlierVersion, CancellationToken.None);
        await using (SqliteConnection connection = await _temp.OpenRawAsync())
        {
            // Written with version-1 SQL only: every later migration must keep it readable.
            await connection.ExecuteAsync("""
                INSERT INTO runs (id, cause, module, branch, commit_sha, change_ref, created_at, started_at, finished_at, result)
                VALUES (1, 'nightly', 'nova', 'stable/2024.1', 'aaaa', NULL, '2025-03-01T00:00:00.000Z', '2025-03-01T00:00:01.000Z', '2025-03-01T00:10:00.000Z', 'failure'),
                       (2, 'patchset', 'nova', 'stable/2024.1', 'bbbb', 'refs/changes/45/12345/3', '2025-03-02T00:00:00.000Z', NULL, NULL, NULL);
                INSERT INTO jobs (id, run_id, cell_key, kind, release, scenario, priority, state, result, queued_at, started_at, finished_at, duration_ms, attempt)
                VALUES (10, 1, '2024.1/scenario001', 'deploy', '2024.1', 'scenario001', 0, 'finished', 'failure',
                        '2025-03-01T00:00:00.000Z', '2025-03-01T00:00:01.000Z', '2025-03-01T00:10:00.000Z', 599000, 1),
                       (11, 2, '2024.1/scenario001', 'deploy', '2024.1', 'scenario001', 0, 'finished', 'success',
                        '2025-03-02T00:00:00.000Z', '2025-03-02T00:00:01.000Z', '2025-03-02T00:10:00.000Z', 599000, 1);
                INSERT INTO branch_heads (module, branch, commit_sha, updated_at) VALUES ('nova', 'stable/2024.1', 'aaaa', '2025-03-01T00:00:00.000Z');
                """);
        }

        // When this build opens it
        ResultsStore store = _temp.CreateStore();
        RunDetail? run = await store.Runs.GetDetailAsync(1, CancellationToken.None);

        // Then it is at the newest version, the data is all there, and the cell shows the branch's verdict only
        Assert.Equal(ResultsDatabase.CodeSchemaVersion, await store.Database.ReadSchemaVersionAsync(CancellationToken.None));
        Assert.NotNull(run);
        Assert.Equal("nova", run.Run.Module);
        Assert.Equal(JobResult.Failure, run.Run.Result);
        Assert.Equal(TimeSpan.FromSeconds(599), Assert.Single(run.Jobs).Duration);
        Assert.Equal(2, (await store.Runs.ListRecentAsync(null, null, 10, CancellationToken.None)).Count);
        Assert.Equal("aaaa", (await store.PollState.GetAsync("nova", "stable/2024.1", CancellationToken.None))?.CommitSha);
        if (earlierVersion < 2)
        {
            // Migration 2 built cell_results from the history: the nightly's verdict, not the patch set's.
            CellResultRecord cell = Assert.Single(await store.Cells.ListAsync("nova", "stable/2024.1", CancellationToken.None));
            Assert.Equal((10L, JobResult.Failure, "aaaa"), (cell.JobId, cell.Result, cell.CommitSha));
        }
    }

    [Fact]
    public async Task EnsureSchemaAsync_IdempotencyChangeFromBeforeSchema23_KeepsItsStepsPhaseAndNameAndOutlivesThePrunedStep()
    {
        // Given a version-22 database: a finished job whose upgrade-phase idempotency step changed a file, and a newer
        // job of the cell, so retention may prune the first
        await _temp.CreateDatabase().MigrateAsync(22, CancellationToken.None);
        await using (SqliteConnection connection = await _temp.OpenRawAsync())
        {
            await connection.ExecuteAsync("""
                INSERT INTO runs (id, cause, module, branch, commit_sha, created_at) VALUES (1, 'nightly', 'nova', 'master', 'aaaa', '2025-03-01T00:00:00.000Z'), (2, 'nightly', 'nova', 'master', 'bbbb', '2025-03-02T00:00:00.000Z');
                INSERT INTO jobs (id, run_id, cell_key, kind, release, scenario, state, result, queued_at, started_at, finished_at, duration_ms)
                VALUES (10, 1, 'zed->2023.1/basic:upgrade', 'upgrade', '2023.1', 'basic', 'finished', 'failure', '2025-03-01T00:00:00.000Z', '2025-03-01T00:00:01.000Z', '2025-03-01T00:10:00.000Z', 599000),
                       (11, 2, 'zed->2023.1/basic:upgrade', 'upgrade', '2023.1', 'basic', 'finished', 'success', '2025-03-02T00:00:00.000Z', '2025-03-02T00:00:01.000Z', '2025-03-02T00:10:00.000Z', 599000);
                INSERT INTO cell_results (module, branch, cell_key, job_id, result, commit_sha, finished_at) VALUES ('nova', 'master', 'zed->2023.1/basic:upgrade', 11, 'success', 'bbbb', '2025-03-02T00:10:00.000Z');
                INSERT INTO steps (id, job_id, ordinal, phase, name, kind, started_at, finished_at, duration_ms, exit_code, result)
                VALUES (100, 10, 4, 'upgrade', 'idempotency', 'idempotency', '2025-03-01T00:09:00.000Z', '2025-03-01T00:10:00.000Z', 60000, 2, 'failure');
                INSERT INTO idempotency_changes (id, job_id, step_id, resource_type, title, property) VALUES (1000, 10, 100, 'File', '/etc/nova/nova.conf', 'content');
                """);
        }

        // When this build opens it, and retention prunes the old job's details
        ResultsStore store = _temp.CreateStore();
        PruneResult pruned = await store.Retention.PruneAsync(DateTimeOffset.Parse("2025-03-01T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture), CancellationToken.None);

        // Then the change kept its step's phase and name, and is still the cell's drift though its step is gone
        Assert.Equal(1, pruned.Jobs);
        Assert.Empty((await store.Jobs.GetDetailAsync(10, CancellationToken.None))!.Steps);
        CellHistory history = await store.CellHistory.ReadAsync("nova", "master", "zed->2023.1/basic:upgrade", 30, CancellationToken.None);
        IdempotencyDrift drift = Assert.Single(history.Drift);
        Assert.Equal(("upgrade", "idempotency", "File[/etc/nova/nova.conf]", 10L, false), (drift.Phase, drift.StepName, drift.Resource, drift.FirstSeen.JobId, drift.StillChanges));
    }

    [Fact]
    public async Task EnsureSchemaAsync_InstanceAndJobFromBeforePools_KeepTheirEngineAndHaveNoPoolUntilTheNextCheckIn()
    {
        // Given a version-16 database: an instance with its one engine's columns, and a job it ran
        await _temp.CreateDatabase().MigrateAsync(16, CancellationToken.None);
        await using (SqliteConnection connection = await _temp.OpenRawAsync())
        {
            await connection.ExecuteAsync("""
                INSERT INTO instances (id, host, pid, started_at, last_checkin_at, engine, capacity, engine_up, engine_errors)
                VALUES ('ci-east', 'ci1', 4242, '2025-03-01T00:00:00.000Z', '2025-03-01T00:00:10.000Z', 'unix:///var/run/docker.sock', 2, 1, 0);
                INSERT INTO runs (id, cause, module, branch, commit_sha, created_at) VALUES (1, 'nightly', 'nova', 'master', 'aaaa', '2025-03-01T00:00:00.000Z');
                INSERT INTO jobs (id, run_id, cell_key, kind, release, scenario, state, queued_at, started_at, instance_id)
                VALUES (10, 1, '2024.1/scenario001', 'deploy', '2024.1', 'scenario001', 'running', '2025-03-01T00:00:00.000Z', '2025-03-01T00:00:01.000Z', 'ci-east');
                """);
        }

        // When this build opens it, and then the instance checks in with its pool
        ResultsStore store = _temp.CreateStore();
        InstanceRecord before = Assert.Single(await store.Instances.ListAsync(CancellationToken.None));
        JobRecord? job = await store.Jobs.GetAsync(10, CancellationToken.None);
        InstanceEngine engine = new("unix:///var/run/docker.sock", 2) { Running = 1 };
        await store.Instances.CheckInAsync("ci-east", "ci1", 4242, TempDatabase.Start, [engine], CancellationToken.None);

        // Then the old row reads as it was, with no pool and no engine for the job, until the check-in writes the pool
        Assert.Equal(("unix:///var/run/docker.sock", (int?)2, (bool?)true, 1), (before.Engine, before.Capacity, before.EngineUp, before.RunningJobs));
        Assert.Empty(before.Engines);
        Assert.Equal(("ci-east", (string?)null), (job?.InstanceId, job?.Engine));
        Assert.Equal([engine], Assert.Single(await store.Instances.ListAsync(CancellationToken.None)).Engines);
    }

    [Fact]
    public async Task EnsureSchemaAsync_DatabaseFromNewerCiRunner_RefusedWithVersionsAndFile()
    {
        await _temp.CreateDatabase().EnsureSchemaAsync(CancellationToken.None);
        int newer = ResultsDatabase.CodeSchemaVersion + 2;
        await using (SqliteConnection connection = await _temp.OpenRawAsync())
        {
            await connection.ExecuteAsync(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (@Version, 'from_the_future', '2030-01-01T00:00:00.000Z')",
                new { Version = newer });
        }

        ResultsStore store = _temp.CreateStore();
        DatabaseSchemaTooNewException refused = await Assert.ThrowsAsync<DatabaseSchemaTooNewException>(
            () => store.Runs.ListRecentAsync(null, null, 5, CancellationToken.None));

        Assert.Equal(
            $"The results database {_temp.DatabaseFile} was written by a newer CiRunner (schema {newer}, this build knows {ResultsDatabase.CodeSchemaVersion}); upgrade cirunner or point Service:DataDirectory elsewhere.",
            refused.Message);
        Assert.Equal((newer, ResultsDatabase.CodeSchemaVersion), (refused.DatabaseVersion, refused.CodeVersion));

        // Every later call says it again rather than going on with a schema it does not know.
        await Assert.ThrowsAsync<DatabaseSchemaTooNewException>(() => store.Database.EnsureSchemaAsync(CancellationToken.None));
    }

    [Fact]
    public async Task EnsureSchemaAsync_MigrationFails_LeavesDatabaseAtPreviousVersion()
    {
        // Given a version-1 database where migration 2 cannot create its table
        await _temp.CreateDatabase().MigrateAsync(1, CancellationToken.None);
        await using (SqliteConnection connection = await _temp.OpenRawAsync())
        {
            await connection.ExecuteAsync("CREATE TABLE cell_results (anything TEXT)");
        }

        await Assert.ThrowsAsync<SqliteException>(() => _temp.CreateDatabase().EnsureSchemaAsync(CancellationToken.None));

        // Then nothing of the failed run stuck: the version, and the index created earlier in the same script
        ResultsDatabase database = _temp.CreateDatabase();
        Assert.Equal(1, await database.ReadSchemaVersionAsync(CancellationToken.None));
        await using SqliteConnection check = await _temp.OpenRawAsync();
        Assert.Equal(0L, await check.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM sqlite_master WHERE name = 'ix_runs_created'"));
    }

    [Fact]
    public async Task EnsureSchemaAsync_TwoInstancesAtOnce_ApplyEachMigrationOnce()
    {
        ResultsDatabase first = _temp.CreateDatabase();
        ResultsDatabase second = _temp.CreateDatabase();

        await Task.WhenAll(
            Task.Run(() => first.EnsureSchemaAsync(CancellationToken.None)),
            Task.Run(() => second.EnsureSchemaAsync(CancellationToken.None)));

        await using SqliteConnection connection = await _temp.OpenRawAsync();
        Assert.Equal((long)ResultsDatabase.CodeSchemaVersion, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM schema_version"));
    }

    [Fact]
    public async Task WriteAsync_UnitThrows_NothingOfItIsStored()
    {
        ResultsDatabase database = _temp.CreateDatabase();
        const string InsertHead = "INSERT INTO branch_heads (module, branch, commit_sha, updated_at) VALUES ('keystone', 'master', 'abc', '2026-01-01T00:00:00.000Z')";

        await Assert.ThrowsAsync<InvalidOperationException>(() => database.WriteAsync(
            async (connection, transaction) =>
            {
                await connection.ExecuteAsync(new CommandDefinition(InsertHead, transaction: transaction));
                throw new InvalidOperationException("the second half of the unit failed");
            },
            CancellationToken.None));

        await using DbConnection reader = await database.OpenAsync(CancellationToken.None);
        Assert.Equal(0L, await reader.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM branch_heads"));
    }

    [Fact]
    public async Task OpenAsync_AnyConnection_HasWalBusyTimeoutAndForeignKeys()
    {
        await using DbConnection connection = await _temp.CreateDatabase().OpenAsync(CancellationToken.None);

        Assert.Equal("wal", await connection.ExecuteScalarAsync<string>("PRAGMA journal_mode"));
        Assert.Equal((long)SqliteDialect.BusyTimeout.TotalMilliseconds, await connection.ExecuteScalarAsync<long>("PRAGMA busy_timeout"));
        Assert.Equal(1L, await connection.ExecuteScalarAsync<long>("PRAGMA foreign_keys"));
    }

    [Fact]
    public async Task OpenAsync_JobOfMissingRun_RejectedByForeignKey()
    {
        await using DbConnection connection = await _temp.CreateDatabase().OpenAsync(CancellationToken.None);

        SqliteException rejected = await Assert.ThrowsAsync<SqliteException>(() => connection.ExecuteAsync("""
            INSERT INTO jobs (run_id, cell_key, kind, release, scenario, state, queued_at)
            VALUES (999, 'zed/scenario001', 'deploy', 'zed', 'scenario001', 'queued', '2025-01-01T00:00:00.000Z')
            """));
        Assert.Contains("FOREIGN KEY", rejected.Message, StringComparison.Ordinal);
    }
}
