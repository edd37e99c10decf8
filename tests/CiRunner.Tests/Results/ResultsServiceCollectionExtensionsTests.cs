using CiRunner.Results;
using CiRunner.Tests.Fixtures;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CiRunner.Tests.Results;

public sealed class ResultsServiceCollectionExtensionsTests : IDisposable
{
    private readonly TempDatabase _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task AddResultsStore_HostStarts_SchemaMigratedAndStoresShareOneDatabase()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(_temp.Time);
        services.AddResultsStore(_temp.DatabaseFile);
        await using ServiceProvider provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });

        foreach (IHostedService hosted in provider.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
        }

        ResultsDatabase database = provider.GetRequiredService<ResultsDatabase>();
        Assert.Equal(_temp.DatabaseFile, database.Location);
        Assert.Equal(ResultsDatabase.CodeSchemaVersion, await database.ReadSchemaVersionAsync(CancellationToken.None));
        Assert.Same(provider.GetRequiredService<ResultsStore>().Jobs, provider.GetRequiredService<JobStore>());
        RunDetail run = await provider.GetRequiredService<RunStore>().CreateAsync(Samples.Run(), [Samples.Deploy()], CancellationToken.None);
        Assert.Equal(TempDatabase.Start, run.Run.CreatedAt);
        Assert.NotNull(provider.GetRequiredService<PollStateStore>());
        Assert.NotNull(provider.GetRequiredService<CellResultStore>());
    }
}
