using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace CiRunner.Tests.Fixtures;

/// <summary>Every log line of a service host, kept in memory (and echoed to a test's output when given one).</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public ITestOutputHelper? Output { get; set; }

    public IReadOnlyList<string> Lines => [.. _lines];

    public string Text => string.Join('\n', _lines);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private void Add(string line)
    {
        _lines.Enqueue(line);
        try
        {
            Output?.WriteLine($"{TimeProvider.System.GetUtcNow():HH:mm:ss.fff} {line}");
        }
        catch (InvalidOperationException)
        {
            // The test that owned the output already ended.
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
            owner.Add($"[{logLevel}] {category}: {formatter(state, exception)}{(exception is null ? "" : "\n" + exception)}");
        }
    }
}
