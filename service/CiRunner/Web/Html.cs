using System.Globalization;
using System.Net;
using System.Text;

namespace CiRunner.Web;

/// <summary>
/// The dashboard's HTML building blocks: every value goes through <c>E</c> (HTML encoding), pages share one layout, and a
/// result is always a symbol and a word as well as a color, so it reads without color vision.
/// </summary>
internal static class Html
{
    private const string Style = """
        :root { color-scheme: light dark; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #fff; }
        @media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9198a1; --line: #3d444d; --bg: #0d1117; } }
        * { box-sizing: border-box; }
        body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: var(--fg); background: var(--bg); }
        header { display: flex; flex-wrap: wrap; gap: .25rem 1rem; align-items: baseline; padding: .6rem 1rem; border-bottom: 1px solid var(--line); }
        header strong { margin-right: .5rem; }
        nav { display: flex; flex-wrap: wrap; gap: .25rem .8rem; }
        main { padding: 1rem; max-width: 1400px; }
        a { color: #0969da; }
        @media (prefers-color-scheme: dark) { a { color: #4493f8; } }
        a:focus-visible, button:focus-visible, input:focus-visible { outline: 3px solid #bf8700; outline-offset: 2px; }
        form.logout { margin-left: auto; }
        form.login { display: grid; gap: .5rem; max-width: 24rem; }
        form.login input, form.login button, form.logout button { font: inherit; padding: .35rem .5rem; }
        .notice { border-left: 4px solid #bf8700; padding: .35rem .75rem; }
        .scroll { overflow-x: auto; margin-bottom: 1.5rem; }
        table { border-collapse: collapse; min-width: 100%; }
        th, td { border: 1px solid var(--line); padding: .35rem .5rem; text-align: left; vertical-align: top; }
        th { background: color-mix(in srgb, var(--line) 35%, transparent); }
        td.cell { padding: 0; min-width: 8.5rem; }
        td.cell a, td.cell span.none { display: block; padding: .35rem .5rem; color: inherit; text-decoration: none; }
        td.cell a:hover .word { text-decoration: underline; }
        .sym { font-weight: bold; margin-right: .25rem; }
        .meta { color: var(--muted); font-size: .85em; }
        .result-success { background: #d7f5dd; color: #0f3d1a; }
        .result-failure { background: #ffd8d3; color: #5c1009; }
        .result-error { background: #ffe3b3; color: #4d2a00; }
        .result-timeout { background: #f1dcff; color: #3b1060; }
        .result-cancelled, .result-skipped, .result-superseded, .result-interrupted { background: #e6e8eb; color: #2d333b; }
        .result-running { background: #d6e9ff; color: #08305c; }
        .result-queued { background: #f4f4f4; color: #2d333b; }
        pre.log { background: #0d1117; color: #e6edf3; padding: .75rem; overflow-x: auto; white-space: pre-wrap; word-break: break-word; max-height: 70vh; overflow-y: auto; }
        code { font-size: .9em; }
        dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: .2rem 1rem; }
        dt { color: var(--muted); }
        dd { margin: 0; overflow-wrap: anywhere; }
        main p, main h2 { overflow-wrap: anywhere; }
        #tempest h3, #tempest summary, #tempest li { overflow-wrap: anywhere; }
        @media (max-width: 600px) { main { padding: .5rem; } th, td { padding: .25rem .35rem; } dl { grid-template-columns: minmax(0, 1fr); } h1 { overflow-wrap: anywhere; } }
        """;

    /// <summary>
    /// Set by the page filter for a request that came with the login cookie, so that the page offers a log-out button;
    /// pages are built deep inside their handlers, and this keeps the HTTP context out of every one of them.
    /// </summary>
    public static readonly AsyncLocal<bool> LoggedIn = new();

    public static string E(string? text) => WebUtility.HtmlEncode(text ?? "");

    public static string E(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A whole page; <paramref name="body"/> is HTML already encoded by the caller.</summary>
    public static IResult Page(string title, string body, int? refreshSeconds = null, int statusCode = StatusCodes.Status200OK)
    {
        var page = new StringBuilder(body.Length + 4096);
        page.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        if (refreshSeconds is int seconds)
        {
            // A plain reload keeps the page script-free; it follows a running job's log and state.
            page.Append("<meta http-equiv=\"refresh\" content=\"").Append(seconds.ToString(CultureInfo.InvariantCulture)).Append("\">");
        }

        page.Append("<title>").Append(E(title)).Append(" · CiRunner</title><style>").Append(Style).Append("</style></head><body>")
            .Append("<header><strong>CiRunner</strong><nav aria-label=\"Main\">")
            // Spaces between the links let the menu wrap on a phone.
            .Append("<a href=\"/\">Matrix</a> <a href=\"/runs\">Runs</a> <a href=\"/queue\">Queue</a> <a href=\"/modules\">Modules</a> <a href=\"/scenarios\">Scenarios</a> ")
            .Append("<a href=\"/healthz\">Health</a> <a href=\"/metrics\">Metrics</a></nav>")
            .Append(LoggedIn.Value ? "<form method=\"post\" action=\"/logout\" class=\"logout\"><button type=\"submit\">Log out</button></form>" : "")
            .Append("</header><main>")
            .Append("<h1>").Append(E(title)).Append("</h1>")
            .Append(body)
            .Append("</main></body></html>");
        return Microsoft.AspNetCore.Http.Results.Content(page.ToString(), "text/html; charset=utf-8", Encoding.UTF8, statusCode);
    }

    /// <summary>The symbol, word and CSS class of a result; never color alone.</summary>
    public static (string Symbol, string Word, string CssClass) Describe(JobResult? result, JobState state = JobState.Finished) => result switch
    {
        JobResult.Success => ("✓", "passed", "result-success"),
        JobResult.Failure => ("✗", "failed", "result-failure"),
        JobResult.Error => ("!", "error", "result-error"),
        JobResult.Timeout => ("◔", "timeout", "result-timeout"),
        JobResult.Cancelled => ("⊘", "cancelled", "result-cancelled"),
        JobResult.Skipped => ("–", "skipped", "result-skipped"),
        JobResult.Interrupted => ("↯", "interrupted", "result-interrupted"),
        JobResult.Superseded => ("↷", "superseded", "result-superseded"),
        _ when state == JobState.Running => ("▶", "running", "result-running"),
        _ => ("…", "queued", "result-queued"),
    };

    /// <summary>A result as an inline badge.</summary>
    public static string Badge(JobResult? result, JobState state = JobState.Finished)
    {
        (string symbol, string word, string css) = Describe(result, state);
        return $"<span class=\"{css}\" style=\"padding:0 .3rem\"><span class=\"sym\" aria-hidden=\"true\">{symbol}</span>{word}</span>";
    }

    public static string ShortSha(string? sha) => sha is { Length: > 10 } ? sha[..10] : sha ?? "";

    public static string Age(DateTimeOffset? at, DateTimeOffset now)
    {
        if (at is not DateTimeOffset time)
        {
            return "";
        }

        TimeSpan age = now - time;
        string text = age.TotalSeconds < 60 ? "just now"
            : age.TotalMinutes < 60 ? $"{(int)age.TotalMinutes} min ago"
            : age.TotalHours < 48 ? $"{(int)age.TotalHours} h ago"
            : $"{(int)age.TotalDays} d ago";
        return $"<time datetime=\"{E(time.UtcDateTime.ToString("O", CultureInfo.InvariantCulture))}\" title=\"{E(time.UtcDateTime.ToString("u", CultureInfo.InvariantCulture))}\">{E(text)}</time>";
    }

    public static string Duration(TimeSpan? duration) => duration switch
    {
        null => "",
        { TotalSeconds: < 60 } d => $"{d.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)} s",
        { TotalHours: < 1 } d => $"{(int)d.TotalMinutes} min {d.Seconds} s",
        TimeSpan d => $"{(int)d.TotalHours} h {d.Minutes} min",
    };
}
