using System.Diagnostics;
using System.Runtime.InteropServices;

namespace DualFramework.Distributed.Mpi;

/// <summary>
/// <see cref="ICommunicator"/> over MPI_COMM_WORLD of the MPI library (Open MPI's libmpi.so.40), through DualFramework's
/// own bindings. Start the program with <c>mpirun -np N dotnet app.dll</c>; <see cref="Initialize"/> once per process.
/// </summary>
/// <remarks>
/// Collectives are the blocking MPI calls (the library's tuned algorithms; the non-blocking variants were measurably
/// slower here), guarded by a watchdog thread. A rank whose collective exceeds <see cref="Timeout"/>, that throws an
/// unhandled exception, or that calls <see cref="Abort"/> prints the reason and calls MPI_Abort, which makes the launcher
/// terminate every rank; a rank that dies is noticed by the launcher, which does the same. A failure anywhere therefore
/// ends the job within the timeout instead of hanging it. (A stuck MPI call cannot be cancelled, so a timeout cannot
/// simply throw and let the program go on.)
/// </remarks>
public sealed unsafe class MpiCommunicator : ICommunicator
{
    private static MpiCommunicator? _instance;
    private static readonly object Gate = new();
    private readonly MpiNative _mpi;
    private readonly Thread _watchdog;
    private float[] _staging = [];
    private long _deadline; // Stopwatch timestamp of the running collective's deadline; 0 when none runs
    private string _running = "";
    private volatile bool _disposed;

    private MpiCommunicator(MpiNative mpi, TimeSpan timeout)
    {
        _mpi = mpi;
        Timeout = timeout;
        int rank, size;
        mpi.Check(mpi.CommRank(mpi.Abi.CommWorld, &rank), "MPI_Comm_rank");
        mpi.Check(mpi.CommSize(mpi.Abi.CommWorld, &size), "MPI_Comm_size");
        Rank = rank;
        Size = size;
        _watchdog = new Thread(Watch) { IsBackground = true, Name = "DualFramework MPI watchdog" };
        _watchdog.Start();
    }

    /// <summary>True when an MPI library can be loaded on this machine.</summary>
    public static bool IsAvailable => MpiNative.IsAvailable();

    /// <summary>True when this process was started by an MPI launcher (mpirun/mpiexec set its rank variables).</summary>
    public static bool LaunchedByMpi =>
        Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") != null || Environment.GetEnvironmentVariable("PMI_SIZE") != null;

    /// <summary>
    /// Initialises MPI (MPI_Init_thread, serialized) on first use and returns the process's communicator; later calls return
    /// the same one. Collectives wait at most <paramref name="timeout"/> (default: the <c>DUALFRAMEWORK_COMM_TIMEOUT</c>
    /// environment variable in seconds, else 300 s). Unhandled exceptions then abort the whole job with their message.
    /// </summary>
    public static MpiCommunicator Initialize(TimeSpan? timeout = null)
    {
        lock (Gate)
        {
            if (_instance is { _disposed: false } existing) return existing;
            var mpi = MpiNative.Instance;
            int flag;
            mpi.Check(mpi.Finalized(&flag), "MPI_Finalized");
            if (flag != 0) throw new CommunicatorException("MPI was already finalized in this process; it cannot be initialised again.");
            mpi.Check(mpi.Initialized(&flag), "MPI_Initialized");
            if (flag == 0)
            {
                int provided;
                mpi.Check(mpi.InitThread(null, 0, mpi.Abi.ThreadSerialized, &provided), "MPI_Init_thread");
            }
            _instance = new MpiCommunicator(mpi, timeout ?? DefaultTimeout());
            AppDomain.CurrentDomain.UnhandledException += OnUnhandled;
            return _instance;
        }
    }

    internal static TimeSpan DefaultTimeout() =>
        double.TryParse(Environment.GetEnvironmentVariable("DUALFRAMEWORK_COMM_TIMEOUT"), System.Globalization.CultureInfo.InvariantCulture, out var s) && s > 0
            ? TimeSpan.FromSeconds(s) : TimeSpan.FromMinutes(5);

    private static void OnUnhandled(object? sender, UnhandledExceptionEventArgs e)
    {
        if (_instance is { _disposed: false } c)
            c.Abort($"unhandled {e.ExceptionObject.GetType().Name}: {(e.ExceptionObject as Exception)?.Message}");
    }

    /// <inheritdoc />
    public string Kind => "mpi";

    /// <inheritdoc />
    public int Rank { get; }

    /// <inheritdoc />
    public int Size { get; }

    /// <inheritdoc />
    public TimeSpan Timeout { get; set; }

    private void Watch()
    {
        while (!_disposed)
        {
            Thread.Sleep(Math.Clamp((int)(Timeout.TotalMilliseconds / 20), 10, 250));
            long deadline = Volatile.Read(ref _deadline);
            if (deadline != 0 && Stopwatch.GetTimestamp() > deadline && !_disposed)
                Abort($"{_running} timed out after {Timeout.TotalSeconds:0.###} s waiting for its peers (a rank died, hangs, or called a different collective)");
        }
    }

    // Runs one blocking MPI call under the watchdog.
    private void Guarded(string what, Func<int> call)
    {
        if (_disposed) throw new ObjectDisposedException(nameof(MpiCommunicator), "MPI was finalized.");
        _running = what;
        Volatile.Write(ref _deadline, Stopwatch.GetTimestamp() + (long)(Timeout.TotalSeconds * Stopwatch.Frequency));
        int code;
        try
        {
            code = call();
        }
        finally
        {
            Volatile.Write(ref _deadline, 0);
        }
        _mpi.Check(code, what);
    }

    /// <inheritdoc />
    public void AllReduce(Span<byte> buffer, DType dtype, ReduceOp op)
    {
        ReduceMath.Check($"MPI rank {Rank}: AllReduce", dtype, buffer.Length);
        if (ReduceMath.IsHalf(dtype))
        {
            // No portable MPI type for float16/bfloat16: reduce in float32 and round once.
            int n = buffer.Length / 2;
            if (_staging.Length < n) _staging = new float[n];
            var staged = _staging.AsSpan(0, n);
            ReduceMath.ToSingle(buffer, dtype, staged);
            ReduceInPlace(MemoryMarshal.AsBytes(staged), 4, _mpi.Abi.Float, op);
            ReduceMath.Finish(staged, op, Size);
            ReduceMath.FromSingle(staged, dtype, buffer);
            return;
        }
        bool f64 = dtype == DType.Float64;
        ReduceInPlace(buffer, f64 ? 8 : 4, f64 ? _mpi.Abi.Double : _mpi.Abi.Float, op);
        if (f64) ReduceMath.Finish(MemoryMarshal.Cast<byte, double>(buffer), op, Size);
        else ReduceMath.Finish(MemoryMarshal.Cast<byte, float>(buffer), op, Size);
    }

    private void ReduceInPlace(Span<byte> buffer, int elementSize, nint type, ReduceOp op)
    {
        var mpiOp = op == ReduceOp.Max ? _mpi.Abi.OpMax : _mpi.Abi.OpSum;
        // A span's byte length is an int, so its element count always fits MPI's int count.
        fixed (byte* p = buffer)
        {
            nint at = (nint)p;
            int count = buffer.Length / elementSize;
            Guarded("MPI_Allreduce", () => _mpi.Allreduce(_mpi.Abi.InPlace, at, count, type, mpiOp, _mpi.Abi.CommWorld));
        }
    }

    /// <summary>A plain MPI_Allreduce (sum, in place) of float32 values without DualFramework's checks or watchdog: the
    /// baseline of the <c>--ratio allreduce</c> benchmark.</summary>
    public void RawAllReduceSum(Span<float> buffer)
    {
        fixed (float* p = buffer)
            _mpi.Check(_mpi.Allreduce(_mpi.Abi.InPlace, (nint)p, buffer.Length, _mpi.Abi.Float, _mpi.Abi.OpSum, _mpi.Abi.CommWorld), "MPI_Allreduce");
    }

    /// <inheritdoc />
    public void Broadcast(Span<byte> buffer, int root)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(root);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(root, Size);
        fixed (byte* p = buffer)
        {
            nint at = (nint)p;
            int n = buffer.Length;
            Guarded("MPI_Bcast", () => _mpi.Bcast(at, n, _mpi.Abi.Byte, root, _mpi.Abi.CommWorld));
        }
    }

    /// <inheritdoc />
    public void AllGather(ReadOnlySpan<byte> send, Span<byte> receive)
    {
        if (receive.Length != (long)send.Length * Size)
            throw new ArgumentException($"MPI rank {Rank}: AllGather needs a receive buffer of {(long)send.Length * Size} bytes, got {receive.Length}.", nameof(receive));
        fixed (byte* s = send)
        fixed (byte* r = receive)
        {
            nint from = (nint)s, to = (nint)r;
            int n = send.Length;
            Guarded("MPI_Allgather", () => _mpi.Allgather(from, n, _mpi.Abi.Byte, to, n, _mpi.Abi.Byte, _mpi.Abi.CommWorld));
        }
    }

    /// <inheritdoc />
    public void Barrier() => Guarded("MPI_Barrier", () => _mpi.Barrier(_mpi.Abi.CommWorld));

    /// <inheritdoc />
    public void Abort(string reason, int errorCode = 1)
    {
        Console.Out.Flush();
        Console.Error.WriteLine($"DualFramework: MPI rank {Rank} of {Size}: {reason}; aborting all ranks.");
        Console.Error.Flush();
        _mpi.Abort(_mpi.Abi.CommWorld, errorCode);
        Environment.Exit(errorCode); // MPI_Abort does not return; this is only reached if the library misbehaves
    }

    /// <summary>Finalizes MPI (collective: every rank must dispose its communicator). MPI cannot be reinitialised afterwards.</summary>
    public void Dispose()
    {
        lock (Gate)
        {
            if (_disposed) return;
            _disposed = true;
            AppDomain.CurrentDomain.UnhandledException -= OnUnhandled;
            _mpi.Check(_mpi.Finalize(), "MPI_Finalize");
        }
    }
}
