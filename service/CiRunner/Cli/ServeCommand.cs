using System.CommandLine;
using CiRunner.Configuration;
using CiRunner.Results;
using CiRunner.Web;

namespace CiRunner.Cli;

/// <summary><c>cirunner serve</c>: the long-running service.</summary>
internal static class ServeCommand
{
    public const string Name = "serve";

    public static Command Create()
    {
        var command = new Command(Name, "Run the service until stopped (systemd, Windows service or foreground). Refuses to start on any validation error.");
        command.SetAction(RunAsync);
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        TextWriter error = parseResult.InvocationConfiguration.Error;
        string configFile = GlobalOptions.ResolveConfigPath(parseResult);
        if (!ConfigurationLoader.TryLoad(configFile, error, out CiRunnerSettings? settings))
        {
            await error.WriteLineAsync($"{configFile}: not valid; the service did not start. 'cirunner validate' shows the same errors.");
            return 1;
        }

        WebApplication app = ServiceHost.Build(settings, ConfigurationLoader.BuildConfiguration(configFile));
        await using (app)
        {
            // Read before the start: a host that fails to start disposes its services.
            StoreDialect store = app.Services.GetRequiredService<StoreDialect>();
            string location = store.Location;
            try
            {
                // The store and the listen address are checked before the host starts, so a refusal is the one line
                // below and not also the host's "Hosting failed to start" with a stack trace. The host's own start
                // takes the lock again and keeps it (it also refuses, should another instance start in between).
                await using (await store.AcquireInstanceLockAsync(settings.Service.InstanceId, $"cirunner serve, instance {settings.Service.InstanceId}, starting", cancellationToken))
                {
                    // After the lock, so a second instance on the same store and port is told about the store (which
                    // names the first); before the migration, so a refused start leaves the database as it was.
                    if (ListenAddress.WhyNotFree(settings.Http.Listen) is { } why)
                    {
                        await error.WriteLineAsync(ListenRefused(settings.Http.Listen, why));
                        return 1;
                    }

                    await app.Services.GetRequiredService<ResultsDatabase>().EnsureSchemaAsync(cancellationToken);
                }

                await app.RunAsync(cancellationToken);
            }
            catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
            {
                // Taken between the check above and the host's start.
                await error.WriteLineAsync(ListenRefused(settings.Http.Listen, e.Message));
                return 1;
            }
            catch (Exception e) when (e is DatabaseSchemaTooNewException or StoreInUseException)
            {
                await error.WriteLineAsync(e.Message);
                return 1;
            }
            catch (System.Data.Common.DbException e)
            {
                // The database does not answer at start (PostgreSQL down, a wrong password, an unreadable file): one line.
                await error.WriteLineAsync($"Cannot open the results database {location}: {e.Message.ReplaceLineEndings(" ")}; the service did not start.");
                return 1;
            }
        }

        return 0;
    }

    private static string ListenRefused(string listen, string why) =>
        $"Http:Listen: cannot listen on {listen}: {why}; the service did not start.";
}
