using System.CommandLine;
using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.RegularExpressions;
using CiRunner.Cli;
using CiRunner.Configuration;
using CiRunner.Reporting;
using CiRunner.Results;
using CiRunner.Telemetry;
using CiRunner.Tests.Fixtures;
using CiRunner.Web;
using CiRunner.Web.Pages;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CiRunner.Tests.Model;

/// <summary>
/// Every enum value that leaves the process has one lower-case wire name (docs/wire-names.md), and every surface
/// spells it that way: the JSON API, webhooks, the database, CLI output, metric labels and the pages' result classes.
/// Each surface is checked against the one list below, through the real component that writes it.
/// </summary>
public sealed partial class WireNamesTests : IDisposable
{
    /// <summary>The one list: each value and its wire name. docs/wire-names.md is the same table for people.</summary>
    private static readonly Dictionary<Enum, string> Expected = new()
    {
        [JobResult.Success] = "success",
        [JobResult.Failure] = "failure",
        [JobResult.Error] = "error",
        [JobResult.Timeout] = "timeout",
        [JobResult.Cancelled] = "cancelled",
        [JobResult.Skipped] = "skipped",
        [JobResult.Interrupted] = "interrupted",
        [JobResult.Superseded] = "superseded",
        [JobResult.Flaky] = "flaky",
        [JobState.Queued] = "queued",
        [JobState.Running] = "running",
        [JobState.Finished] = "finished",
        [RunCause.Commit] = "commit",
        [RunCause.PatchSet] = "patchset",
        [RunCause.Nightly] = "nightly",
        [RunCause.Manual] = "manual",
        [RunCause.Recheck] = "recheck",
        [RunCause.Replay] = "replay",
        [RunCause.Bisect] = "bisect",
        [JobKind.Deploy] = "deploy",
        [JobKind.Upgrade] = "upgrade",
        [JobKind.Rollback] = "rollback",
        [StepKind.Apply] = "apply",
        [StepKind.Idempotency] = "idempotency",
        [StepKind.Command] = "command",
        [StepKind.Tempest] = "tempest",
        [JobPriority.Bisect] = "bisect",
        [JobPriority.Nightly] = "nightly",
        [JobPriority.BranchCommit] = "branchcommit",
        [JobPriority.PatchSet] = "patchset",
        [JobPriority.Manual] = "manual",
        [TempestTestStatus.Passed] = "passed",
        [TempestTestStatus.Failed] = "failed",
        [TempestTestStatus.Skipped] = "skipped",
        [ReportState.Pending] = "pending",
        [ReportState.Sent] = "sent",
        [ReportState.Held] = "held",
        [ReportState.Failed] = "failed",
        [ReportState.Skipped] = "skipped",
        [BisectVerdict.Culprit] = "culprit",
        [BisectVerdict.NotReproducible] = "notreproducible",
        [BisectVerdict.NotInRange] = "notinrange",
        [BisectVerdict.Inconclusive] = "inconclusive",
        [BisectVerdict.Error] = "error",
        [BisectVerdict.Cancelled] = "cancelled",
    };

    /// <summary>The one exception: Gerrit review job lines follow the OpenStack third-party CI format.</summary>
    private static readonly Dictionary<JobResult, string> CiCommentWords = new()
    {
        [JobResult.Success] = "SUCCESS",
        [JobResult.Failure] = "FAILURE",
        [JobResult.Error] = "ERROR",
        [JobResult.Timeout] = "TIMED_OUT",
        [JobResult.Cancelled] = "CANCELLED",
        [JobResult.Skipped] = "SKIPPED",
        [JobResult.Interrupted] = "INTERRUPTED",
        [JobResult.Superseded] = "SUPERSEDED",
        [JobResult.Flaky] = "SUCCESS",
    };

    private readonly TempDatabase _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void ExpectedList_CoversEveryValueOfEveryEnumWithWireNames()
    {
        Assert.Equal(
            WireNames.Enums.Select(t => t.Name).Order(StringComparer.Ordinal),
            Expected.Keys.Select(k => k.GetType().Name).Distinct().Order(StringComparer.Ordinal));
        Assert.All(WireNames.Enums.SelectMany(t => Enum.GetValues(t).Cast<Enum>()), value =>
            Assert.True(Expected.ContainsKey(value), $"{value.GetType().Name}.{value} is missing from the expected list (and docs/wire-names.md)."));
    }

    [Fact]
    public void EveryEnumOfTheModel_HasWireNames()
    {
        // The model is the vocabulary every stage speaks; a new enum there leaves the process sooner or later.
        IEnumerable<Type> modelEnums = typeof(WireNames).Assembly.GetTypes()
            .Where(t => t.IsEnum && t.IsPublic && t.Namespace == typeof(WireNames).Namespace);

        Assert.All(modelEnums, type => Assert.Contains(type, WireNames.Enums));
    }

    [Fact]
    public void ToWireAndTryParseWire_EveryValue_RoundTripsThroughTheExpectedName()
    {
        foreach ((Enum value, string name) in Expected)
        {
            Assert.True(LowerCaseName().IsMatch(name), $"'{name}' is not a lower-case wire name.");
            Assert.Equal(name, WireName(value));
            Assert.Equal((true, value), TryParse(value.GetType(), name));
            Assert.False(TryParse(value.GetType(), value.ToString().ToUpperInvariant()).Parsed, "only the exact wire name parses");
        }

        // The typed extensions say the same as the generic door.
        Assert.Equal("patchset", RunCause.PatchSet.ToWire());
        Assert.Equal("branchcommit", JobPriority.BranchCommit.ToWire());
    }

    [Fact]
    public void ToWire_ValueWithoutAName_ThrowsNamingTheValue()
    {
        var undefined = (JobResult)99;

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => undefined.ToWire());

        Assert.Contains("JobResult.99 has no wire name", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JsonApi_RealResponseTypes_WriteTheWireNames()
    {
        // Given every value in the store, and the serializer options the API's endpoints write with
        Everything everything = await Everything.CreateAsync(_temp);
        JsonSerializerOptions api = ApiJsonOptions();
        var seen = new List<(Enum Value, string? Written)>();

        // When the API's answers are serialized
        foreach (RunDetail run in everything.Runs)
        {
            IReadOnlyList<RunReportRecord> reports = await everything.Store.Reports.ListForRunAsync(run.Run.Id, CancellationToken.None);
            JsonElement body = JsonSerializer.SerializeToElement(new RunDetailBody(run.Run, run.Jobs, reports), api);
            seen.Add((run.Run.Cause, body.GetProperty("run").GetProperty("cause").GetString()));
            if (run.Run.Result is { } runResult)
            {
                seen.Add((runResult, body.GetProperty("run").GetProperty("result").GetString()));
            }

            seen.AddRange(reports.Zip(body.GetProperty("reports").EnumerateArray(), (r, json) => ((Enum)r.State, json.GetProperty("state").GetString())));
            foreach (JobRecord job in run.Jobs)
            {
                JobDetail detail = (await everything.Store.Jobs.GetDetailAsync(job.Id, CancellationToken.None))!;
                JsonElement jobBody = JsonSerializer.SerializeToElement(detail, api);
                seen.Add((job.Kind, jobBody.GetProperty("job").GetProperty("kind").GetString()));
                seen.Add((job.State, jobBody.GetProperty("job").GetProperty("state").GetString()));
                seen.Add((job.Priority, jobBody.GetProperty("job").GetProperty("priority").GetString()));
                if (job.Result is { } result)
                {
                    seen.Add((result, jobBody.GetProperty("job").GetProperty("result").GetString()));
                }

                foreach ((StepRecord step, JsonElement json) in detail.Steps.Zip(jobBody.GetProperty("steps").EnumerateArray()))
                {
                    seen.Add((step.Kind, json.GetProperty("kind").GetString()));
                    seen.Add((step.Result, json.GetProperty("result").GetString()));
                }

                seen.AddRange(detail.TempestTests.Zip(jobBody.GetProperty("tempestTests").EnumerateArray(), (t, json) => ((Enum)t.Status, json.GetProperty("status").GetString())));
            }
        }

        foreach (JobPriority priority in Enum.GetValues<JobPriority>())
        {
            JsonElement entry = JsonSerializer.SerializeToElement(new QueueEntryBody(1, 1, 1, priority, "keystone", "master", "zed/s", null), api);
            seen.Add((priority, entry.GetProperty("priority").GetString()));
        }

        // Then each is its wire name, and every value of every enum the API carries was seen
        AssertWireNames(seen, typeof(JobResult), typeof(JobState), typeof(RunCause), typeof(JobKind), typeof(StepKind), typeof(JobPriority), typeof(TempestTestStatus), typeof(ReportState));
    }

    [Theory]
    [InlineData("\"Failure\"", JobResult.Failure)]
    [InlineData("\"FAILURE\"", JobResult.Failure)]
    [InlineData("\"failure\"", JobResult.Failure)]
    [InlineData("1", JobResult.Failure)]
    public void JsonApi_OldCapitalizedInput_IsStillRead(string json, JobResult expected)
    {
        Assert.Equal(expected, JsonSerializer.Deserialize<JobResult>(json, ApiJsonOptions()));
        Assert.Equal(RunCause.PatchSet, JsonSerializer.Deserialize<RunCause>("\"PatchSet\"", ApiJsonOptions()));
        Assert.Equal(JobPriority.BranchCommit, JsonSerializer.Deserialize<JobPriority?>("\"BranchCommit\"", ApiJsonOptions()));
    }

    [Fact]
    public void JsonApi_UnknownName_FailsNamingTheValueAndTheChoices()
    {
        var error = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<JobKind>("\"sideways\"", ApiJsonOptions()));

        Assert.Contains("'sideways' is not a JobKind; expected one of: deploy, upgrade, rollback.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Webhook_RealDelivery_CarriesTheWireNames()
    {
        // Given every value in the store, and a webhook receiver on a real HTTP port
        Everything everything = await Everything.CreateAsync(_temp);
        await using WebhookReceiver receiver = await WebhookReceiver.StartAsync("secret");
        var links = new ReportLinks(new HttpOptions { PublicUrl = "http://ci.example.org" });
        using var http = new HttpClient();
        var reporter = new WebhookReporter(
            new WebhookOptions { Name = "wire", Url = receiver.Url.ToString(), SecretVariable = "WIRE_SECRET" }, http, links, name => name == "WIRE_SECRET" ? receiver.Secret : null);
        var reader = new FinishedRunReader(everything.Store.Runs, everything.Store.Jobs, _temp.Paths);
        var seen = new List<(Enum Value, string? Written)>();

        // When each run is delivered
        foreach (RunDetail run in everything.Runs)
        {
            FinishedRun finished = (await reader.ReadAsync(run.Run.Id, CancellationToken.None))!;
            Assert.Equal(ReportOutcomeKind.Sent, (await reporter.ReportAsync(finished, CancellationToken.None)).Kind);
            using JsonDocument body = JsonDocument.Parse(receiver.Deliveries[^1].Body);
            seen.Add((finished.Run.Cause, body.RootElement.GetProperty("cause").GetString()));
            seen.Add((finished.Result, body.RootElement.GetProperty("result").GetString()));
            foreach ((ReportedCell cell, JsonElement json) in finished.Cells.Zip(body.RootElement.GetProperty("cells").EnumerateArray()))
            {
                seen.Add((cell.Job.Kind, json.GetProperty("kind").GetString()));
                seen.Add((cell.Result, json.GetProperty("result").GetString()));
            }
        }

        // Then
        AssertWireNames(seen, typeof(JobResult), typeof(RunCause), typeof(JobKind));
    }

    [Fact]
    public async Task Database_RealSqliteFile_StoresTheWireNames()
    {
        // Given every value written through the store
        Everything everything = await Everything.CreateAsync(_temp);
        var seen = new List<(Enum Value, string? Written)>();

        // When the file's columns are read without the store
        await using SqliteConnection raw = await _temp.OpenRawAsync();
        foreach (RunDetail run in everything.Runs)
        {
            seen.Add((run.Run.Cause, await raw.ExecuteScalarAsync<string>("SELECT cause FROM runs WHERE id = @Id", new { run.Run.Id })));
            foreach (JobRecord job in (await everything.Store.Runs.GetDetailAsync(run.Run.Id, CancellationToken.None))!.Jobs)
            {
                (string Kind, string State, string? Result) row = await raw.QuerySingleAsync<(string, string, string?)>("SELECT kind, state, result FROM jobs WHERE id = @Id", new { job.Id });
                seen.Add((job.Kind, row.Kind));
                seen.Add((job.State, row.State));
                if (job.Result is { } result)
                {
                    seen.Add((result, row.Result));
                }

                JobDetail detail = (await everything.Store.Jobs.GetDetailAsync(job.Id, CancellationToken.None))!;
                foreach (StepRecord step in detail.Steps)
                {
                    (string Kind, string Result) stepRow = await raw.QuerySingleAsync<(string, string)>("SELECT kind, result FROM steps WHERE id = @Id", new { step.Id });
                    seen.Add((step.Kind, stepRow.Kind));
                    seen.Add((step.Result, stepRow.Result));
                }

                foreach (TempestTestRecord test in detail.TempestTests)
                {
                    seen.Add((test.Status, await raw.ExecuteScalarAsync<string>("SELECT status FROM tempest_tests WHERE job_id = @JobId AND test_id = @TestId", new { JobId = job.Id, test.TestId })));
                }
            }

            foreach (RunReportRecord report in await everything.Store.Reports.ListForRunAsync(run.Run.Id, CancellationToken.None))
            {
                seen.Add((report.State, await raw.ExecuteScalarAsync<string>("SELECT state FROM run_reports WHERE run_id = @RunId AND reporter = @Reporter", new { report.RunId, report.Reporter })));
            }
        }

        // Then (the store read every one of them back as the value it wrote, or GetDetailAsync would have thrown)
        AssertWireNames(seen, typeof(JobResult), typeof(JobState), typeof(RunCause), typeof(JobKind), typeof(StepKind), typeof(TempestTestStatus), typeof(ReportState));
    }

    [Fact]
    public async Task Cli_RunsAndShow_PrintTheWireNames()
    {
        // Given every value in the database
        Everything everything = await Everything.CreateAsync(_temp);
        string config = _temp.WriteConfig();
        var seen = new List<(Enum Value, string? Written)>();

        // When `cirunner runs` lists them: CAUSE is the second column, RESULT the eighth (CREATED takes two)
        string runs = await CliAsync(config, "runs", "--limit", "100");
        foreach (RunDetail run in everything.Runs)
        {
            string[] columns = runs.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Single(c => c.Length > 0 && c[0] == run.Run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            seen.Add((run.Run.Cause, columns[1]));
            RunRecord stored = (await everything.Store.Runs.GetAsync(run.Run.Id, CancellationToken.None))!;
            seen.Add(stored.Result is { } result ? ((Enum)result, columns[7]) : ((Enum)(stored.StartedAt is null ? JobState.Queued : JobState.Running), columns[7]));
        }

        // And `cirunner show` details each run: its jobs' kinds and results (or states), steps and reports
        foreach (RunDetail run in everything.Runs)
        {
            string show = await CliAsync(config, "show", run.Run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            string[] lines = show.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
            for (int i = 0; i < lines.Length; i++)
            {
                if (ShowJobLine().Match(lines[i]) is { Success: true } jobLine)
                {
                    JobRecord job = (await everything.Store.Jobs.GetAsync(long.Parse(jobLine.Groups["id"].Value, System.Globalization.CultureInfo.InvariantCulture), CancellationToken.None))!;
                    seen.Add((job.Kind, jobLine.Groups["kind"].Value));
                    string result = ShowResultLine().Match(lines[i + 1]).Groups["result"].Value;
                    seen.Add(job.Result is { } r ? ((Enum)r, result) : ((Enum)job.State, result));
                }
                else if (ShowStepLine().Match(lines[i]) is { Success: true } stepLine)
                {
                    int ordinal = int.Parse(stepLine.Groups["ordinal"].Value, System.Globalization.CultureInfo.InvariantCulture);
                    (StepKind kind, JobResult result) = Everything.Steps[ordinal];
                    seen.Add((kind, stepLine.Groups["kind"].Value));
                    seen.Add((result, stepLine.Groups["result"].Value));
                }
                else if (ShowReportLine().Match(lines[i]) is { Success: true } reportLine)
                {
                    seen.Add((Everything.ReportStates[int.Parse(reportLine.Groups["index"].Value, System.Globalization.CultureInfo.InvariantCulture)], reportLine.Groups["state"].Value));
                }
            }
        }

        // Then (a finished job shows its result, so the CLI never prints "finished")
        AssertWireNames(seen, typeof(JobResult), typeof(RunCause), typeof(JobKind), typeof(StepKind), typeof(ReportState));
        Assert.Equal([JobState.Queued, JobState.Running], seen.Select(s => s.Value).OfType<JobState>().Distinct().Order());
    }

    [Fact]
    public void Metrics_RealMeter_LabelWithTheWireNames()
    {
        // Given a listener on the service's one meter, and a module no other test uses
        string module = $"wire-{Guid.NewGuid():N}";
        var seen = new List<(Enum Value, string? Written)>();
        var labels = new List<(string Instrument, Dictionary<string, string?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == CiRunnerTelemetry.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, _, tags, _) => Record(instrument, tags));
        listener.SetMeasurementEventCallback<double>((instrument, _, tags, _) => Record(instrument, tags));
        listener.Start();
        var telemetry = new CiRunnerTelemetry();

        // When jobs, steps and runs of every kind, result and cause are recorded
        foreach (JobKind kind in Enum.GetValues<JobKind>())
        {
            foreach (JobResult result in Enum.GetValues<JobResult>())
            {
                var job = new JobLabels(module, "master", "zed", "s", kind);
                telemetry.JobFinished(job, result, TimeSpan.FromSeconds(1));
                telemetry.StepFinished(job, "deploy", "apply", result, TimeSpan.FromSeconds(1));
                Assert.Equal(3, labels.Count);
                seen.AddRange(labels.Select(m => ((Enum)kind, m.Tags["kind"])));
                seen.AddRange(labels.Select(m => ((Enum)result, m.Tags["result"])));
                labels.Clear();
            }
        }

        foreach (RunCause cause in Enum.GetValues<RunCause>())
        {
            telemetry.RunCreated(module, cause);
            seen.Add((cause, Assert.Single(labels).Tags["cause"]));
            labels.Clear();
        }

        // Then
        AssertWireNames(seen, typeof(JobResult), typeof(JobKind), typeof(RunCause));

        void Record(Instrument instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            Dictionary<string, string?> byName = tags.ToArray().ToDictionary(t => t.Key, t => t.Value as string);
            if (byName.GetValueOrDefault("module") == module)
            {
                lock (labels)
                {
                    labels.Add((instrument.Name, byName));
                }
            }
        }
    }

    [Fact]
    public void Pages_ResultClass_IsResultAndTheWireName()
    {
        Assert.All(Enum.GetValues<JobResult>(), result => Assert.Equal($"result-{Expected[result]}", PageText.Describe(result).CssClass));
    }

    [Fact]
    public void GerritReviewJobLines_EveryResult_KeepTheThirdPartyCiWord()
    {
        Assert.Equal(Enum.GetValues<JobResult>().Order(), CiCommentWords.Keys.Order());
        Assert.All(CiCommentWords, pair => Assert.Equal(pair.Value, GerritReview.ResultWord(pair.Key)));
    }

    private static JsonSerializerOptions ApiJsonOptions()
    {
        var services = new ServiceCollection();
        services.AddWeb();
        using ServiceProvider provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
    }

    /// <summary>Every value written is its expected wire name, and every value of <paramref name="enums"/> was written.</summary>
    private static void AssertWireNames(List<(Enum Value, string? Written)> seen, params Type[] enums)
    {
        Assert.All(seen, s => Assert.Equal(Expected[s.Value], s.Written));
        IEnumerable<Enum> missing = enums.SelectMany(t => Enum.GetValues(t).Cast<Enum>()).Except(seen.Select(s => s.Value));
        Assert.Empty(missing.Select(m => $"{m.GetType().Name}.{m}"));
    }

    private static string WireName(Enum value) =>
        (string)typeof(WireNames).GetMethod(nameof(WireNames.Name))!.MakeGenericMethod(value.GetType()).Invoke(null, [value])!;

    private static (bool Parsed, Enum? Value) TryParse(Type enumType, string text)
    {
        object?[] arguments = [text, null];
        bool parsed = (bool)typeof(WireNames).GetMethod(nameof(WireNames.TryParseWire))!.MakeGenericMethod(enumType).Invoke(null, arguments)!;
        return (parsed, parsed ? (Enum)arguments[1]! : null);
    }

    private static async Task<string> CliAsync(string config, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = await CliApplication.InvokeAsync(["--config", config, .. args], new InvocationConfiguration { Output = output, Error = error }, CancellationToken.None);
        Assert.True(exitCode == 0, error.ToString());
        return output.ToString();
    }

    [GeneratedRegex("^[a-z][a-z0-9]*$")]
    private static partial Regex LowerCaseName();

    [GeneratedRegex(@"^Job (?<id>\d+): \S+ \((?<kind>\S+) ")]
    private static partial Regex ShowJobLine();

    [GeneratedRegex(@"^  Result:\s+(?<result>[^\s,]+)")]
    private static partial Regex ShowResultLine();

    [GeneratedRegex(@"^    (?<ordinal>\d+)\s+deploy\s+step-\d+\s+(?<kind>\S+)\s+\S+\s+\S+\s+(?<result>\S+)\s*$")]
    private static partial Regex ShowStepLine();

    [GeneratedRegex(@"^  wire-(?<index>\d+)\s+(?<state>\S+)\s")]
    private static partial Regex ShowReportLine();

    /// <summary>
    /// A database holding every value: a run per cause; the first has a finished job per result (kinds in turn), a step
    /// per kind and result, a Tempest test per status and a report per state; the second a queued and a running job.
    /// </summary>
    private sealed record Everything(ResultsStore Store, IReadOnlyList<RunDetail> Runs)
    {
        public static readonly IReadOnlyList<(StepKind Kind, JobResult Result)> Steps =
            [.. Enum.GetValues<JobResult>().Select((result, i) => (Enum.GetValues<StepKind>()[i % Enum.GetValues<StepKind>().Length], result))];

        public static readonly ReportState[] ReportStates = Enum.GetValues<ReportState>();

        public static async Task<Everything> CreateAsync(TempDatabase temp)
        {
            ResultsStore store = temp.CreateStore();
            RunCause[] causes = Enum.GetValues<RunCause>();
            JobResult[] results = Enum.GetValues<JobResult>();
            JobKind[] kinds = Enum.GetValues<JobKind>();
            CancellationToken none = CancellationToken.None;

            List<NewJob> finishedJobs = [.. results.Select((_, i) => Job(i, kinds[i % kinds.Length]))];
            RunDetail finished = await store.Runs.CreateAsync(Run(causes[0]), finishedJobs, none);
            long first = finished.Jobs[0].Id;
            await store.Jobs.MarkStartedAsync(first, null, null, none);
            DateTimeOffset at = TempDatabase.Start;
            for (int i = 0; i < Steps.Count; i++)
            {
                StepRecord step = await store.JobProgress.AddStepAsync(first, new NewStep(i, "deploy", $"step-{i}", Steps[i].Kind, at, at.AddSeconds(1), 0, Steps[i].Result), none);
                if (Steps[i].Kind == StepKind.Tempest)
                {
                    await store.JobProgress.AddTempestTestsAsync(
                        first,
                        step.Id,
                        [.. Enum.GetValues<TempestTestStatus>().Select(s => new TempestTestResult($"tempest.api.T.test_{s}", "tempest.api.T", s, TimeSpan.FromSeconds(1), null, null))],
                        none);
                }
            }

            for (int i = 0; i < results.Length; i++)
            {
                await store.Jobs.MarkFinishedAsync(finished.Jobs[i].Id, results[i], null, none);
            }

            await store.Reports.PlanAsync(_ => [.. ReportStates.Select((_, i) => $"wire-{i}")], 50, none);
            for (int i = 0; i < ReportStates.Length; i++)
            {
                if (ReportStates[i] != ReportState.Pending)
                {
                    await store.Reports.SettleAsync(finished.Run.Id, $"wire-{i}", ReportStates[i], "detail", null, none);
                }
            }

            RunDetail waiting = await store.Runs.CreateAsync(Run(causes[1]), [Job(0, JobKind.Deploy), Job(1, JobKind.Upgrade)], none);
            await store.Jobs.MarkStartedAsync(waiting.Jobs[1].Id, null, null, none);

            var ids = new List<long> { finished.Run.Id, waiting.Run.Id };
            foreach (RunCause cause in causes.Skip(2))
            {
                ids.Add((await store.Runs.CreateAsync(Run(cause), [Job(0, JobKind.Deploy)], none)).Run.Id);
            }

            // As stored now: results, states and start times set.
            var runs = new List<RunDetail>();
            foreach (long id in ids)
            {
                runs.Add((await store.Runs.GetDetailAsync(id, none))!);
            }

            return new Everything(store, runs);
        }

        private static NewRun Run(RunCause cause) =>
            new(cause, "keystone", "master", new string('a', 40), cause is RunCause.PatchSet or RunCause.Recheck ? "refs/changes/45/12345/3" : null, null, RequestedBy: null);

        private static NewJob Job(int index, JobKind kind) =>
            new($"cell-{index}", kind, "2024.2", kind == JobKind.Deploy ? null : "2024.1", $"scenario{index}");
    }
}
