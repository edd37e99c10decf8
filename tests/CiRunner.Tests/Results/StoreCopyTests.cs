using System.CommandLine;
using System.Data.Common;
using CiRunner.Cli;
using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using Dapper;

namespace CiRunner.Tests.Results;

/// <summary><c>cirunner store copy</c>: a SQLite installation's whole history moved into an empty PostgreSQL database, ids and all.</summary>
[Trait("Category", "Postgres")]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class StoreCopyTests : IDisposable
{
    private readonly ConfigFolder _folder = new();
    private readonly TempPostgresDatabase _postgres = new();

    public StoreCopyTests()
    {
        string secret = _folder.Write("secrets/store", _postgres.ConnectionString);
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _folder.Set("Store:Provider", "postgresql");
        _folder.Set("Store:ConnectionStringFile", "secrets/store");
        _folder.Save();
    }

    private string SqliteFile => Path.Combine(_folder.Root, "data", "cirunner.db");

    public void Dispose()
    {
        _postgres.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _folder.Dispose();
    }

    [Fact]
    public async Task Copy_SqliteHistory_EverythingReadsBackTheSameFromPostgresAndNewIdsFollowTheOldOnes()
    {
        ResultsStore sqlite = ResultsStore.Open(SqliteFile, _postgres.Time);
        RunDetail first = await sqlite.Runs.CreateAsync(Samples.Run(cause: RunCause.Nightly), [Samples.Deploy(), Samples.Upgrade()], CancellationToken.None);
        long jobId = first.Jobs[0].Id;
        await sqlite.Instances.CheckInAsync(
            "ci-east", "ci1", 4242, TempDatabase.Start,
            [new("tcp://b:2376", 2) { Name = "b", Running = 1 }, new("tcp://a:2376", 1) { Name = "a", Up = false, LastError = "no answer", LastErrorAt = TempDatabase.Start, Errors = 1 }],
            CancellationToken.None);
        await sqlite.Jobs.MarkStartedAsync(jobId, "sha256:abc", "logs/1/1.log", "ci-east", "b", CancellationToken.None);
        await sqlite.JobProgress.RecordModulesAsync(jobId, [new("keystone", "https://opendev.org/openstack/puppet-keystone", "stable/2024.1", Samples.Sha)], CancellationToken.None);
        StepRecord step = await sqlite.JobProgress.AddStepAsync(jobId, Samples.Step(1, TempDatabase.Start, StepKind.Idempotency, 2, JobResult.Failure), CancellationToken.None);
        await sqlite.JobProgress.AddIdempotencyChangesAsync(jobId, step.Id, [Samples.Change()], CancellationToken.None);
        await sqlite.Jobs.MarkFinishedAsync(jobId, JobResult.Failure, "idempotency: 1 change", CancellationToken.None);
        RunDetail second = await sqlite.Runs.CreateAsync(Samples.Run(commitSha: "bbbb"), [Samples.Deploy()], CancellationToken.None);
        await sqlite.PollState.UpsertAsync("keystone", "stable/2024.1", "bbbb", CancellationToken.None);
        await sqlite.PollStatus.RecordFailureAsync("keystone", "remote hung up", CancellationToken.None);
        var output = new StringWriter();
        var error = new StringWriter();

        int exitCode = await InvokeAsync(["store", "copy", "--config", _folder.ConfigFile], output, error);

        Assert.Equal((0, ""), (exitCode, error.ToString()));
        Assert.Contains($"into postgresql://127.0.0.1:5432/{_postgres.Name}: 2 runs, 3 jobs, 1 job_modules, 1 steps, 1 idempotency_changes, 1 cell_results, 1 branch_heads, 1 module_poll_status", output.ToString(), StringComparison.Ordinal);
        ResultsStore postgres = _postgres.CreateStore();
        foreach (long runId in (long[])[first.Run.Id, second.Run.Id])
        {
            RunDetail? was = await sqlite.Runs.GetDetailAsync(runId, CancellationToken.None);
            RunDetail? now = await postgres.Runs.GetDetailAsync(runId, CancellationToken.None);
            Assert.Equal(was!.Run, now!.Run);
            Assert.Equal(was.Jobs, now.Jobs);
        }

        JobDetail? before = await sqlite.Jobs.GetDetailAsync(jobId, CancellationToken.None);
        JobDetail? after = await postgres.Jobs.GetDetailAsync(jobId, CancellationToken.None);
        Assert.Equal((before!.Job, before.Modules.Single(), before.Steps.Single(), before.Changes.Single()), (after!.Job, after.Modules.Single(), after.Steps.Single(), after.Changes.Single()));
        Assert.Equal(await sqlite.Cells.ListAsync("keystone", "stable/2024.1", CancellationToken.None), await postgres.Cells.ListAsync("keystone", "stable/2024.1", CancellationToken.None));
        Assert.Equal(await sqlite.PollState.ListAsync(null, CancellationToken.None), await postgres.PollState.ListAsync(null, CancellationToken.None));
        Assert.Equal(await sqlite.PollStatus.GetAsync("keystone", CancellationToken.None), await postgres.PollStatus.GetAsync("keystone", CancellationToken.None));
        InstanceRecord instanceWas = Assert.Single(await sqlite.Instances.ListAsync(CancellationToken.None));
        InstanceRecord instanceNow = Assert.Single(await postgres.Instances.ListAsync(CancellationToken.None));
        Assert.Equal(instanceWas with { Engines = instanceNow.Engines }, instanceNow);
        Assert.Equal(instanceWas.Engines, instanceNow.Engines);
        Assert.Equal(["b", "a"], instanceNow.Engines.Select(e => e.Name));
        Assert.Equal(("ci-east", "b"), (after.Job.InstanceId, after.Job.Engine));
        RunDetail next = await postgres.Runs.CreateAsync(Samples.Run(commitSha: "cccc"), [Samples.Deploy()], CancellationToken.None);
        Assert.Equal((second.Run.Id + 1, second.Jobs[0].Id + 1), (next.Run.Id, next.Jobs[0].Id));
    }

    [Fact]
    public async Task Copy_IntoADatabaseThatHoldsRuns_RefusedAndNothingAdded()
    {
        ResultsStore sqlite = ResultsStore.Open(SqliteFile, _postgres.Time);
        await sqlite.Runs.CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        await _postgres.CreateStore().Runs.CreateAsync(Samples.Run(commitSha: "ffff"), [Samples.Deploy()], CancellationToken.None);
        var error = new StringWriter();

        int exitCode = await InvokeAsync(["store", "copy", "--config", _folder.ConfigFile], new StringWriter(), error);

        Assert.Equal(1, exitCode);
        Assert.Equal(
            $"The results database postgresql://127.0.0.1:5432/{_postgres.Name} is not empty: it already holds runs or poll state. Copy into a new, empty database.{Environment.NewLine}",
            error.ToString());
        await using DbConnection connection = await _postgres.OpenConnectionAsync();
        Assert.Equal(1L, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM runs"));
    }

    [Fact]
    public async Task Copy_ConfigurationStillOnSqlite_SaysWhatToSetFirst()
    {
        _folder.Set("Store:Provider", "sqlite");
        _folder.Save();
        var error = new StringWriter();

        int exitCode = await InvokeAsync(["store", "copy", "--config", _folder.ConfigFile], new StringWriter(), error);

        Assert.Equal(1, exitCode);
        Assert.StartsWith("Store:Provider is sqlite: set Store:Provider to postgresql", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tables_EveryTableOfTheSchema_IsCopied()
    {
        await _postgres.CreateDatabase().EnsureSchemaAsync(CancellationToken.None);
        await using DbConnection connection = await _postgres.OpenConnectionAsync();
        IEnumerable<string> tables = await connection.QueryAsync<string>("""
            SELECT table_name FROM information_schema.tables
            WHERE table_schema = current_schema() AND table_name NOT LIKE 'qrtz_%' AND table_name <> 'schema_version'
            """);

        Assert.Equal(tables.Order(), StoreCopy.Tables.Select(t => t.Table).Order());
    }

    private static Task<int> InvokeAsync(string[] args, TextWriter output, TextWriter error) =>
        CliApplication.Build().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, CancellationToken.None);
}
