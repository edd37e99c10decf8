using System.Text.Json.Nodes;
using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Scheduling;
using CiRunner.Tests.Fixtures;
using LibGit2Sharp;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace CiRunner.Tests.EndToEnd;

/// <summary>Service pipelines of their own, beside the other Docker collections.</summary>
[CollectionDefinition(Name)]
public sealed class DockerPhasesGroup : ICollectionFixture<DockerEngineFixture>
{
    public const string Name = "docker-phases";
}

/// <summary>
/// Which phase broke, through the whole service with real Puppet and a synthetic module in a temp git repository:
/// a rollback that version 1 refuses (version 2 migrated a schema forward), a workload seed lost by an upgrade, and
/// a broken manifest or a non-idempotent one on the module's branch.
/// </summary>
[Trait("Category", "Docker")]
[Collection(DockerPhasesGroup.Name)]
public sealed class PhaseFailurePipelineTests : IDisposable
{
    // Version 1 refuses to run over a schema that version 2 wrote, as a service's db sync refuses a newer schema:
    // it deploys and upgrades cleanly, and only the rollback to it fails.
    private const string SchemaV1 = """
        class demo::schema {
          file { '/etc/demo': ensure => directory }
          exec { 'refuse-downgrade':
            command => '/bin/sh -c "echo schema 2 is newer than this version >&2; exit 3"',
            onlyif  => '/usr/bin/test -f /etc/demo/schema-2',
          }
        }
        """;

    private const string SchemaV2 = """
        class demo::schema {
          file { '/etc/demo': ensure => directory }
          file { '/etc/demo/schema-2': ensure => file, content => "2\n" }
        }
        """;

    private const string DataV1 = "class demo::data {\n  file { '/var/lib/demo': ensure => directory }\n}\n";

    // Version 2 moves its data folder and removes the old one with what the seed put there.
    private const string DataV2 = """
        class demo::data {
          file { '/var/lib/demo': ensure => absent, force => true }
          file { '/var/lib/demo2': ensure => directory }
        }
        """;

    private readonly DockerEngineFixture _engine;
    private readonly TempDirectory _folder = new();
    private readonly string _instanceId = DockerEngineFixture.NewInstanceId();
    private readonly string _repository;
    private readonly string _v1;
    private readonly string _v2;

    public PhaseFailurePipelineTests(DockerEngineFixture engine)
    {
        _engine = engine;
        _repository = _folder.Combine("remotes", "puppet-demo");
        _v1 = GitRepositories.Create(_repository, "stable/v1", new Dictionary<string, string>
        {
            ["metadata.json"] = TestJobs.Metadata("demo"),
            ["manifests/init.pp"] = "class demo {}\n",
            ["manifests/schema.pp"] = SchemaV1,
            ["manifests/data.pp"] = DataV1,
        });
        using (var repository = new Repository(_repository))
        {
            Commands.Checkout(repository, repository.CreateBranch("master"));
        }

        _v2 = GitRepositories.Commit(_repository, new Dictionary<string, string>
        {
            ["manifests/schema.pp"] = SchemaV2,
            ["manifests/data.pp"] = DataV2,
        }, "v2: schema 2, data moves to /var/lib/demo2");
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Trigger_RollbackRefusedAndWorkloadLost_EachCellNamesThePhaseThatBroke()
    {
        await using WebApplication app = await StartAsync();
        try
        {
            // When version 2 is tested on master (release 2023.1, upgraded from zed's stable/v1)
            RunDetail run = await app.Services.GetRequiredService<RunLauncher>()
                .StartAsync(new RunTrigger(RunCause.Manual, "demo", "master", _v2, RequestedBy: "test"), CancellationToken.None);
            Assert.Equal(
                ["2023.1/data", "2023.1/schema", "zed->2023.1/data:upgrade", "zed->2023.1/schema:rollback", "zed->2023.1/schema:upgrade"],
                run.Jobs.Select(j => j.CellKey).Order(StringComparer.Ordinal));
            // Twelve Puppet applies in five containers, two at a time: generous for a machine that runs other suites too.
            await RunWaits.ForRunAsync(app.Services.GetRequiredService<RunStore>(), run.Run.Id, TimeSpan.FromMinutes(8));
            JobStore jobs = app.Services.GetRequiredService<JobStore>();
            async Task<JobDetail> Detail(string cell) =>
                (await jobs.GetDetailAsync(run.Jobs.Single(j => j.CellKey == cell).Id, CancellationToken.None))!;

            // Then the fresh deploys pass, the data one with its seed and verify steps in the deploy phase
            JobDetail dataDeploy = await Detail("2023.1/data");
            Assert.True(dataDeploy.Job.Result == JobResult.Success, dataDeploy.Job.Summary);
            Assert.Equal(
                [("deploy", "apply"), ("deploy", "idempotency"), ("deploy", "seed: sh -c mkdir -p /var/lib/demo && touch /var/lib/demo/seeded"), ("deploy", "verify: test -f /var/lib/demo/seeded")],
                dataDeploy.Steps.Select(s => (s.Phase, s.Name)));
            JobDetail schemaDeploy = await Detail("2023.1/schema");
            Assert.True(schemaDeploy.Job.Result == JobResult.Success, schemaDeploy.Job.Summary);
            JobDetail schemaUpgrade = await Detail("zed->2023.1/schema:upgrade");
            Assert.True(schemaUpgrade.Job.Result == JobResult.Success, schemaUpgrade.Job.Summary);

            // And the rollback cell fails in its rollback phase, with version 1's refusal in the summary and the log
            JobDetail rollback = await Detail("zed->2023.1/schema:rollback");
            Assert.Equal(JobResult.Failure, rollback.Job.Result);
            Assert.StartsWith("failure: step 'apply' (apply, phase rollback)", rollback.Job.Summary, StringComparison.Ordinal);
            Assert.Equal(
                [("deploy", "apply", JobResult.Success), ("upgrade", "apply", JobResult.Success), ("rollback", "apply", JobResult.Failure)],
                rollback.Steps.Select(s => (s.Phase, s.Name, s.Result)));
            Assert.Equal([("deploy", _v1), ("upgrade", _v2), ("rollback", _v1)], rollback.Modules.Select(m => (m.Phase, m.CommitSha)));
            Assert.Contains("schema 2 is newer than this version", await File.ReadAllTextAsync(rollback.Job.LogPath!), StringComparison.Ordinal);

            // And the data upgrade cell fails at the verify step of its upgrade phase: the seeded workload is gone
            JobDetail dataUpgrade = await Detail("zed->2023.1/data:upgrade");
            Assert.Equal(JobResult.Failure, dataUpgrade.Job.Result);
            Assert.StartsWith("failure: step 'verify: test -f /var/lib/demo/seeded' (command, phase upgrade)", dataUpgrade.Job.Summary, StringComparison.Ordinal);
            Assert.Equal(
                [
                    ("deploy", "apply", JobResult.Success), ("deploy", "idempotency", JobResult.Success),
                    ("deploy", "seed: sh -c mkdir -p /var/lib/demo && touch /var/lib/demo/seeded", JobResult.Success),
                    ("deploy", "verify: test -f /var/lib/demo/seeded", JobResult.Success),
                    ("upgrade", "apply", JobResult.Success), ("upgrade", "idempotency", JobResult.Success),
                    ("upgrade", "verify: test -f /var/lib/demo/seeded", JobResult.Failure),
                ],
                dataUpgrade.Steps.Select(s => (s.Phase, s.Name, s.Result)));
            Assert.Empty(await _engine.ContainersLeftAsync(_instanceId));
        }
        finally
        {
            await app.StopAsync();
            await _engine.RemovePhaseSnapshotsOfInstanceAsync(_instanceId);
        }
    }

    [Fact]
    public async Task Trigger_SyntaxErrorThenNonIdempotentCommit_FailApplyWithPuppetsWordsThenIdempotencyNamingTheResource()
    {
        // Given two later commits on stable/v1 (release zed, no upgrade cell): a syntax error, then a file whose
        // content changes on every run
        using (var repository = new Repository(_repository))
        {
            Commands.Checkout(repository, "stable/v1");
        }

        string syntaxError = GitRepositories.Commit(_repository, new Dictionary<string, string>
        {
            ["manifests/data.pp"] = "class demo::data {\n  file { '/var/lib/demo' ensure => directory }\n}\n",
        }, "typo");
        string notIdempotent = GitRepositories.Commit(_repository, new Dictionary<string, string>
        {
            ["manifests/data.pp"] = "class demo::data {\n  file { '/var/lib/demo.stamp': content => \"${Timestamp.new}\\n\" }\n}\n",
        }, "stamp");
        await using WebApplication app = await StartAsync();
        try
        {
            RunLauncher launcher = app.Services.GetRequiredService<RunLauncher>();
            RunStore runs = app.Services.GetRequiredService<RunStore>();
            JobStore jobs = app.Services.GetRequiredService<JobStore>();

            // When each is tested
            RunDetail first = await launcher.StartAsync(new RunTrigger(RunCause.Manual, "demo", "stable/v1", syntaxError, RequestedBy: "test"), CancellationToken.None);
            RunDetail second = await launcher.StartAsync(new RunTrigger(RunCause.Manual, "demo", "stable/v1", notIdempotent, RequestedBy: "test"), CancellationToken.None);
            await RunWaits.ForRunAsync(runs, first.Run.Id);
            await RunWaits.ForRunAsync(runs, second.Run.Id);

            // Then the syntax error fails the apply step, with Puppet's message in the summary and the log
            JobDetail typo = (await jobs.GetDetailAsync(first.Jobs.Single(j => j.CellKey == "zed/data").Id, CancellationToken.None))!;
            Assert.Equal(JobResult.Failure, typo.Job.Result);
            Assert.StartsWith("failure: step 'apply' (apply, phase deploy)", typo.Job.Summary, StringComparison.Ordinal);
            Assert.Equal((JobResult.Failure, 1L), (typo.Steps[0].Result, typo.Steps[0].ExitCode!.Value));
            string log = await File.ReadAllTextAsync(typo.Job.LogPath!);
            Assert.Contains("Syntax error at 'ensure'", log, StringComparison.Ordinal);
            Assert.Contains("data.pp", log, StringComparison.Ordinal);

            // And the non-idempotent commit fails the idempotency step, naming the resource, property and module
            JobDetail stamp = (await jobs.GetDetailAsync(second.Jobs.Single(j => j.CellKey == "zed/data").Id, CancellationToken.None))!;
            Assert.Equal(JobResult.Failure, stamp.Job.Result);
            Assert.StartsWith("failure: step 'idempotency' (idempotency, phase deploy)", stamp.Job.Summary, StringComparison.Ordinal);
            Assert.Equal([JobResult.Success, JobResult.Failure], stamp.Steps.Take(2).Select(s => s.Result));
            IdempotencyChangeRecord change = Assert.Single(stamp.Changes);
            Assert.Equal(("File", "/var/lib/demo.stamp", "content", "demo"), (change.ResourceType, change.Title, change.Property, change.Module));
            Assert.Contains("File[/var/lib/demo.stamp]", stamp.Job.Summary, StringComparison.Ordinal);
            Assert.Empty(await _engine.ContainersLeftAsync(_instanceId));
        }
        finally
        {
            await app.StopAsync();
            await _engine.RemovePhaseSnapshotsOfInstanceAsync(_instanceId);
        }
    }

    private async Task<WebApplication> StartAsync()
    {
        _folder.Write("scenarios/puppetfiles/zed.Puppetfile", $"mod 'demo',\n  :git => '{_repository}',\n  :ref => 'stable/v1'\n");
        _folder.Write("scenarios/puppetfiles/2023.1.Puppetfile", $"mod 'demo',\n  :git => '{_repository}',\n  :ref => 'master'\n");
        _folder.Write("scenarios/schema.pp", "include demo::schema\n");
        // One apply per phase keeps the run short; the data scenario keeps the idempotency step the second test needs.
        _folder.Write("scenarios/schema.yaml", "name: schema\nmanifest: schema.pp\nmodules: [demo]\nrollback: true\nsteps: [apply]\n");
        _folder.Write("scenarios/data.pp", "include demo::data\n");
        _folder.Write("scenarios/data.yaml", """
            name: data
            manifest: data.pp
            modules: [demo]
            seed: [[sh, -c, "mkdir -p /var/lib/demo && touch /var/lib/demo/seeded"]]
            verify: [[test, -f, /var/lib/demo/seeded]]
            """);
        var config = new JsonObject
        {
            ["Service"] = new JsonObject { ["InstanceId"] = _instanceId, ["DataDirectory"] = "data", ["ScenariosDirectory"] = "scenarios" },
            ["Modules"] = new JsonArray(new JsonObject { ["Name"] = "demo", ["Url"] = _repository, ["Branches"] = new JsonArray("master", "stable/*") }),
            ["Releases"] = new JsonArray(
                new JsonObject { ["Name"] = "zed", ["Branches"] = new JsonArray("stable/v1"), ["Image"] = _engine.PuppetImage },
                new JsonObject { ["Name"] = "2023.1", ["Branches"] = new JsonArray("master"), ["Image"] = _engine.PuppetImage }),
            ["Docker"] = new JsonObject { ["ParallelJobs"] = 2, ["MemoryMb"] = 512 },
            ["Http"] = new JsonObject { ["Listen"] = $"http://127.0.0.1:{FreePort.Next()}" },
        };
        ConfigurationLoadResult loaded = ConfigurationLoader.Load(_folder.Write("appsettings.json", config.ToJsonString()));
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));
        WebApplication app = ServiceHost.Build(loaded.Settings, ConfigurationLoader.BuildConfiguration(loaded.Settings.ConfigFile));
        await app.StartAsync();
        return app;
    }
}
