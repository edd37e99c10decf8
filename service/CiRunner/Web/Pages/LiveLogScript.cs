using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Components;

namespace CiRunner.Web.Pages;

/// <summary>
/// The job page's one script: it follows a running job's log through the live log stream (EventSource, no framework),
/// appends each line to the log's <c>pre</c> (step headers marked), keeps the view at the end when the reader is
/// there, and reloads the page when the <c>end</c> event says the job has finished. The text never changes per
/// request, so the pages' Content-Security-Policy allows exactly it by its hash (<see cref="Hash"/>) and nothing else.
/// </summary>
internal static class LiveLogScript
{
    /// <summary>The script's text, byte for byte as the page carries it (the hash is over these bytes).</summary>
    public const string Source = """
        (() => {
          const log = document.getElementById('log');
          const note = document.getElementById('log-live');
          if (!log || !log.dataset.stream || !window.EventSource) return;
          const source = new EventSource(log.dataset.stream);
          const add = (text, isStep) => {
            const atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 24;
            const line = document.createElement('span');
            if (isStep) line.className = 'step';
            line.textContent = text + '\n';
            log.append(line);
            if (atEnd) log.scrollTop = log.scrollHeight;
          };
          source.onopen = () => { note.textContent = 'Live: lines appear as the job writes them.'; };
          source.onerror = () => { if (source.readyState !== EventSource.CLOSED) note.textContent = 'Live log interrupted: reconnecting…'; };
          source.onmessage = (e) => add(e.data, false);
          source.addEventListener('step', (e) => add(e.data, true));
          source.addEventListener('end', (e) => {
            source.close();
            const end = JSON.parse(e.data);
            note.textContent = 'The job has ended' + (end.result ? ': ' + end.result : '') + '. Reloading the page…';
            location.reload();
          });
        })();
        """;

    /// <summary>The <c>script</c> element: a constant, so emitting it as markup puts no data into the page unencoded.</summary>
    public static MarkupString Element { get; } = new($"<script>{Source}</script>");

    /// <summary>The CSP source that allows this script: <c>'sha256-…'</c> of its UTF-8 text.</summary>
    public static string Hash { get; } = $"'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(Source)))}'";
}
