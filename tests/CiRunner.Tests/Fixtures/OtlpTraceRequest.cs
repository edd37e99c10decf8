using System.Globalization;
using Google.Protobuf;

namespace CiRunner.Tests.Fixtures;

/// <summary>A span as an OTLP receiver reads it: ids in lower-case hex (empty parent for a root), attribute values as text.</summary>
public sealed record OtlpSpan(string TraceId, string SpanId, string ParentSpanId, string Name, IReadOnlyDictionary<string, string> Attributes);

/// <summary>The spans of one instrumentation scope (an ActivitySource), with the resource that sent them.</summary>
public sealed record OtlpScopeSpans(IReadOnlyDictionary<string, string> Resource, string Scope, IReadOnlyList<OtlpSpan> Spans);

/// <summary>
/// Reads an OTLP <c>ExportTraceServiceRequest</c> (opentelemetry-proto, <c>collector/trace/v1</c>) from its protobuf
/// bytes, field number by field number, as a collector would: only the fields a test asserts on (resource
/// attributes, scope name, span ids, names and attributes); every other field is skipped by its wire type, so a
/// newer exporter's additions do not break it. Written from the .proto files, independently of the exporter.
/// </summary>
public static class OtlpTraceRequest
{
    public static IReadOnlyList<OtlpScopeSpans> Parse(byte[] body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var scopes = new List<OtlpScopeSpans>();
        // ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
        foreach (ByteString resourceSpans in Messages(ByteString.CopyFrom(body), 1))
        {
            // ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
            // Resource { repeated KeyValue attributes = 1; }
            Dictionary<string, string> resource = Messages(resourceSpans, 1).SelectMany(r => Messages(r, 1)).Select(KeyValue)
                .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
            foreach (ByteString scopeSpans in Messages(resourceSpans, 2))
            {
                // ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }; InstrumentationScope { string name = 1; }
                string scope = Messages(scopeSpans, 1).Select(s => Text(s, 1)).FirstOrDefault() ?? "";
                scopes.Add(new OtlpScopeSpans(resource, scope, Messages(scopeSpans, 2).Select(Span).ToList()));
            }
        }

        return scopes;
    }

    // Span { bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; repeated KeyValue attributes = 9; }
    private static OtlpSpan Span(ByteString span) => new(
        Hex(span, 1),
        Hex(span, 2),
        Hex(span, 4),
        Text(span, 5),
        Messages(span, 9).Select(KeyValue).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal));

    // KeyValue { string key = 1; AnyValue value = 2; }
    // AnyValue { oneof { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ... } }
    private static KeyValuePair<string, string> KeyValue(ByteString pair)
    {
        string key = Text(pair, 1);
        string value = "";
        foreach (ByteString any in Messages(pair, 2))
        {
            foreach (Field field in Fields(any))
            {
                value = field switch
                {
                    { Number: 1, Bytes: { } text } => text.ToStringUtf8(),
                    { Number: 2, Varint: { } flag } => flag != 0 ? "true" : "false",
                    { Number: 3, Varint: { } number } => ((long)number).ToString(CultureInfo.InvariantCulture),
                    { Number: 4, Fixed64: { } bits } => BitConverter.Int64BitsToDouble((long)bits).ToString(CultureInfo.InvariantCulture),
                    _ => value,
                };
            }
        }

        return new KeyValuePair<string, string>(key, value);
    }

    private static string Text(ByteString message, int number) =>
        Fields(message).LastOrDefault(f => f.Number == number && f.Bytes is not null)?.Bytes!.ToStringUtf8() ?? "";

    private static string Hex(ByteString message, int number) =>
        Convert.ToHexStringLower(Fields(message).LastOrDefault(f => f.Number == number && f.Bytes is not null)?.Bytes!.ToByteArray() ?? []);

    private static IEnumerable<ByteString> Messages(ByteString message, int number) =>
        Fields(message).Where(f => f.Number == number && f.Bytes is not null).Select(f => f.Bytes!);

    private static List<Field> Fields(ByteString message)
    {
        var fields = new List<Field>();
        CodedInputStream input = message.CreateCodedInput();
        for (uint tag = input.ReadTag(); tag != 0; tag = input.ReadTag())
        {
            int number = WireFormat.GetTagFieldNumber(tag);
            switch (WireFormat.GetTagWireType(tag))
            {
                case WireFormat.WireType.LengthDelimited:
                    fields.Add(new Field(number, input.ReadBytes(), null, null));
                    break;
                case WireFormat.WireType.Varint:
                    fields.Add(new Field(number, null, input.ReadUInt64(), null));
                    break;
                case WireFormat.WireType.Fixed64:
                    fields.Add(new Field(number, null, null, input.ReadFixed64()));
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        return fields;
    }

    private sealed record Field(int Number, ByteString? Bytes, ulong? Varint, ulong? Fixed64);
}
