namespace CiRunner.Model;

/// <summary>What a step does.</summary>
public enum StepKind
{
    /// <summary><c>puppet apply --detailed-exitcodes</c>: exit 0 and 2 pass.</summary>
    Apply,

    /// <summary>A second apply: any change is a failure.</summary>
    Idempotency,

    /// <summary>A verification command given as an argument array.</summary>
    Command,

    /// <summary>Debian's <c>tempest run</c> against the deployed services; every test's result is kept.</summary>
    Tempest,
}
