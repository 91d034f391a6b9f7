using System.Text;
using FlatImage.Runtime.Image;

namespace FlatImage.Runtime.Tests.Image;

public sealed class ConfigSlotTests
{
    [Fact]
    public void Round_trips_sequence_and_json()
    {
        var json = Encoding.UTF8.GetBytes("{\"a\":1}");
        var slot = ConfigSlot.Decode(ConfigSlot.Encode(42, json));
        Assert.True(slot.IsValid);
        Assert.Equal(42UL, slot.Sequence);
        Assert.Equal(json, slot.Json);
    }

    [Fact]
    public void Zeroed_slot_is_empty_not_damaged()
    {
        var slot = ConfigSlot.Decode(new byte[ConfigSlot.HeaderSize + 10]);
        Assert.False(slot.IsValid);
        Assert.True(slot.IsEmpty);
    }

    [Fact]
    public void Every_flipped_bit_invalidates_the_slot()
    {
        var bytes = ConfigSlot.Encode(7, Encoding.UTF8.GetBytes("{\"permissions\":[\"home\"]}"));
        for (int i = 0; i < bytes.Length; i++)
        {
            for (int bit = 0; bit < 8; bit++)
            {
                var copy = (byte[])bytes.Clone();
                copy[i] ^= (byte)(1 << bit);
                Assert.False(ConfigSlot.Decode(copy).IsValid, $"byte {i} bit {bit}");
            }
        }
    }

    [Fact]
    public void Truncated_slot_is_invalid()
    {
        var bytes = ConfigSlot.Encode(1, Encoding.UTF8.GetBytes("{\"x\":\"0123456789\"}"));
        for (int length = 0; length < bytes.Length; length++)
            Assert.False(ConfigSlot.Decode(bytes.AsSpan(0, length)).IsValid);
    }

    [Fact]
    public void Length_beyond_the_slot_is_invalid()
    {
        var bytes = ConfigSlot.Encode(1, "{}"u8);
        BitConverter.TryWriteBytes(bytes.AsSpan(16), uint.MaxValue);
        Assert.False(ConfigSlot.Decode(bytes).IsValid);
        Assert.Equal(ConfigSlot.MaxPayload, ConfigSlot.ClaimedLength(bytes));
    }
}
