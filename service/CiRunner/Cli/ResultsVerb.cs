using System.CommandLine;
using CiRunner.Configuration;
using CiRunner.Results;

namespace CiRunner.Cli;

/// <summary>What the verbs that read results (<c>runs</c>, <c>show</c>, <c>logs</c>) share: finding the database and failing in one line.</summary>
internal static class ResultsVerb
{
    /// <summary>The verb's work, given an open store; returns the exit code.</summary>
    public delegate Task<int> Body(ResultsStore store, DataPaths paths, TextWriter output, TextWriter error, CancellationToken cancellationToken);

    /// <summary>
    /// Finds the database through the configuration, runs <paramref name="body"/> on it, and turns the ways that
    /// can fail (no configuration, no database yet, a database from a newer CiRunner) into one line and exit code 1.
    /// </summary>
    public static async Task<int> InvokeAsync(ParseResult parseResult, Body body, CancellationToken cancellationToken)
    {
        TextWriter output = parseResult.InvocationConfiguration.Output;
        TextWriter error = parseResult.InvocationConfiguration.Error;

        DataPaths paths;
        try
        {
            paths = CliConfiguration.ReadDataPaths(parseResult);
        }
        catch (Exception exception) when (exception is FileNotFoundException or InvalidDataException)
        {
            await error.WriteLineAsync(exception.Message.AsMemory(), cancellationToken);
            return 1;
        }

        StoreOptions storeOptions;
        try
        {
            storeOptions = CliConfiguration.ReadStore(parseResult);
        }
        catch (Exception exception) when (exception is FileNotFoundException or InvalidDataException)
        {
            await error.WriteLineAsync(exception.Message.AsMemory(), cancellationToken);
            return 1;
        }

        // Checked before opening: opening would create an empty database, and an empty one answers every
        // question with "not found", which hides a wrong --config or data directory.
        if (!storeOptions.IsPostgreSql && !File.Exists(paths.DatabaseFile))
        {
            await error.WriteLineAsync(
                $"No results database at {paths.DatabaseFile}: no run has happened yet (or Service:DataDirectory points elsewhere).".AsMemory(),
                cancellationToken);
            return 1;
        }

        StoreDialect dialect;
        try
        {
            dialect = StoreDialects.For(storeOptions, paths);
        }
        catch (Exception exception) when (exception is InvalidOperationException or ArgumentException)
        {
            await error.WriteLineAsync(exception.Message.AsMemory(), cancellationToken);
            return 1;
        }

        await using (dialect)
        {
            try
            {
                ResultsStore store = ResultsStore.Open(dialect);
                return await body(store, paths, output, error, cancellationToken);
            }
            catch (DatabaseSchemaTooNewException exception)
            {
                await error.WriteLineAsync(exception.Message.AsMemory(), cancellationToken);
                return 1;
            }
            catch (Exception exception) when (dialect.IsDatabaseError(exception))
            {
                await error.WriteLineAsync($"Cannot read the results database {dialect.Location}: {exception.Message}".AsMemory(), cancellationToken);
                return 1;
            }
        }
    }
}
