namespace CiRunner.Tests.Fixtures;

/// <summary>
/// Tests that read or set <c>CIRUNNER__</c> environment variables. The environment is process-wide, so these run
/// alone, never beside another test that loads configuration.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessEnvironment
{
    public const string Name = "Process environment";
}
