namespace CiRunner.Tests.Fixtures;

/// <summary>Tests that measure the test process's own resident memory: they run alone, never beside another test.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessMemory
{
    public const string Name = "Process memory";
}
