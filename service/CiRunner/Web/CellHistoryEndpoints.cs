using CiRunner.Results;
using CiRunner.Web.Pages;

namespace CiRunner.Web;

/// <summary>
/// A matrix cell's history: <c>/cells/history</c> (the page) and <c>/api/cells/history</c> (the same data as JSON).
/// The cell is named in the query string (<c>?module=keystone&amp;branch=stable/2024.1&amp;cell=2024.1/scenario001</c>):
/// branches and cell keys both hold <c>/</c>, so path segments could not tell where one ends.
/// </summary>
internal static class CellHistoryEndpoints
{
    public static void MapCellHistory(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/cells/history", PageAsync).AddEndpointFilter(ApiAccess.RequirePageAccess);
        endpoints.MapGet("/api/cells/history", ApiAsync).AddEndpointFilter(ApiAccess.RequireReadAccess);
    }

    /// <summary>The history page's address of a cell.</summary>
    public static string PageLink(string module, string branch, string cellKey) =>
        $"/cells/history?module={Uri.EscapeDataString(module)}&branch={Uri.EscapeDataString(branch)}&cell={Uri.EscapeDataString(cellKey)}";

    /// <summary>The API's address of a cell's history.</summary>
    public static string ApiLink(string module, string branch, string cellKey) => "/api" + PageLink(module, branch, cellKey);

    private static async Task<IResult> PageAsync(string? module, string? branch, string? cell, string? limit, CellHistoryStore history, TimeProvider time, CancellationToken cancellationToken)
    {
        if (Problem(module, branch, cell, limit, out int count) is { } problem)
        {
            return Microsoft.AspNetCore.Http.Results.Text(problem, "text/plain; charset=utf-8", statusCode: StatusCodes.Status400BadRequest);
        }

        CellHistory found = await history.ReadAsync(module!, branch!, cell!, count, cancellationToken);
        return PageResult.Render<CellHistoryPage>(
            new { History = found, Now = time.GetUtcNow() },
            found.Runs.Count == 0 ? StatusCodes.Status404NotFound : StatusCodes.Status200OK);
    }

    private static async Task<IResult> ApiAsync(string? module, string? branch, string? cell, string? limit, CellHistoryStore history, CancellationToken cancellationToken)
    {
        if (Problem(module, branch, cell, limit, out int count) is { } problem)
        {
            return ApiAccess.Error(StatusCodes.Status400BadRequest, problem);
        }

        CellHistory found = await history.ReadAsync(module!, branch!, cell!, count, cancellationToken);
        return found.Runs.Count == 0
            ? ApiAccess.Error(StatusCodes.Status404NotFound, NoResults(found))
            : Microsoft.AspNetCore.Http.Results.Json(found);
    }

    /// <summary>What is wrong with the query, in one line that names the fix; null when nothing is.</summary>
    private static string? Problem(string? module, string? branch, string? cell, string? limit, out int count)
    {
        count = CellHistoryStore.DefaultLimit;
        if (string.IsNullOrWhiteSpace(module) || string.IsNullOrWhiteSpace(branch) || string.IsNullOrWhiteSpace(cell))
        {
            return "A cell's history needs module, branch and cell: ?module=keystone&branch=stable/2024.1&cell=2024.1/scenario001 (the matrix links each cell to it).";
        }

        if (limit is not null
            && (!int.TryParse(limit, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out count)
                || count < 1 || count > CellHistoryStore.MaxLimit))
        {
            return $"limit '{limit}' is not a number of results from 1 to {CellHistoryStore.MaxLimit}: leave it out for the last {CellHistoryStore.DefaultLimit}.";
        }

        return null;
    }

    /// <summary>Why a history is empty: no branch result of the cell, so maybe a typo.</summary>
    internal static string NoResults(CellHistory history) =>
        $"Cell '{history.CellKey}' of {history.Module} {history.Branch} has no result yet (only finished runs of the branch count, not patch sets, replays or bisects): check the names against the matrix.";
}
