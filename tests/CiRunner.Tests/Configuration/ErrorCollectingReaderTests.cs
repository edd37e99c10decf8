using CiRunner.Configuration;

namespace CiRunner.Tests.Configuration;

public sealed class ErrorCollectingReaderTests
{
    private static RawValue At(string location, string? text, string shown = "a mapping") => new(text, shown, new ValueLocation("file.yaml", location));

    [Fact]
    public void TypedReads_ManyBadValues_CollectsEveryErrorInOnePass()
    {
        // Given a reader and values of every kind, most of them wrong
        var reader = new ErrorCollectingReader();

        // When each is read
        int? number = reader.WholeNumber(At("line 1, workers", "two"), "a whole number from 1 to 64", 1, 64);
        int? inRange = reader.WholeNumber(At("line 2, retries", "3"), "a whole number from 1 to 10", 1, 10);
        bool? flag = reader.Bool(At("line 3, upgrade", "maybe"));
        TimeSpan? timeout = reader.Duration(At("line 4, timeout", "soon"), "a duration like 30s");
        double? cpus = reader.Number(At("line 5, cpus", "0"), "a number greater than 0", c => c > 0);
        string? name = reader.Text(At("line 6, name", null), _ => true, "a text value");
        List<(string Text, ValueLocation At)> items = reader.Texts([At("line 7, modules", "keystone"), At("line 7, modules", null, "a list"), At("line 8, modules", "nova")], "a module name", m => m != "nova");

        // Then every bad value is an error at its place, with the value as written and the fix, and the good ones are read
        Assert.Equal(
            [
                "file.yaml: line 1, workers: 'two' is not valid; expected a whole number from 1 to 64",
                "file.yaml: line 3, upgrade: 'maybe' is not valid; expected true or false",
                "file.yaml: line 4, timeout: 'soon' is not valid; expected a duration like 30s",
                "file.yaml: line 5, cpus: '0' is not valid; expected a number greater than 0",
                "file.yaml: line 6, name: 'a mapping' is not valid; expected a text value",
                "file.yaml: line 7, modules: 'a list' is not valid; expected a module name",
                "file.yaml: line 8, modules: 'nova' is not valid; expected a module name",
            ],
            reader.Errors.Select(e => e.ToString()));
        Assert.Equal((null, 3, null, null, null, null), (number, inRange, flag, timeout, cpus, name));
        Assert.Equal(["keystone"], items.Select(i => i.Text));
    }

    [Fact]
    public void Error_OnePerLocation_KeepsOnlyTheFirstErrorAtAKey()
    {
        // Given one reader that keeps one error per key (configuration) and one that keeps all (scenario files)
        var perKey = new ErrorCollectingReader(oneErrorPerLocation: true);
        var all = new ErrorCollectingReader();
        var first = new ValueLocation("appsettings.json", "Http:ApiToken");
        var sameKeyOtherCase = new ValueLocation("appsettings.json", "http:apitoken");

        // When two errors are reported at the same key
        foreach (ErrorCollectingReader reader in new[] { perKey, all })
        {
            reader.Error(first, ConfigurationError.Redacted, "no secret in configuration");
            reader.Error(sameKeyOtherCase, "abc", "a token variable name");
        }

        // Then the per-key reader keeps the first (keys are not case-sensitive), the other keeps both
        Assert.Equal([ConfigurationError.Redacted], perKey.Errors.Select(e => e.Value));
        Assert.True(perKey.IsReported(sameKeyOtherCase));
        Assert.Equal(2, all.Errors.Count);
    }
}
