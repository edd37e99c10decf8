using CiRunner.Configuration;
using CiRunner.Matrix;
using CiRunner.Polling;
using CiRunner.Results;

namespace CiRunner.Scheduling;

/// <summary>A manual run request: a branch (tested at its head) or a commit (on a branch, given or found).</summary>
/// <param name="Module">The module's short name.</param>
/// <param name="Branch">The branch; with no commit, its head is tested.</param>
/// <param name="Commit">A commit id, full or abbreviated; it must be in the module's repository.</param>
/// <param name="RequestedBy">Who asked, stored on the run.</param>
public sealed record ManualRunRequest(string Module, string? Branch, string? Commit, string? RequestedBy);

/// <summary>The outcome of a manual request: the run, or why there is none (the message says what to do).</summary>
public sealed record ManualRunOutcome(RunDetail? Run, ManualRunRefusal? Refusal, string? Message);

public enum ManualRunRefusal
{
    /// <summary>The request itself is wrong (no branch or commit, unknown module).</summary>
    Invalid,

    /// <summary>The branch or commit is not in the repository.</summary>
    NotFound,

    /// <summary>The repository could not be fetched.</summary>
    RemoteFailed,
}

/// <summary>
/// Turns a manual request into a run: fetches the module's mirror first (the commit may have been pushed a
/// moment ago), resolves the branch head or checks the commit exists, then starts the run through
/// <see cref="RunLauncher"/>.
/// </summary>
public sealed class ManualTrigger
{
    private readonly CiRunnerSettings _settings;
    private readonly ModuleMirrors _mirrors;
    private readonly RunLauncher _launcher;

    public ManualTrigger(CiRunnerSettings settings, ModuleMirrors mirrors, RunLauncher launcher)
    {
        _settings = settings;
        _mirrors = mirrors;
        _launcher = launcher;
    }

    public async Task<ManualRunOutcome> StartAsync(ManualRunRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_settings.FindModule(request.Module) is not { } module)
        {
            string known = string.Join(", ", _settings.Modules.Select(m => m.Name));
            return Refuse(ManualRunRefusal.Invalid, $"Module '{request.Module}' is not configured (configured: {known}).");
        }

        if (string.IsNullOrWhiteSpace(request.Branch) && string.IsNullOrWhiteSpace(request.Commit))
        {
            return Refuse(ManualRunRefusal.Invalid, "Give a branch, a commit, or both.");
        }

        if (!string.IsNullOrWhiteSpace(request.Branch) && !GitRefName.IsValid(request.Branch))
        {
            return Refuse(ManualRunRefusal.Invalid, $"'{request.Branch}' is not a branch name.");
        }

        // Only ids: a revision expression (master~2, HEAD) would resolve to something nobody named.
        if (!string.IsNullOrWhiteSpace(request.Commit) && !IsCommitId(request.Commit))
        {
            return Refuse(ManualRunRefusal.Invalid, $"'{request.Commit}' is not a commit id (7 to 40 hexadecimal digits).");
        }

        try
        {
            await _mirrors.FetchAsync(module, cancellationToken);
        }
        catch (LibGit2Sharp.LibGit2SharpException e)
        {
            return Refuse(ManualRunRefusal.RemoteFailed,
                UrlCredentials.RedactText($"Fetching {module.Name} from {UrlCredentials.Redact(module.Url)} failed: {e.Message}"));
        }

        string? commit = null;
        if (!string.IsNullOrWhiteSpace(request.Commit))
        {
            commit = await _mirrors.FindCommitAsync(module, request.Commit, cancellationToken);
            if (commit is null)
            {
                return Refuse(ManualRunRefusal.NotFound,
                    $"Commit {request.Commit} is not in {module.Name}'s repository ({UrlCredentials.RedactText(UrlCredentials.Redact(module.Url))}), even after fetching; was it pushed to a tracked branch{(module.ChangeRefs ? " or a patch-set ref" : "")}?");
            }
        }

        string branch;
        if (!string.IsNullOrWhiteSpace(request.Branch))
        {
            branch = request.Branch;
            string? head = await _mirrors.FindBranchHeadAsync(module, branch, cancellationToken);
            if (head is null)
            {
                return Refuse(ManualRunRefusal.NotFound, $"Branch {branch} does not exist in {module.Name}'s repository.");
            }

            commit ??= head;
        }
        else
        {
            IReadOnlyList<string> containing = await _mirrors.BranchesContainingAsync(module, commit!, cancellationToken);
            if (containing.Count == 0)
            {
                return Refuse(ManualRunRefusal.NotFound,
                    $"Commit {commit} is on no tracked branch of {module.Name} ({string.Join(", ", module.Branches)}); give the branch to test it on with --branch.");
            }

            // A commit on master is usually also in the stable branches cut after it, and is tested as master's;
            // one that only stable branches hold was made (or backported) there.
            branch = containing.Contains("master", StringComparer.Ordinal) ? "master" : containing[0];
        }

        RunDetail run = await _launcher.StartAsync(new RunTrigger(RunCause.Manual, module.Name, branch, commit!, RequestedBy: request.RequestedBy), cancellationToken);
        return new ManualRunOutcome(run, null, null);
    }

    private static bool IsCommitId(string value) => value.Length is >= 7 and <= 40 && value.All(char.IsAsciiHexDigit);

    private static ManualRunOutcome Refuse(ManualRunRefusal refusal, string message) => new(null, refusal, message);
}
