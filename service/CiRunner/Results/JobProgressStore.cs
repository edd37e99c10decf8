using System.Data.Common;
using Dapper;

namespace CiRunner.Results;

/// <summary>
/// What a running job records as it goes: the image it runs, its lockfile (the modules each phase installed), its steps, and what
/// those steps found (idempotency changes, Tempest tests). Its life from queued to finished is <see cref="JobStore"/>.
/// </summary>
public sealed class JobProgressStore
{
    private readonly ResultsDatabase _database;

    public JobProgressStore(ResultsDatabase database)
    {
        _database = database;
    }

    /// <summary>Records the image a running job's container started from, once the engine resolved it.</summary>
    public async Task SetImageAsync(long jobId, string imageId, CancellationToken cancellationToken)
    {
        const string SetImage = "UPDATE jobs SET image_id = @ImageId WHERE id = @JobId";

        await _database.ExecuteWriteAsync(SetImage, new { JobId = jobId, ImageId = imageId }, cancellationToken);
    }

    /// <summary>Records a finished step of a job.</summary>
    /// <exception cref="DbException">The job does not exist, or it already has a step with that ordinal.</exception>
    public async Task<StepRecord> AddStepAsync(long jobId, NewStep step, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(step);

        const string InsertStep = """
            INSERT INTO steps (job_id, ordinal, phase, name, kind, started_at, finished_at, duration_ms, exit_code, result)
            VALUES (@JobId, @Ordinal, @Phase, @Name, @Kind, @StartedAt, @FinishedAt, @DurationMs, @ExitCode, @Result)
            RETURNING id
            """;

        DateTimeOffset startedAt = DbValue.Truncate(step.StartedAt);
        DateTimeOffset finishedAt = DbValue.Truncate(step.FinishedAt);
        TimeSpan duration = finishedAt - startedAt;
        var parameters = new
        {
            JobId = jobId,
            step.Ordinal,
            step.Phase,
            step.Name,
            Kind = DbValue.Text(step.Kind),
            StartedAt = DbValue.Time(startedAt),
            FinishedAt = DbValue.Time(finishedAt),
            DurationMs = DbValue.Milliseconds(duration),
            step.ExitCode,
            Result = DbValue.Text(step.Result),
        };

        long stepId = await _database.WriteAsync(
            (connection, transaction) => connection.ExecuteScalarAsync<long>(new CommandDefinition(InsertStep, parameters, transaction, cancellationToken: cancellationToken)),
            cancellationToken);
        return new StepRecord(stepId, jobId, step.Ordinal, step.Phase, step.Name, step.Kind, startedAt, finishedAt, duration, step.ExitCode, step.Result);
    }

    /// <summary>Records the resources an idempotency step changed, all in one transaction.</summary>
    /// <exception cref="ArgumentException">The step does not belong to the job.</exception>
    public async Task AddIdempotencyChangesAsync(long jobId, long stepId, IReadOnlyList<NewIdempotencyChange> changes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(changes);

        const string InsertChange = """
            INSERT INTO idempotency_changes
                (job_id, step_id, resource_type, title, property, previous_value, desired_value, module, manifest_file, line, phase, step_name)
            VALUES
                (@JobId, @StepId, @ResourceType, @Title, @Property, @PreviousValue, @DesiredValue, @Module, @ManifestFile, @Line, @Phase, @StepName)
            """;

        await _database.WriteAsync(
            async (connection, transaction) =>
            {
                // job_id is kept beside step_id so a job's changes are read without a join; it must agree with the step. The
                // step's phase and name are kept too: the change outlives the step when retention prunes the job (the drift history).
                StepOfJobRow step = await StepOfJobAsync(connection, transaction, jobId, stepId, cancellationToken);
                foreach (NewIdempotencyChange change in changes)
                {
                    await connection.ExecuteAsync(new CommandDefinition(
                        InsertChange,
                        new
                        {
                            JobId = jobId,
                            StepId = stepId,
                            change.ResourceType,
                            change.Title,
                            change.Property,
                            change.PreviousValue,
                            change.DesiredValue,
                            change.Module,
                            change.ManifestFile,
                            change.Line,
                            step.Phase,
                            StepName = step.Name,
                        },
                        transaction,
                        cancellationToken: cancellationToken));
                }
            },
            cancellationToken);
    }

    /// <summary>Records every test a tempest step ran, all in one transaction.</summary>
    /// <exception cref="ArgumentException">The step does not belong to the job.</exception>
    public async Task AddTempestTestsAsync(long jobId, long stepId, IReadOnlyList<TempestTestResult> tests, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tests);

        const string InsertTest = """
            INSERT INTO tempest_tests
                (job_id, step_id, phase, step_ordinal, test_id, class_name, status, duration_ms, traceback, skip_reason)
            VALUES
                (@JobId, @StepId, @Phase, @StepOrdinal, @TestId, @ClassName, @Status, @DurationMs, @Traceback, @SkipReason)
            """;

        await _database.WriteAsync(
            async (connection, transaction) =>
            {
                StepOfJobRow step = await StepOfJobAsync(connection, transaction, jobId, stepId, cancellationToken);

                // One statement, many parameter sets: Dapper runs it per test inside the transaction.
                await connection.ExecuteAsync(new CommandDefinition(
                    InsertTest,
                    tests.Select(test => new
                    {
                        JobId = jobId,
                        StepId = stepId,
                        step.Phase,
                        StepOrdinal = step.Ordinal,
                        test.TestId,
                        test.ClassName,
                        Status = DbValue.Text(test.Status),
                        DurationMs = DbValue.Milliseconds(test.Duration),
                        test.Traceback,
                        test.SkipReason,
                    }),
                    transaction,
                    cancellationToken: cancellationToken));
            },
            cancellationToken);
    }

    /// <summary>Records the job's lockfile: the commit of every module each phase installed. Recording a module of a phase again replaces it.</summary>
    public async Task RecordModulesAsync(long jobId, IReadOnlyList<JobModuleRecord> modules, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(modules);

        const string UpsertModule = """
            INSERT INTO job_modules (job_id, phase, module, git_url, ref, commit_sha)
            VALUES (@JobId, @Phase, @Module, @GitUrl, @Ref, @CommitSha)
            ON CONFLICT (job_id, phase, module) DO UPDATE SET git_url = excluded.git_url, ref = excluded.ref, commit_sha = excluded.commit_sha
            """;

        await _database.WriteAsync(
            async (connection, transaction) =>
            {
                foreach (JobModuleRecord module in modules)
                {
                    await connection.ExecuteAsync(new CommandDefinition(
                        UpsertModule,
                        new { JobId = jobId, module.Phase, module.Module, module.GitUrl, module.Ref, module.CommitSha },
                        transaction,
                        cancellationToken: cancellationToken));
                }
            },
            cancellationToken);
    }

    /// <summary>
    /// Records the job's whole lockfile in one transaction: its modules (as <see cref="RecordModulesAsync"/>), the spec
    /// as run, and its scenario files, each text stored once per hash.
    /// </summary>
    public async Task RecordLockfileAsync(long jobId, JobLockfile lockfile, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lockfile);

        const string UpsertModule = """
            INSERT INTO job_modules (job_id, phase, module, git_url, ref, commit_sha)
            VALUES (@JobId, @Phase, @Module, @GitUrl, @Ref, @CommitSha)
            ON CONFLICT (job_id, phase, module) DO UPDATE SET git_url = excluded.git_url, ref = excluded.ref, commit_sha = excluded.commit_sha
            """;
        const string UpsertSpec = """
            INSERT INTO job_lockfiles (job_id, scenario, image, image_release, network_mode, init_system, package_snapshot_release, package_snapshot_image, phases)
            VALUES (@JobId, @Scenario, @Image, @ImageRelease, @NetworkMode, @Init, @PackageSnapshotRelease, @PackageSnapshotImage, @Phases)
            ON CONFLICT (job_id) DO UPDATE SET scenario = excluded.scenario, image = excluded.image, image_release = excluded.image_release,
                network_mode = excluded.network_mode, init_system = excluded.init_system, package_snapshot_release = excluded.package_snapshot_release,
                package_snapshot_image = excluded.package_snapshot_image, phases = excluded.phases
            """;

        // Equal hashes, equal texts: the first job to run a version of the scenario stores it.
        const string InsertText = "INSERT INTO lockfile_texts (hash, text) VALUES (@Hash, @Text) ON CONFLICT (hash) DO NOTHING";
        const string UpsertFile = """
            INSERT INTO job_scenario_files (job_id, path, role, hash) VALUES (@JobId, @Path, @Role, @Hash)
            ON CONFLICT (job_id, path) DO UPDATE SET role = excluded.role, hash = excluded.hash
            """;

        await _database.WriteAsync(
            async (connection, transaction) =>
            {
                foreach (JobModuleRecord module in lockfile.Modules)
                {
                    await connection.ExecuteAsync(new CommandDefinition(
                        UpsertModule,
                        new { JobId = jobId, module.Phase, module.Module, module.GitUrl, module.Ref, module.CommitSha },
                        transaction,
                        cancellationToken: cancellationToken));
                }

                await connection.ExecuteAsync(new CommandDefinition(
                    UpsertSpec,
                    new
                    {
                        JobId = jobId,
                        lockfile.Scenario,
                        lockfile.Image,
                        lockfile.ImageRelease,
                        lockfile.NetworkMode,
                        Init = lockfile.Init.ToString().ToLowerInvariant(),
                        lockfile.PackageSnapshotRelease,
                        lockfile.PackageSnapshotImage,
                        Phases = lockfile.PhasesJson(),
                    },
                    transaction,
                    cancellationToken: cancellationToken));
                foreach (ScenarioText file in lockfile.Files)
                {
                    await connection.ExecuteAsync(new CommandDefinition(InsertText, new { file.Hash, file.Text }, transaction, cancellationToken: cancellationToken));
                    await connection.ExecuteAsync(new CommandDefinition(
                        UpsertFile, new { JobId = jobId, file.Path, file.Role, file.Hash }, transaction, cancellationToken: cancellationToken));
                }
            },
            cancellationToken);
    }

    /// <summary>The step's phase, place and name, checking that it is a step of the job.</summary>
    /// <exception cref="ArgumentException">The step does not belong to the job.</exception>
    private static async Task<StepOfJobRow> StepOfJobAsync(
        DbConnection connection, DbTransaction transaction, long jobId, long stepId, CancellationToken cancellationToken)
    {
        const string StepOfJob = "SELECT phase AS Phase, ordinal AS Ordinal, name AS Name FROM steps WHERE id = @StepId AND job_id = @JobId";

        return await connection.QuerySingleOrDefaultAsync<StepOfJobRow>(
            new CommandDefinition(StepOfJob, new { JobId = jobId, StepId = stepId }, transaction, cancellationToken: cancellationToken))
            ?? throw new ArgumentException($"Step {stepId} is not a step of job {jobId}.", nameof(stepId));
    }

    private sealed record StepOfJobRow(string Phase, long Ordinal, string Name);
}
