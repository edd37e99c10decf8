namespace CiRunner.Model;

/// <summary>How one Tempest test ended.</summary>
public enum TempestTestStatus
{
    Passed,

    /// <summary>Failed or errored; a class whose <c>setUpClass</c> failed is one failed test named after it.</summary>
    Failed,

    /// <summary>Skipped by Tempest (a feature or service the configuration turns off); excluded tests never run at all.</summary>
    Skipped,
}
