using System.Reflection;
using System.Runtime.CompilerServices;
using NetArchTest.Rules;

namespace CiRunner.Tests;

/// <summary>
/// The stage order of docs/architecture.md, read from the compiled service assembly's type references (so
/// fully qualified names, attributes and generated code count, not only <c>using</c> lines). A stage may use the
/// stages below it and never one beside or above it; that rules out back-edges and cycles alike.
/// </summary>
public sealed class ArchitectureTests
{
    /// <summary>
    /// Bottom to top; the stages on one row are peers that must not use each other. Keep in step with the diagram in
    /// docs/architecture.md. <see cref="Root"/> is the composition (namespace <c>CiRunner</c>: ServiceHost), which
    /// <c>cirunner serve</c> starts; Program (the entry point, global namespace) sits on top and calls the Cli.
    /// </summary>
    private const string Root = "(root)";

    private static readonly string[][] Layers =
    [
        ["Model"],
        ["Matrix"],
        ["Configuration"],
        ["Results"],
        ["Telemetry"],
        ["Polling", "Execution"],
        ["Scheduling"],
        ["Reporting"],
        ["Web"],
        [Root],
        ["Cli"],
    ];

    /// <summary>Namespaces that compilers and source generators put into the assembly; they belong to no stage.</summary>
    private static readonly string[] GeneratedNamespaces =
    [
        "Microsoft.CodeAnalysis",
        "Microsoft.Extensions.Validation.Embedded",
        "Microsoft.AspNetCore.Http.Generated",
        "System.Runtime.CompilerServices",
        "System.Text.RegularExpressions.Generated",
        "__Blazor",
        "__OptionValidationStaticInstances",
    ];

    /// <summary>
    /// What "values in, values out" rules out: reading files, processes, the network, the engine, git and the database.
    /// (<c>System.Environment</c> cannot be listed: every iterator method's generated enumerator reads
    /// <c>Environment.CurrentManagedThreadId</c>.)
    /// </summary>
    private static readonly string[] EdgeDependencies =
    [
        "System.IO.File", "System.IO.Directory", "System.IO.FileSystemWatcher",
        "System.Diagnostics.Process", "System.Net.Http", "System.Net.Sockets",
        "Docker.DotNet", "LibGit2Sharp", "Microsoft.Data.Sqlite", "Dapper", "Quartz", "Microsoft.AspNetCore",
        "Microsoft.Extensions.Hosting", "Microsoft.Extensions.DependencyInjection",
    ];

    private static readonly Assembly Service = typeof(JobResult).Assembly;

    /// <summary>Read once: loading the assembly's type references is the slow part.</summary>
    private static readonly Types ServiceTypes = Types.InAssembly(Service);

    private static string[] Stages => [.. Layers.SelectMany(row => row)];

    public static TheoryData<string> EveryStage => [.. Stages];

    public static TheoryData<string> PureStages => ["Model", "Matrix"];

    [Theory]
    [MemberData(nameof(EveryStage))]
    public void Stage_UsesOnlyTheStagesBelowIt(string stage)
    {
        // Given the stages on its own row and above it, and the composition root
        int row = Array.FindIndex(Layers, r => r.Contains(stage));
        string[] forbidden = [.. Layers.Skip(row).SelectMany(r => r).Where(s => s != stage).SelectMany(Targets)];

        // When its types' references are read
        string[] backEdges = [.. forbidden.SelectMany(target => Dependents(stage, target).Select(type => $"{type} -> {target}"))];

        // Then none reaches one of them
        Assert.True(backEdges.Length == 0,
            $"{stage} may use only {string.Join(", ", Layers.Take(row).SelectMany(r => r).DefaultIfEmpty("nothing"))}, but:\n  "
            + string.Join("\n  ", backEdges)
            + "\nMove the shared type down (often into Model), or turn the call around (an interface the lower stage owns), see docs/architecture.md.");
    }

    [Theory]
    [MemberData(nameof(PureStages))]
    public void PureStage_ReadsNothingFromOutside(string stage)
    {
        // Given a stage that must turn values into values
        // When its types' references are read
        string[] edges = [.. EdgeDependencies.SelectMany(target => Dependents(stage, target).Select(type => $"{type} -> {target}"))];

        // Then none reads a file, the environment, a process, the engine, git or the database: loaders at the edge do
        Assert.True(edges.Length == 0, $"{stage} must hold values only, but:\n  " + string.Join("\n  ", edges));
    }

    [Fact]
    public void EveryNamespace_BelongsToAStage()
    {
        // Given every type the service assembly holds
        string[] strays =
        [
            .. Service.GetTypes()
                .Where(t => !t.IsDefined(typeof(CompilerGeneratedAttribute), inherit: false) && t.DeclaringType is null && t.FullName != "Program")
                .Select(t => t.Namespace ?? "")
                .Distinct(StringComparer.Ordinal)
                .Where(ns => ns != "CiRunner"
                    && !Stages.Any(s => ns == $"CiRunner.{s}" || ns.StartsWith($"CiRunner.{s}.", StringComparison.Ordinal))
                    && !GeneratedNamespaces.Any(g => ns == g || ns.StartsWith(g + ".", StringComparison.Ordinal))),
        ];

        // Then each namespace (but the entry point's) is a stage or inside one, the composition root, or generated code: a new folder gets a row in Layers
        Assert.True(strays.Length == 0, "Namespaces outside every stage (add them to Layers and docs/architecture.md): " + string.Join(", ", strays));
    }

    [Fact]
    public void DependencyReader_SeesAnEdgeThatExists()
    {
        // Given edges the code has on purpose (the pages read the store; the dispatcher runs on the executor; serve builds the host)
        // When the same reader the rules use looks for them
        // Then it finds them: the rules above are not passing because the reader sees nothing
        Assert.NotEmpty(Dependents("Web", "CiRunner.Results"));
        Assert.NotEmpty(Dependents("Scheduling", "CiRunner.Execution"));
        Assert.NotEmpty(Dependents("Cli", typeof(ServiceHost).FullName!));
        Assert.Empty(Dependents("Results", "CiRunner.Web"));
    }

    /// <summary>What using <paramref name="stage"/> means: any type of its namespace, or for the root its few types by name.</summary>
    private static IEnumerable<string> Targets(string stage) => stage == Root
        ? Service.GetTypes().Where(t => t.Namespace == "CiRunner" && t.DeclaringType is null).Select(t => t.FullName!)
        : [$"CiRunner.{stage}"];

    /// <summary>The types of <paramref name="stage"/> (its namespace and those inside it) that reference anything whose name starts with <paramref name="target"/>.</summary>
    private static IEnumerable<string> Dependents(string stage, string target)
    {
        string types = stage == Root ? "^CiRunner$" : $"^CiRunner\\.{stage}(\\..+)?$";
        TestResult result = ServiceTypes
            .That().ResideInNamespaceMatching(types)
            .ShouldNot().HaveDependencyOn(target)
            .GetResult();
        return result.IsSuccessful ? [] : result.FailingTypeNames ?? [];
    }
}
