using CiRunner.Results;

namespace CiRunner.Web;

/// <summary><c>/healthz</c>: whether the service can reach what it depends on.</summary>
internal static class HealthEndpoints
{
    public static void MapHealth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/healthz", async (ResultsDatabase database, CancellationToken cancellationToken) =>
        {
            string databaseStatus;
            bool healthy = true;
            try
            {
                int version = await database.ReadSchemaVersionAsync(cancellationToken);
                databaseStatus = $"ok (schema {version})";
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                healthy = false;
                databaseStatus = $"error: {e.Message}";
            }

            var body = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["status"] = healthy ? "ok" : "degraded",
                ["database"] = databaseStatus,
            };
            return Microsoft.AspNetCore.Http.Results.Json(body, statusCode: healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });
    }
}
