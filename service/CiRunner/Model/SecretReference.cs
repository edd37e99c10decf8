namespace CiRunner.Model;

/// <summary>
/// Where a secret (the API token, a git password) comes from: an environment variable whose name is configured, or a
/// file that only the service's user can read. The configuration only ever holds the name or the path; the value is
/// read when it is needed and never written to logs, API answers or the database. Every place that reads a secret
/// goes through this type and <c>Configuration.SecretValues</c>, which reads it (reporters included), so each accepts both
/// forms and checks files the same way. The reference itself is a plain value: no stage reads a file by holding one.
/// </summary>
/// <param name="Variable">The environment variable's name; null when the secret comes from <paramref name="File"/>.</param>
/// <param name="File">The file's absolute path; null when the secret comes from <paramref name="Variable"/>.</param>
/// <param name="Key">The configuration key that named it (<c>Http:ApiTokenFile</c>), for messages.</param>
public sealed record SecretReference(string? Variable, string? File, string Key)
{
    public static SecretReference FromVariable(string variable, string key = "") => new(variable, null, key);

    /// <summary>Two references are equal when they read the same secret, whichever key named it.</summary>
    public bool Equals(SecretReference? other) =>
        other is not null && string.Equals(Variable, other.Variable, StringComparison.Ordinal) && string.Equals(File, other.File, StringComparison.Ordinal);

    public override int GetHashCode() => HashCode.Combine(Variable, File);

    public static SecretReference FromFile(string path, string key = "") => new(null, Path.GetFullPath(path), key);

    /// <summary>For people: <c>the environment variable CIRUNNER_API_TOKEN (Http:ApiTokenVariable)</c> or <c>the file /etc/cirunner/token (Http:ApiTokenFile)</c>.</summary>
    public string Describe()
    {
        string where = File is null ? $"the environment variable {Variable}" : $"the file {File}";
        return Key.Length == 0 ? where : $"{where} ({Key})";
    }
}
