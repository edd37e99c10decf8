using System.Diagnostics;

namespace CiRunner.Tests.Fixtures;

/// <summary>
/// The one bounded wait for a condition that a test cannot be told about: poll every <see cref="Interval"/> (or the
/// interval given), and after the bound either fail saying what never happened (<see cref="ForAsync"/>,
/// <see cref="TrueAsync"/>) or hand back the last value seen for the test to assert on (<see cref="LastValueAsync"/>).
/// </summary>
public static class Eventually
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    /// <summary>Polls <paramref name="probe"/> until it returns a value that is neither null nor false, and returns it.</summary>
    /// <exception cref="TimeoutException">It did not within <paramref name="bound"/>; the message names <paramref name="what"/> and <paramref name="context"/>'s answer.</exception>
    public static async Task<T> ForAsync<T>(string what, Func<Task<T?>> probe, TimeSpan bound, Func<string>? context = null, TimeSpan? interval = null)
    {
        ArgumentNullException.ThrowIfNull(probe);
        (bool done, T? value) = await PollAsync(probe, v => v is not null && v is not false, bound, interval);
        return done ? value! : throw Timeout(what, bound, context);
    }

    /// <summary>Polls <paramref name="condition"/> until it holds.</summary>
    /// <exception cref="TimeoutException">It did not within <paramref name="bound"/>; the message names <paramref name="what"/> and <paramref name="context"/>'s answer.</exception>
    public static async Task TrueAsync(string what, Func<Task<bool>> condition, TimeSpan bound, Func<string>? context = null, TimeSpan? interval = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        (bool done, _) = await PollAsync(condition, held => held, bound, interval);
        if (!done)
        {
            throw Timeout(what, bound, context);
        }
    }

    /// <summary>
    /// Polls <paramref name="probe"/> until its value satisfies <paramref name="until"/>, and returns that value, or the
    /// last value seen once <paramref name="bound"/> has passed: for a test that asserts on it, so a failure shows the evidence.
    /// </summary>
    public static async Task<T> LastValueAsync<T>(Func<Task<T>> probe, Func<T, bool> until, TimeSpan bound, TimeSpan? interval = null)
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(until);
        (_, T value) = await PollAsync(probe, until, bound, interval);
        return value;
    }

    private static async Task<(bool Done, T Value)> PollAsync<T>(Func<Task<T>> probe, Func<T, bool> until, TimeSpan bound, TimeSpan? interval)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            T value = await probe();
            if (until(value))
            {
                return (true, value);
            }

            if (waited.Elapsed > bound)
            {
                return (false, value);
            }

            await Task.Delay(interval ?? Interval);
        }
    }

    private static TimeoutException Timeout(string what, TimeSpan bound, Func<string>? context) =>
        new($"Waited {bound} for {what}." + (context is null ? "" : $"\n{context()}"));
}
