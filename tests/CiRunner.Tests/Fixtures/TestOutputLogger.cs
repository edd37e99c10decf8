using Microsoft.Extensions.Logging;

namespace CiRunner.Tests.Fixtures;

/// <summary>Pipes a component's log to the test's output, so a failing test shows what the component said.</summary>
public sealed class TestOutputLogger<T> : ILogger<T>
{
    private readonly ITestOutputHelper _output;

    public TestOutputLogger(ITestOutputHelper output)
    {
        _output = output;
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        try
        {
            _output.WriteLine($"[{logLevel}] {typeof(T).Name}: {formatter(state, exception)}{(exception is null ? "" : "\n" + exception)}");
        }
        catch (InvalidOperationException)
        {
            // The test already ended (a background continuation logged late); nothing to attach the line to.
        }
    }
}
