using CiRunner.Execution;

namespace CiRunner.Tests.Fixtures;

/// <summary>
/// What every executor test on the real engine needs: a temp folder, an instance id of its own (so its
/// containers are found by label, and no other test's), an executor whose log goes to the test output,
/// and the check that no container is left.
/// </summary>
public abstract class ExecutorTestBase : IDisposable
{
    protected ExecutorTestBase(DockerEngineFixture engine, ITestOutputHelper output)
    {
        Engine = engine;
        Output = output;
    }

    protected DockerEngineFixture Engine { get; }

    protected ITestOutputHelper Output { get; }

    protected TempDirectory Folder { get; } = new();

    protected string Instance { get; } = DockerEngineFixture.NewInstanceId();

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            Folder.Dispose();
        }
    }

    protected DockerJobExecutor CreateExecutor(IImageProvisioner? images = null, bool phaseSnapshots = false) =>
        TestExecutors.Create(Engine.Docker, new TestOutputLogger<DockerJobExecutor>(Output), images, phaseSnapshots: phaseSnapshots);

    /// <summary>The job's log, also written to the test output.</summary>
    protected async Task<string> ReadLogAsync(JobSpec job)
    {
        ArgumentNullException.ThrowIfNull(job);
        string log = await File.ReadAllTextAsync(job.LogFilePath);
        Output.WriteLine(log);
        return log;
    }

    protected async Task AssertNoContainerLeftAsync() => Assert.Empty(await Engine.ContainersLeftAsync(Instance));
}
