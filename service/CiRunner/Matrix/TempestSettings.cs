namespace CiRunner.Matrix;

/// <summary>
/// What a <c>type: tempest</c> step runs: Debian's <c>tempest run</c> with a configuration file, the tests whose ids
/// match an <see cref="Include"/> regex and no <see cref="Exclude"/> regex, and <see cref="Concurrency"/> workers.
/// </summary>
/// <param name="ConfigPath">
/// <c>tempest.conf</c> as the container sees it: a file the scenario ships (<c>/cirunner/scenario/...</c>) or one Puppet
/// wrote (an absolute path on the node).
/// </param>
/// <param name="Include">Python regexes (stestr's include list): a test runs when its id matches any of them.</param>
/// <param name="Exclude">Python regexes (stestr's exclude list): a matching test is left out of the run.</param>
/// <param name="Concurrency">Tempest workers (<c>--concurrency</c>).</param>
public sealed record TempestSettings(string ConfigPath, IReadOnlyList<string> Include, IReadOnlyList<string> Exclude, int Concurrency)
{
    /// <summary>
    /// The identity and image API smoke tests, as puppet-openstack-integration selects them for a Keystone and Glance
    /// node. Tempest's own <c>--smoke</c> cannot be narrowed: stestr adds an include list to a selection regex as
    /// alternatives, so the <c>smoke</c> attribute is part of each regex instead.
    /// </summary>
    public static readonly IReadOnlyList<string> DefaultInclude =
    [
        @"^tempest\.api\.identity\..*\[.*\bsmoke\b.*\]",
        @"^tempest\.api\.image\..*\[.*\bsmoke\b.*\]",
    ];

    /// <summary>Two workers: the smoke run mostly waits on HTTP answers, and takes about half as long as with one (56 s against 137 s on Debian 13).</summary>
    public const int DefaultConcurrency = 2;

    /// <summary>The configuration file a scenario ships unless its step says otherwise, beside the scenario file.</summary>
    public const string DefaultConfig = "tempest.conf";
}
