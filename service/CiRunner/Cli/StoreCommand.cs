using System.CommandLine;
using CiRunner.Configuration;
using CiRunner.Results;

namespace CiRunner.Cli;

/// <summary><c>cirunner store copy</c>: moves an installation's history from its SQLite file into the PostgreSQL database the configuration names.</summary>
internal static class StoreCommand
{
    public static Command Create()
    {
        var from = new Option<string?>("--from")
        {
            Description = "The SQLite file to copy from (default: cirunner.db in Service:DataDirectory).",
            CustomParser = CliValues.NonBlank("the path of a SQLite results database, like data/cirunner.db"),
        };
        var copy = new Command(
            "copy",
            "Copy every run, job, step, lockfile, report and poll state from a SQLite file into the empty PostgreSQL database of Store:Provider postgresql. Stop the service first.");
        copy.Options.Add(from);
        copy.SetAction((parseResult, cancellationToken) => CopyAsync(parseResult, parseResult.GetValue(from), cancellationToken));

        var command = new Command("store", "Work on the results store itself.");
        command.Subcommands.Add(copy);
        return command;
    }

    private static async Task<int> CopyAsync(ParseResult parseResult, string? from, CancellationToken cancellationToken)
    {
        TextWriter output = parseResult.InvocationConfiguration.Output;
        TextWriter error = parseResult.InvocationConfiguration.Error;
        DataPaths paths;
        StoreOptions store;
        try
        {
            paths = CliConfiguration.ReadDataPaths(parseResult);
            store = CliConfiguration.ReadStore(parseResult);
        }
        catch (Exception exception) when (exception is FileNotFoundException or InvalidDataException)
        {
            await error.WriteLineAsync(exception.Message.AsMemory(), cancellationToken);
            return 1;
        }

        if (!store.IsPostgreSql)
        {
            await error.WriteLineAsync(
                $"Store:Provider is {store.Provider}: set Store:Provider to postgresql, with its connection string in ${store.ConnectionStringVariable} or Store:ConnectionStringFile, then copy.".AsMemory(),
                cancellationToken);
            return 1;
        }

        string sourceFile = Path.GetFullPath(from ?? paths.DatabaseFile);
        if (!File.Exists(sourceFile))
        {
            await error.WriteLineAsync($"--from: no SQLite results database at {sourceFile}; name the file with --from.".AsMemory(), cancellationToken);
            return 1;
        }

        await using var sourceDialect = new SqliteDialect(sourceFile);
        StoreDialect targetDialect;
        try
        {
            targetDialect = StoreDialects.For(store, paths);
        }
        catch (Exception exception) when (exception is InvalidOperationException or ArgumentException)
        {
            await error.WriteLineAsync(exception.Message.AsMemory(), cancellationToken);
            return 1;
        }

        await using (targetDialect)
        {
            try
            {
                // Both instance locks: no service writes to either side while the history moves.
                const string Holder = "cirunner store copy";
                await using IAsyncDisposable sourceLock = await sourceDialect.AcquireInstanceLockAsync(instanceId: null, Holder, cancellationToken);
                await using IAsyncDisposable targetLock = await targetDialect.AcquireInstanceLockAsync(instanceId: null, Holder, cancellationToken);
                StoreCopyResult copied = await StoreCopy.CopyAsync(
                    new ResultsDatabase(sourceDialect, TimeProvider.System), new ResultsDatabase(targetDialect, TimeProvider.System), cancellationToken);
                string counts = string.Join(", ", copied.Tables.Where(t => t.Rows > 0).Select(t => $"{t.Rows} {t.Table}"));
                await output.WriteLineAsync(
                    $"Copied {sourceFile} into {targetDialect.Location}: {(counts.Length == 0 ? "nothing (the file holds no history)" : counts)}. Start cirunner serve with Store:Provider postgresql; the SQLite file stays as it was.".AsMemory(),
                    cancellationToken);
                return 0;
            }
            catch (Exception exception) when (exception is StoreInUseException or DatabaseSchemaTooNewException or InvalidOperationException
                || sourceDialect.IsDatabaseError(exception) || targetDialect.IsDatabaseError(exception))
            {
                await error.WriteLineAsync(exception.Message.ReplaceLineEndings(" ").AsMemory(), cancellationToken);
                return 1;
            }
        }
    }
}
