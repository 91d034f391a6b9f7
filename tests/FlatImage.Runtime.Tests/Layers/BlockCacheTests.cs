using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using FlatImage.Runtime.Layers;
using Xunit;

namespace FlatImage.Runtime.Tests.Layers;

/// <summary>The block cache recycles its buffers; a reader must never see a buffer refilled under it.</summary>
public sealed class BlockCacheTests
{
    private const int BlockSize = 4096;

    /// <summary>Block i is the byte (i * 7 + offset) everywhere: a recycled buffer shows as the wrong pattern.</summary>
    private static int Fill(int index, byte[] buffer)
    {
        for (int i = 0; i < BlockSize; i++)
            buffer[i] = (byte)(index * 7 + i);
        return BlockSize - index % 3; // blocks of different lengths, as a layer's last one is
    }

    [Fact]
    public void Readers_holding_a_block_never_see_it_recycled_while_others_evict_it()
    {
        var buffers = new ConcurrentDictionary<byte[], byte>(ReferenceEqualityComparer.Instance);
        int loads = 0;
        // Room for two blocks, eight threads reading twenty: eviction all the time.
        var cache = new BlockCache(2 * BlockSize, BlockSize, (index, buffer) =>
        {
            buffers.TryAdd(buffer, 0);
            Interlocked.Increment(ref loads);
            return Fill(index, buffer);
        });
        int wrong = 0;
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            var random = new Random(t);
            for (int round = 0; round < 2000; round++)
            {
                int index = random.Next(20);
                using var lease = cache.Get(index);
                Assert.True(lease.Valid);
                Assert.Equal(BlockSize - index % 3, lease.Data.Length);
                Thread.Yield(); // let other threads evict this block meanwhile
                for (int i = 0; i < lease.Data.Length; i += 97)
                    if (lease.Data[i] != (byte)(index * 7 + i))
                        Interlocked.Increment(ref wrong);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Equal(0, wrong);
        // Recycled, not allocated per load (a burst of releases beyond the free list's room leaves
        // some to the GC, so a few more than the most ever held at once).
        Assert.True(buffers.Count * 20 < loads, $"{buffers.Count} buffers for {loads} loads");
    }

    [Fact]
    public void A_block_that_fails_to_load_is_EIO_and_is_tried_again_next_time()
    {
        int attempts = 0;
        var cache = new BlockCache(4 * BlockSize, BlockSize, (index, buffer) => ++attempts == 1 ? -1 : Fill(index, buffer));
        using (var failed = cache.Get(5))
            Assert.False(failed.Valid);
        using (var loaded = cache.Get(5))
        {
            Assert.True(loaded.Valid);
            Assert.Equal((byte)(5 * 7), loaded.Data[0]);
        }
        using (var cached = cache.Get(5))
            Assert.True(cached.Valid);
        Assert.Equal(2, attempts);
    }
}
