namespace CiRunner.Matrix;

/// <summary>A parsed r10k Puppetfile: the module set of one release.</summary>
/// <param name="Path">File it was read from.</param>
/// <param name="ModuleDir">The <c>moduledir</c> directive, when present.</param>
/// <param name="Modules">Modules in file order.</param>
public sealed record Puppetfile(string Path, string? ModuleDir, IReadOnlyList<PuppetfileModule> Modules)
{
    public PuppetfileModule? Find(string name) =>
        Modules.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.Ordinal));
}

/// <summary>How a Puppetfile entry pins its version.</summary>
public enum PuppetfileRefKind
{
    /// <summary>No pin: the remote's default branch.</summary>
    Default,
    Ref,
    Branch,
    Tag,
    Commit,
}

/// <summary>One <c>mod</c> entry of a Puppetfile.</summary>
/// <param name="Name">Module name without the author prefix (<c>puppetlabs-stdlib</c> and <c>puppetlabs/stdlib</c> become <c>stdlib</c>).</param>
/// <param name="Git">Git URL; every entry has one, since runs must be offline and repeatable.</param>
/// <param name="RefKind">Which key pinned the version.</param>
/// <param name="Ref">The branch, tag, commit or ref; null for <see cref="PuppetfileRefKind.Default"/>.</param>
/// <param name="Line">1-based line of the <c>mod</c> keyword.</param>
public sealed record PuppetfileModule(string Name, string Git, PuppetfileRefKind RefKind, string? Ref, int Line);
