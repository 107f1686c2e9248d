using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text;

namespace DualFramework.Torch.Native;

/// <summary>What <see cref="TorchNativeLoader.EnsureLoaded"/> did.</summary>
internal enum TorchNativeLoadMode
{
    /// <summary><see cref="TorchNativeLoader.EnsureLoaded"/> has not run yet.</summary>
    NotAttempted,

    /// <summary>Not Linux: nothing to do, TorchSharp loads its natives itself.</summary>
    NotLinux,

    /// <summary>Disabled through <see cref="TorchNativeLoader.DisableVariable"/>.</summary>
    Disabled,

    /// <summary>No <c>libLibTorchSharp.so</c> in the app's native directories: left to TorchSharp's own probing.</summary>
    NotFound,

    /// <summary>The shipped library loaded as is; nothing was patched.</summary>
    Original,

    /// <summary>The shipped library failed for a reason other than GLIBCXX_3.4.32: left to TorchSharp (which reports it).</summary>
    OriginalFailedOtherwise,

    /// <summary>A patched copy without the GLIBCXX_3.4.32 requirement was loaded and is used by TorchSharp.</summary>
    Patched,
}

/// <summary>
/// Makes TorchSharp's native glue (<c>libLibTorchSharp.so</c>) loadable on Linux systems whose
/// libstdc++ predates <c>GLIBCXX_3.4.32</c> (GCC 13), e.g. Debian 12 or Ubuntu 22.04.
/// </summary>
/// <remarks>
/// TorchSharp 0.107's <c>libLibTorchSharp.so</c> was built with GCC 15 and records a version
/// requirement on <c>GLIBCXX_3.4.32</c> for a single symbol (<c>std::ios_base_library_init</c>)
/// that no relocation uses. On an older libstdc++ <c>dlopen</c> refuses the file for that
/// requirement alone. When — and only when — loading the shipped file fails with that error,
/// this class writes a copy whose requirement is rewritten to an older GLIBCXX version the file
/// already requires (see <see cref="ElfVersionNeedPatcher"/>), loads it, and routes TorchSharp's
/// <c>[DllImport("LibTorchSharp")]</c> to it. Where the shipped file loads (newer Linux), or on
/// Windows/macOS, nothing is changed. See docs/native-loading.md.
/// </remarks>
internal static class TorchNativeLoader
{
    /// <summary>The library name TorchSharp's P/Invokes use.</summary>
    internal const string LibraryName = "LibTorchSharp";

    /// <summary>The file name of TorchSharp's native glue on Linux (also its DT_SONAME).</summary>
    internal const string LinuxFileName = "libLibTorchSharp.so";

    /// <summary>Environment variable; set to <c>0</c> to turn the workaround off entirely.</summary>
    internal const string DisableVariable = "DUALFRAMEWORK_TORCH_NATIVE_PATCH";

    private static readonly Lock Gate = new();
    private static volatile bool s_done;
    private static TorchNativeLoadException? s_failure;
    private static nint s_patchedHandle;

    /// <summary>What the first <see cref="EnsureLoaded"/> call did (diagnostics and tests).</summary>
    internal static TorchNativeLoadMode Mode { get; private set; } = TorchNativeLoadMode.NotAttempted;

    /// <summary>The shipped <c>libLibTorchSharp.so</c> that was found, if any.</summary>
    internal static string? OriginalPath { get; private set; }

    /// <summary>The dynamic loader's error for the shipped file, when it failed to load.</summary>
    internal static string? OriginalLoadError { get; private set; }

    /// <summary>Where the patched copy was loaded from, when <see cref="Mode"/> is <see cref="TorchNativeLoadMode.Patched"/>.</summary>
    internal static string? PatchedPath { get; private set; }

    /// <summary>Which version requirement was rewritten to which, when patched.</summary>
    internal static string? PatchDescription { get; private set; }

    /// <summary>
    /// Ensures TorchSharp's native library can be loaded; call before touching any TorchSharp API
    /// (TorchSharp's <c>torch</c> static constructor loads the natives). Idempotent and
    /// thread-safe; after the first call it only reads a flag.
    /// </summary>
    /// <exception cref="TorchNativeLoadException">
    /// The shipped library failed with the GLIBCXX_3.4.32 error and the patched copy could not
    /// be produced or loaded either; the message says what was tried and each loader error.
    /// </exception>
    public static void EnsureLoaded()
    {
        if (!s_done)
        {
            lock (Gate)
            {
                if (!s_done)
                {
                    try
                    {
                        LoadCore();
                    }
                    catch (Exception e)
                    {
                        s_failure = e as TorchNativeLoadException
                            ?? new TorchNativeLoadException($"Unexpected failure while preparing TorchSharp's native library: {e.Message}", e);
                    }
                    finally
                    {
                        s_done = true;
                    }

                    if (s_failure is not null)
                    {
                        throw s_failure;
                    }

                    return;
                }
            }
        }

        // Later callers get a fresh exception (so stack traces are not clobbered) wrapping the first.
        if (s_failure is { } failure)
        {
            throw new TorchNativeLoadException(failure.Message, failure);
        }
    }

    private static void LoadCore()
    {
        if (!OperatingSystem.IsLinux())
        {
            Mode = TorchNativeLoadMode.NotLinux;
            return;
        }

        if (Environment.GetEnvironmentVariable(DisableVariable) == "0")
        {
            Mode = TorchNativeLoadMode.Disabled;
            return;
        }

        LoadLinux();
    }

    [SupportedOSPlatform("linux")]
    private static void LoadLinux()
    {
        var directories = CandidateDirectories();
        string? original = directories.Select(d => Path.Combine(d, LinuxFileName)).FirstOrDefault(File.Exists);
        if (original is null)
        {
            // Nothing we can see; TorchSharp has further fallbacks (NuGet cache) and its own errors.
            Mode = TorchNativeLoadMode.NotFound;
            return;
        }

        OriginalPath = original;
        if (TryLoad(original, out _, out string? originalError))
        {
            // The normal case on new-enough systems: leave everything exactly as TorchSharp expects.
            Mode = TorchNativeLoadMode.Original;
            return;
        }

        OriginalLoadError = originalError;
        if (!originalError.Contains(ElfVersionNeedPatcher.Glibcxx3432, StringComparison.Ordinal))
        {
            // Not the failure this workaround is for (missing libtorch, wrong architecture, ...).
            Mode = TorchNativeLoadMode.OriginalFailedOtherwise;
            return;
        }

        byte[] image = File.ReadAllBytes(original);
        var patch = ElfVersionNeedPatcher.Patch(image);
        if (patch.Status != ElfPatchStatus.Patched || patch.Image is null)
        {
            throw new TorchNativeLoadException(
                $"Loading '{original}' failed: {originalError}{Environment.NewLine}" +
                $"Dropping its {ElfVersionNeedPatcher.Glibcxx3432} requirement was not possible ({patch.Status}: {patch.Message}). " +
                "Use a system whose libstdc++ provides GLIBCXX_3.4.32 (GCC 13 or newer).");
        }

        PatchDescription = patch.Message;
        var attempts = new StringBuilder();
        attempts.AppendLine($"Loading '{original}' failed: {originalError}");
        attempts.AppendLine($"Patched a copy ({patch.Message}).");

        // The copy lives elsewhere, so its RUNPATH ($ORIGIN) no longer finds libtorch & co.:
        // load its DT_NEEDED libraries by absolute path first; ld.so then satisfies the copy's
        // NEEDED entries by SONAME from the already-loaded objects.
        var info = ElfVersionNeedPatcher.Read(image);
        PreloadDependencies(info.Needed, Path.GetDirectoryName(original)!, directories, attempts);

        string hash = Convert.ToHexStringLower(SHA256.HashData(image));
        nint handle = LoadPatchedCopy(patch.Image, hash, attempts, out string? patchedPath);
        if (handle == 0)
        {
            throw new TorchNativeLoadException(attempts.ToString().TrimEnd());
        }

        s_patchedHandle = handle;
        PatchedPath = patchedPath;
        Mode = TorchNativeLoadMode.Patched;

        // DllImports from TorchSharp go straight to the patched copy. Only one resolver per
        // assembly is allowed and this is the only place that sets one; should someone else have
        // set it, the SONAME match below still routes TorchSharp to the loaded copy.
        try
        {
            NativeLibrary.SetDllImportResolver(typeof(TorchSharp.torch).Assembly, Resolve);
        }
        catch (InvalidOperationException)
        {
        }

        // TorchSharp's startup check (torch.LoadNativeBackend) calls
        // NativeLibrary.TryLoad("LibTorchSharp", TorchSharp.dll, null), which ignores resolvers:
        // its path probes hit the unpatched file and fail, and then the bare dlopen of
        // "libLibTorchSharp.so" matches the loaded copy's DT_SONAME. Verify exactly that call.
        if (!NativeLibrary.TryLoad(LibraryName, typeof(TorchSharp.torch).Assembly, null, out _))
        {
            throw new TorchNativeLoadException(
                attempts.AppendLine($"Loaded the patched copy '{patchedPath}', but TorchSharp's own lookup of '{LibraryName}' still fails " +
                    $"(the copy's DT_SONAME is '{info.SoName ?? "<none>"}').").ToString().TrimEnd());
        }
    }

    /// <summary>
    /// The handle of the LibTorchSharp that TorchSharp uses (the patched copy, or the shipped file), for the few entry
    /// points DualFramework calls itself (see <c>NativeCalls</c>).
    /// </summary>
    internal static nint GlueHandle()
    {
        EnsureLoaded();
        if (s_patchedHandle != 0) return s_patchedHandle;
        TorchSharp.torch.InitializeDeviceType(TorchSharp.DeviceType.CPU); // TorchSharp loads its natives first
        return NativeLibrary.Load(LibraryName, typeof(TorchSharp.torch).Assembly, null);
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        IsLibTorchSharp(libraryName) ? s_patchedHandle : 0;

    /// <summary>True for the spellings under which TorchSharp may ask for its native glue.</summary>
    /// <param name="libraryName">The name passed to a DllImport or NativeLibrary call.</param>
    /// <returns>True when it denotes LibTorchSharp.</returns>
    internal static bool IsLibTorchSharp(string libraryName) =>
        libraryName is LibraryName or LinuxFileName or "libLibTorchSharp" or "LibTorchSharp.so";

    /// <summary>
    /// The directories to look for the natives in, in the order the runtime probes DllImports:
    /// the host's NATIVE_DLL_SEARCH_DIRECTORIES (deps.json native assets), then the app base.
    /// </summary>
    /// <returns>Existing directories, full paths, without duplicates.</returns>
    internal static IReadOnlyList<string> CandidateDirectories()
    {
        string rid = "linux-" + RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        var raw = new List<string>();
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string searchDirs)
        {
            raw.AddRange(searchDirs.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }

        string baseDir = AppContext.BaseDirectory;
        raw.Add(baseDir);
        raw.Add(Path.Combine(baseDir, "runtimes", rid, "native"));

        string? torchSharpDir = Path.GetDirectoryName(typeof(TorchSharp.torch).Assembly.Location);
        if (!string.IsNullOrEmpty(torchSharpDir))
        {
            raw.Add(torchSharpDir);
            raw.Add(Path.Combine(torchSharpDir, "runtimes", rid, "native"));
        }

        var result = new List<string>();
        foreach (string dir in raw)
        {
            string full;
            try
            {
                full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir));
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
            {
                continue;
            }

            if (Directory.Exists(full) && !result.Contains(full, StringComparer.Ordinal))
            {
                result.Add(full);
            }
        }

        return result;
    }

    [SupportedOSPlatform("linux")]
    private static void PreloadDependencies(IReadOnlyList<string> needed, string originalDirectory, IReadOnlyList<string> directories, StringBuilder attempts)
    {
        var searchOrder = new List<string> { originalDirectory };
        searchOrder.AddRange(directories.Where(d => d != originalDirectory));
        foreach (string name in needed)
        {
            if (name.Contains('/'))
            {
                continue;
            }

            // System libraries (libc, libstdc++, ...) are not in these directories and are
            // left to the loader's default search, exactly as for the original.
            string? path = searchOrder.Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
            if (path is null)
            {
                continue;
            }

            if (!TryLoad(path, out _, out string? error))
            {
                throw new TorchNativeLoadException(attempts.AppendLine($"Loading dependency '{path}' failed: {error}").ToString().TrimEnd());
            }
        }
    }

    /// <summary>
    /// Writes the patched image to the per-user cache (or, failing that, a private temp dir) and
    /// loads it; returns 0 and appends the reasons when every location fails.
    /// </summary>
    [SupportedOSPlatform("linux")]
    private static nint LoadPatchedCopy(byte[] patched, string originalHash, StringBuilder attempts, out string? loadedFrom)
    {
        loadedFrom = null;
        string? cacheRoot = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (string.IsNullOrEmpty(cacheRoot) || !Path.IsPathRooted(cacheRoot))
        {
            string? home = Environment.GetEnvironmentVariable("HOME");
            cacheRoot = string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".cache");
        }

        if (cacheRoot is not null)
        {
            string dir = Path.Combine(cacheRoot, "dualframework", "native", originalHash);
            nint handle = TryMaterializeAndLoad(dir, patched, attempts, out loadedFrom);
            if (handle != 0)
            {
                return handle;
            }
        }
        else
        {
            attempts.AppendLine("No per-user cache directory ($XDG_CACHE_HOME, $HOME) is set.");
        }

        // Fallback: a fresh directory only this user can write (mode 0700), so no other user can
        // swap the file between writing and loading. The file is removed once loaded: the
        // mapping stays valid and nothing reopens it by path.
        string privateDir;
        try
        {
            privateDir = Directory.CreateTempSubdirectory("dualframework-native-").FullName;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            attempts.AppendLine($"Could not create a temporary directory: {e.Message}");
            return 0;
        }

        nint tempHandle = TryMaterializeAndLoad(privateDir, patched, attempts, out loadedFrom);
        try
        {
            Directory.Delete(privateDir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return tempHandle;
    }

    [SupportedOSPlatform("linux")]
    private static nint TryMaterializeAndLoad(string directory, byte[] patched, StringBuilder attempts, out string? path)
    {
        path = Path.Combine(directory, LinuxFileName);
        try
        {
            WriteAtomically(directory, path, patched);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            attempts.AppendLine($"Could not write the patched copy to '{path}': {e.Message}");
            path = null;
            return 0;
        }

        if (TryLoad(path, out nint handle, out string? error))
        {
            return handle;
        }

        attempts.AppendLine($"Loading the patched copy '{path}' failed: {error}");
        path = null;
        return 0;
    }

    /// <summary>
    /// Ensures <paramref name="path"/> holds exactly <paramref name="content"/>. A correct
    /// existing file is reused; otherwise the content goes to a uniquely named temp file in the
    /// same directory that is then renamed over the target (atomic), so concurrent processes
    /// never see or map a partially written library, and a file mapped by another process is
    /// replaced, never overwritten in place.
    /// </summary>
    [SupportedOSPlatform("linux")]
    private static void WriteAtomically(string directory, string path, byte[] content)
    {
        Directory.CreateDirectory(directory);
        if (HasContent(path, content))
        {
            return;
        }

        string temp = Path.Combine(directory, $".{LinuxFileName}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                    | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute,
            };
            using (var stream = new FileStream(temp, options))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    private static bool HasContent(string path, byte[] content)
    {
        try
        {
            var file = new FileInfo(path);
            return file.Exists && file.Length == content.Length && File.ReadAllBytes(path).AsSpan().SequenceEqual(content);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>NativeLibrary.Load by absolute path, capturing the dynamic loader's message instead of throwing.</summary>
    private static bool TryLoad(string path, out nint handle, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        try
        {
            handle = NativeLibrary.Load(path);
            error = null;
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            handle = 0;
            error = e.Message;
            return false;
        }
    }
}
