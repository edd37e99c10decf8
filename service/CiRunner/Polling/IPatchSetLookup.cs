using CiRunner.Matrix;

namespace CiRunner.Polling;

/// <summary>What the code review server says about a patch set: the branch its change targets.</summary>
/// <param name="Branch">The change's target branch, without <c>refs/heads/</c>.</param>
/// <param name="ChangeNumber">The change number.</param>
/// <param name="PatchSet">The patch set number.</param>
public sealed record PatchSetInfo(string Branch, int ChangeNumber, int PatchSet);

/// <summary>
/// Asks the code review server (Gerrit's REST API) about a patch set found on a mirror's <c>refs/changes/*</c>. The
/// ref alone does not say which branch the change is for; without an answer the poller infers it from history.
/// </summary>
public interface IPatchSetLookup
{
    /// <summary>The patch set's change, or null when the server does not know it or does not answer (the caller then infers).</summary>
    Task<PatchSetInfo?> FindAsync(TrackedModule trackedModule, string changeRef, string commitSha, CancellationToken cancellationToken);
}
