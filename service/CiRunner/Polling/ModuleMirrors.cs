using System.Collections.Concurrent;
using CiRunner.Configuration;
using CiRunner.Matrix;
using LibGit2Sharp;

namespace CiRunner.Polling;

/// <summary>What a mirror holds: branch heads by short name, patch-set refs by full name.</summary>
public sealed record MirrorRefs(IReadOnlyDictionary<string, string> Branches, IReadOnlyDictionary<string, string> ChangeRefs);

/// <summary>What a poll left in a mirror.</summary>
/// <param name="Refs">The refs the mirror holds after the poll.</param>
/// <param name="Fetched">Whether the poll fetched; false when the remote's tracked refs were those of the mirror already.</param>
public sealed record MirrorPoll(MirrorRefs Refs, bool Fetched);

/// <summary>
/// The bare git mirrors, one per module under <see cref="DataPaths.MirrorsDirectory"/>. Every operation on one
/// mirror holds that mirror's lock, so a poll and a manual trigger never fetch into the same repository at once.
/// </summary>
public sealed class ModuleMirrors : IDisposable
{
    private const string RemoteName = "origin";
    private const string BranchRefSpec = "+refs/heads/*:refs/heads/*";
    private const string ChangeRefSpec = "+refs/changes/*:refs/changes/*";

    /// <summary>
    /// How long a mirror's refs as this process last read or fetched them stand for the mirror without opening it.
    /// In this process only this class writes a mirror, under its lock. Another process (a <c>cirunner run</c> beside
    /// the service) only fetches, which leaves the mirror ahead of what is kept here: the next poll then finds the
    /// remote differs, fetches (nothing to transfer) and reads the mirror again. The bound covers a mirror replaced
    /// from outside; a removed one is seen at once (its <c>HEAD</c> is gone).
    /// </summary>
    public static readonly TimeSpan HeldTrust = TimeSpan.FromMinutes(1);

    private readonly DataPaths _paths;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (MirrorRefs Refs, long At)> _held = new(StringComparer.Ordinal);
    private readonly Func<string, string?> _getEnvironmentVariable;
    private readonly TimeProvider _timeProvider;

    public ModuleMirrors(DataPaths paths, Func<string, string?>? getEnvironmentVariable = null, TimeProvider? timeProvider = null)
    {
        _paths = paths;
        _getEnvironmentVariable = getEnvironmentVariable ?? Environment.GetEnvironmentVariable;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    public string PathOf(TrackedModule module) => Path.Combine(_paths.MirrorsDirectory, module.Name + ".git");

    /// <summary>
    /// Creates the mirror when missing, fetches the tracked refs (branches, and patch sets when configured), prunes
    /// branches deleted on the remote, and returns the refs the mirror then holds.
    /// </summary>
    /// <exception cref="LibGit2SharpException">The remote could not be reached or read.</exception>
    public Task<MirrorRefs> FetchAsync(TrackedModule module, CancellationToken cancellationToken) =>
        WithMirrorAsync(module, repository =>
        {
            Fetch(repository, module, cancellationToken);
            return Remember(module, ReadRefs(repository));
        }, cancellationToken);

    /// <summary>
    /// A poll's look at the remote: lists its refs (libgit2's remote ls, in process: one request, no object
    /// negotiation, nothing written to the mirror) and fetches as <see cref="FetchAsync"/> does only when
    /// <see cref="MirrorPoller.MustFetch"/> says a tracked ref differs from the mirror's. A poll that finds nothing
    /// new then costs one listing and no opening of the mirror (its refs as last seen, see <see cref="HeldTrust"/>),
    /// which is what makes a short poll interval over many modules affordable.
    /// </summary>
    /// <exception cref="LibGit2SharpException">The remote could not be reached or read.</exception>
    public Task<MirrorPoll> PollAsync(TrackedModule module, CancellationToken cancellationToken) =>
        UnderLockAsync(module, () =>
        {
            Dictionary<string, string> remote = ListRemoteRefs(module);
            if (TrustedHeld(module) is { } trusted && !MirrorPoller.MustFetch(module, remote, trusted))
            {
                return new MirrorPoll(trusted, Fetched: false);
            }

            using Repository repository = Open(module);
            MirrorRefs held = Remember(module, ReadRefs(repository));
            if (!MirrorPoller.MustFetch(module, remote, held))
            {
                return new MirrorPoll(held, Fetched: false);
            }

            Fetch(repository, module, cancellationToken);
            return new MirrorPoll(Remember(module, ReadRefs(repository)), Fetched: true);
        }, cancellationToken);

    /// <summary>The head of a branch in the mirror, or null when the mirror has no such branch.</summary>
    public Task<string?> FindBranchHeadAsync(TrackedModule module, string branch, CancellationToken cancellationToken) =>
        WithMirrorAsync(module, repository => repository.Refs[$"refs/heads/{branch}"]?.ResolveToDirectReference()?.TargetIdentifier, cancellationToken);

    /// <summary>The full id of a commit given in full or abbreviated, or null when the mirror does not have it.</summary>
    public Task<string?> FindCommitAsync(TrackedModule module, string sha, CancellationToken cancellationToken) =>
        WithMirrorAsync(module, repository => Lookup(repository, sha)?.Sha, cancellationToken);

    /// <summary>Tracked branches whose history contains <paramref name="sha"/>, in name order.</summary>
    public Task<IReadOnlyList<string>> BranchesContainingAsync(TrackedModule module, string sha, CancellationToken cancellationToken) =>
        WithMirrorAsync<IReadOnlyList<string>>(module, repository => BranchesContaining(repository, module, sha), cancellationToken);

    /// <summary><see cref="MirrorPoller.Detect"/> with the mirror answering which old heads a new head contains.</summary>
    public Task<IReadOnlyList<HeadChange>> DetectChangesAsync(
        TrackedModule module,
        MirrorRefs refs,
        IReadOnlyList<Results.BranchHeadRecord> stored,
        bool polledBefore,
        CancellationToken cancellationToken) =>
        WithMirrorAsync(
            module,
            repository => MirrorPoller.Detect(module, refs.Branches, refs.ChangeRefs, stored, (ancestor, descendant) => IsAncestor(repository, ancestor, descendant), polledBefore),
            cancellationToken);

    /// <summary>
    /// The branch a patch set is for. The ref does not say (Gerrit's REST API would); the tracked branch whose
    /// history holds the patch set's parent is the best guess a mirror allows: master first, then by name, and
    /// master when none does.
    /// </summary>
    public Task<string> TargetBranchOfPatchSetAsync(TrackedModule module, string commitSha, MirrorRefs refs, CancellationToken cancellationToken) =>
        WithMirrorAsync(
            module,
            repository =>
            {
                string? parent = Lookup(repository, commitSha)?.Parents.FirstOrDefault()?.Sha;
                return refs.Branches
                    .Where(b => parent is not null && module.Tracks(b.Key) && IsAncestor(repository, parent, b.Value))
                    .Select(b => b.Key)
                    .OrderBy(b => b == "master" ? 0 : 1)
                    .ThenBy(b => b, StringComparer.Ordinal)
                    .FirstOrDefault() ?? "master";
            },
            cancellationToken);

    public void Dispose()
    {
        foreach (SemaphoreSlim gate in _locks.Values)
        {
            gate.Dispose();
        }
    }

    private static Commit? Lookup(Repository repository, string sha)
    {
        try
        {
            return repository.Lookup<Commit>(sha);
        }
        catch (LibGit2SharpException e) when (e is AmbiguousSpecificationException or InvalidSpecificationException)
        {
            return null;
        }
    }

    private static List<string> BranchesContaining(Repository repository, TrackedModule module, string sha)
    {
        Commit? commit = Lookup(repository, sha);
        if (commit is null)
        {
            return [];
        }

        List<string> branches = [];
        foreach (Reference reference in repository.Refs.FromGlob("refs/heads/*").OrderBy(r => r.CanonicalName, StringComparer.Ordinal))
        {
            string branch = reference.CanonicalName["refs/heads/".Length..];
            if (module.Tracks(branch) && reference.ResolveToDirectReference()?.Target is Commit tip && IsAncestor(repository, commit, tip))
            {
                branches.Add(branch);
            }
        }

        return branches;
    }

    /// <summary>Whether <paramref name="ancestor"/> is in the history of <paramref name="descendant"/> (or is it).</summary>
    private static bool IsAncestor(Repository repository, Commit ancestor, Commit descendant) =>
        ancestor.Id == descendant.Id || repository.ObjectDatabase.FindMergeBase(ancestor, descendant)?.Id == ancestor.Id;

    private static bool IsAncestor(Repository repository, string ancestorSha, string descendantSha) =>
        Lookup(repository, ancestorSha) is { } ancestor && Lookup(repository, descendantSha) is { } descendant
        && IsAncestor(repository, ancestor, descendant);

    /// <summary>Runs <paramref name="action"/> on the module's mirror (created when missing) under its lock, on the thread pool: LibGit2Sharp blocks.</summary>
    private Task<T> WithMirrorAsync<T>(TrackedModule module, Func<Repository, T> action, CancellationToken cancellationToken) =>
        UnderLockAsync(
            module,
            () =>
            {
                using Repository repository = Open(module);
                return action(repository);
            },
            cancellationToken);

    /// <summary>Runs <paramref name="action"/> under the module's mirror lock, on the thread pool: LibGit2Sharp blocks.</summary>
    private Task<T> UnderLockAsync<T>(TrackedModule module, Func<T> action, CancellationToken cancellationToken)
    {
        SemaphoreSlim gate = _locks.GetOrAdd(module.Name, _ => new SemaphoreSlim(1, 1));
        return Task.Run(
            async () =>
            {
                await gate.WaitAsync(cancellationToken);
                try
                {
                    return action();
                }
                finally
                {
                    gate.Release();
                }
            },
            cancellationToken);
    }

    /// <summary>
    /// Opens the mirror, made first when missing (or removed from under the service). Opened rather than validated
    /// first: a validation opens the repository too, which cost each quiet poll as much as its listing.
    /// </summary>
    private Repository Open(TrackedModule module)
    {
        string path = PathOf(module);
        try
        {
            return new Repository(path);
        }
        catch (RepositoryNotFoundException)
        {
            _held.TryRemove(module.Name, out _);
            Directory.CreateDirectory(path);
            Repository.Init(path, isBare: true);
            return new Repository(path);
        }
    }

    /// <summary>Keeps the refs just read from the module's mirror (under its lock) as what it holds.</summary>
    private MirrorRefs Remember(TrackedModule module, MirrorRefs refs)
    {
        _held[module.Name] = (refs, _timeProvider.GetTimestamp());
        return refs;
    }

    /// <summary>The refs the mirror held when this process last read it, while they may stand for it; else null.</summary>
    private MirrorRefs? TrustedHeld(TrackedModule module) =>
        _held.TryGetValue(module.Name, out (MirrorRefs Refs, long At) held)
        && _timeProvider.GetElapsedTime(held.At) < HeldTrust
        && File.Exists(Path.Combine(PathOf(module), "HEAD"))
            ? held.Refs
            : null;

    private void Fetch(Repository repository, TrackedModule module, CancellationToken cancellationToken)
    {
        string[] refSpecs = module.ChangeRefs ? [BranchRefSpec, ChangeRefSpec] : [BranchRefSpec];

        // The remote is rewritten each time, so an edited Url or ChangeRefs applies at the next poll.
        if (repository.Network.Remotes[RemoteName] is null)
        {
            repository.Network.Remotes.Add(RemoteName, module.Url, BranchRefSpec);
        }

        repository.Network.Remotes.Update(RemoteName, remote =>
        {
            remote.Url = module.Url;
            remote.FetchRefSpecs.Clear();
            foreach (string refSpec in refSpecs)
            {
                remote.FetchRefSpecs.Add(refSpec);
            }
        });

        var options = new FetchOptions
        {
            Prune = true,
            TagFetchMode = TagFetchMode.None,

            // Returning false stops the transfer, which is how a cancelled poll ends a long fetch.
            OnTransferProgress = _ => !cancellationToken.IsCancellationRequested,
        };
        if (module.Credentials is not null)
        {
            // Read when the remote asks, so a rotated token is used without a restart.
            options.CredentialsProvider = (_, _, _) => CredentialsFor(module, _getEnvironmentVariable);
        }

        Commands.Fetch(repository, RemoteName, refSpecs, options, logMessage: null);
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>
    /// The remote's refs (full names to commit ids), as the module's credentials may read them. Listed without the
    /// mirror (libgit2 lists through a repository in memory, with the user's and the system's git settings as for
    /// the mirror): opening the mirror for it cost a quiet poll more than the listing itself.
    /// </summary>
    private Dictionary<string, string> ListRemoteRefs(TrackedModule module)
    {
        IEnumerable<Reference> listed = module.Credentials is null
            ? Repository.ListRemoteReferences(module.Url)
            : Repository.ListRemoteReferences(module.Url, (_, _, _) => CredentialsFor(module, _getEnvironmentVariable));

        var refs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DirectReference reference in listed.OfType<DirectReference>())
        {
            // The remote's HEAD is symbolic: the branch it names is listed on its own.
            refs[reference.CanonicalName] = reference.TargetIdentifier;
        }

        return refs;
    }

    /// <summary>The login for a module's remote from the environment variables it names; none when they are unset.</summary>
    internal static Credentials CredentialsFor(TrackedModule module, Func<string, string?> getEnvironmentVariable) =>
        module.Credentials?.Read(getEnvironmentVariable) is { } login
            ? new UsernamePasswordCredentials { Username = login.Username, Password = login.Password }
            : new DefaultCredentials();

    private static MirrorRefs ReadRefs(Repository repository)
    {
        var branches = new Dictionary<string, string>(StringComparer.Ordinal);
        var changes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Reference reference in repository.Refs)
        {
            string? sha = reference.ResolveToDirectReference()?.TargetIdentifier;
            if (sha is null)
            {
                continue;
            }

            if (reference.CanonicalName.StartsWith("refs/heads/", StringComparison.Ordinal))
            {
                branches[reference.CanonicalName["refs/heads/".Length..]] = sha;
            }
            else if (MirrorPoller.IsChangeRef(reference.CanonicalName))
            {
                changes[reference.CanonicalName] = sha;
            }
        }

        return new MirrorRefs(branches, changes);
    }
}
