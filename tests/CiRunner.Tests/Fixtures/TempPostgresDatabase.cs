using System.Data.Common;
using CiRunner.Results;
using Dapper;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace CiRunner.Tests.Fixtures;

/// <summary>
/// A database of its own on the local PostgreSQL (started by <c>deploy/setup-test-tools.sh</c>), created empty and
/// dropped at dispose. A server that does not answer fails the test with how to start one: the PostgreSQL store is
/// proven only here, so these tests never skip.
/// </summary>
public sealed class TempPostgresDatabase : IStoreUnderTest
{
    /// <summary>Overrides the login the tests use (a role that may create databases).</summary>
    public const string ServerVariable = "CIRUNNER_TEST_POSTGRES";

    private const string DefaultServer = "Host=127.0.0.1;Port=5432;Username=cirunner_test;Password=cirunner-test;Database=postgres;Timeout=5";

    private readonly List<StoreDialect> _dialects = [];

    public TempPostgresDatabase()
    {
        Name = "cirunner_test_" + Guid.NewGuid().ToString("N");
        ConnectionString = new NpgsqlConnectionStringBuilder(Server) { Database = Name }.ConnectionString;
        try
        {
            AdminExecute($"CREATE DATABASE {Name}");
        }
        catch (NpgsqlException e)
        {
            throw new InvalidOperationException(
                $"The PostgreSQL store tests need a server at {new NpgsqlConnectionStringBuilder(Server).Host} ({ServerVariable} overrides the login), " +
                $"but it does not answer: {e.Message}. Start one with: bash deploy/setup-test-tools.sh (as root)",
                e);
        }
    }

    /// <summary>The server and login: <see cref="ServerVariable"/>, else the role setup-test-tools.sh creates.</summary>
    public static string Server { get; } = Environment.GetEnvironmentVariable(ServerVariable) is { Length: > 0 } server ? server : DefaultServer;

    /// <summary>This test's database.</summary>
    public string Name { get; }

    /// <summary>The login on this test's database.</summary>
    public string ConnectionString { get; }

    public FakeTimeProvider Time { get; } = new(TempDatabase.Start);

    public ResultsDatabase CreateDatabase()
    {
        var dialect = new PostgresDialect(ConnectionString);
        lock (_dialects)
        {
            _dialects.Add(dialect);
        }

        return new ResultsDatabase(dialect, Time);
    }

    public ResultsStore CreateStore() => new(CreateDatabase(), Time);

    public async Task<DbConnection> OpenConnectionAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    public void Dispose()
    {
        foreach (StoreDialect dialect in _dialects)
        {
            dialect.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        NpgsqlConnection.ClearAllPools();

        // FORCE: a connection a failed test left open must not keep the database alive. An autovacuum worker that
        // just started on the new database can still refuse it for a moment; the drop is tried again, and a database
        // that outlives every try only costs disk, so it is reported rather than failing the test that passed.
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                AdminExecute($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
                return;
            }
            catch (PostgresException) when (attempt < 10)
            {
                Thread.Sleep(TimeSpan.FromMilliseconds(300));
            }
            catch (PostgresException e)
            {
                Console.Error.WriteLine($"TempPostgresDatabase: could not drop {Name}: {e.MessageText}");
                return;
            }
        }
    }

    private static void AdminExecute(string sql)
    {
        // Pooling off: an admin connection left in a pool would hold the server's connection slots across tests.
        using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(Server) { Pooling = false }.ConnectionString);
        connection.Open();
        connection.Execute(sql);
    }
}
