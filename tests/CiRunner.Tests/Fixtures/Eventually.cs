using System.Diagnostics;

namespace CiRunner.Tests.Fixtures;

/// <summary>A bounded wait for a condition that a test cannot be told about: poll, and fail saying what never happened.</summary>
public static class Eventually
{
    /// <summary>Polls <paramref name="probe"/> every 100 ms until it returns a value that is neither null nor false.</summary>
    /// <exception cref="TimeoutException">It did not within <paramref name="bound"/>; the message names <paramref name="what"/> and <paramref name="context"/>'s answer.</exception>
    public static async Task<T> ForAsync<T>(string what, Func<Task<T?>> probe, TimeSpan bound, Func<string>? context = null)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var waited = Stopwatch.StartNew();
        while (true)
        {
            T? value = await probe();
            if (value is not null && value is not false)
            {
                return value;
            }

            if (waited.Elapsed > bound)
            {
                throw new TimeoutException($"Waited {bound} for {what}." + (context is null ? "" : $"\n{context()}"));
            }

            await Task.Delay(100);
        }
    }
}
