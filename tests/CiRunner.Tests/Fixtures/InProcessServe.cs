using System.CommandLine;
using System.Net;
using System.Text.Json;
using CiRunner.Cli;

namespace CiRunner.Tests.Fixtures;

/// <summary>The real <c>cirunner</c> command line in the test process, and the wait for a <c>serve</c> it started to answer.</summary>
internal static class InProcessServe
{
    public static Task<int> InvokeAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken) =>
        CliApplication.Build().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken);

    /// <summary>Waits until <c>/healthz</c> answers on <paramref name="port"/>; fails at once when <paramref name="serving"/> exits first.</summary>
    public static async Task<(HttpStatusCode Status, JsonElement Body)> WaitForHealthAsync(int port, Task<int> serving)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        (HttpStatusCode status, JsonElement body) = await Eventually.ForAsync("serve to answer /healthz", async () =>
        {
            if (serving.IsCompleted)
            {
                throw new InvalidOperationException($"serve exited with {await serving} before answering /healthz");
            }

            try
            {
                using HttpResponseMessage response = await client.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz"));
                using JsonDocument document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                return Tuple.Create(response.StatusCode, document.RootElement.Clone());
            }
            catch (HttpRequestException)
            {
                return null;
            }
        }, TimeSpan.FromSeconds(60));
        return (status, body);
    }
}
