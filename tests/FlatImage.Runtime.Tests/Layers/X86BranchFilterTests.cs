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

    private static void WriteCall(byte[] code, int at, int target)
    {
        code[at] = 0xE8;
        BitConverter.TryWriteBytes(code.AsSpan(at + 1), target - (at + 5));
    }
}
