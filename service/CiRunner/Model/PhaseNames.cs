namespace CiRunner.Model;

/// <summary>
/// The phases of a job, by name, in the order a job runs them: a deploy job has <c>deploy</c>, an upgrade job adds
/// <c>upgrade</c>, a rollback job then <c>rollback</c>. The names are stored as written (<c>job_modules.phase</c>,
/// <c>steps.phase</c>, <c>job_phase_snapshots.phase</c>), and everything that lists phases orders them by
/// <see cref="Order"/>, the one place that order is written.
/// </summary>
public static class PhaseNames
{
    public const string Deploy = "deploy";

    public const string Upgrade = "upgrade";

    public const string Rollback = "rollback";

    private static readonly string[] RunOrder = [Deploy, Upgrade, Rollback];

    /// <summary>Every phase, in the order a job runs them.</summary>
    public static IReadOnlyList<string> InRunOrder => RunOrder;

    /// <summary>Where <paramref name="phase"/> comes in a job (0 for <c>deploy</c>); a name not known comes after every known one.</summary>
    public static int Order(string phase)
    {
        int index = Array.IndexOf(RunOrder, phase);
        return index < 0 ? RunOrder.Length : index;
    }
}
