using System.Text.RegularExpressions;

namespace CiRunner.Execution;

/// <summary>What an image build did.</summary>
public enum ImageBuildStatus
{
    /// <summary>An image with the tag and the recipe's hash label already existed; nothing was built.</summary>
    UpToDate,
    Built,
    Failed,
}

/// <summary>The outcome of building (or skipping) one image; a failed build is a value with its evidence.</summary>
/// <param name="Tag">Image reference built.</param>
/// <param name="Status">Up to date, built or failed.</param>
/// <param name="ImageId">Image id when the image exists afterwards.</param>
/// <param name="RecipeHash">Hash of the recipe, also the value of the <see cref="ContainerLabels.RecipeHash"/> label.</param>
/// <param name="Error">Why the build failed; null otherwise.</param>
/// <param name="OutputTail">Last lines of the build output.</param>
/// <param name="Duration">Wall time.</param>
public sealed record ImageBuildOutcome(
    string Tag,
    ImageBuildStatus Status,
    string? ImageId,
    string RecipeHash,
    string? Error,
    IReadOnlyList<string> OutputTail,
    TimeSpan Duration)
{
    public bool Succeeded => Status != ImageBuildStatus.Failed;

    /// <summary>The status in a sentence (<c>up to date</c>, <c>built</c>, <c>failed</c>), for the job log and <c>cirunner images</c>; never stored or sent.</summary>
    public string StatusText => Status switch
    {
        ImageBuildStatus.UpToDate => "up to date",
        ImageBuildStatus.Built => "built",
        ImageBuildStatus.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(Status), Status, "Unknown image build status."),
    };
}

/// <summary>Keeps the last lines of a build's output and forwards each line; calls back on the caller's thread, in order.</summary>
internal sealed partial class BuildOutput
{
    private const int Capacity = 30;
    private readonly Queue<string> _tail = new();
    private readonly IProgress<string>? _forward;
    private readonly object _gate = new();

    public BuildOutput(IProgress<string>? forward)
    {
        _forward = forward;
    }

    public void Add(string text)
    {
        foreach (string raw in text.Split('\n'))
        {
            // The classic builder colors RUN steps' stderr; the tail goes into summaries and logs, not a terminal.
            string line = AnsiEscape().Replace(raw, "").TrimEnd('\r');
            if (line.Length == 0)
            {
                continue;
            }

            lock (_gate)
            {
                if (_tail.Count == Capacity)
                {
                    _tail.Dequeue();
                }

                _tail.Enqueue(line);
            }

            _forward?.Report(line);
        }
    }

    public IReadOnlyList<string> Tail()
    {
        lock (_gate)
        {
            return _tail.ToList();
        }
    }

    [GeneratedRegex("\u001b\\[[0-9;]*[A-Za-z]")]
    private static partial Regex AnsiEscape();
}

/// <summary>
/// An <see cref="IProgress{T}"/> that calls back synchronously. <see cref="Progress{T}"/> posts to the thread pool,
/// which can reorder build output lines.
/// </summary>
internal sealed class SynchronousProgress<T> : IProgress<T>
{
    private readonly Action<T> _handler;

    public SynchronousProgress(Action<T> handler)
    {
        _handler = handler;
    }

    public void Report(T value) => _handler(value);
}
