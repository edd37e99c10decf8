using Microsoft.Playwright;

namespace CiRunner.Tests.Fixtures;

/// <summary>Chromium with one page; screenshots go to <c>$CIRUNNER_TEST_SCREENSHOTS</c> when it is set, for people to look at.</summary>
public sealed class BrowserSession : IAsyncDisposable
{
    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;

    private BrowserSession(IPlaywright playwright, IBrowser browser, IPage page)
    {
        _playwright = playwright;
        _browser = browser;
        Page = page;
    }

    public IPage Page { get; }

    public static async Task<BrowserSession> StartAsync(int width, int height)
    {
        IPlaywright playwright = await Playwright.CreateAsync();
        IBrowser browser = await SystemChromium.LaunchAsync(playwright);
        IPage page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });

        // Chromium on a loaded machine (other suites share the cores) can take longer than Playwright's 30 s.
        page.SetDefaultTimeout(120_000);
        page.SetDefaultNavigationTimeout(120_000);
        return new BrowserSession(playwright, browser, page);
    }

    public async Task ScreenshotAsync(string name)
    {
        if (Environment.GetEnvironmentVariable("CIRUNNER_TEST_SCREENSHOTS") is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
            await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, name + ".png"), FullPage = true });
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }
}
