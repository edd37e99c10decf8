using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CiRunner.Configuration;

namespace CiRunner.Reporting;

/// <summary>
/// The few Gerrit REST endpoints CiRunner uses, as Gerrit's documentation specifies them: authenticated requests
/// under <c>/a/</c> with HTTP basic auth (the account's HTTP password), JSON answers after the <c>)]}'</c> line,
/// changes named <c>&lt;url-encoded project&gt;~&lt;number&gt;</c>. No retries here: callers decide (the reporter retries
/// through Polly and the outbox, the poller at its next interval). Errors are <see cref="GerritException"/>s whose
/// messages name the server and the request, never the login.
/// </summary>
public sealed class GerritClient : IDisposable
{
    /// <summary>Changes per query page.</summary>
    public const int PageSize = 100;

    /// <summary>Gerrit's guard against cross-site script inclusion, the first line of every JSON answer.</summary>
    public const string JsonPrefix = ")]}'";

    private static readonly JsonSerializerOptions _json = new(JsonSerializerDefaults.General);

    private readonly GerritOptions _options;
    private readonly HttpClient _http;
    private readonly Func<string, string?> _getEnvironmentVariable;

    public GerritClient(GerritOptions options, Func<string, string?>? getEnvironmentVariable = null, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _getEnvironmentVariable = getEnvironmentVariable ?? Environment.GetEnvironmentVariable;
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AutomaticDecompression = DecompressionMethods.All })
        {
            BaseAddress = new Uri(options.Url.TrimEnd('/') + "/"),
            Timeout = timeout ?? TimeSpan.FromSeconds(30),
        };
    }

    /// <summary>The server, for messages.</summary>
    public string Server => _options.Url;

    /// <summary><c>&lt;project&gt;~&lt;number&gt;</c>, the change id Gerrit recommends, with the project URL-encoded.</summary>
    public static string ChangeId(string project, int number) =>
        string.Create(CultureInfo.InvariantCulture, $"{Uri.EscapeDataString(project)}~{number}");

    /// <summary>The CI account (<c>GET /a/accounts/self</c>): its id tells the CI's own messages apart.</summary>
    public async Task<GerritAccount> GetSelfAsync(CancellationToken cancellationToken) =>
        await GetAsync<GerritAccount>("a/accounts/self", cancellationToken)
        ?? throw new GerritException(GerritFailure.Rejected, 404, $"Gerrit {Server} does not know the CI account (GET /a/accounts/self answered 404).");

    /// <summary>A change with its current patch set (<c>GET /a/changes/{id}?o=CURRENT_REVISION</c>), or null when Gerrit has no such change.</summary>
    public Task<GerritChange?> GetChangeAsync(string project, int number, CancellationToken cancellationToken) =>
        GetAsync<GerritChange>($"a/changes/{ChangeId(project, number)}?o=CURRENT_REVISION", cancellationToken);

    /// <summary>
    /// The open changes of a project with their messages and current patch set, every page of them
    /// (<c>GET /a/changes/?q=project:P status:open [after:"T"]&amp;o=CURRENT_REVISION&amp;o=MESSAGES</c>).
    /// </summary>
    /// <param name="project">The Gerrit project.</param>
    /// <param name="updatedSince">Only changes updated at or after this Gerrit timestamp; null for all.</param>
    /// <param name="cancellationToken">Cancels the requests.</param>
    public async Task<IReadOnlyList<GerritChange>> QueryOpenChangesAsync(string project, string? updatedSince, CancellationToken cancellationToken)
    {
        // after: takes seconds at most ("2006-01-02 15:04:05", UTC when no zone is given) and is inclusive.
        string query = $"project:{project} status:open" + (updatedSince is { Length: >= 19 } since ? $" after:\"{since[..19]}\"" : "");
        var changes = new List<GerritChange>();
        while (true)
        {
            string path = string.Create(CultureInfo.InvariantCulture,
                $"a/changes/?q={Uri.EscapeDataString(query)}&o=CURRENT_REVISION&o=MESSAGES&n={PageSize}&S={changes.Count}");
            List<GerritChange> page = await GetAsync<List<GerritChange>>(path, cancellationToken) ?? [];
            changes.AddRange(page);
            if (page.Count == 0 || !page[^1].MoreChanges)
            {
                return changes;
            }
        }
    }

    /// <summary>A change's messages, oldest first (<c>GET /a/changes/{id}/messages</c>).</summary>
    public async Task<IReadOnlyList<GerritMessage>> ListMessagesAsync(string project, int number, CancellationToken cancellationToken) =>
        await GetAsync<List<GerritMessage>>($"a/changes/{ChangeId(project, number)}/messages", cancellationToken)
        ?? throw NotFound($"GET /a/changes/{ChangeId(project, number)}/messages");

    /// <summary>Whether a patch set merges cleanly into its target branch (<c>GET /a/changes/{id}/revisions/{rev}/mergeable</c>).</summary>
    public async Task<bool> IsMergeableAsync(string project, int number, string revision, CancellationToken cancellationToken)
    {
        string path = $"a/changes/{ChangeId(project, number)}/revisions/{revision}/mergeable";
        GerritMergeable mergeable = await GetAsync<GerritMergeable>(path, cancellationToken) ?? throw NotFound($"GET /{path}");
        return mergeable.Mergeable;
    }

    /// <summary>Posts a review: a message, maybe votes (<c>POST /a/changes/{id}/revisions/{rev}/review</c>).</summary>
    public async Task SetReviewAsync(string project, int number, string revision, GerritReviewInput review, CancellationToken cancellationToken)
    {
        string path = $"a/changes/{ChangeId(project, number)}/revisions/{revision}/review";
        string body = JsonSerializer.Serialize(review, _json);
        _ = await SendAsync(HttpMethod.Post, path, body, cancellationToken) ?? throw NotFound($"POST /{path}");
    }

    public void Dispose() => _http.Dispose();

    /// <summary>The JSON after Gerrit's <c>)]}'</c> line.</summary>
    public static string StripJsonPrefix(string body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!body.StartsWith(JsonPrefix, StringComparison.Ordinal))
        {
            return body;
        }

        int newline = body.IndexOf('\n', StringComparison.Ordinal);
        return newline < 0 ? "" : body[(newline + 1)..];
    }

    private async Task<T?> GetAsync<T>(string path, CancellationToken cancellationToken)
        where T : class
    {
        string? body = await SendAsync(HttpMethod.Get, path, null, cancellationToken);
        if (body is null)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<T>(StripJsonPrefix(body), _json);
        }
        catch (JsonException e)
        {
            throw new GerritException(GerritFailure.Transient, 200, $"Gerrit {Server} answered GET /{PathOnly(path)} with something that is not the JSON its documentation describes: {e.Message}", e);
        }
    }

    /// <summary>The answer's body, or null for 404; other failures throw.</summary>
    private async Task<string?> SendAsync(HttpMethod method, string path, string? json, CancellationToken cancellationToken)
    {
        string what = $"{method} /{PathOnly(path)}";
        (string Username, string Password) login = _options.ReadLogin(_getEnvironmentVariable)
            ?? throw new GerritException(GerritFailure.Login, null,
                $"No Gerrit login for {what} on {Server}: set {_options.DescribeLogin()} for the service to the CI account's user name and HTTP password, then restart it.");

        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{login.Username}:{login.Password}")));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new GerritException(GerritFailure.Transient, null, $"Gerrit {Server} could not be reached for {what}: {e.Message}", e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new GerritException(GerritFailure.Transient, null, $"Gerrit {Server} did not answer {what} within {_http.Timeout.TotalSeconds:0} s.", e);
        }

        using (response)
        {
            string body = await response.Content.ReadAsStringAsync(cancellationToken);
            int status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                return body;
            }

            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }

            // Gerrit's error answers are plain text; a proxy's may be an HTML page, so only a short start is kept.
            string said = Shorten(body);
            string answer = $"{status} {response.ReasonPhrase}";
            throw response.StatusCode switch
            {
                HttpStatusCode.Unauthorized => new GerritException(GerritFailure.Login, status,
                    $"Gerrit {Server} refused the login for {what} ({answer}): check that {_options.Username.Describe()} holds the CI account's user name and {_options.Password.Describe()} its HTTP password (Gerrit: Settings, HTTP Credentials; not the web login password)."),
                HttpStatusCode.Forbidden => new GerritException(GerritFailure.Login, status,
                    $"Gerrit {Server} did not allow {what} ({answer}): {said}. The CI account needs the permission (for votes, the label {_options.Label} on the project)."),
                HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout => new GerritException(GerritFailure.Transient, status, $"Gerrit {Server} answered {what} with {answer}: {said}"),
                _ when status >= 500 => new GerritException(GerritFailure.Transient, status, $"Gerrit {Server} answered {what} with {answer}: {said}"),
                _ => new GerritException(GerritFailure.Rejected, status, $"Gerrit {Server} refused {what} ({answer}): {said}"),
            };
        }
    }

    private GerritException NotFound(string what) => new(GerritFailure.NotFound, 404, $"Gerrit {Server} answered {what} with 404 Not Found.");

    private static string PathOnly(string path)
    {
        int query = path.IndexOf('?', StringComparison.Ordinal);
        return query < 0 ? path : path[..query];
    }

    private static string Shorten(string body)
    {
        string text = body.ReplaceLineEndings(" ").Trim();
        return text.Length <= 300 ? text : text[..300] + "...";
    }
}
