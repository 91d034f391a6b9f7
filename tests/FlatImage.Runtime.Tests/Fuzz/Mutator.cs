using System.Buffers.Binary;

namespace FlatImage.Runtime.Tests.Fuzz;

/// <summary>
/// Seeded byte-level mutations in the style of coverage-less fuzzers: bit flips, interesting
/// integers written over length and offset fields, cut/duplicate/insert ranges, splices of two
/// inputs. The same seed gives the same sequence, so a failure reproduces from its seed alone.
/// </summary>
internal sealed class Mutator(int seed)
{
    private readonly Random _random = new(seed);

    private static readonly ulong[] Interesting =
    [
        0, 1, 2, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
        0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000,
        0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF,
    ];

    public int Next(int max) => _random.Next(max);

    /// <summary>One to four mutations of a copy of <paramref name="input"/>; <paramref name="other"/> feeds splices.</summary>
    public byte[] Mutate(byte[] input, byte[] other)
    {
        var data = new List<byte>(input);
        int rounds = 1 + _random.Next(4);
        for (int r = 0; r < rounds; r++)
            MutateOnce(data, other);
        return [.. data];
    }

    private void MutateOnce(List<byte> data, byte[] other)
    {
        if (data.Count == 0)
        {
            data.Add((byte)_random.Next(256));
            return;
        }
        int at = _random.Next(data.Count);
        switch (_random.Next(9))
        {
            case 0: // flip one bit
                data[at] ^= (byte)(1 << _random.Next(8));
                break;
            case 1: // random byte
                data[at] = (byte)_random.Next(256);
                break;
            case 2: // interesting integer, 1/2/4/8 bytes, either endianness
            {
                int width = 1 << _random.Next(4);
                Span<byte> bytes = stackalloc byte[8];
                ulong value = Interesting[_random.Next(Interesting.Length)];
                if (_random.Next(4) == 0)
                    value += (ulong)(_random.Next(33) - 16);
                BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
                if (_random.Next(4) == 0)
                    bytes[..width].Reverse();
                for (int i = 0; i < width && at + i < data.Count; i++)
                    data[at + i] = bytes[i];
                break;
            }
            case 3: // arithmetic on one byte
                data[at] = (byte)(data[at] + _random.Next(-35, 36));
                break;
            case 4: // cut a range
                data.RemoveRange(at, Math.Min(data.Count - at, 1 + _random.Next(Math.Min(64, data.Count))));
                break;
            case 5: // duplicate a range in place
            {
                int length = Math.Min(data.Count - at, 1 + _random.Next(64));
                data.InsertRange(at, data.GetRange(at, length));
                break;
            }
            case 6: // insert random bytes
            {
                var bytes = new byte[1 + _random.Next(16)];
                _random.NextBytes(bytes);
                data.InsertRange(at, bytes);
                break;
            }
            case 7: // truncate
                data.RemoveRange(at, data.Count - at);
                break;
            default: // splice the tail of another input
                if (other.Length > 0)
                {
                    int from = _random.Next(other.Length);
                    data.RemoveRange(at, data.Count - at);
                    data.AddRange(other.AsSpan(from, Math.Min(other.Length - from, 4096)).ToArray());
                }
                break;
        }
    }
}
