using System.Text;
using CiRunner.Execution;

namespace CiRunner.Tests.Execution;

/// <summary>The executor's side of the step script's marker protocol, on bytes as the engine delivers them.</summary>
public sealed class StepOutputReaderTests
{
    private static readonly string Prefix = StepScript.MarkerPrefix("n0nce");

    // What the script's mark() prints: a newline (so a marker starts its own line), then the marker.
    private static readonly string StartMarker = $"\n{Prefix}start:0\n";

    [Fact]
    public void Read_MarkerOnStdoutOnly_WaitsForStderrBeforePassingItOn()
    {
        var reader = new StepOutputReader(Prefix);

        // Given stdout with output and the marker, stderr not yet there
        List<StepOutput> fromStdout = Read(reader, "hello\n" + StartMarker, isStderr: false);

        // Then the output is passed on, the marker not yet
        Assert.Equal([new StepOutput(false, "hello")], fromStdout);

        // When stderr's output and its copy of the marker arrive
        List<StepOutput> fromStderr = Read(reader, "warning\n" + StartMarker, isStderr: true);

        // Then stderr's output comes first, then the marker, once
        Assert.Equal([new StepOutput(true, "warning"), new StepOutput(true, "", new StepMarker(StepMarkerKind.Start, 0, null))], fromStderr);
        Assert.Empty(reader.End());
    }

    [Fact]
    public void Read_EmptyLinesOfTheSteps_AreKeptButTheMarkersOwnNewlineIsDropped()
    {
        var reader = new StepOutputReader(Prefix);

        List<StepOutput> items = Read(reader, "a\n\nb\n" + StartMarker, isStderr: false);

        // The empty line between a and b is output; the one the marker's own newline makes is not
        Assert.Equal([new StepOutput(false, "a"), new StepOutput(false, ""), new StepOutput(false, "b")], items);
    }

    [Fact]
    public void Read_StepEndsWithAnEmptyLine_KeepsIt()
    {
        var reader = new StepOutputReader(Prefix);

        List<StepOutput> items = Read(reader, "b\n\n" + StartMarker, isStderr: false);

        Assert.Equal([new StepOutput(false, "b"), new StepOutput(false, "")], items);
    }

    [Fact]
    public void Read_LineAndCharacterSplitAcrossReads_IsOneLine()
    {
        var reader = new StepOutputReader(Prefix);
        byte[] bytes = Encoding.UTF8.GetBytes("grüß\n");

        // "ü" is two bytes: the first read ends in its middle
        List<StepOutput> first = reader.Read(bytes, 3, isStderr: false);
        List<StepOutput> second = reader.Read(bytes[3..], bytes.Length - 3, isStderr: false);

        Assert.Empty(first);
        Assert.Equal([new StepOutput(false, "grüß")], second);
    }

    [Fact]
    public void Read_MarkerOfAnotherNonceOrMalformed_IsOutput()
    {
        var reader = new StepOutputReader(Prefix);
        string other = StepScript.MarkerPrefix("other") + "end:0:0";
        string malformed = Prefix + "end:x:0";

        List<StepOutput> items = Read(reader, $"{other}\n{malformed}\n", isStderr: false);

        Assert.Equal([new StepOutput(false, other), new StepOutput(false, malformed)], items);
    }

    [Fact]
    public void Read_EndMarkersOnBothStreams_CarryTheExitCode()
    {
        var reader = new StepOutputReader(Prefix);

        Read(reader, $"\n{Prefix}end:2:6\n", isStderr: true);
        List<StepOutput> items = Read(reader, $"\n{Prefix}end:2:6\n", isStderr: false);

        Assert.Equal([new StepOutput(false, "", new StepMarker(StepMarkerKind.End, 2, 6))], items);
    }

    [Fact]
    public void End_UnterminatedLineAndHeldEmptyLine_AreOutputNeverAMarker()
    {
        var reader = new StepOutputReader(Prefix);
        Read(reader, "done\n\n", isStderr: false);
        Read(reader, Prefix + "start:0", isStderr: true);

        List<StepOutput> rest = reader.End();

        // stdout's held empty line was output after all; stderr's unterminated last line is output even though it reads as a marker
        Assert.Equal([new StepOutput(false, ""), new StepOutput(true, Prefix + "start:0")], rest);
    }

    private static List<StepOutput> Read(StepOutputReader reader, string text, bool isStderr)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        return reader.Read(bytes, bytes.Length, isStderr);
    }
}
