using CiRunner.Configuration;
using CiRunner.Tests.Fixtures;
using Microsoft.AspNetCore.Builder;
using Microsoft.Playwright;

namespace CiRunner.Tests.EndToEnd;

/// <summary>The dashboard's login with <c>Http:ProtectReads</c>, in Debian's headless chromium against the real service.</summary>
[Trait("Category", "Service")]
public sealed class BrowserLoginTests : IDisposable
{
    private const string Token = "browser-s3cret";

    private readonly ConfigFolder _folder = new();
    private readonly string _tokenVariable = $"CIRUNNER_TEST_TOKEN_{Guid.NewGuid():N}";
    private readonly int _port = FreePort.Next();

    public BrowserLoginTests()
    {
        _folder.Set("Http:Listen", $"http://127.0.0.1:{_port}");
        _folder.Set("Http:ApiTokenVariable", _tokenVariable);
        _folder.Set("Http:ProtectReads", true);
        _folder.Set("Service:InstanceId", DockerEngineFixture.NewInstanceId());
        _folder.Save();
        Environment.SetEnvironmentVariable(_tokenVariable, Token);
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(_tokenVariable, null);
        _folder.Dispose();
    }

    [Fact]
    public async Task ProtectedDashboard_InChromium_LoginFormLeadsBackToThePage_CookieIsHttpOnlyStrict_LogoutEndsIt()
    {
        ConfigurationLoadResult loaded = _folder.Load();
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Errors));
        await using WebApplication app = ServiceHost.Build(loaded.Settings, ConfigurationLoader.BuildConfiguration(_folder.ConfigFile));
        await app.StartAsync();
        try
        {
            // Playwright's default viewport. The page has a context of its own, which holds the login cookie.
            await using BrowserSession browser = await BrowserSession.StartAsync(1280, 720);
            IPage page = browser.Page;
            IBrowserContext context = page.Context;
            string baseUrl = $"http://127.0.0.1:{_port}";

            // A page without login goes to the form
            await page.GotoAsync($"{baseUrl}/queue");
            Assert.Equal($"{baseUrl}/login?returnUrl=%2Fqueue", page.Url);

            // A wrong token, typed into the field that has the focus and sent with the keyboard, is refused on the form itself
            await page.WaitForFunctionAsync("document.activeElement && document.activeElement.id === 'token'");
            await page.Keyboard.TypeAsync("guess");
            await page.NavigateByAsync(() => page.Keyboard.PressAsync("Enter"), $"{baseUrl}/login");
            Assert.Contains("That is not the API token.", await page.Locator("[role=alert]").InnerTextAsync(), StringComparison.Ordinal);

            // The right token leads back to the page asked for first
            await page.FillAsync("#token", Token);
            await page.NavigateByAsync(() => page.ClickAsync("button[type=submit]"), $"{baseUrl}/queue");
            Assert.Equal("Queue", await page.Locator("h1").InnerTextAsync());

            BrowserContextCookiesResult cookie = Assert.Single(await context.CookiesAsync());
            Assert.Equal(("cirunner_login", true, SameSiteAttribute.Strict, false), (cookie.Name, cookie.HttpOnly, cookie.SameSite, cookie.Secure));
            Assert.DoesNotContain(Token, cookie.Value, StringComparison.Ordinal);
            Assert.Equal(CiRunner.Web.BrowserLogin.CookieValue(Token), cookie.Value);

            // Other pages and the API's reads open with the cookie
            await page.GotoAsync($"{baseUrl}/runs");
            Assert.Equal($"{baseUrl}/runs", page.Url);
            IResponse? api = await page.GotoAsync($"{baseUrl}/api/runs");
            Assert.Equal(200, api!.Status);

            // Logging out ends it: the next page goes to the form again
            await page.GotoAsync($"{baseUrl}/modules");
            await page.NavigateByAsync(() => page.ClickAsync("form.logout button"), $"{baseUrl}/login");
            Assert.Empty(await context.CookiesAsync());
            await page.GotoAsync($"{baseUrl}/modules");
            Assert.Equal($"{baseUrl}/login?returnUrl=%2Fmodules", page.Url);
        }
        finally
        {
            await app.StopAsync();
        }
    }
}
