using System.Globalization;

namespace CiRunner.Model;

/// <summary>A Gerrit patch-set ref, <c>refs/changes/45/12345/3</c>: change 12345, patch set 3.</summary>
public readonly record struct ChangeRef(int Number, int PatchSet)
{
    private const string Prefix = "refs/changes/";

    public static bool TryParse(string? value, out ChangeRef changeRef)
    {
        changeRef = default;
        if (value is null || !value.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        string[] parts = value[Prefix.Length..].Split('/');
        if (parts.Length != 3
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int number)
            || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out int patchSet))
        {
            return false;
        }

        changeRef = new ChangeRef(number, patchSet);
        return true;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Prefix}{Number % 100:00}/{Number}/{PatchSet}");
}
