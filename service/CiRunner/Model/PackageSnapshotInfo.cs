namespace CiRunner.Model;

/// <summary>A package snapshot on the engine: a release's packages frozen when its image was built.</summary>
/// <param name="Release">The release whose image it was frozen from.</param>
/// <param name="Volume">The Docker volume that holds it (an apt repository, its package list and the upgrade script).</param>
/// <param name="Id">Its identity: <c>sha256:</c> and the hash of its package list (name=version per line) and upgrade script.</param>
/// <param name="ImageId">The id of the release image it was frozen from.</param>
/// <param name="PackageCount">How many packages it holds.</param>
public sealed record PackageSnapshotInfo(string Release, string Volume, string Id, string ImageId, int PackageCount);
