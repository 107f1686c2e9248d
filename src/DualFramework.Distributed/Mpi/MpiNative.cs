using System.Runtime.InteropServices;
using System.Text;

namespace DualFramework.Distributed.Mpi;

/// <summary>
/// The MPI functions DualFramework calls, bound at run time from the MPI shared library (no MPI at build time, and a
/// clear error instead of a DllNotFoundException when none is installed). Signatures follow the MPI standard; handles are
/// passed as pointer-sized values (see <see cref="MpiAbi"/>).
/// </summary>
internal sealed unsafe class MpiNative
{
    private static readonly Lazy<MpiNative> Shared = new(() => new MpiNative(new OpenMpiAbi()));

    public static MpiNative Instance => Shared.Value;

    public MpiAbi Abi { get; }

    public readonly delegate* unmanaged<int*, nint, int, int*, int> InitThread;
    public readonly delegate* unmanaged<int*, int> Initialized;
    public readonly delegate* unmanaged<int*, int> Finalized;
    public readonly delegate* unmanaged<int> Finalize;
    public readonly delegate* unmanaged<nint, int*, int> CommRank;
    public readonly delegate* unmanaged<nint, int*, int> CommSize;
    public readonly delegate* unmanaged<nint, nint, int, nint, nint, nint, int> Allreduce;
    public readonly delegate* unmanaged<nint, int, nint, int, nint, int> Bcast;
    public readonly delegate* unmanaged<nint, int, nint, nint, int, nint, nint, int> Allgather;
    public readonly delegate* unmanaged<nint, int> Barrier;
    public readonly delegate* unmanaged<nint, int, int> Abort;
    public readonly delegate* unmanaged<int, byte*, int*, int> ErrorString;

    private MpiNative(MpiAbi abi)
    {
        Abi = abi;
        var lib = Load(abi);
        nint F(string name) => NativeLibrary.TryGetExport(lib, name, out var p) ? p
            : throw new CommunicatorException($"The MPI library lacks {name}.");
        InitThread = (delegate* unmanaged<int*, nint, int, int*, int>)F("MPI_Init_thread");
        Initialized = (delegate* unmanaged<int*, int>)F("MPI_Initialized");
        Finalized = (delegate* unmanaged<int*, int>)F("MPI_Finalized");
        Finalize = (delegate* unmanaged<int>)F("MPI_Finalize");
        CommRank = (delegate* unmanaged<nint, int*, int>)F("MPI_Comm_rank");
        CommSize = (delegate* unmanaged<nint, int*, int>)F("MPI_Comm_size");
        Allreduce = (delegate* unmanaged<nint, nint, int, nint, nint, nint, int>)F("MPI_Allreduce");
        Bcast = (delegate* unmanaged<nint, int, nint, int, nint, int>)F("MPI_Bcast");
        Allgather = (delegate* unmanaged<nint, int, nint, nint, int, nint, nint, int>)F("MPI_Allgather");
        Barrier = (delegate* unmanaged<nint, int>)F("MPI_Barrier");
        Abort = (delegate* unmanaged<nint, int, int>)F("MPI_Abort");
        ErrorString = (delegate* unmanaged<int, byte*, int*, int>)F("MPI_Error_string");
        abi.Bind(lib);
    }

    /// <summary>True when an MPI library can be loaded (the test suite and samples check before launching).</summary>
    public static bool IsAvailable()
    {
        try
        {
            _ = Instance;
            return true;
        }
        catch (CommunicatorException)
        {
            return false;
        }
    }

    private static nint Load(MpiAbi abi)
    {
        var names = Environment.GetEnvironmentVariable("DUALFRAMEWORK_MPI_LIBRARY") is { Length: > 0 } custom ? [custom] : abi.LibraryNames;
        foreach (var name in names)
            if (NativeLibrary.TryLoad(name, out var handle)) return handle;
        throw new CommunicatorException(
            $"No MPI library could be loaded (tried {string.Join(", ", names)}). Install Open MPI (Debian: apt-get install openmpi-bin libopenmpi-dev, " +
            "or run scripts/install-system-deps.sh --mpi) or set DUALFRAMEWORK_MPI_LIBRARY.");
    }

    /// <summary>Throws a <see cref="CommunicatorException"/> naming <paramref name="call"/> when <paramref name="code"/> is not MPI_SUCCESS.</summary>
    public void Check(int code, string call)
    {
        if (code == 0) return;
        var text = new byte[1024];
        int len = 0;
        fixed (byte* p = text)
            if (ErrorString(code, p, &len) != 0) len = 0;
        var message = len > 0 ? Encoding.ASCII.GetString(text, 0, Math.Min(len, text.Length)) : "unknown error";
        throw new CommunicatorException($"{call} failed with MPI error {code}: {message}.");
    }
}
