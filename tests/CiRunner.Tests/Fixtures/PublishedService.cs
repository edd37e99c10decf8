using System.Diagnostics;

namespace CiRunner.Tests.Fixtures;

/// <summary>
/// The service as <c>dotnet publish</c> makes it (<c>Publish.props</c>: self-contained, the framework trimmed,
/// precompiled, tiered compilation off), which deploy/demo.sh, the systemd unit and the service image run. Published
/// once per test run, the way the README tells a user to, into the test output folder; the tests that start
/// <c>cirunner serve</c> as a process (<see cref="ServiceProcess"/>) run this executable, so the form users deploy is
/// the form those tests check. <c>.ci/run</c> publishes it before the tests start and names it in
/// <c>CIRUNNER_TEST_PUBLISHED</c> (the folder), so the publish's minute and a half of compiling does not slow the tests
/// that boot systemd beside it.
/// </summary>
public static class PublishedService
{
    private static readonly TimeSpan PublishBound = TimeSpan.FromMinutes(10);
    private static readonly Lazy<string> Published = new(Publish, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The published <c>cirunner</c> executable; publishes it at the first call, failing with the output when that fails.</summary>
    public static string Executable => Published.Value;

    private static string Publish()
    {
        if (Environment.GetEnvironmentVariable("CIRUNNER_TEST_PUBLISHED") is { Length: > 0 } published)
        {
            string given = Path.Combine(published, "cirunner");
            return File.Exists(given)
                ? given
                : throw new FileNotFoundException($"CIRUNNER_TEST_PUBLISHED names {published}, which has no cirunner executable; publish there first (dotnet publish service/CiRunner -c Release -o {published}).");
        }

        string output = Path.Combine(AppContext.BaseDirectory, "published-service");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[]
                 {
                     "publish", Path.Combine(RepositoryRoot.Path, "service", "CiRunner"), "-c", "Release", "-o", output, "--nologo",

                     // No MSBuild node or compiler server outlives the publish: they would hold its output open and stay behind.
                     "--disable-build-servers",
                 })
        {
            start.ArgumentList.Add(argument);
        }

        // The test host runs under MSBuild's variables from `dotnet test`; the publish is a build of its own.
        foreach (string name in new[] { "MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "MSBuildLoadMicrosoftTargetsReadOnly" })
        {
            start.Environment.Remove(name);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(PublishBound))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet publish of the service took over {PublishBound.TotalMinutes} minutes:\n{stdout.Result}\n{stderr.Result}");
        }

        string executable = Path.Combine(output, "cirunner");
        return process.ExitCode == 0 && File.Exists(executable)
            ? executable
            : throw new InvalidOperationException($"dotnet publish of the service exited {process.ExitCode} without {executable}:\n{stdout.Result}\n{stderr.Result}");
    }
}
