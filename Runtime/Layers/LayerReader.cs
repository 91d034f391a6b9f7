using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Text;
using FlatImage.Native.Compression;
using FlatImage.Native.Interop;
using FlatImage.Native.Io;
using Microsoft.Win32.SafeHandles;

namespace FlatImage.Runtime.Layers;

/// <summary>
/// Reads one layer for many threads at once (the FUSE workers).
///
/// Overview. <see cref="Open"/> trusts nothing: it validates the header, checks the block index
/// and metadata checksums, decompresses the metadata into memory (capped at
/// <see cref="LayerHeader.MaxMetadataSize"/>) and validates every inode, entry and xattr record
/// and the directory graph (each directory reached exactly once from the root, so there are
/// no cycles). After that the metadata is immutable and all lookups are plain, lock-free reads.
/// File data is read with pread from the layer's byte range; each block is checked against its
/// checksum before decompression, so corruption reads as EIO, never as wrong bytes.
/// The methods return 0 or a positive errno and never throw on bad data.
///
/// A layer with a start profile region (docs/layers.md "Start profile") keeps that region's small
/// blocks in a cache of their own, with buffers of their size, and <see cref="StartPrefetch"/>
/// decompresses them ahead on one background thread: as many as that cache holds, in the order
/// the boot read them. Prefetching goes through the same cache and loader as a read, so a read
/// that wants a block the prefetcher is loading waits for that block only (the cache's per-block
/// lock), a read of another block never waits for it, and a damaged block is not cached by
/// either: it stays EIO for every read.
/// </summary>
public sealed class LayerReader : IDisposable
{
    public const ulong RootInode = 1;

    private const int ENOENT = 2, EIO = 5, EISDIR = 21, EINVAL = 22, ENOTDIR = 20;

    private readonly SafeFileHandle _file;
    private readonly long _base;
    private readonly LayerHeader _header;
    private readonly byte[] _meta;
    private readonly int _inodesAt, _entriesAt, _xattrsAt, _poolAt;
    private readonly uint _entryCount, _xattrCount;
    private readonly long _poolSize;
    private readonly long[] _blockOffsets;
    private readonly uint[] _blockStored;
    private readonly ulong[] _blockHashes;
    private readonly int[] _blockVerified;  // 1 once the block's stored bytes matched its checksum; races only repeat a check
    private readonly BlockCache _cache;
    private readonly BlockCache? _profileCache;    // the start profile region's blocks; null without one
    private readonly int _profileBlocks;           // blocks below this index are the start profile region's
    private readonly int _prefetchBlocks;          // how many of them the prefetcher loads: what _profileCache holds
    private readonly ConcurrentBag<ZstdDecompressor> _decompressors = new();
    private readonly CancellationTokenSource _stopPrefetch = new();
    private Thread? _prefetcher;                   // set once by StartPrefetch
    private int _prefetched;

    public ulong InodeCount { get; }
    public LayerStatistics Statistics { get; }

    private LayerReader(SafeFileHandle file, long offset, LayerHeader header, byte[] meta, long[] blockOffsets,
        uint[] blockStored, ulong[] blockHashes, LayerReaderOptions options, string path)
    {
        _file = file;
        _base = offset;
        _header = header;
        _meta = meta;
        _blockOffsets = blockOffsets;
        _blockStored = blockStored;
        _blockHashes = blockHashes;
        _blockVerified = new int[blockHashes.Length];
        InodeCount = BinaryPrimitives.ReadUInt32LittleEndian(meta.AsSpan(4));
        _entryCount = BinaryPrimitives.ReadUInt32LittleEndian(meta.AsSpan(8));
        _xattrCount = BinaryPrimitives.ReadUInt32LittleEndian(meta.AsSpan(12));
        _poolSize = (long)BinaryPrimitives.ReadUInt64LittleEndian(meta.AsSpan(16));
        _inodesAt = LayerFormat.MetadataHeaderSize;
        _entriesAt = _inodesAt + (int)InodeCount * LayerFormat.InodeSize;
        _xattrsAt = _entriesAt + (int)_entryCount * LayerFormat.EntrySize;
        _poolAt = _xattrsAt + (int)_xattrCount * LayerFormat.XattrSize;
        Statistics = Validate(path);
        _cache = new BlockCache(options.CacheBytes, header.BlockSize, LoadBlock);
        if (header.HasProfile)
        {
            _profileBlocks = (int)header.ProfileBlockCount;
            long capacity = Math.Min(options.ProfileCacheBytes, (long)_profileBlocks * header.ProfileBlockSize);
            _profileCache = new BlockCache(capacity, header.ProfileBlockSize, LoadBlock);
            _prefetchBlocks = (int)Math.Min(_profileBlocks, capacity / header.ProfileBlockSize);
        }
    }

    /// <summary>
    /// Opens the layer stored at [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="length"/>)
    /// of <paramref name="path"/> (a negative length means "to the end of the file").
    /// Throws <see cref="InvalidLayerException"/> when it is not a valid layer.
    /// </summary>
    public static LayerReader Open(string path, long offset, long length, LayerReaderOptions? options = null)
    {
        var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, FileOptions.RandomAccess);
        try
        {
            return Open(file, path, offset, length, options ?? new LayerReaderOptions());
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static LayerReader Open(SafeFileHandle file, string path, long offset, long length, LayerReaderOptions options)
    {
        long fileLength = RandomAccess.GetLength(file);
        if (offset < 0 || offset > fileLength)
            throw new InvalidLayerException(path, $"offset {offset} is outside the file");
        long available = fileLength - offset;
        if (length < 0 || length > available)
            length = length < 0 ? available : throw new InvalidLayerException(path, $"the file ends before offset + length ({offset} + {length})");

        var headerBytes = new byte[LayerHeader.Size];
        if (length < LayerHeader.Size || FullRead.At(file, headerBytes, offset) != LayerHeader.Size)
            throw new InvalidLayerException(path, "too short for a layer header");
        if (LayerHeader.Check(headerBytes, out var header) is { } bad)
            throw new InvalidLayerException(path, bad);
        if (header.TotalSize > length)
            throw new InvalidLayerException(path, $"truncated: the header says {header.TotalSize} bytes, {length} are there");

        // The block index: its size was checked against the layer size by TryRead, so this
        // allocation is bounded by bytes that really exist; the block count cap keeps the
        // per-block arrays addressable (2^26 blocks of at least 64 KiB is 4 TiB of data).
        if (header.BlockCount > 1u << 26)
            throw new InvalidLayerException(path, $"too many blocks ({header.BlockCount})");
        var index = new byte[header.BlockIndexSize];
        if (FullRead.At(file, index, offset + header.BlockIndexOffset) != index.Length)
            throw new InvalidLayerException(path, "truncated block index");
        if (XxHash64.HashToUInt64(index) != header.BlockIndexChecksum)
            throw new InvalidLayerException(path, "block index checksum mismatch");
        int blockCount = (int)header.BlockCount;
        var offsets = new long[blockCount];
        var stored = new uint[blockCount];
        var hashes = new ulong[blockCount];
        long position = header.DataOffset;
        long bound = ZstdCompressor.CompressBound(header.BlockSize);
        for (int i = 0; i < blockCount; i++)
        {
            stored[i] = BinaryPrimitives.ReadUInt32LittleEndian(index.AsSpan(i * 12));
            hashes[i] = BinaryPrimitives.ReadUInt64LittleEndian(index.AsSpan(i * 12 + 4));
            long size = stored[i] & LayerFormat.StoredSizeMask;
            long expected = header.BlockLength(i);
            bool raw = (stored[i] & LayerFormat.StoredRawFlag) != 0;
            bool filtered = (stored[i] & LayerFormat.X86FilterFlag) != 0;
            if (size == 0 || size > bound || (raw && (size != expected || filtered)))
                throw new InvalidLayerException(path, $"block {i} has an impossible size");
            offsets[i] = position;
            position += size;
        }
        if (position - header.DataOffset != header.DataSize)
            throw new InvalidLayerException(path, "block sizes do not add up to the data size");

        // Metadata: the stored size is bounded by the layer, the decompressed size by MaxMetadataSize
        // (checked in TryRead); zstd cannot expand beyond what the frame declares here.
        var storedMeta = new byte[header.MetadataStoredSize];
        if (FullRead.At(file, storedMeta, offset + header.MetadataOffset) != storedMeta.Length)
            throw new InvalidLayerException(path, "truncated metadata");
        if (XxHash64.HashToUInt64(storedMeta) != header.MetadataChecksum)
            throw new InvalidLayerException(path, "metadata checksum mismatch");
        // The frame states its own size; one that disagrees with the header (or states none) is
        // refused before the buffer is allocated.
        if (!ZstdDecompressor.TryGetContentSize(storedMeta, out ulong frameSize) || frameSize != (ulong)header.MetadataSize)
            throw new InvalidLayerException(path, "metadata frame size does not match the header");
        var meta = new byte[header.MetadataSize];
        using (var decompressor = new ZstdDecompressor())
        {
            if (!decompressor.TryDecompress(storedMeta, meta))
                throw new InvalidLayerException(path, "metadata does not decompress to its declared size");
        }
        CheckMetadataShape(meta, path);
        return new LayerReader(file, offset, header, meta, offsets, stored, hashes, options, path);
    }

    private static void CheckMetadataShape(byte[] meta, string path)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(meta) != LayerFormat.MetadataMagic)
            throw new InvalidLayerException(path, "bad metadata magic");
        ulong inodes = BinaryPrimitives.ReadUInt32LittleEndian(meta.AsSpan(4));
        ulong entries = BinaryPrimitives.ReadUInt32LittleEndian(meta.AsSpan(8));
        ulong xattrs = BinaryPrimitives.ReadUInt32LittleEndian(meta.AsSpan(12));
        ulong pool = BinaryPrimitives.ReadUInt64LittleEndian(meta.AsSpan(16));
        // All in 64-bit arithmetic: each term is below 2^32 * 56, so the sum cannot overflow.
        ulong expected = LayerFormat.MetadataHeaderSize + inodes * LayerFormat.InodeSize
            + entries * LayerFormat.EntrySize + xattrs * LayerFormat.XattrSize;
        if (inodes == 0 || pool > (ulong)meta.Length || expected + pool != (ulong)meta.Length)
            throw new InvalidLayerException(path, "metadata tables do not match their counts");
    }

    /// <summary>Checks every record once, so the lookups after Open need no checks but ranges.</summary>
    private LayerStatistics Validate(string path)
    {
        long files = 0, dirs = 0, links = 0, other = 0, bytes = 0;
        for (ulong ino = 1; ino <= InodeCount; ino++)
        {
            var r = InodeRecord(ino);
            byte type = r[0];
            byte flags = r[1];
            uint mode = BinaryPrimitives.ReadUInt32LittleEndian(r[4..]);
            uint nsec = BinaryPrimitives.ReadUInt32LittleEndian(r[20..]);
            long size = BinaryPrimitives.ReadInt64LittleEndian(r[32..]);
            ulong data = BinaryPrimitives.ReadUInt64LittleEndian(r[40..]);
            uint data2 = BinaryPrimitives.ReadUInt32LittleEndian(r[48..]);
            ulong xattrFirst = BinaryPrimitives.ReadUInt32LittleEndian(r[52..]);
            ulong xattrCount = BinaryPrimitives.ReadUInt16LittleEndian(r[2..]);
            string Bad(string what) => $"inode {ino}: {what}";
            if (type > (byte)LayerFileType.Whiteout)
                throw new InvalidLayerException(path, Bad("unknown type"));
            var t = (LayerFileType)type;
            if ((mode & Stat.S_IFMT) != LayerMetadataBuilder.TypeBits(t) || mode > 0xFFFF)
                throw new InvalidLayerException(path, Bad("mode does not match type"));
            if (nsec >= 1_000_000_000 || (flags & ~LayerFormat.FlagOpaque) != 0 || (flags != 0 && t != LayerFileType.Directory))
                throw new InvalidLayerException(path, Bad("bad flags or time"));
            if (xattrFirst + xattrCount > _xattrCount)
                throw new InvalidLayerException(path, Bad("xattrs out of range"));
            switch (t)
            {
                case LayerFileType.Regular:
                    if (size < 0 || (size > 0 && (data > (ulong)_header.StreamLength || (ulong)size > (ulong)_header.StreamLength - data)))
                        throw new InvalidLayerException(path, Bad("data out of range"));
                    files++;
                    bytes += size;
                    break;
                case LayerFileType.Directory:
                    if (data > _entryCount || data2 > _entryCount - data)
                        throw new InvalidLayerException(path, Bad("entries out of range"));
                    dirs++;
                    break;
                case LayerFileType.Symlink:
                    if (size is <= 0 or > LayerFormat.MaxSymlinkLength || !InPool(data, (ulong)size))
                        throw new InvalidLayerException(path, Bad("symlink target out of range"));
                    links++;
                    break;
                default:
                    other++;
                    break;
            }
        }
        for (ulong i = 0; i < _xattrCount; i++)
        {
            var x = _meta.AsSpan(_xattrsAt + (int)i * LayerFormat.XattrSize, LayerFormat.XattrSize);
            uint nameAt = BinaryPrimitives.ReadUInt32LittleEndian(x);
            uint valueAt = BinaryPrimitives.ReadUInt32LittleEndian(x[4..]);
            uint nameLength = BinaryPrimitives.ReadUInt16LittleEndian(x[8..]);
            uint valueLength = BinaryPrimitives.ReadUInt32LittleEndian(x[12..]);
            if (nameLength is 0 or > LayerFormat.MaxXattrNameLength || valueLength > LayerFormat.MaxXattrValueLength
                || !InPool(nameAt, nameLength) || !InPool(valueAt, valueLength)
                || Pool(nameAt, (int)nameLength).IndexOf((byte)0) >= 0)
                throw new InvalidLayerException(path, $"xattr record {i} is invalid");
        }
        if (InodeRecord(RootInode)[0] != (byte)LayerFileType.Directory)
            throw new InvalidLayerException(path, "the root is not a directory");

        // The directory graph must be a tree: every directory reached once, starting at the root.
        var reached = new bool[InodeCount + 1];
        reached[RootInode] = true;
        var pending = new Stack<ulong>();
        pending.Push(RootInode);
        while (pending.Count > 0)
        {
            ulong dir = pending.Pop();
            var r = InodeRecord(dir);
            ulong first = BinaryPrimitives.ReadUInt64LittleEndian(r[40..]);
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(r[48..]);
            ReadOnlySpan<byte> previous = default;
            for (uint k = 0; k < count; k++)
            {
                GetEntry(first + k, out uint nameAt, out int nameLength, out ulong child);
                if (!InPool(nameAt, (ulong)nameLength))
                    throw new InvalidLayerException(path, $"directory {dir}: name out of range");
                var name = Pool(nameAt, nameLength);
                if (!LayerMetadataBuilder.IsValidName(name))
                    throw new InvalidLayerException(path, $"directory {dir}: invalid name");
                if (k > 0 && previous.SequenceCompareTo(name) >= 0)
                    throw new InvalidLayerException(path, $"directory {dir}: entries not sorted or duplicated");
                previous = name;
                if (child == 0 || child > InodeCount)
                    throw new InvalidLayerException(path, $"directory {dir}: entry points to inode {child}");
                if (InodeRecord(child)[0] == (byte)LayerFileType.Directory)
                {
                    if (reached[child])
                        throw new InvalidLayerException(path, $"directory {child} is linked twice (cycle)");
                    reached[child] = true;
                    pending.Push(child);
                }
            }
        }
        return new LayerStatistics(InodeCount, files, dirs, links, other, bytes, _header.StreamLength,
            _header.BlockCount, _header.BlockSize, _header.TotalSize);
    }

    private bool InPool(ulong offset, ulong length) => offset <= (ulong)_poolSize && length <= (ulong)_poolSize - offset;

    private ReadOnlySpan<byte> Pool(uint offset, int length) => _meta.AsSpan(_poolAt + (int)offset, length);

    private ReadOnlySpan<byte> InodeRecord(ulong ino)
        => _meta.AsSpan(_inodesAt + (int)(ino - 1) * LayerFormat.InodeSize, LayerFormat.InodeSize);

    private void GetEntry(ulong index, out uint nameAt, out int nameLength, out ulong ino)
    {
        var e = _meta.AsSpan(_entriesAt + (int)index * LayerFormat.EntrySize, LayerFormat.EntrySize);
        nameAt = BinaryPrimitives.ReadUInt32LittleEndian(e);
        ino = BinaryPrimitives.ReadUInt32LittleEndian(e[4..]);
        nameLength = BinaryPrimitives.ReadUInt16LittleEndian(e[8..]);
    }

    public bool TryGetInode(ulong ino, out LayerInode inode)
    {
        if (ino == 0 || ino > InodeCount)
        {
            inode = default;
            return false;
        }
        inode = Decode(ino);
        return true;
    }

    private LayerInode Decode(ulong ino)
    {
        var r = InodeRecord(ino);
        var type = (LayerFileType)r[0];
        ulong data = BinaryPrimitives.ReadUInt64LittleEndian(r[40..]);
        return new LayerInode(
            ino, type,
            BinaryPrimitives.ReadUInt32LittleEndian(r[4..]),
            BinaryPrimitives.ReadUInt32LittleEndian(r[8..]),
            BinaryPrimitives.ReadUInt32LittleEndian(r[12..]),
            BinaryPrimitives.ReadInt64LittleEndian(r[32..]),
            BinaryPrimitives.ReadInt64LittleEndian(r[24..]),
            BinaryPrimitives.ReadUInt32LittleEndian(r[20..]),
            BinaryPrimitives.ReadUInt32LittleEndian(r[16..]),
            type is LayerFileType.CharDevice or LayerFileType.BlockDevice ? data : 0,
            (r[1] & LayerFormat.FlagOpaque) != 0);
    }

    private int DirectoryRange(ulong dir, out ulong first, out uint count)
    {
        first = 0;
        count = 0;
        if (dir == 0 || dir > InodeCount)
            return ENOENT;
        var r = InodeRecord(dir);
        if (r[0] != (byte)LayerFileType.Directory)
            return ENOTDIR;
        first = BinaryPrimitives.ReadUInt64LittleEndian(r[40..]);
        count = BinaryPrimitives.ReadUInt32LittleEndian(r[48..]);
        return 0;
    }

    /// <summary>Finds a name in a directory by binary search. Valid replies: 0, ENOENT, ENOTDIR.</summary>
    public int Lookup(ulong parent, ReadOnlySpan<byte> name, out ulong ino)
    {
        ino = 0;
        int errno = DirectoryRange(parent, out ulong first, out uint count);
        if (errno != 0)
            return errno;
        long lo = 0, hi = (long)count - 1;
        while (lo <= hi)
        {
            long mid = lo + ((hi - lo) >> 1);
            GetEntry(first + (ulong)mid, out uint nameAt, out int nameLength, out ulong child);
            int c = Pool(nameAt, nameLength).SequenceCompareTo(name);
            if (c == 0)
            {
                ino = child;
                return 0;
            }
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid - 1;
        }
        return ENOENT;
    }

    /// <summary>
    /// Visits the sorted entries of <paramref name="dir"/> from <paramref name="startIndex"/> ("." and
    /// ".." are not stored). Valid replies: 0, ENOENT, ENOTDIR, EINVAL (negative start).
    /// </summary>
    public int ReadDirectory(ulong dir, long startIndex, DirectoryEntryVisitor visitor)
    {
        int errno = DirectoryRange(dir, out ulong first, out uint count);
        if (errno != 0)
            return errno;
        if (startIndex < 0)
            return EINVAL;
        for (long i = startIndex; i < count; i++)
        {
            GetEntry(first + (ulong)i, out uint nameAt, out int nameLength, out ulong child);
            var inode = Decode(child);
            if (!visitor(i, Pool(nameAt, nameLength), child, in inode))
                break;
        }
        return 0;
    }

    /// <summary>
    /// Reads file bytes at <paramref name="offset"/>; fewer than requested only at end of file.
    /// Valid replies: 0, ENOENT, EISDIR, EINVAL (not a regular file, negative offset), EIO (corrupt or unreadable block).
    /// </summary>
    public int Read(ulong ino, long offset, Span<byte> destination, out int bytesRead)
    {
        bytesRead = 0;
        if (ino == 0 || ino > InodeCount)
            return ENOENT;
        var r = InodeRecord(ino);
        if (r[0] != (byte)LayerFileType.Regular)
            return r[0] == (byte)LayerFileType.Directory ? EISDIR : EINVAL;
        if (offset < 0)
            return EINVAL;
        long size = BinaryPrimitives.ReadInt64LittleEndian(r[32..]);
        if (offset >= size)
            return 0;
        long start = (long)BinaryPrimitives.ReadUInt64LittleEndian(r[40..]) + offset;
        int want = (int)Math.Min(destination.Length, size - offset);
        while (bytesRead < want)
        {
            int block = _header.BlockAt(start + bytesRead, out int inBlock);
            using var lease = CacheFor(block).Get(block);
            var data = lease.Data;
            if (!lease.Valid || inBlock >= data.Length)
            {
                bytesRead = 0;
                return EIO;
            }
            int n = Math.Min(want - bytesRead, data.Length - inBlock);
            data.Slice(inBlock, n).CopyTo(destination[bytesRead..]);
            bytesRead += n;
        }
        return 0;
    }

    /// <summary>Valid replies: 0, ENOENT, EINVAL (not a symlink).</summary>
    public int ReadLink(ulong ino, out ReadOnlyMemory<byte> target)
    {
        target = default;
        if (ino == 0 || ino > InodeCount)
            return ENOENT;
        var r = InodeRecord(ino);
        if (r[0] != (byte)LayerFileType.Symlink)
            return EINVAL;
        int at = (int)BinaryPrimitives.ReadUInt64LittleEndian(r[40..]);
        int length = (int)BinaryPrimitives.ReadInt64LittleEndian(r[32..]);
        target = _meta.AsMemory(_poolAt + at, length);
        return 0;
    }

    /// <summary>All extended attributes of an inode (possibly none). Valid replies: 0, ENOENT.</summary>
    public int ListXattr(ulong ino, out IReadOnlyList<KeyValuePair<string, byte[]>> xattrs)
    {
        xattrs = Array.Empty<KeyValuePair<string, byte[]>>();
        if (ino == 0 || ino > InodeCount)
            return ENOENT;
        var r = InodeRecord(ino);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(r[2..]);
        if (count == 0)
            return 0;
        int first = (int)BinaryPrimitives.ReadUInt32LittleEndian(r[52..]);
        var list = new KeyValuePair<string, byte[]>[count];
        for (int i = 0; i < count; i++)
        {
            var x = _meta.AsSpan(_xattrsAt + (first + i) * LayerFormat.XattrSize, LayerFormat.XattrSize);
            uint nameAt = BinaryPrimitives.ReadUInt32LittleEndian(x);
            uint valueAt = BinaryPrimitives.ReadUInt32LittleEndian(x[4..]);
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(x[8..]);
            int valueLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(x[12..]);
            list[i] = new(Encoding.UTF8.GetString(Pool(nameAt, nameLength)), Pool(valueAt, valueLength).ToArray());
        }
        xattrs = list;
        return 0;
    }

    /// <summary>
    /// One extended attribute of an inode, found without allocating (the value is a slice of the
    /// in-memory metadata): the kernel asks for security.capability or an ACL on every exec and
    /// `ls -l`. Valid replies: 0, ENOENT, ENODATA (the inode has no such attribute).
    /// </summary>
    public int FindXattr(ulong ino, ReadOnlySpan<byte> name, out ReadOnlyMemory<byte> value)
    {
        const int ENODATA = 61;
        value = default;
        if (ino == 0 || ino > InodeCount)
            return ENOENT;
        var r = InodeRecord(ino);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(r[2..]);
        int first = (int)BinaryPrimitives.ReadUInt32LittleEndian(r[52..]);
        for (int i = 0; i < count; i++)
        {
            var x = _meta.AsSpan(_xattrsAt + (first + i) * LayerFormat.XattrSize, LayerFormat.XattrSize);
            uint nameAt = BinaryPrimitives.ReadUInt32LittleEndian(x);
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(x[8..]);
            if (!Pool(nameAt, nameLength).SequenceEqual(name))
                continue;
            uint valueAt = BinaryPrimitives.ReadUInt32LittleEndian(x[4..]);
            int valueLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(x[12..]);
            value = _meta.AsMemory(_poolAt + (int)valueAt, valueLength);
            return 0;
        }
        return ENODATA;
    }

    /// <summary>
    /// Checks every block that holds part of a regular file against its checksum, each block once
    /// for the reader's lifetime; reads the stored bytes but decompresses nothing. For a FUSE overlay
    /// daemon that passes a read cut short by a damaged block on as a short, zero-filled reply:
    /// failing its open is then the only way the damage reaches the program as an error.
    /// Valid replies: 0, ENOENT, EINVAL (not a regular file), EIO (a damaged or unreadable block).
    /// </summary>
    public int VerifyFile(ulong ino)
    {
        if (ino == 0 || ino > InodeCount)
            return ENOENT;
        var r = InodeRecord(ino);
        if (r[0] != (byte)LayerFileType.Regular)
            return EINVAL;
        long size = BinaryPrimitives.ReadInt64LittleEndian(r[32..]);
        if (size == 0)
            return 0;
        long start = (long)BinaryPrimitives.ReadUInt64LittleEndian(r[40..]);
        int first = _header.BlockAt(start, out _), last = _header.BlockAt(start + size - 1, out _);
        for (int block = first; block <= last; block++)
        {
            if (Volatile.Read(ref _blockVerified[block]) != 0)
                continue;
            int stored = (int)(_blockStored[block] & LayerFormat.StoredSizeMask);
            byte[] buffer = ArrayPool<byte>.Shared.Rent(stored);
            try
            {
                if (!ReadStored(block, buffer.AsSpan(0, stored)))
                    return EIO;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        return 0;
    }

    /// <summary>
    /// Block <paramref name="index"/>'s stored bytes, read into <paramref name="stored"/> (exactly
    /// their length) and checked against the index's checksum; false (EIO) when they cannot be read
    /// or do not match. A block that matched is marked verified.
    /// </summary>
    private bool ReadStored(int index, Span<byte> stored)
    {
        try
        {
            if (FullRead.At(_file, stored, _base + _blockOffsets[index]) != stored.Length)
                return false;
        }
        catch (IOException)
        {
            // A failing disk or a file truncated under us: the read fails, the mount lives on.
            return false;
        }
        if (XxHash64.HashToUInt64(stored) != _blockHashes[index])
            return false;
        Volatile.Write(ref _blockVerified[index], 1);
        return true;
    }

    /// <summary>Block <paramref name="index"/>, checked and decompressed into <paramref name="block"/> (the cache's buffer of BlockSize bytes); its length, or -1 for EIO.</summary>
    private int LoadBlock(int index, byte[] block)
    {
        if ((uint)index >= (uint)_blockOffsets.Length)
            return -1;
        uint stored = _blockStored[index];
        int size = (int)(stored & LayerFormat.StoredSizeMask);
        int length = (int)_header.BlockLength(index);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            if (!ReadStored(index, buffer.AsSpan(0, size)))
                return -1;
            var data = block.AsSpan(0, length);
            if ((stored & LayerFormat.StoredRawFlag) != 0)
            {
                buffer.AsSpan(0, length).CopyTo(data);
                return length;
            }
            ZstdDecompressor? decompressor = null;
            try
            {
                if (!_decompressors.TryTake(out decompressor))
                    decompressor = new ZstdDecompressor();
                // A frame that is not valid zstd or does not fill the block exactly is only
                // possible if damaged bytes still match the checksum (a crafted file): EIO too.
                if (!decompressor.TryDecompress(buffer.AsSpan(0, size), data))
                    return -1;
                if ((stored & LayerFormat.X86FilterFlag) != 0)
                    X86BranchFilter.Decode(data);
                return length;
            }
            catch (ZstdException)
            {
                // No memory for a context: this read fails, the mount lives on.
                return -1;
            }
            finally
            {
                if (decompressor is not null)
                    _decompressors.Add(decompressor);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private BlockCache CacheFor(int block) => block < _profileBlocks ? _profileCache! : _cache;

    /// <summary>Whether the layer has a start profile region.</summary>
    public bool HasStartProfile => _profileCache is not null;

    /// <summary>Start profile blocks decompressed by <see cref="Prefetch"/> so far (for tests and logs).</summary>
    public int PrefetchedBlocks => Volatile.Read(ref _prefetched);

    /// <summary>
    /// Starts decompressing the start profile region on a background thread, once; nothing
    /// without a region. Called when the mount is up: the boot's first reads come a few
    /// milliseconds later (the sandbox's set-up), which is the time this wins.
    /// </summary>
    public void StartPrefetch()
    {
        if (_profileCache is null || _prefetchBlocks == 0 || _prefetcher is not null)
            return;
        // A plain thread, not the pool: it is one short burst of CPU per mount, and must not
        // wait behind (or hold up) pool work the run's actors and FUSE replies queue meanwhile.
        var thread = new Thread(Prefetch) { IsBackground = true, Name = "fim-prefetch" };
        _prefetcher = thread;
        thread.Start();
    }

    /// <summary>
    /// Loads the start profile region's blocks into its cache, first read first, as many as the
    /// cache holds; stops early when the reader is disposed. A damaged block is skipped (not
    /// cached): the read that needs it gets EIO as without prefetching.
    /// </summary>
    public void Prefetch()
    {
        if (_profileCache is null)
            return;
        var stop = _stopPrefetch.Token;
        for (int block = 0; block < _prefetchBlocks && !stop.IsCancellationRequested; block++)
        {
            using var lease = _profileCache.Get(block);
            if (lease.Valid)
                Interlocked.Increment(ref _prefetched);
        }
    }

    public void Dispose()
    {
        // The prefetcher reads the file: it stops (after at most the block in hand) before the file closes.
        _stopPrefetch.Cancel();
        _prefetcher?.Join();
        _file.Dispose();
        while (_decompressors.TryTake(out var d))
            d.Dispose();
    }
}
