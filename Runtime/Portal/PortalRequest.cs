using System.Buffers.Binary;
using System.Text;

namespace FlatImage.Runtime.Portal;

/// <summary>
/// What a caller asks the portal to run: <paramref name="Arguments"/> (argv[0] is the program),
/// its whole environment as <c>NAME=value</c>, its working directory, and which of its
/// stdin/stdout/stderr it passes (bit 0, 1, 2 of <paramref name="StdioMask"/>; a closed one is
/// closed in the process too). The fds themselves travel beside the frame.
/// </summary>
public sealed record PortalRequest(IReadOnlyList<string> Arguments, IReadOnlyList<string> Environment, string WorkingDirectory, byte StdioMask)
{
    /// <summary>The frame payload: mask, directory, argc, argv, envc, env (each string u32 length + UTF-8).</summary>
    public byte[] Encode()
    {
        var buffer = new List<byte>(1024) { StdioMask };
        void Int(int value)
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b, value);
            buffer.AddRange(b.ToArray());
        }
        void Str(string value)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(value);
            Int(bytes.Length);
            buffer.AddRange(bytes);
        }
        Str(WorkingDirectory);
        Int(Arguments.Count);
        foreach (string a in Arguments)
            Str(a);
        Int(Environment.Count);
        foreach (string e in Environment)
            Str(e);
        return buffer.ToArray();
    }

    /// <summary>Parses and validates an untrusted payload; throws <see cref="PortalProtocolException"/> on anything off.</summary>
    public static PortalRequest Decode(ReadOnlySpan<byte> payload)
    {
        int at = 0;
        var p = payload;
        byte mask = Byte(p, ref at);
        if (mask > 7)
            throw new PortalProtocolException($"bad stdio mask {mask}");
        string cwd = String(p, ref at);
        if (cwd.Length > 0 && cwd[0] != '/')
            throw new PortalProtocolException("the working directory is not absolute");
        int argc = Count(p, ref at, PortalProtocol.MaxArguments, "arguments");
        if (argc == 0)
            throw new PortalProtocolException("no program to run");
        var args = new string[argc];
        for (int i = 0; i < argc; i++)
            args[i] = String(p, ref at);
        if (args[0].Length == 0)
            throw new PortalProtocolException("the program name is empty");
        int envc = Count(p, ref at, PortalProtocol.MaxEnvironment, "environment entries");
        var env = new string[envc];
        for (int i = 0; i < envc; i++)
        {
            env[i] = String(p, ref at);
            if (env[i].IndexOf('=') <= 0)
                throw new PortalProtocolException("an environment entry is not NAME=value");
        }
        if (at != p.Length)
            throw new PortalProtocolException("trailing bytes after the request");
        return new PortalRequest(args, env, cwd, mask);
    }

    /// <summary>How many fds the mask announces: exactly that many must arrive with the frame.</summary>
    public int FdCount => (StdioMask & 1) + ((StdioMask >> 1) & 1) + ((StdioMask >> 2) & 1);

    private static byte Byte(ReadOnlySpan<byte> p, ref int at)
    {
        if (at + 1 > p.Length)
            throw new PortalProtocolException("truncated request");
        return p[at++];
    }

    private static int Count(ReadOnlySpan<byte> p, ref int at, int max, string what)
    {
        if (at + 4 > p.Length)
            throw new PortalProtocolException("truncated request");
        int n = BinaryPrimitives.ReadInt32LittleEndian(p[at..]);
        at += 4;
        if (n < 0 || n > max)
            throw new PortalProtocolException($"too many {what}");
        return n;
    }

    private static string String(ReadOnlySpan<byte> p, ref int at)
    {
        int n = Count(p, ref at, p.Length, "bytes in a string");
        if (at + n > p.Length)
            throw new PortalProtocolException("truncated request");
        var bytes = p.Slice(at, n);
        at += n;
        // A NUL would silently cut an argument or variable short at exec: refuse it.
        if (bytes.IndexOf((byte)0) >= 0)
            throw new PortalProtocolException("a string contains a NUL byte");
        // Invalid UTF-8 would be replaced by U+FFFD and run a different argument than was sent;
        // our clients encode .NET strings, which always give valid UTF-8.
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new PortalProtocolException("a string is not valid UTF-8");
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
