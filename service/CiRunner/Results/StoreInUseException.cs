namespace CiRunner.Results;

/// <summary>Another <c>cirunner serve</c> (or <c>store copy</c>) holds the store's instance lock: this one must not start beside it.</summary>
public sealed class StoreInUseException : Exception
{
    public StoreInUseException(string location, string holder, string fix)
        : base($"The results database {location} is in use by another cirunner process ({holder}); {fix}.")
    {
        Location = location;
        Holder = holder;
    }

    /// <summary>The SQLite file, or <c>postgresql://host:port/name</c>.</summary>
    public string Location { get; }

    /// <summary>Which instance holds it: its id, process and host, and since when.</summary>
    public string Holder { get; }
}
