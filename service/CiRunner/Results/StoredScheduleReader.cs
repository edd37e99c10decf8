using System.Data.Common;
using Dapper;

namespace CiRunner.Results;

/// <summary>
/// Reads Quartz's persistent store (its <c>QRTZ_</c> tables in the results database, which Quartz creates and writes)
/// without starting Quartz, so a service can tell when its scheduler is first needed.
/// </summary>
public sealed class StoredScheduleReader
{
    private readonly ResultsDatabase _database;

    public StoredScheduleReader(ResultsDatabase database) => _database = database;

    /// <summary>
    /// When the first of <paramref name="schedulerName"/>'s stored triggers is due; a time in the past is a trigger
    /// missed while no scheduler ran. Null when the store holds no trigger with a next fire time (Quartz has not
    /// created its tables or stored a schedule yet, or every stored trigger is over).
    /// </summary>
    public async Task<DateTimeOffset?> FirstDueAsync(string schedulerName, CancellationToken cancellationToken)
    {
        // Quartz keeps a trigger's next fire time as UTC ticks; a trigger that will not fire again has none.
        const string FirstDue = "SELECT MIN(NEXT_FIRE_TIME) FROM QRTZ_TRIGGERS WHERE SCHED_NAME = @Name AND NEXT_FIRE_TIME > 0";

        await using DbConnection connection = await _database.OpenAsync(cancellationToken);
        long tables = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            _database.Dialect.TableExistsSql, new { Table = "QRTZ_TRIGGERS" }, cancellationToken: cancellationToken));
        if (tables == 0)
        {
            return null;
        }

        long? ticks = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(FirstDue, new { Name = schedulerName }, cancellationToken: cancellationToken));
        return ticks is { } t ? new DateTimeOffset(t, TimeSpan.Zero) : null;
    }
}
