using System.Xml;
using System.Xml.Linq;
using System.Xml.Schema;

namespace CiRunner.Tests.Reporting;

/// <summary>Validates JUnit XML against Jenkins' xUnit <c>junit-10.xsd</c> (test data, MIT) with System.Xml.Schema.</summary>
internal static class JUnitSchema
{
    private static readonly XmlSchemaSet Schemas = Load();

    /// <summary>Every validation error and warning; empty when the document is valid.</summary>
    public static IReadOnlyList<string> Validate(string xml)
    {
        var problems = new List<string>();
        var settings = new XmlReaderSettings { ValidationType = ValidationType.Schema, Schemas = Schemas };
        settings.ValidationFlags |= XmlSchemaValidationFlags.ReportValidationWarnings;
        settings.ValidationEventHandler += (_, e) => problems.Add($"{e.Severity} at line {e.Exception?.LineNumber}: {e.Message}");
        using var reader = XmlReader.Create(new StringReader(xml), settings);
        while (reader.Read())
        {
        }

        return problems;
    }

    private static XmlSchemaSet Load()
    {
        var set = new XmlSchemaSet();
        using XmlReader schema = XmlReader.Create(Path.Combine(AppContext.BaseDirectory, "Reporting", "TestData", "junit-10.xsd"));
        set.Add(null, schema);
        set.Compile();
        return set;
    }

    /// <summary>The document, for assertions on its content.</summary>
    public static XDocument Parse(string xml) => XDocument.Parse(xml);
}
