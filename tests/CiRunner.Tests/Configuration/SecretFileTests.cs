using System.Diagnostics;
using System.Text.Json.Nodes;
using CiRunner.Configuration;
using CiRunner.Matrix;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Configuration;

/// <summary>Secrets from files (<c>Http:ApiTokenFile</c>, <c>Credentials:PasswordFile</c>): read when safe, refused at start when not.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SecretFileTests : IDisposable
{
    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Load_TokenAndPasswordFilesOnlyTheOwnerReads_SecretsAreReadWithoutTheTrailingNewline()
    {
        string token = SecretFile("secrets/api-token", "t0ken-from-file\n", UnixFileMode.UserRead | UnixFileMode.UserWrite);
        string password = SecretFile("secrets/git-password", "pa55word\n", UnixFileMode.UserRead);
        _folder.Set("Http:ApiTokenVariable", null);
        _folder.Set("Http:ApiTokenFile", "secrets/api-token");
        _folder.Set("Modules:0:Credentials", new JsonObject { ["UsernameVariable"] = "GIT_USER", ["PasswordFile"] = password });

        ConfigurationLoadResult loaded = _folder.Load();

        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));
        Assert.Equal(token, loaded.Settings.Http.ApiTokenFile);
        Assert.Equal("t0ken-from-file", loaded.Settings.Http.ReadApiToken(_ => "not this"));
        ModuleCredentials credentials = loaded.Settings.Modules[0].Credentials!;
        Assert.Equal(("bob", "pa55word"), credentials.Read(name => name == "GIT_USER" ? "bob" : null));
        Assert.Equal("auth failed for *** at host", credentials.Redact("auth failed for pa55word at host"));
        Assert.Equal($"the file {token} (Http:ApiTokenFile)", loaded.Settings.Http.ApiToken.Describe());
    }

    [Fact]
    public void Load_TokenFileReadableByOthers_RefusedNamingTheFileItsModeAndChmod()
    {
        string token = SecretFile("api-token", "t0ken", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        _folder.Set("Http:ApiTokenVariable", null);
        _folder.Set("Http:ApiTokenFile", "api-token");

        ConfigurationError error = Assert.Single(_folder.Load().Errors);

        Assert.Equal("Http:ApiTokenFile", error.Location);
        Assert.Equal("api-token", error.Value);
        Assert.Equal($"a file only its owner can read (its mode is 0644, so group or others can read it: chmod 600 {token})", error.Expected);
        Assert.DoesNotContain("t0ken", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_PasswordFileOfAnotherUser_RefusedNamingTheOwnerAndChown()
    {
        string password = SecretFile("git-password", "pa55word", UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Run("chown", "65534", password);
        _folder.Set("Modules:0:Credentials", new JsonObject { ["UsernameVariable"] = "GIT_USER", ["PasswordFile"] = password });

        ConfigurationError error = Assert.Single(_folder.Load().Errors);

        Assert.Equal("Modules:0:Credentials:PasswordFile", error.Location);
        Assert.Contains("(it belongs to uid 65534: chown ", error.Expected, StringComparison.Ordinal);
        Assert.EndsWith($" {password})", error.Expected, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TokenFileMissingOrBesideTheVariable_RefusedWithWhatToDo()
    {
        _folder.Set("Http:ApiTokenFile", "nowhere/api-token");
        ConfigurationError both = Assert.Single(_folder.Load().Errors);
        _folder.Set("Http:ApiTokenVariable", null);
        ConfigurationError missing = Assert.Single(_folder.Load().Errors);

        Assert.Equal(("Http:ApiTokenFile", "either Http:ApiTokenVariable or Http:ApiTokenFile, not both: remove one of them"), (both.Location, both.Expected));
        Assert.Equal("Http:ApiTokenFile", missing.Location);
        Assert.Contains($"({Path.Combine(_folder.Root, "nowhere", "api-token")} does not exist)", missing.Expected, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_CredentialsWithNeitherVariableNorFile_SaysBothWaysOut()
    {
        _folder.Set("Modules:0:Credentials", new JsonObject { ["UsernameFile"] = SecretFile("user", "bob", UnixFileMode.UserRead) });

        ConfigurationError error = Assert.Single(_folder.Load().Errors);

        Assert.Equal("Modules:0:Credentials:PasswordVariable", error.Location);
        Assert.Contains("or PasswordFile: a file holding it, readable only by the service's user", error.Expected, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_GerritLoginAndWebhookSecretFromFiles_ReadFromThereAndNamedInMessages()
    {
        string password = SecretFile("secrets/gerrit-password", "http-pa55\n", UnixFileMode.UserRead | UnixFileMode.UserWrite);
        string hook = SecretFile("secrets/hook", "hmac-s3cret\n", UnixFileMode.UserRead);
        _folder.Set("Modules:0:ChangeRefs", true);
        _folder.Set("Gerrit", new JsonObject
        {
            ["Url"] = "https://review.example.org",
            ["CiName"] = "Acme CI",
            ["ContactUrl"] = "https://wiki.openstack.org/wiki/ThirdPartySystems/Acme_CI",
            ["UsernameVariable"] = "GERRIT_USER",
            ["PasswordFile"] = "secrets/gerrit-password",
        });
        _folder.Set("Reporting", new JsonObject
        {
            ["Webhooks"] = new JsonArray(new JsonObject { ["Name"] = "chat", ["Url"] = "https://chat.example.org/hook", ["SecretFile"] = hook }),
        });

        ConfigurationLoadResult loaded = _folder.Load();

        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));
        GerritOptions gerrit = loaded.Settings.Gerrit!;
        Assert.Equal(("ci-bot", "http-pa55"), gerrit.ReadLogin(name => name == "GERRIT_USER" ? "ci-bot" : null));
        Assert.Null(gerrit.ReadLogin(_ => null));
        Assert.Equal($"the environment variable GERRIT_USER (Gerrit:UsernameVariable) and the file {password} (Gerrit:PasswordFile)", gerrit.DescribeLogin());
        Assert.Equal("hmac-s3cret", Assert.Single(loaded.Settings.Reporting.Webhooks).Secret!.Read());
    }

    [Fact]
    public void Load_GerritPasswordFileOthersCanRead_OrBesideItsVariable_IsRefusedWithTheFix()
    {
        string password = SecretFile("secrets/gerrit-password", "http-pa55", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        _folder.Set("Modules:0:ChangeRefs", true);
        _folder.Set("Gerrit", new JsonObject
        {
            ["Url"] = "https://review.example.org",
            ["CiName"] = "Acme CI",
            ["ContactUrl"] = "https://wiki.openstack.org/wiki/ThirdPartySystems/Acme_CI",
            ["PasswordFile"] = "secrets/gerrit-password",
        });
        ConfigurationError readable = Assert.Single(_folder.Load().Errors);
        _folder.Set("Gerrit:PasswordVariable", "GERRIT_PASSWORD");
        File.SetUnixFileMode(password, UnixFileMode.UserRead);
        ConfigurationError both = Assert.Single(_folder.Load().Errors);

        Assert.Equal("Gerrit:PasswordFile", readable.Location);
        Assert.Equal($"a file only its owner can read (its mode is 0644, so group or others can read it: chmod 600 {password})", readable.Expected);
        Assert.DoesNotContain("pa55", readable.ToString(), StringComparison.Ordinal);
        Assert.Equal(("Gerrit:PasswordFile", "either Gerrit:PasswordVariable or Gerrit:PasswordFile, not both: remove one of them"), (both.Location, both.Expected));
    }

    private string SecretFile(string relativePath, string content, UnixFileMode mode)
    {
        string path = _folder.Write(relativePath, content);
        File.SetUnixFileMode(path, mode);
        return path;
    }

    private static void Run(string program, params string[] arguments)
    {
        using Process process = Process.Start(program, arguments);
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', arguments)} exited {process.ExitCode}; the test runs as root in CI");
    }
}
