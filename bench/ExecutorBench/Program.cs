using System.Diagnostics;
using System.Globalization;
using CiRunner.Execution;
using CiRunner.Matrix;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging.Abstractions;

// Usage: ExecutorBench <count> <parallelism> <image> [endpoint] [warm-up jobs]
// Runs <count> jobs, each one `true` command step, through DockerJobExecutor with <parallelism> jobs at a
// time, after untimed warm-up jobs (default 30): the service is long-running, so the JIT's tiered compilation
// (which recompiles hot methods after about 30 calls, on a background thread) is paid once, not per job.
// Prints "executor wall_ms=<n> jobs=<count> parallel=<p>" and exits non-zero unless every job succeeded.
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: ExecutorBench <count> <parallelism> <image> [endpoint]");
    return 2;
}

int count = int.Parse(args[0], CultureInfo.InvariantCulture);
int parallelism = int.Parse(args[1], CultureInfo.InvariantCulture);
string image = args[2];
string endpoint = args.Length > 3 ? args[3] : "unix:///var/run/docker.sock";
int warmUpJobs = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 30;

using DockerClient docker = new DockerClientBuilder().WithEndpoint(new Uri(endpoint)).Build();
// The image exists (the script builds it) and the step needs no systemd: nothing to build, nothing probed.
var executor = new DockerJobExecutor(
    docker,
    TimeProvider.System,
    NullLogger<DockerJobExecutor>.Instance,
    new NoRecipes(),
    new ExecutorOptions(),
    new DockerPackageSnapshots(docker, TimeProvider.System, NullLogger<DockerPackageSnapshots>.Instance),
    new NotProbed());
string instance = $"bench-{Guid.NewGuid():N}";
DirectoryInfo logs = Directory.CreateTempSubdirectory("cirunner-bench-");
var limits = new ContainerLimits(256L * 1024 * 1024, 1.0, 64, "none");
var phase = new JobPhase("main", [], [], null, [new StepDefinition(StepKind.Command, "true", ["true"], TimeSpan.FromMinutes(1))]);

JobSpec Job(long id) => new(1, id, instance, image, null, [phase], TimeSpan.FromMinutes(1), Path.Combine(logs.FullName, $"{id}.log"), limits);

try
{
    for (int id = -warmUpJobs; id < 0; id++)
    {
        JobOutcome warmUp = await executor.ExecuteAsync(Job(id), NullJobProgress.Instance, CancellationToken.None);
        if (warmUp.Result != JobResult.Success)
        {
            Console.Error.WriteLine($"warm-up job failed: {warmUp.Summary}");
            return 1;
        }
    }

    await WaitUntilRemovedAsync();

    int failures = 0;
    var clock = Stopwatch.StartNew();
    await Parallel.ForEachAsync(
        Enumerable.Range(1, count),
        new ParallelOptions { MaxDegreeOfParallelism = parallelism },
        async (id, cancellationToken) =>
        {
            JobOutcome outcome = await executor.ExecuteAsync(Job(id), NullJobProgress.Instance, cancellationToken);
            if (outcome.Result != JobResult.Success)
            {
                Interlocked.Increment(ref failures);
                Console.Error.WriteLine($"job {id}: {outcome.Summary}");
            }
        });

    // The executor returns once a container is killed and the engine's auto-remove finishes the removal; the
    // clock stops only when every container is gone, as `docker run --rm` waits for its removal.
    await WaitUntilRemovedAsync();
    clock.Stop();
    Console.WriteLine($"executor wall_ms={clock.ElapsedMilliseconds} jobs={count} parallel={parallelism}");
    return failures == 0 ? 0 : 1;
}
finally
{
    logs.Delete(recursive: true);
}

async Task WaitUntilRemovedAsync()
{
    var parameters = new ContainersListParameters
    {
        All = true,
        Filters = new Dictionary<string, IDictionary<string, bool>>
        {
            ["label"] = new Dictionary<string, bool> { [$"{ContainerLabels.Instance}={instance}"] = true },
        },
    };
    var bound = Stopwatch.StartNew();
    while ((await docker.Containers.ListContainersAsync(parameters)).Count > 0)
    {
        if (bound.Elapsed > TimeSpan.FromSeconds(30))
        {
            throw new TimeoutException("containers of the benchmark are still there 30 s after the last job");
        }

        await Task.Delay(5);
    }
}

/// <summary>The bench's image is built beforehand: a missing one is an error, not a build.</summary>
internal sealed class NoRecipes : IImageProvisioner
{
    public Task<ImageBuildOutcome?> ProvisionAsync(string image, string? release, IProgress<string>? output, CancellationToken cancellationToken) =>
        Task.FromResult<ImageBuildOutcome?>(null);

    public Task<bool> ProvisionSnapshotAsync(string release, CancellationToken cancellationToken) => Task.FromResult(false);
}

/// <summary>The bench's jobs do not boot systemd.</summary>
internal sealed class NotProbed : ISystemdHostStatus
{
    public SystemdProbeResult? Last => null;
}
