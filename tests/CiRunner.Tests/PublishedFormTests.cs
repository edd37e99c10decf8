using System.Diagnostics;
using System.Reflection.PortableExecutable;
using System.Text.Json;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests;

/// <summary>
/// The service as <c>dotnet publish</c> makes it (<c>Publish.props</c>), which every deployment runs: self-contained,
/// precompiled, tiered compilation off, the framework trimmed, and the reflection the untrimmed build has kept on. The
/// tests that start <c>cirunner serve</c> as a process run this same executable (<see cref="ServiceProcess"/>).
/// </summary>
[Trait("Category", "Service")]
public sealed class PublishedFormTests
{
    private static readonly string[] PrecompiledAssemblies = ["cirunner.dll", "Quartz.dll", "Dapper.dll", "System.Private.CoreLib.dll"];

    private static string Folder => Path.GetDirectoryName(PublishedService.Executable)!;

    private static JsonElement RuntimeOptions()
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "cirunner.runtimeconfig.json")));
        return document.RootElement.GetProperty("runtimeOptions").Clone();
    }

    private static bool IsPrecompiled(string assembly)
    {
        using var reader = new PEReader(File.OpenRead(Path.Combine(Folder, assembly)));
        return reader.PEHeaders.CorHeader!.ManagedNativeHeaderDirectory.Size > 0;
    }

    [Fact]
    public void Published_SelfContainedAndPrecompiled_TieredCompilationOff()
    {
        JsonElement options = RuntimeOptions();

        // Self-contained: the runtime is in the folder, and the host needs none installed.
        Assert.True(options.TryGetProperty("includedFrameworks", out _));
        Assert.True(File.Exists(Path.Combine(Folder, "libcoreclr.so")));

        // Precompiled, the service and its packages as well as the framework, and that code is kept: without
        // it, tiered compilation off would send every method to the optimizing JIT at its first call.
        Assert.All(PrecompiledAssemblies, assembly => Assert.True(IsPrecompiled(assembly), assembly));
        Assert.False(options.GetProperty("configProperties").GetProperty("System.Runtime.TieredCompilation").GetBoolean());
    }

    [Fact]
    public void Published_KeepsTheBuildsGcSettingsAndReflection()
    {
        JsonElement properties = RuntimeOptions().GetProperty("configProperties");

        Assert.False(properties.GetProperty("System.GC.Server").GetBoolean());
        Assert.InRange(properties.GetProperty("System.GC.Gen0MaxBudget").GetInt64(), 1L << 20, 4L << 20);

        // A trimmed publish turns these off by default; the untrimmed build every other test runs has them on, and
        // the service relies on them (System.Text.Json over its own types, Quartz's stored job types).
        Assert.True(properties.GetProperty("System.Text.Json.JsonSerializer.IsReflectionEnabledByDefault").GetBoolean());
        Assert.True(properties.GetProperty("Quartz.TypeNameResolution.IsSupported").GetBoolean());
        Assert.True(properties.GetProperty("Quartz.JobData.IsTypeConverterCoercionSupported").GetBoolean());
        Assert.True(properties.GetProperty("Quartz.LegacyComponentKeys.IsSupported").GetBoolean());
    }

    [Fact]
    public async Task Published_Validate_SummarisesAGoodFolderAndNamesWhatIsWrongInABadOne()
    {
        // The configuration binder, YAML, the Puppetfile parser and the CLI through the trimmed framework.
        using var good = new ConfigFolder();
        good.Save();
        using var bad = new ConfigFolder();
        bad.Set("Schedule:PollInterval", "often");
        bad.Save();

        (int goodExit, string goodOutput, string goodError) = await RunAsync("validate", "--no-engine", "--config", good.ConfigFile);
        (int badExit, _, string badError) = await RunAsync("validate", "--no-engine", "--config", bad.ConfigFile);

        Assert.Equal((0, ""), (goodExit, goodError));
        Assert.Contains("Total: 13 cells: 8 deploy, 5 upgrade, 0 rollback, 0 compatibility", goodOutput, StringComparison.Ordinal);
        Assert.Equal(1, badExit);
        Assert.StartsWith("appsettings.json: Schedule:PollInterval: 'often' is not valid", badError, StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo(PublishedService.Executable, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }
}
