using System.CommandLine;
using System.Text.Json;
using CiRunner.Configuration;
using CiRunner.Web;

namespace CiRunner.Cli;

/// <summary><c>cirunner trigger</c>: asks the running service to start a manual run, over its HTTP API.</summary>
internal static class TriggerCommand
{
    /// <summary>Generous: the service fetches the module before it answers.</summary>
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromMinutes(2);

    public static Command Create()
    {
        var module = new Option<string>("--module", "-m")
        {
            Description = "The module (short name, e.g. keystone).",
            Required = true,
            CustomParser = CliValues.NonBlank("a module's short name, like keystone"),
        };
        var branch = new Option<string?>("--branch", "-b")
        {
            Description = "Test this branch at its head (or, with --commit, the branch the commit is tested on).",
            CustomParser = CliValues.NonBlank("a branch, like stable/2024.1"),
        };
        var commit = new Option<string?>("--commit")
        {
            Description = "Test this commit (full or abbreviated id); the service fetches first and refuses an unknown one.",
            CustomParser = CliValues.CommitId(),
        };
        var url = new Option<Uri?>("--url")
        {
            Description = "The service's base URL (default: Http:Listen from the configuration).",
            CustomParser = CliValues.HttpUrl("http://127.0.0.1:8080"),
        };

        var command = new Command("trigger", "Start a manual run of a branch or commit in the running service. Needs the API token in the variable named by Http:ApiTokenVariable.");
        command.Options.Add(module);
        command.Options.Add(branch);
        command.Options.Add(commit);
        command.Options.Add(url);
        command.Validators.Add(result =>
        {
            // Whether they were given, not their values: this runs before the options' parsers, and reading a value
            // that does not parse would throw here instead of reporting it.
            if (result.GetResult(branch) is null && result.GetResult(commit) is null)
            {
                result.AddError("--branch/--commit: neither given; give --branch B (its head), --commit SHA, or both");
            }
        });
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            parseResult,
            new RunRequestBody(parseResult.GetValue(module), parseResult.GetValue(branch), parseResult.GetValue(commit), Environment.UserName),
            parseResult.GetValue(url),
            cancellationToken));
        return command;
    }

    /// <summary>The address a client uses for a listen URL: a wildcard host means this machine.</summary>
    public static Uri ClientUrl(string listen)
    {
        string normalized = listen.Replace("://*", "://localhost", StringComparison.Ordinal).Replace("://+", "://localhost", StringComparison.Ordinal);
        var builder = new UriBuilder(normalized);
        builder.Host = builder.Host switch
        {
            "0.0.0.0" => "127.0.0.1",
            "[::]" or "::" => "[::1]",
            _ => builder.Host,
        };
        return builder.Uri;
    }

    private static async Task<int> RunAsync(ParseResult parseResult, RunRequestBody body, Uri? url, CancellationToken cancellationToken)
    {
        TextWriter output = parseResult.InvocationConfiguration.Output;
        TextWriter error = parseResult.InvocationConfiguration.Error;

        HttpOptions http;
        try
        {
            string configFile = GlobalOptions.ResolveConfigPath(parseResult);
            http = CliConfiguration.Build(configFile).GetSection(HttpOptions.SectionName).Get<HttpOptions>() ?? new HttpOptions();
            if (http.ApiTokenFile is { Length: > 0 } tokenFile)
            {
                // Relative to the configuration file, as the service reads it.
                http.ApiTokenFile = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(configFile)!, tokenFile));
            }
        }
        catch (Exception exception) when (exception is FileNotFoundException or InvalidDataException or InvalidOperationException)
        {
            if (url is null)
            {
                await error.WriteLineAsync($"{exception.Message} (or pass --url)".AsMemory(), cancellationToken);
                return 1;
            }

            http = new HttpOptions();
        }

        string? token = http.ReadApiToken();
        if (token is null)
        {
            string advice = http.ApiTokenFile is null
                ? $"No API token: set {http.ApiTokenVariable} to the token the service was started with."
                : $"No API token: {http.ApiTokenFile} (Http:ApiTokenFile) is missing, empty or not readable by this user.";
            await error.WriteLineAsync(advice.AsMemory(), cancellationToken);
            return 1;
        }

        Uri baseUrl = url ?? ClientUrl(http.Listen);
        using var client = new HttpClient { BaseAddress = baseUrl, Timeout = RequestTimeout };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        try
        {
            using HttpResponseMessage response = await client.PostAsJsonAsync(new Uri("api/runs", UriKind.Relative), body, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                RunCreatedBody? run = await response.Content.ReadFromJsonAsync<RunCreatedBody>(cancellationToken);
                await output.WriteLineAsync(
                    $"Run {run!.RunId} started: {run.Module} {run.Branch} at {ResultsText.ShortSha(run.Commit)}, {run.Jobs} jobs queued.".AsMemory(),
                    cancellationToken);
                return 0;
            }

            await error.WriteLineAsync($"The service refused ({(int)response.StatusCode}): {await ErrorMessageAsync(response, cancellationToken)}".AsMemory(), cancellationToken);
            return 1;
        }
        catch (HttpRequestException exception)
        {
            await error.WriteLineAsync($"Cannot reach the service at {baseUrl}: {exception.Message}. Is 'cirunner serve' running there (Http:Listen, or --url)?".AsMemory(), cancellationToken);
            return 1;
        }
    }

    private static async Task<string> ErrorMessageAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        string text = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            using JsonDocument document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out JsonElement message))
            {
                return message.GetString() ?? text;
            }
        }
        catch (JsonException)
        {
            // Not our JSON (a proxy's page, say): show it as it came.
        }

        return text.Length == 0 ? response.ReasonPhrase ?? "no details" : text;
    }
}
