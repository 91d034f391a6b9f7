using System.Runtime.InteropServices;

namespace FlatImage.Native.Interop;

/// <summary>Mirror of &lt;sys/socket.h&gt; (with struct iovec of &lt;sys/uio.h&gt; and struct sockaddr_un of
/// &lt;sys/un.h&gt;) for unix sockets: fd passing (SCM_RIGHTS) and peer credentials (SO_PEERCRED).</summary>
public static unsafe partial class Socket
{
    private const string Libc = "libc";

    public const int AF_UNIX = 1;
    public const int SOCK_STREAM = 1;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int SOL_SOCKET = 1;
    public const int SCM_RIGHTS = 1;
    public const int MSG_CTRUNC = 0x8;
    public const int MSG_CMSG_CLOEXEC = 0x40000000;
    public const int MSG_NOSIGNAL = 0x4000;
    public const int SO_PEERCRED = 17;
    public const int SHUT_RDWR = 2;

    /// <summary>struct sockaddr_un: sun_path is 108 bytes, NUL-terminated for a filesystem socket.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct sockaddr_un
    {
        public ushort sun_family;
        public fixed byte sun_path[108];
    }

    /// <summary>struct ucred, the answer of SO_PEERCRED: the peer's ids as seen from our namespaces.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct ucred
    {
        public int pid;
        public uint uid;
        public uint gid;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct iovec
    {
        public void* iov_base;
        public nuint iov_len;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct msghdr
    {
        public void* msg_name;
        public uint msg_namelen;
        public iovec* msg_iov;
        public nuint msg_iovlen;
        public void* msg_control;
        public nuint msg_controllen;
        public int msg_flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct cmsghdr
    {
        public nuint cmsg_len;
        public int cmsg_level;
        public int cmsg_type;
        // unsigned char cmsg_data[] follows, aligned to sizeof(size_t)
    }

    /// <summary>CMSG_ALIGN: control data is aligned to sizeof(size_t).</summary>
    public static int CMSG_ALIGN(int len) => (len + sizeof(nuint) - 1) & ~(sizeof(nuint) - 1);
    public static int CMSG_SPACE(int len) => CMSG_ALIGN(len) + CMSG_ALIGN(sizeof(cmsghdr));
    public static int CMSG_LEN(int len) => CMSG_ALIGN(sizeof(cmsghdr)) + len;
    public static byte* CMSG_DATA(cmsghdr* cmsg) => (byte*)cmsg + CMSG_ALIGN(sizeof(cmsghdr));

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int socketpair(int domain, int type, int protocol, int* sv);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint recvmsg(int sockfd, msghdr* msg, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint sendmsg(int sockfd, msghdr* msg, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int socket(int domain, int type, int protocol);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int bind(int sockfd, sockaddr_un* addr, uint addrlen);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int listen(int sockfd, int backlog);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int accept4(int sockfd, void* addr, uint* addrlen, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int connect(int sockfd, sockaddr_un* addr, uint addrlen);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int getsockopt(int sockfd, int level, int optname, void* optval, uint* optlen);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int shutdown(int sockfd, int how);
}
