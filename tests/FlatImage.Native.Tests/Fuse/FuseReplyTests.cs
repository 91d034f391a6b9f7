using System.Runtime.InteropServices;
using FlatImage.Native.Fuse;
using FlatImage.Native.Interop;
using Xunit;

namespace FlatImage.Native.Tests.Fuse;

public class FuseReplyTests
{
    private static readonly FuseValidity Day = FuseValidity.From(TimeSpan.FromDays(1));

    [Fact]
    public void Dirents_stop_when_the_buffer_is_full()
    {
        var buf = new byte[100];
        var reply = new FuseReply(buf, 0, Day, Day, Day);
        Assert.True(reply.AddDirent(5, 1, 4, "abc"u8));      // 24 + 3 -> 32
        Assert.True(reply.AddDirent(6, 2, 8, "defghij"u8));  // 24 + 7 -> 32
        Assert.True(reply.AddDirent(7, 3, 8, "k"u8));        // 32 -> 96
        Assert.False(reply.AddDirent(8, 4, 8, "l"u8));       // would be 128
        Assert.Equal(96, reply.Length);
        var d = MemoryMarshal.AsRef<fuse_dirent>(buf.AsSpan(32));
        Assert.Equal(6ul, d.ino);
        Assert.Equal(2ul, d.off);
        Assert.Equal(7u, d.namelen);
        Assert.Equal("defghij"u8.ToArray(), buf.AsSpan(32 + FuseKernel.FUSE_NAME_OFFSET, 7).ToArray());
        Assert.Equal(0, buf[32 + FuseKernel.FUSE_NAME_OFFSET + 7]); // padding cleared
    }

    [Fact]
    public void Direntplus_carries_the_entry_and_the_type_from_the_mode()
    {
        var buf = new byte[4096];
        var reply = new FuseReply(buf, 0, Day, Day, Day);
        var attr = new fuse_attr { ino = 9, mode = Stat.S_IFLNK | 0x1FF };
        Assert.True(reply.AddDirentPlus(9, attr, 3, "link"u8));
        var d = MemoryMarshal.AsRef<fuse_direntplus>(buf);
        Assert.Equal(9ul, d.entry_out.nodeid);
        Assert.Equal(86400ul, d.entry_out.entry_valid);
        Assert.Equal(10u, d.dirent.type); // DT_LNK
        Assert.Equal(FuseKernel.FUSE_DIRENT_ALIGN(FuseKernel.FUSE_NAME_OFFSET_DIRENTPLUS + 4), reply.Length);
    }

    [Fact]
    public void Xattr_answers_the_size_probe_and_ERANGE()
    {
        var buf = new byte[4096];
        var probe = new FuseReply(buf, 0, Day, Day, Day);
        probe.Xattr("value"u8);
        Assert.Equal(5u, MemoryMarshal.AsRef<fuse_getxattr_out>(buf).size);

        var small = new FuseReply(buf.AsSpan(0, 3), 3, Day, Day, Day);
        small.Xattr("value"u8);
        Assert.Equal(Errno.ERANGE, small.ErrorNumber);

        var fits = new FuseReply(buf.AsSpan(0, 8), 8, Day, Day, Day);
        fits.Xattr("value"u8);
        Assert.Equal(5, fits.Length);
    }

    [Fact]
    public void A_second_reply_throws()
    {
        var buf = new byte[4096];
        var reply = new FuseReply(buf, 0, Day, Day, Day);
        reply.Empty();
        bool threw = false;
        try { reply.Error(Errno.EIO); }
        catch (InvalidOperationException) { threw = true; }
        Assert.True(threw);
    }

    [Fact]
    public void Validity_splits_seconds_and_nanoseconds()
    {
        Assert.Equal(new FuseValidity(1, 500_000_000), FuseValidity.From(TimeSpan.FromMilliseconds(1500)));
    }
}
