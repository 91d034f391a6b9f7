using FlatImage.Runtime.Layers;
using Xunit;

namespace FlatImage.Runtime.Tests.Layers;

public sealed class X86BranchFilterTests
{
    [Fact]
    public void Decoding_restores_every_input_exactly()
    {
        var random = new Random(11);
        for (int round = 0; round < 2000; round++)
        {
            var data = new byte[random.Next(0, 600)];
            random.NextBytes(data);
            // Dense E8/E9 and 00/FF bytes are the cases where positions could drift apart.
            for (int i = 0; i < data.Length; i++)
            {
                int pick = random.Next(6);
                if (pick == 0) data[i] = 0xE8;
                else if (pick == 1) data[i] = 0xE9;
                else if (pick == 2) data[i] = 0x00;
                else if (pick == 3) data[i] = 0xFF;
            }
            var copy = (byte[])data.Clone();
            X86BranchFilter.Encode(copy);
            X86BranchFilter.Decode(copy);
            Assert.Equal(data, copy);
        }
    }

    [Fact]
    public void Makes_calls_to_one_target_identical()
    {
        // Two CALLs to absolute 0x1000 from different places differ before and match after.
        var code = new byte[64];
        WriteCall(code, 3, 0x1000);
        WriteCall(code, 40, 0x1000);
        Assert.False(code.AsSpan(4, 4).SequenceEqual(code.AsSpan(41, 4)));
        X86BranchFilter.Encode(code);
        Assert.True(code.AsSpan(4, 4).SequenceEqual(code.AsSpan(41, 4)));
    }

    /// <summary>
    /// Layers already written must decode as before: the filter matches, byte for byte, the
    /// plain scan it replaced (kept here as the reference), in both directions.
    /// </summary>
    [Fact]
    public void Matches_the_byte_by_byte_reference_in_both_directions()
    {
        var random = new Random(12);
        for (int round = 0; round < 500; round++)
        {
            var data = new byte[random.Next(0, 5000)];
            random.NextBytes(data);
            int density = random.Next(2, 200);
            for (int i = 0; i < data.Length; i++)
                if (random.Next(density) == 0)
                    data[i] = (byte)(random.Next(2) == 0 ? 0xE8 : random.Next(3) == 0 ? 0xE9 : random.Next(2) == 0 ? 0x00 : 0xFF);
            foreach (bool encode in new[] { true, false })
            {
                var expected = (byte[])data.Clone();
                Reference(expected, encode);
                var actual = (byte[])data.Clone();
                if (encode) X86BranchFilter.Encode(actual); else X86BranchFilter.Decode(actual);
                Assert.Equal(expected, actual);
            }
        }
    }

    private static void Reference(byte[] data, bool encode)
    {
        int end = data.Length - 4;
        int i = 0;
        while (i < end)
        {
            if ((data[i] & 0xFE) != 0xE8)
            {
                i++;
                continue;
            }
            byte top = data[i + 4];
            if (top is 0x00 or 0xFF)
            {
                uint v = data[i + 1] | ((uint)data[i + 2] << 8) | ((uint)data[i + 3] << 16) | (top == 0xFF ? 1u << 24 : 0);
                uint position = (uint)(i + 5);
                v = (encode ? v + position : v - position) & 0x1FF_FFFF;
                data[i + 1] = (byte)v;
                data[i + 2] = (byte)(v >> 8);
                data[i + 3] = (byte)(v >> 16);
                data[i + 4] = (v & (1u << 24)) != 0 ? (byte)0xFF : (byte)0x00;
            }
            i += 5;
        }
    }

    private static void WriteCall(byte[] code, int at, int target)
    {
        code[at] = 0xE8;
        BitConverter.TryWriteBytes(code.AsSpan(at + 1), target - (at + 5));
    }
}
