using System.Net;
using System.Net.Http.Headers;
using CiRunner.Configuration;
using CiRunner.Tests.Fixtures;
using Microsoft.AspNetCore.Builder;

namespace CiRunner.Tests.EndToEnd;

/// <summary>The token rules with <c>Http:ProtectReads: true</c>, on the real service: reads need the token like writes; probes stay open.</summary>
[Trait("Category", "Service")]
public sealed class ApiAccessTests : IDisposable
{
    private static readonly string[] Pages = ["/", "/runs", "/queue", "/modules", "/scenarios", "/runs/1", "/jobs/1/log"];

    private static readonly string[] Reads = ["/api/runs", "/api/cells", "/api/queue", "/api/modules", "/api/runs/1", "/api/runs/1/junit.xml", "/api/scenarios"];

    private readonly ConfigFolder _folder = new();
    private readonly string _tokenVariable = $"CIRUNNER_TEST_TOKEN_{Guid.NewGuid():N}";
    private readonly int _port = FreePort.Next();

    public ApiAccessTests()
    {
        _folder.Set("Http:Listen", $"http://127.0.0.1:{_port}");
        _folder.Set("Http:ApiTokenVariable", _tokenVariable);
        _folder.Set("Http:ProtectReads", true);
        _folder.Set("Service:InstanceId", DockerEngineFixture.NewInstanceId());
        _folder.Save();
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(_tokenVariable, null);
        _folder.Dispose();
    }

    [Fact]
    public async Task ProtectedReads_WithoutOrWithAWrongToken_ApiAnswers401_PagesGoToLogin_WithTheTokenAnswer_AndProbesStayOpen()
    {
        Environment.SetEnvironmentVariable(_tokenVariable, "s3cret");
        await using WebApplication app = await StartAsync();
        using HttpClient client = Client(null);
        using HttpClient wrong = Client("guess");
        using HttpClient right = Client("s3cret");

        foreach (string read in Reads)
        {
            Assert.Equal((read, HttpStatusCode.Unauthorized), (read, await StatusAsync(client, read)));
            Assert.Equal((read, HttpStatusCode.Unauthorized), (read, await StatusAsync(wrong, read)));
            HttpStatusCode allowed = await StatusAsync(right, read);
            Assert.True(allowed is HttpStatusCode.OK or HttpStatusCode.NotFound, $"{read} with the token: {allowed}");
        }

        foreach (string page in Pages)
        {
            using HttpResponseMessage refused = await client.GetAsync(new Uri(page, UriKind.Relative));
            Assert.Equal((page, HttpStatusCode.Redirect), (page, refused.StatusCode));
            Assert.Equal("/login?returnUrl=" + Uri.EscapeDataString(page), refused.Headers.Location?.OriginalString);
            Assert.Equal((page, HttpStatusCode.Redirect), (page, await StatusAsync(wrong, page)));
            HttpStatusCode allowed = await StatusAsync(right, page);
            Assert.True(allowed is HttpStatusCode.OK or HttpStatusCode.NotFound, $"{page} with the token: {allowed}");
        }

        Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, "/metrics"));
        Assert.NotEqual(HttpStatusCode.Unauthorized, await StatusAsync(client, "/healthz"));
        await app.StopAsync();
    }

    [Fact]
    public async Task Login_RightToken_SetsAnHttpOnlyStrictCookieThatIsNotTheToken_AndReadsAcceptIt_ButNotWrites()
    {
        Environment.SetEnvironmentVariable(_tokenVariable, "s3cret");
        await using WebApplication app = await StartAsync();
        using HttpClient client = Client(null);

        // A wrong token: 401, the form again, no cookie
        using HttpResponseMessage wrong = await PostLoginAsync(client, "guess", "/runs");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.False(wrong.Headers.Contains("Set-Cookie"));
        Assert.Contains("That is not the API token.", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The right one: back to the page asked for, with a cookie derived from the token
        using HttpResponseMessage right = await PostLoginAsync(client, "s3cret", "/runs?module=keystone");
        Assert.Equal(HttpStatusCode.Redirect, right.StatusCode);
        Assert.Equal("/runs?module=keystone", right.Headers.Location?.OriginalString);
        string setCookie = Assert.Single(right.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("cirunner_login=", setCookie, StringComparison.Ordinal);
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", setCookie.Replace("samesite", "", StringComparison.OrdinalIgnoreCase), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("s3cret", setCookie, StringComparison.Ordinal);
        string cookie = setCookie.Split(';')[0];

        using HttpClient withCookie = Client(null, cookie);
        using HttpResponseMessage page = await withCookie.GetAsync(new Uri("/runs", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("action=\"/logout\"", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(withCookie, "/api/runs"));
        using HttpResponseMessage write = await withCookie.PostAsync(new Uri("/api/runs/1/cancel", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.Unauthorized, write.StatusCode);

        // Another token's cookie, and a forged one, are refused; logging out clears the cookie
        using HttpClient stale = Client(null, "cirunner_login=" + CiRunner.Web.BrowserLogin.CookieValue("old-token"));
        Assert.Equal(HttpStatusCode.Redirect, await StatusAsync(stale, "/runs"));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(stale, "/api/runs"));
        using HttpResponseMessage logout = await withCookie.PostAsync(new Uri("/logout", UriKind.Relative), null);
        Assert.Equal(("/login", HttpStatusCode.Redirect), (logout.Headers.Location?.OriginalString, logout.StatusCode));
        Assert.Contains("cirunner_login=;", Assert.Single(logout.Headers.GetValues("Set-Cookie")), StringComparison.Ordinal);
        await app.StopAsync();
    }

    [Theory]
    [InlineData("//evil.example/x", "/")]
    [InlineData("https://evil.example/", "/")]
    [InlineData("/\\evil.example", "/")]
    [InlineData("/logout", "/")]
    [InlineData("/jobs/3", "/jobs/3")]
    public async Task Login_ReturnUrl_OnlyEverGoesToAPathOfThisSite(string returnUrl, string location)
    {
        Environment.SetEnvironmentVariable(_tokenVariable, "s3cret");
        await using WebApplication app = await StartAsync();
        using HttpClient client = Client(null);

        using HttpResponseMessage response = await PostLoginAsync(client, "s3cret", returnUrl);

        Assert.Equal((HttpStatusCode.Redirect, location), (response.StatusCode, response.Headers.Location?.OriginalString));
        await app.StopAsync();
    }

    [Fact]
    public async Task NoTokenConfigured_WritesAndProtectedReads_Answer503NamingTheVariable()
    {
        await using WebApplication app = await StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}") };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "anything");

        using HttpResponseMessage read = await client.GetAsync(new Uri("/api/runs", UriKind.Relative));
        using HttpResponseMessage cancel = await client.PostAsync(new Uri("/api/runs/1/cancel", UriKind.Relative), null);
        using HttpResponseMessage rerun = await client.PostAsync(new Uri("/api/jobs/1/rerun", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, read.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, cancel.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, rerun.StatusCode);
        Assert.Contains(_tokenVariable, await cancel.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await app.StopAsync();
    }

    private HttpClient Client(string? token, string? cookie = null)
    {
        // Redirects are what is tested: never follow them, and send only the cookie given.
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri($"http://127.0.0.1:{_port}") };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (cookie is not null)
        {
            client.DefaultRequestHeaders.Add("Cookie", cookie);
        }

        return client;
    }

    private static Task<HttpResponseMessage> PostLoginAsync(HttpClient client, string token, string returnUrl) =>
        client.PostAsync(
            new Uri("/login", UriKind.Relative),
            new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token, ["returnUrl"] = returnUrl }));

    private async Task<WebApplication> StartAsync()
    {
        ConfigurationLoadResult loaded = _folder.Load();
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));
        WebApplication app = ServiceHost.Build(loaded.Settings!, ConfigurationLoader.BuildConfiguration(_folder.ConfigFile));
        await app.StartAsync();
        return app;
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient client, string path)
    {
        using HttpResponseMessage response = await client.GetAsync(new Uri(path, UriKind.Relative));
        return response.StatusCode;
    }
}
