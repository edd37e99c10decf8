using CiRunner.Matrix;
using CiRunner.Polling;
using LibGit2Sharp;

namespace CiRunner.Tests.Polling;

public sealed class ModuleMirrorsTests
{
    private static readonly TrackedModule Private = new(
        "keystone", "https://git.example.org/puppet-keystone", [BranchPattern.Parse("master")], new ModuleCredentials("GIT_USER", "GIT_TOKEN"));

    [Fact]
    public void CredentialsFor_VariablesSet_LogsInWithTheirValues()
    {
        var environment = new Dictionary<string, string> { ["GIT_USER"] = "ci", ["GIT_TOKEN"] = "s3cret" };

        Credentials credentials = ModuleMirrors.CredentialsFor(Private, environment.GetValueOrDefault);

        var login = Assert.IsType<UsernamePasswordCredentials>(credentials);
        Assert.Equal(("ci", "s3cret"), (login.Username, login.Password));
    }

    [Fact]
    public void CredentialsFor_VariableUnset_FallsBackToDefaultCredentials()
    {
        var environment = new Dictionary<string, string> { ["GIT_USER"] = "ci" };

        Assert.IsType<DefaultCredentials>(ModuleMirrors.CredentialsFor(Private, environment.GetValueOrDefault));
    }
}
