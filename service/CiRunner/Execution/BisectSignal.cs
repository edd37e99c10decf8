namespace CiRunner.Execution;

/// <summary>
/// Wakes the service's bisect starter when a finished job asked for a bisect, so that it reads the store when there
/// is something to read rather than on a clock (an idle service reads nothing).
/// </summary>
public sealed class BisectSignal : IDisposable
{
    private readonly SemaphoreSlim _raised = new(0, 1);

    /// <summary>Says that a request waits; raising it again before it is seen changes nothing.</summary>
    public void Raise()
    {
        try
        {
            _raised.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already raised: the starter will read every waiting request at once.
        }
    }

    /// <summary>Waits until raised.</summary>
    public Task WaitAsync(CancellationToken cancellationToken) => _raised.WaitAsync(cancellationToken);

    public void Dispose() => _raised.Dispose();
}
