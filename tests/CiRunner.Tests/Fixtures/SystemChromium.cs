using Microsoft.Playwright;

namespace CiRunner.Tests.Fixtures;

/// <summary>
/// Debian's chromium (installed by deploy/setup-test-tools.sh), driven by Playwright; nothing downloads a browser.
/// The flags keep it off the network it cannot reach here (background fetches, component updates, sync).
/// </summary>
public static class SystemChromium
{
    public const string ExecutablePath = "/usr/bin/chromium";

    private static readonly string[] Args =
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"];

    public static Task<IBrowser> LaunchAsync(IPlaywright playwright)
    {
        ArgumentNullException.ThrowIfNull(playwright);
        return playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ExecutablePath, Args = Args, Headless = true });
    }

    /// <summary>
    /// Does what leads to another page (a click, Enter in a form) and waits until the page is at <paramref name="url"/>.
    /// The wait starts first: on a busy machine the navigation can commit before a wait started afterwards listens.
    /// </summary>
    public static async Task NavigateByAsync(this IPage page, Func<Task> action, string url)
    {
        ArgumentNullException.ThrowIfNull(page);
        ArgumentNullException.ThrowIfNull(action);
        Task arrived = page.WaitForURLAsync(url);
        await action();
        await arrived;
    }
}
