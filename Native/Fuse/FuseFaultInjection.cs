using System.Globalization;

namespace FlatImage.Native.Fuse;

/// <summary>Builds <see cref="FuseSessionOptions.FaultInjector"/> hooks for tests.</summary>
public static class FuseFaultInjection
{
    public const string EnvironmentVariable = "FIM_TEST_FUSE_FAULT";

    /// <summary>
    /// Reads FIM_TEST_FUSE_FAULT=&lt;opcode&gt;:&lt;count&gt; once (opcode as a number or a name such
    /// as LOOKUP or FUSE_LOOKUP): the next &lt;count&gt; requests with that opcode throw. Null when unset.
    /// </summary>
    public static Func<fuse_opcode, bool>? FromEnvironment()
    {
        var value = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrEmpty(value)) return null;
        var parts = value.Split(':');
        if (parts.Length != 2 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int count))
            throw new FormatException($"{EnvironmentVariable}={value}: expected <opcode>:<count>");
        fuse_opcode op;
        if (uint.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out uint n)) op = (fuse_opcode)n;
        else if (!Enum.TryParse(parts[0].StartsWith("FUSE_", StringComparison.OrdinalIgnoreCase) ? parts[0] : "FUSE_" + parts[0], true, out op))
            throw new FormatException($"{EnvironmentVariable}={value}: unknown opcode");
        return Countdown(op, count);
    }

    /// <summary>The next <paramref name="count"/> requests with <paramref name="opcode"/> throw.</summary>
    public static Func<fuse_opcode, bool> Countdown(fuse_opcode opcode, int count)
    {
        var left = new StrongBox<int>(count);
        return op => op == opcode && Interlocked.Decrement(ref left.Value) >= 0;
    }

    private sealed class StrongBox<T>(T value) { public T Value = value; }
}
