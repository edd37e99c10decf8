namespace CiRunner.Configuration;

/// <summary>
/// One thing wrong with the configuration, a Puppetfile or a scenario file, phrased so that the reader can fix it
/// without reading code: where, the bad value, and what would have been accepted.
/// </summary>
/// <param name="File">The file (or <c>environment</c> for a <c>CIRUNNER__</c> variable) the value came from.</param>
/// <param name="Location">A configuration key (<c>Releases:2:Image</c>), an environment variable name, or <c>line 14</c>.</param>
/// <param name="Value">The bad value, already redacted when it is a secret; null when the value is missing.</param>
/// <param name="Expected">What would have been accepted.</param>
public sealed record ConfigurationError(string File, string Location, string? Value, string Expected)
{
    /// <summary>Replaces secrets in <see cref="Value"/>; the real value never reaches output.</summary>
    public const string Redacted = "***";

    /// <summary>One line: <c>appsettings.json: Docker:ParallelJobs: 'two' is not valid; expected a whole number from 1 to 64</c>.</summary>
    public override string ToString() => Format(baseDirectory: null);

    /// <summary>The one-line form, with <see cref="File"/> shown relative to <paramref name="baseDirectory"/> when it lies below it.</summary>
    public string Format(string? baseDirectory)
    {
        string file = File;
        if (baseDirectory is not null && Path.IsPathFullyQualified(File))
        {
            string relative = Path.GetRelativePath(baseDirectory, File);
            if (!relative.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathFullyQualified(relative))
            {
                file = relative.Replace('\\', '/');
            }
        }

        string problem = Value is null ? "missing" : $"'{Value}' is not valid";
        return $"{file}: {Location}: {problem}; expected {Expected}";
    }
}
