using System.Runtime.InteropServices;

namespace DualFramework.Distributed.Mpi;

/// <summary>
/// The implementation-specific half of the MPI binary interface: the library to load and the values of the predefined
/// handles. The standard fixes function names and signatures but not handle representations, so this is the one place
/// another MPI would plug in (MPICH and MS-MPI use integer handles, which pass in the same registers as Open MPI's
/// pointers on x86-64; only these values differ).
/// </summary>
internal abstract class MpiAbi
{
    /// <summary>Library file names to try, in order.</summary>
    public abstract string[] LibraryNames { get; }

    /// <summary>Reads the predefined handles from the loaded library.</summary>
    public abstract void Bind(nint library);

    /// <summary>MPI_COMM_WORLD.</summary>
    public nint CommWorld { get; protected set; }

    /// <summary>MPI_FLOAT.</summary>
    public nint Float { get; protected set; }
    /// <summary>MPI_DOUBLE.</summary>
    public nint Double { get; protected set; }
    /// <summary>MPI_BYTE.</summary>
    public nint Byte { get; protected set; }

    /// <summary>MPI_SUM.</summary>
    public nint OpSum { get; protected set; }
    /// <summary>MPI_MAX.</summary>
    public nint OpMax { get; protected set; }

    /// <summary>MPI_IN_PLACE.</summary>
    public nint InPlace { get; protected set; }

    /// <summary>MPI_THREAD_SERIALIZED.</summary>
    public int ThreadSerialized { get; protected set; } = 2;
}

/// <summary>Open MPI (libmpi.so.40, versions 3–5): handles are addresses of exported predefined objects.</summary>
internal sealed class OpenMpiAbi : MpiAbi
{
    public override string[] LibraryNames => ["libmpi.so.40", "libmpi.so"];

    public override void Bind(nint library)
    {
        nint Get(string symbol) => NativeLibrary.TryGetExport(library, symbol, out var p) ? p
            : throw new CommunicatorException($"'{symbol}' is missing from the loaded MPI library: it is not Open MPI (set DUALFRAMEWORK_MPI_LIBRARY to an Open MPI libmpi.so).");
        CommWorld = Get("ompi_mpi_comm_world");
        Float = Get("ompi_mpi_float");
        Double = Get("ompi_mpi_double");
        Byte = Get("ompi_mpi_byte");
        OpSum = Get("ompi_mpi_op_sum");
        OpMax = Get("ompi_mpi_op_max");
        InPlace = 1;      // #define MPI_IN_PLACE ((void *) 1)
    }
}
