namespace CiRunner.Execution;

/// <summary>How one Tempest test ended.</summary>
public enum TempestTestStatus
{
    Passed,

    /// <summary>Failed or errored; a class whose <c>setUpClass</c> failed is one failed test named after it.</summary>
    Failed,

    /// <summary>Skipped by Tempest (a feature or service the configuration turns off); excluded tests never run at all.</summary>
    Skipped,
}

/// <summary>One test of a tempest step's run.</summary>
/// <param name="TestId">
/// Tempest's id: <c>tempest.api.identity.v3.test_domains.DefaultDomainTestJSON.test_default_domain_exists[id-17a5de24-...,smoke]</c>,
/// or <c>setUpClass (tempest.api.image.v2.test_versions.VersionsTest)</c> for a class that failed or was skipped as a whole.
/// </param>
/// <param name="ClassName">The test class (<c>tempest.api.image.v2.test_versions.VersionsTest</c>).</param>
/// <param name="Status">Passed, failed or skipped.</param>
/// <param name="Duration">As Tempest measured it.</param>
/// <param name="Traceback">A failed test's traceback (the log it captured first, then Python's traceback); null otherwise.</param>
/// <param name="SkipReason">Why a skipped test was skipped; null otherwise.</param>
public sealed record TempestTestResult(string TestId, string ClassName, TempestTestStatus Status, TimeSpan Duration, string? Traceback, string? SkipReason)
{
    /// <summary>The id without its attributes (<c>[id-...,smoke]</c>): what people call the test.</summary>
    public string ShortName => TempestResultParser.WithoutAttributes(TestId);

    /// <summary>The exception a failed test ended with (<c>tempest.lib.exceptions.BadRequest: Bad request</c>), when the traceback says.</summary>
    public string? FailureLine => Traceback is null ? null : TempestResultParser.FailureLine(Traceback);
}
