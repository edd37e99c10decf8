using System.Text;
using CiRunner.Execution;
using CiRunner.Results;
using Microsoft.AspNetCore.Http.Features;

namespace CiRunner.Web;

/// <summary>
/// A job's log as it is written, as Server-Sent Events (<see cref="LiveLogFrames"/>): <c>GET /jobs/{id}/log/stream</c>
/// for the job page (the page's access rules) and <c>GET /api/jobs/{id}/log/stream</c> (the API's read rules).
/// The stream starts at byte 0, at <c>?from=</c> (the page passes the end of the log it shows) or at
/// <c>Last-Event-ID</c> (a reconnecting EventSource), waits for a queued job to start, and ends with the
/// <c>end</c> event once the job has finished and its log is sent.
/// </summary>
internal static class LiveLogEndpoints
{
    /// <summary>How often the file and the job are looked at while nothing new comes.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>A comment goes out after this long without a line: proxies commonly close a connection idle for a minute.</summary>
    private static readonly TimeSpan QuietNotice = TimeSpan.FromSeconds(15);

    public static void MapLiveLog(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/jobs/{id:long}/log/stream", StreamAsync).AddEndpointFilter(ApiAccess.RequireReadAccess);
        endpoints.MapGet("/jobs/{id:long}/log/stream", StreamAsync).AddEndpointFilter(ApiAccess.RequirePageAccess);
    }

    private static async Task<IResult> StreamAsync(
        long id, string? from, HttpContext http, JobStore jobs, JobLogs logs, IHostApplicationLifetime lifetime, TimeProvider time, CancellationToken cancellationToken)
    {
        if (LiveLogFrames.StartOffset(http.Request.Headers["Last-Event-ID"].ToString(), from, out string? error) is not long offset)
        {
            return ApiAccess.Error(StatusCodes.Status400BadRequest, error!);
        }

        if (await jobs.GetAsync(id, cancellationToken) is not { } job)
        {
            return ApiAccess.Error(StatusCodes.Status404NotFound, $"Job {id} does not exist.");
        }

        // A finished job whose log retention removed: the page's message, as GET /jobs/{id}/log answers.
        if (job.State == JobState.Finished && (logs.PathOf(job) is not { } path || !File.Exists(path))
            && await logs.ExpiredAsync(id, cancellationToken) is { } expired)
        {
            return ApiAccess.Error(StatusCodes.Status410Gone, expired);
        }

        return new LiveLogResult(id, offset, jobs, logs, new JobLogFollower(time, PollInterval, QuietNotice), lifetime.ApplicationStopping);
    }

    private sealed class LiveLogResult(long jobId, long offset, JobStore jobs, JobLogs logs, JobLogFollower follower, CancellationToken stopping) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            HttpResponse response = httpContext.Response;
            response.ContentType = "text/event-stream; charset=utf-8";
            response.Headers.CacheControl = "no-cache";

            // nginx buffers a proxied answer unless told not to; events must pass as they come.
            response.Headers["X-Accel-Buffering"] = "no";
            httpContext.Features.GetRequiredFeature<IHttpResponseBodyFeature>().DisableBuffering();

            // The service's stop ends the stream too: an open stream must not hold the host's shutdown for its
            // whole timeout. The browser reconnects with Last-Event-ID and goes on where it was.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(httpContext.RequestAborted, stopping);
            try
            {
                await response.WriteAsync(LiveLogFrames.Opening(jobId, offset), stop.Token);
                await response.Body.FlushAsync(stop.Token);
                var frames = new StringBuilder();
                await foreach (LogFollowItem item in follower.FollowAsync(ProbeAsync, offset, stop.Token))
                {
                    switch (item.Kind)
                    {
                        case LogFollowKind.Lines:
                            LiveLogFrames.AppendLines(frames, item.Lines);
                            break;
                        case LogFollowKind.Quiet:
                            frames.Append(LiveLogFrames.Comment(item.Job.LogFile is null ? "waiting for the job to start" : "no new lines"));
                            break;
                        case LogFollowKind.Ended:
                            JobRecord? ended = await jobs.GetAsync(jobId, stop.Token);
                            frames.Append(LiveLogFrames.End(ended?.Result, ended?.Summary));
                            break;
                    }

                    await response.WriteAsync(frames.ToString(), stop.Token);
                    await response.Body.FlushAsync(stop.Token);
                    frames.Clear();
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // The client left or the service stops: nothing more to send.
            }
        }

        /// <summary>A job that is gone (retention) counts as finished: nothing more will be written.</summary>
        private async Task<FollowedJob> ProbeAsync(CancellationToken cancellationToken) =>
            await jobs.GetAsync(jobId, cancellationToken) is { } job
                ? new FollowedJob(logs.PathOf(job), job.State == JobState.Finished)
                : new FollowedJob(null, Finished: true);
    }
}
