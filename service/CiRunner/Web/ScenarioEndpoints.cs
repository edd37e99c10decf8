using CiRunner.Configuration;
using CiRunner.Web.Pages;

namespace CiRunner.Web;

/// <summary>One scenario in <c>GET /api/scenarios</c>.</summary>
/// <param name="Name">Scenario name.</param>
/// <param name="File">Its scenario file.</param>
/// <param name="Description">What it exercises.</param>
/// <param name="Modules">The modules it needs.</param>
/// <param name="Releases">The releases it applies to; empty means all.</param>
/// <param name="Steps">Its step names, in order.</param>
/// <param name="Upgrade">Whether it takes part in upgrade cells.</param>
/// <param name="Rollback">Whether its upgrade cells get rollback cells.</param>
/// <param name="PreviousDefinitionKept">True when its file is broken now and this, its last good definition, is still used.</param>
public sealed record ScenarioBody(
    string Name,
    string File,
    string Description,
    IReadOnlyList<string> Modules,
    IReadOnlyList<string> Releases,
    IReadOnlyList<string> Steps,
    bool Upgrade,
    bool Rollback,
    bool PreviousDefinitionKept);

/// <summary>A problem in a scenario file, as <c>cirunner validate</c> words it.</summary>
/// <param name="File">The file.</param>
/// <param name="Location">The line and key.</param>
/// <param name="Value">The bad value; null when it is missing.</param>
/// <param name="Expected">What would be accepted.</param>
/// <param name="Message">All of it in one line.</param>
public sealed record ScenarioErrorBody(string File, string Location, string? Value, string Expected, string Message);

/// <summary>The answer of <c>GET /api/scenarios</c>: what runs use now, and what is wrong with the files.</summary>
public sealed record ScenariosBody(IReadOnlyList<ScenarioBody> Scenarios, IReadOnlyList<ScenarioErrorBody> Errors, DateTimeOffset CheckedAt);

/// <summary>
/// The scenarios the service runs now (they are reloaded when their files change), on <c>/scenarios</c> and
/// <c>GET /api/scenarios</c>, with every problem of a rejected file and which previous definitions are kept.
/// </summary>
internal static class ScenarioEndpoints
{
    public static void MapScenarios(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/scenarios", (ScenarioCatalog catalog) => Microsoft.AspNetCore.Http.Results.Json(Describe(catalog)))
            .AddEndpointFilter(ApiAccess.RequireReadAccess);
        endpoints.MapGet("/scenarios", (ScenarioCatalog catalog) => Page(catalog))
            .AddEndpointFilter(ApiAccess.RequirePageAccess);
    }

    /// <summary>The catalog as the API shows it, after a re-check of the directory.</summary>
    public static ScenariosBody Describe(ScenarioCatalog catalog)
    {
        ScenarioCatalogState state = catalog.Refresh();
        string baseDirectory = BaseDirectory(catalog);
        return new ScenariosBody(
            state.Scenarios.Select(s => new ScenarioBody(
                s.Name,
                Relative(baseDirectory, s.SourcePath),
                s.Description,
                s.Modules,
                s.Releases,
                s.Steps.Select(step => step.Name).ToList(),
                s.Upgrade,
                s.Rollback,
                state.KeptScenarios.Contains(s.Name))).ToList(),
            state.Errors.Select(e => new ScenarioErrorBody(Relative(baseDirectory, e.File), e.Location, e.Value, e.Expected, e.Format(baseDirectory))).ToList(),
            state.CheckedAt);
    }

    /// <summary>The warning for pages and probes, or null when every scenario file is valid.</summary>
    public static string? Warning(ScenarioCatalogState state) =>
        state.Errors.Count == 0
            ? null
            : $"{state.Errors.Count} problem(s) in scenario files; the files are rejected"
              + (state.KeptScenarios.Count == 0 ? "" : $" and the previous definitions of {string.Join(", ", state.KeptScenarios)} stay in use");

    private static IResult Page(ScenarioCatalog catalog)
    {
        ScenariosBody described = Describe(catalog);
        return PageResult.Render<ScenariosPage>(new { catalog.Directory, Described = described, Warning = Warning(catalog.Refresh()) });
    }

    private static string BaseDirectory(ScenarioCatalog catalog) => Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(catalog.Directory)) ?? catalog.Directory;

    private static string Relative(string baseDirectory, string file)
    {
        string relative = Path.GetRelativePath(baseDirectory, file);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathFullyQualified(relative) ? file : relative.Replace('\\', '/');
    }
}
