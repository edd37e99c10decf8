using CiRunner.Execution;
using CiRunner.Tests.Fixtures;

namespace CiRunner.Tests.Execution;

public sealed class StepScriptTests
{
    [Fact]
    public void Render_TwoPhases_MovesEachPhasesFilesInPlaceBeforeItsSteps()
    {
        using var folder = new TempDirectory();
        var module = new DirectoryModuleSource("demo", folder.Path);
        JobSpec job = TestJobs.Job("i", "image", folder, phases:
        [
            TestJobs.Phase("deploy", "site.pp", [module], [], TestJobs.Apply()),
            TestJobs.Phase("check", null, [], [], TestJobs.Command("grep", "grep", "-q", "it's", "/etc/x")),
            TestJobs.Phase("upgrade", "site.pp", [module], [], TestJobs.Idempotency()),
        ]);

        string[] lines = StepScript.Render(job, "n0nce").Split('\n');

        Assert.Equal(
            [
                "phase 0",
                "step 0 'puppet' 'apply' '--detailed-exitcodes' '--color=false' '--modulepath' '/cirunner/modules' '/cirunner/scenario/site.pp'",
                "proceed",
                "step 1 'grep' '-q' 'it'\\''s' '/etc/x'",
                "proceed",
                "phase 2",
                "step 2 'puppet' 'apply' '--detailed-exitcodes' '--color=false' '--modulepath' '/cirunner/modules' '/cirunner/scenario/site.pp'",
                "proceed",
                "exec sleep infinity",
                "",
            ],
            lines.SkipWhile(l => !l.StartsWith("phase 0", StringComparison.Ordinal)));
        Assert.Equal("n='n0nce'", lines[0]);
        Assert.False(StepScript.EndsOnItsOwn(job));
    }

    [Fact]
    public void Render_LastStepIsACommand_ExitsAfterItWithoutWaiting()
    {
        using var folder = new TempDirectory();
        JobSpec job = TestJobs.Job("i", "image", folder, phases: TestJobs.Phase("main", null, [], [], TestJobs.Command("a", "true"), TestJobs.Command("b", "true")));

        string[] lines = StepScript.Render(job, "n0nce").Split('\n');

        Assert.Equal(["step 0 'true'", "proceed", "step 1 'true'", "exit 0", ""], lines[^5..]);
        Assert.True(StepScript.EndsOnItsOwn(job));
    }

    [Theory]
    [InlineData("start:3", "Start", 3, null)]
    [InlineData("end:3:127", "End", 3, 127)]
    [InlineData("phase:1:0", "Phase", 1, 0)]
    public void Parse_MarkerOfThisJob_IsRead(string body, string kind, int index, int? exitCode)
    {
        string prefix = StepScript.MarkerPrefix("n0nce");

        Assert.Equal(new StepMarker(Enum.Parse<StepMarkerKind>(kind), index, exitCode), StepScript.Parse(prefix + body, prefix));
    }

    [Theory]
    [InlineData("Notice: end:3:0")]
    [InlineData("\u001ecirunner:other:end:3:0")]
    [InlineData("\u001ecirunner:n0nce:end:x:0")]
    public void Parse_OrdinaryOutputOrAnotherJobsMarker_IsNotAMarker(string line)
    {
        Assert.Null(StepScript.Parse(line, StepScript.MarkerPrefix("n0nce")));
    }
}
