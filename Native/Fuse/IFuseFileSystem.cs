namespace FlatImage.Native.Fuse;

/// <summary>
/// A read-only filesystem served by <see cref="FuseSession"/>: one method per FUSE opcode, in the
/// manner of libfuse's <c>fuse_lowlevel_ops</c>.
///
/// Rules for every handler (docs/contributing.md, "For this project" 1-2):
/// <list type="bullet">
/// <item>It runs synchronously on a session worker thread, possibly on several threads at once
/// (FUSE_PARALLEL_DIROPS and FUSE_ASYNC_READ are negotiated): it must be thread-safe and must not
/// allocate or block on anything slower than the disk.</item>
/// <item>It either writes exactly one reply through <paramref name="reply"/> and returns 0, or
/// returns a positive errno (ENOENT, EIO, ...) and writes nothing; only the reply writer negates
/// errnos. Where a method says "empty" is a valid reply, returning 0 without writing sends it.</item>
/// <item>It never throws. Corrupt data is EIO. If it throws anyway, the worker answers EIO,
/// reports the exception through <see cref="FuseSession.WorkerFaulted"/> and keeps serving.</item>
/// <item>Names are raw bytes without a terminating NUL (Linux names need not be UTF-8).</item>
/// <item>Lookup counts: every successful Lookup reply, and every ReadDirPlus entry other than
/// "." and "..", adds one to the kernel's reference on that node id; Forget subtracts
/// <c>nlookup</c>. An unmount drops all counts without guaranteed Forgets.</item>
/// </list>
/// </summary>
public partial interface IFuseFileSystem
{
    /// <summary>
    /// FUSE_INIT has been negotiated; <paramref name="connection"/> says what the kernel agreed to.
    /// Called once before any other request of the session. Valid replies: none (the session replies).
    /// </summary>
    void Init(FuseConnectionInfo connection);

    /// <summary>The connection is being torn down (FUSE_DESTROY). Valid replies: none.</summary>
    void Destroy();

    /// <summary>
    /// Looks up <paramref name="name"/> in directory <c>header.nodeid</c>.
    /// Valid replies: <see cref="FuseReply.Entry(ulong, in fuse_attr, ulong)"/>,
    /// <see cref="FuseReply.NegativeEntry"/> (caches the absence), error (ENOENT, ENOTDIR, ...).
    /// </summary>
    int Lookup(in fuse_in_header header, ReadOnlySpan<byte> name, ref FuseReply reply);

    /// <summary>
    /// The kernel drops <paramref name="nlookup"/> references to <paramref name="nodeid"/> (FUSE_FORGET
    /// and each entry of FUSE_BATCH_FORGET). Valid replies: none, ever.
    /// </summary>
    void Forget(ulong nodeid, ulong nlookup);

    /// <summary>Valid replies: <see cref="FuseReply.Attr"/>, error.</summary>
    int GetAttr(in fuse_in_header header, in fuse_getattr_in arg, ref FuseReply reply);

    /// <summary>Valid replies: <see cref="FuseReply.ReadLink"/>, error (EINVAL when not a symlink).</summary>
    int ReadLink(in fuse_in_header header, ref FuseReply reply);

    /// <summary>
    /// Opens file <c>header.nodeid</c>; <c>arg.flags</c> are the open(2) flags (a read-only
    /// filesystem answers EROFS to write access). Valid replies: <see cref="FuseReply.Open"/>
    /// (use FOPEN_KEEP_CACHE for immutable data), error. ENOSYS, when the connection has
    /// FUSE_NO_OPEN_SUPPORT, means "stateless": the kernel sends no more OPEN or RELEASE for files,
    /// keeps their page cache as with FOPEN_KEEP_CACHE and passes fh 0 to Read.
    /// </summary>
    int Open(in fuse_in_header header, in fuse_open_in arg, ref FuseReply reply);

    /// <summary>
    /// Reads up to <c>arg.size</c> bytes at <c>arg.offset</c> of handle <c>arg.fh</c>. A short
    /// reply means end of file. Valid replies: <see cref="FuseReply.Data"/>,
    /// <see cref="FuseReply.DataBuffer"/> + <see cref="FuseReply.CommitData"/>, error.
    /// </summary>
    int Read(in fuse_in_header header, in fuse_read_in arg, ref FuseReply reply);

    /// <summary>The last reference to an open file handle is gone. Valid replies: empty, error (ignored).</summary>
    int Release(in fuse_in_header header, in fuse_release_in arg, ref FuseReply reply);

    /// <summary>
    /// Valid replies: <see cref="FuseReply.Open"/> (FOPEN_CACHE_DIR|FOPEN_KEEP_CACHE for immutable
    /// directories), error. ENOSYS with FUSE_NO_OPENDIR_SUPPORT: no more OPENDIR/RELEASEDIR, the
    /// kernel caches listings as with FOPEN_CACHE_DIR and passes fh 0 to ReadDir.
    /// </summary>
    int OpenDir(in fuse_in_header header, in fuse_open_in arg, ref FuseReply reply);

    /// <summary>
    /// Lists directory handle <c>arg.fh</c> from cookie <c>arg.offset</c> (0 = start). Add entries
    /// with <see cref="FuseReply.AddDirent"/> until it returns false (buffer full) and return 0;
    /// each entry carries the cookie of the entry after it. No entry added = end of directory.
    /// Valid replies: dirents, empty, error (only before the first entry).
    /// </summary>
    int ReadDir(in fuse_in_header header, in fuse_read_in arg, ref FuseReply reply);

    /// <summary>
    /// As <see cref="ReadDir"/>, with <see cref="FuseReply.AddDirentPlus"/>, which also hands the
    /// kernel each entry's attributes (one lookup reference each, except "." and ".."; an entry
    /// that did not fit takes no reference). Valid replies: dirents, empty, error.
    /// </summary>
    int ReadDirPlus(in fuse_in_header header, in fuse_read_in arg, ref FuseReply reply);

    /// <summary>Valid replies: empty, error (ignored).</summary>
    int ReleaseDir(in fuse_in_header header, in fuse_release_in arg, ref FuseReply reply);

    /// <summary>Valid replies: <see cref="FuseReply.StatFs"/>, error.</summary>
    int StatFs(in fuse_in_header header, ref FuseReply reply);

    /// <summary>
    /// Reads extended attribute <paramref name="name"/>. Valid replies:
    /// <see cref="FuseReply.Xattr"/> (answers the size probe when <c>arg.size</c> is 0 and ERANGE
    /// when the value does not fit), error (ENODATA when absent).
    /// </summary>
    int GetXattr(in fuse_in_header header, in fuse_getxattr_in arg, ReadOnlySpan<byte> name, ref FuseReply reply);

    /// <summary>
    /// Lists extended attribute names as NUL-terminated strings, back to back. Valid replies:
    /// <see cref="FuseReply.Xattr"/> (same size/ERANGE rules), error.
    /// </summary>
    int ListXattr(in fuse_in_header header, in fuse_getxattr_in arg, ref FuseReply reply);

    /// <summary>
    /// access(2) check. Not sent when mounted with default_permissions (the kernel checks the
    /// mode bits itself). Valid replies: empty, error.
    /// </summary>
    int Access(in fuse_in_header header, in fuse_access_in arg, ref FuseReply reply);
}
