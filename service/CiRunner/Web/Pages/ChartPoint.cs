namespace CiRunner.Web.Pages;

/// <summary>One run's point on a <see cref="RunChart"/>.</summary>
/// <param name="Label">How the run reads ("job 42 ✗ failed").</param>
/// <param name="Value">Its value, or null for a gap.</param>
/// <param name="Failed">Whether the run did not pass: drawn as a cross instead of a dot.</param>
public sealed record ChartPoint(string Label, double? Value, bool Failed);
