using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FlatImage.Native.Interop;

/// <summary>
/// Where this assembly's imports find libraries that are not libc. Only JIT hosts (tests,
/// <c>dotnet run</c>, the benchmarks) ask: the NativeAOT launcher binds libzstd at link time
/// (DirectPInvoke), and a bound import never reaches a resolver.
/// </summary>
internal static class NativeLibraries
{
    // A module initializer because the resolver must be in place before the first import of the
    // assembly is bound, whichever type that import belongs to; it costs one registration.
#pragma warning disable CA2255 // the registration is for this assembly's own imports
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register()
        => NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        // The default lookup wants libzstd.so, which only the -dev package installs; the runtime
        // package (Debian's dpkg depends on it) always has the soname, which is what the .so link
        // points at anyway. dlopen by soname searches the usual library path.
        if (name == Zstd.Lib && NativeLibrary.TryLoad("libzstd.so.1", out var handle))
            return handle;
        return IntPtr.Zero; // the default lookup
    }
}
