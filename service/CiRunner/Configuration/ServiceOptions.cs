namespace CiRunner.Configuration;

/// <summary>The <c>Service</c> section: where CiRunner keeps its state and finds its scenarios.</summary>
public sealed class ServiceOptions
{
    public const string SectionName = "Service";

    /// <summary>Names this service instance; containers are labelled with it so a restart reaps only its own.</summary>
    [Matches("^[a-z0-9][a-z0-9_.-]{0,62}$", ErrorMessage = "lower-case letters, digits, '.', '_' or '-', at most 63 characters (it labels this instance's containers)")]
    public string InstanceId { get; set; } = "default";

    /// <summary>Database, git mirrors and job logs live here. Relative to the configuration file's folder.</summary>
    [Text(TextKind.Path, ErrorMessage = "a directory path, absolute or relative to the configuration file's folder")]
    public string DataDirectory { get; set; } = "data";

    /// <summary>Scenario files (<c>*.yaml</c>), their manifests and the release Puppetfiles. Relative to the configuration file's folder.</summary>
    [Text(TextKind.Path, ErrorMessage = "an existing directory of scenario files, absolute or relative to the configuration file's folder")]
    public string ScenariosDirectory { get; set; } = "scenarios";

    /// <summary>Release image recipes, one folder per release (<c>&lt;release&gt;/Dockerfile</c>). Relative to the configuration file's folder.</summary>
    [Text(TextKind.Path, ErrorMessage = "a directory path, absolute or relative to the configuration file's folder")]
    public string ImageRecipesDirectory { get; set; } = "deploy/images";

    /// <summary>
    /// On stop, how long running jobs may go on to finish normally once polling and dispatching have stopped;
    /// the ones still running then are cancelled (result <c>cancelled</c>, reason: the service shut down).
    /// </summary>
    [Duration(Maximum = "24h", ErrorMessage = Matrix.Duration.Expected + ", from 0s (cancel running jobs at once) to 24h")]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How many times a cell may run within one run: a job that ends <c>interrupted</c> (the service died) or with a
    /// transient infrastructure error (the engine went away) is queued again until this many attempts were made.
    /// </summary>
    [WholeNumber(1, 10, ErrorMessage = "a whole number from 1 (never retry) to 10")]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>How long a database write waits out a lock another process holds on the database file before it fails with a clear error.</summary>
    [Duration(Minimum = "5s", Maximum = "1h", ErrorMessage = Matrix.Duration.Expected + ", from 5s (one wait of SQLite's busy timeout) to 1h")]
    public TimeSpan DatabaseLockTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// New jobs are held while the data directory's file system has less free space than this (MiB); 0 turns the
    /// check off. Logs and the database live there, and a job that runs out of space half-way is wasted.
    /// </summary>
    [WholeNumber(0, 1024 * 1024 * 1024, ErrorMessage = "a whole number of MiB, 0 or more (0 turns the free-space check off)")]
    public int MinFreeDiskMb { get; set; } = 1024;
}
