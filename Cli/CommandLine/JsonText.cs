using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace FlatImage.Cli.CommandLine;

/// <summary>
/// JSON as the commands print it: two-space indentation, keys in the order written (callers
/// write them sorted), and no escaping of characters that need none (<c>'</c>, <c>+</c>, non-ASCII).
/// </summary>
public static class JsonText
{
    private static readonly JsonWriterOptions Options = new()
    {
        Indented = true,
        IndentSize = 2,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Write(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, Options))
            write(writer);
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
