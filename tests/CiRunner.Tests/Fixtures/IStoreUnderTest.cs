using System.Data.Common;
using CiRunner.Results;
using Microsoft.Extensions.Time.Testing;

namespace CiRunner.Tests.Fixtures;

/// <summary>
/// A fresh, empty results database of one provider for a store contract test: <see cref="TempDatabase"/> (a SQLite
/// file) or <see cref="TempPostgresDatabase"/> (a database of its own on the local PostgreSQL). The contract tests
/// are written once against this and run on both.
/// </summary>
public interface IStoreUnderTest : IDisposable
{
    /// <summary>The clock every store of this database runs on; starts at <see cref="TempDatabase.Start"/>.</summary>
    FakeTimeProvider Time { get; }

    /// <summary>A new database instance: a separate connection pool, like a second process.</summary>
    ResultsDatabase CreateDatabase();

    ResultsStore CreateStore();

    /// <summary>A connection straight to the database, without migrating: for tests that inspect it by hand.</summary>
    Task<DbConnection> OpenConnectionAsync();
}
