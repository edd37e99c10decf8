using CiRunner.Cli;
using Spectre.Console;

namespace CiRunner.Tests.Cli;

public sealed class RunProgressViewTests
{
    [Theory]
    [InlineData("queued", "… queued")]
    [InlineData("running", "▶ running")]
    [InlineData("success", "✓ passed")]
    [InlineData("failure", "✗ failed")]
    [InlineData("error", "! error")]
    [InlineData("timeout", "◔ timeout")]
    [InlineData("cancelled", "⊘ cancelled")]
    [InlineData("interrupted", "interrupted")]
    public void LiveTableState_EveryJobState_IsASymbolAndAWordNotColourAlone(string state, string shown)
    {
        var output = new StringWriter();
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
        });

        console.Write(LiveRunProgressView.State(state));

        Assert.Equal(shown, output.ToString().Trim());
    }

    [Fact]
    public async Task Create_OutputIsNotTheTerminal_GivesPlainLines()
    {
        using var output = new StringWriter();

        await using RunProgressView view = RunProgressView.Create(output, Console.Out, TimeProvider.System);

        Assert.IsType<PlainRunProgressView>(view);
    }
}
