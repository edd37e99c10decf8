using System.Text.Json;
using System.Text.Json.Serialization;

namespace CiRunner.Model;

/// <summary>
/// Writes every enum of <see cref="WireNames"/> as its wire name (<c>"failure"</c>, <c>"patchset"</c>), like
/// <see cref="JsonStringEnumConverter"/> with one naming policy for all. Reading also takes what the API wrote before
/// the names were unified (<c>"Failure"</c>, <c>"PatchSet"</c>: member names in any case) and numbers of defined
/// values, so clients that send those back keep working.
/// </summary>
public sealed class WireEnumJsonConverter : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) => WireNames.Has(typeToConvert);

    public override JsonConverter? CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter?)Activator.CreateInstance(typeof(Converter<>).MakeGenericType(typeToConvert));

    private sealed class Converter<TEnum> : JsonConverter<TEnum>
        where TEnum : struct, Enum
    {
        public override TEnum Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int number)
                && Enum.IsDefined(typeof(TEnum), number))
            {
                return (TEnum)Enum.ToObject(typeof(TEnum), number);
            }

            string? text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            if (WireNames.TryParseWire(text?.ToLowerInvariant(), out TEnum value)
                || (Enum.TryParse(text, ignoreCase: true, out value) && Enum.IsDefined(value)))
            {
                return value;
            }

            string expected = string.Join(", ", WireNames.All<TEnum>().Select(e => e.Name));
            throw new JsonException($"'{text ?? reader.TokenType.ToString()}' is not a {typeof(TEnum).Name}; expected one of: {expected}.");
        }

        public override void Write(Utf8JsonWriter writer, TEnum value, JsonSerializerOptions options) =>
            writer.WriteStringValue(WireNames.Name(value));
    }
}
