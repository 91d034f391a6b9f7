using System.Runtime.InteropServices;
using Tmds.Linux;

namespace FlatImage.Native.Interop;

/// <summary>
/// &lt;sys/socket.h&gt; (with struct iovec of &lt;sys/uio.h&gt; and struct sockaddr_un of &lt;sys/un.h&gt;) for
/// unix sockets: fd passing (SCM_RIGHTS) and peer credentials (SO_PEERCRED). The calls delegate to
/// Tmds.LibC; the structs stay ours (plain fields the callers and HeaderLayoutTests use) and are
/// passed as Tmds.Linux's, whose layouts are the same glibc ones. Raw results, errno set.
/// </summary>
public static unsafe partial class Socket
{
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

    public static int socketpair(int domain, int type, int protocol, int* sv) => LibC.socketpair(domain, type, protocol, sv);

    public static nint recvmsg(int sockfd, msghdr* msg, int flags) => (nint)(long)LibC.recvmsg(sockfd, (Tmds.Linux.msghdr*)msg, flags);

    public static nint sendmsg(int sockfd, msghdr* msg, int flags) => (nint)(long)LibC.sendmsg(sockfd, (Tmds.Linux.msghdr*)msg, flags);

    public static int socket(int domain, int type, int protocol) => LibC.socket(domain, type, protocol);

    public static int bind(int sockfd, sockaddr_un* addr, uint addrlen) => LibC.bind(sockfd, (sockaddr*)addr, addrlen);

    public static int listen(int sockfd, int backlog) => LibC.listen(sockfd, backlog);

    public static int accept4(int sockfd, void* addr, uint* addrlen, int flags) => LibC.accept4(sockfd, (sockaddr*)addr, (socklen_t*)addrlen, flags);

    public static int connect(int sockfd, sockaddr_un* addr, uint addrlen) => LibC.connect(sockfd, (sockaddr*)addr, addrlen);

    public static int getsockopt(int sockfd, int level, int optname, void* optval, uint* optlen) => LibC.getsockopt(sockfd, level, optname, optval, (socklen_t*)optlen);

    public static int shutdown(int sockfd, int how) => LibC.shutdown(sockfd, how);
}
