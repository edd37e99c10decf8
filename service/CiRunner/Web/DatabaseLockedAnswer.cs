using System.Globalization;
using CiRunner.Results;

namespace CiRunner.Web;

/// <summary>
/// Write endpoints answer 503 with the store's explanation (who may hold the lock, what to do) when another process
/// kept the database locked past <c>Service:DatabaseLockTimeout</c>: nothing was stored, and the client may try again.
/// </summary>
internal static class DatabaseLockedAnswer
{
    public static async ValueTask<object?> Filter(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (DatabaseLockedException e)
        {
            context.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(e.Waited.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            return ApiAccess.Error(StatusCodes.Status503ServiceUnavailable, e.Message);
        }
    }
}
