using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace CiRunner.Tests.Fixtures;

/// <summary>One line the service logged.</summary>
public sealed record CapturedLog(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception)
{
    public string Text => Exception is null ? Message : $"{Message}\n{Exception}";
}

/// <summary>
/// Every log line of a service under test, kept for assertions and piped to the test's output. Added to the
/// running host's <see cref="ILoggerFactory"/>, so the service is built exactly as <c>serve</c> builds it.
/// </summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLog> _entries = new();

    public CapturedLogs(ITestOutputHelper? output = null)
    {
        Output = output;
    }

    /// <summary>Where each line is echoed as it is logged; set it when the test's output is known only later.</summary>
    public ITestOutputHelper? Output { get; set; }

    public IReadOnlyList<CapturedLog> Entries => _entries.ToArray();

    /// <summary>Every entry as one line, <c>[Level] Category: message</c>, exceptions included.</summary>
    public IReadOnlyList<string> Lines => _entries.Select(Line).ToList();

    /// <summary>Everything logged, one entry per line, exceptions included.</summary>
    public string Text => string.Join('\n', Lines);

    private static string Line(CapturedLog entry) => $"[{entry.Level}] {entry.Category}: {entry.Text}";

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>Waits (bounded) until a matching line has been logged, and returns it.</summary>
    public async Task<CapturedLog> WaitForAsync(string what, Func<CapturedLog, bool> match, TimeSpan? timeout = null)
    {
        return await Eventually.ForAsync(
            $"the service to log {what}",
            () => Task.FromResult(_entries.FirstOrDefault(match)),
            timeout ?? TimeSpan.FromSeconds(90),
            interval: TimeSpan.FromMilliseconds(50));
    }

    public void Dispose()
    {
    }

    private void Add(CapturedLog entry)
    {
        _entries.Enqueue(entry);
        try
        {
            Output?.WriteLine($"{TimeProvider.System.GetUtcNow():HH:mm:ss.fff} {Line(entry)}");
        }
        catch (InvalidOperationException)
        {
            // The test already ended; the line is still kept.
        }
    }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            owner.Add(new CapturedLog(category, logLevel, eventId, formatter(state, exception), exception));
        }
    }
}
