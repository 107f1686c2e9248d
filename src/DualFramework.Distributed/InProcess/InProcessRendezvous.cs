using System.Runtime.InteropServices;

namespace DualFramework.Distributed;

/// <summary>
/// The shared state of an <see cref="InProcessGroup"/>. A collective is two barrier phases: in the first every rank
/// publishes its buffer (pinned for the duration of the call) and checks that all ranks called the same collective with
/// matching sizes; between the phases each rank reads its peers' buffers; the second phase keeps every buffer alive and
/// unchanged until all ranks are done with it.
/// </summary>
internal sealed unsafe class InProcessRendezvous : IDisposable
{
    internal enum Kind { AllReduce, Broadcast, AllGather, Barrier }

    private struct Slot
    {
        public Kind Kind;
        public long Sequence;
        public nint Send, Receive;
        public int Bytes, ReceiveBytes, Root;
        public DType DType;
        public ReduceOp Op;
    }

    private readonly Barrier _barrier;
    private readonly CancellationTokenSource _abort = new();
    private readonly Slot[] _slots;
    private readonly object _gate = new();
    private string? _failure;

    public InProcessRendezvous(int size, TimeSpan timeout)
    {
        Size = size;
        Timeout = timeout;
        _barrier = new Barrier(size);
        _slots = new Slot[size];
    }

    public int Size { get; }

    public TimeSpan Timeout { get; set; }

    /// <summary>The rank whose failure aborted the group first, if any.</summary>
    public int? FailedRank { get; private set; }

    /// <summary>Marks the group failed (the first reason wins) and releases every waiting rank.</summary>
    public void Fail(string reason, int? rank)
    {
        lock (_gate)
        {
            if (_failure != null) return;
            _failure = reason;
            FailedRank = rank;
        }
        _abort.Cancel();
    }

    private CommunicatorException Failed(int rank, string what) =>
        new($"in-process rank {rank}: {what} cannot complete because the group was aborted ({_failure}).");

    private void Wait(int rank, string what)
    {
        if (_failure != null) throw Failed(rank, what);
        bool ok;
        try
        {
            ok = _barrier.SignalAndWait(Timeout, _abort.Token);
        }
        catch (OperationCanceledException)
        {
            throw Failed(rank, what);
        }
        catch (ObjectDisposedException)
        {
            throw new CommunicatorException($"in-process rank {rank}: {what} on a disposed group.");
        }
        if (!ok)
        {
            var reason = $"rank {rank}: {what} timed out after {Timeout.TotalSeconds:0.###} s waiting for its peers (a replica is stuck or stopped calling collectives)";
            Fail(reason, null);
            throw new CommunicatorException($"in-process {reason}.");
        }
    }

    // Phase one: publish, wait for all, then check that every rank called the same collective the same way.
    private void Arrive(int rank, in Slot mine, string what)
    {
        _slots[rank] = mine;
        Wait(rank, what);
        for (int r = 0; r < Size; r++)
        {
            ref readonly var s = ref _slots[r];
            string? problem =
                s.Sequence != mine.Sequence || s.Kind != mine.Kind ? $"rank {r} called {s.Kind} (collective #{s.Sequence}) while rank {rank} called {mine.Kind} (collective #{mine.Sequence})" :
                s.Bytes != mine.Bytes ? $"rank {r} passed {s.Bytes} bytes, rank {rank} {mine.Bytes}" :
                s.DType != mine.DType || s.Op != mine.Op ? $"rank {r} reduces {s.DType.Name()} with {s.Op}, rank {rank} {mine.DType.Name()} with {mine.Op}" :
                s.Root != mine.Root ? $"rank {r} broadcasts from root {s.Root}, rank {rank} from root {mine.Root}" :
                null;
            if (problem != null)
            {
                var reason = $"mismatched collectives: {problem}";
                Fail(reason, null);
                throw new CommunicatorException($"in-process rank {rank}: {what}: {reason}.");
            }
        }
    }

    public void AllReduce(int rank, long sequence, Span<byte> buffer, DType dtype, ReduceOp op, ref float[] scratch, ref double[] scratch64)
    {
        fixed (byte* p = buffer)
        {
            Arrive(rank, new Slot { Kind = Kind.AllReduce, Sequence = sequence, Send = (nint)p, Bytes = buffer.Length, DType = dtype, Op = op }, "AllReduce");
            // Each rank reduces its own contiguous share of the elements, reading every rank's buffer in rank order (so all
            // ranks get bit-identical results) and writing the result into every buffer.
            int esize = dtype.ElementSize(), n = buffer.Length / esize;
            int lo = (int)((long)n * rank / Size), hi = (int)((long)n * (rank + 1) / Size), count = hi - lo;
            if (count > 0)
            {
                if (dtype == DType.Float64) ReduceShare64(lo, count, op, ref scratch64);
                else ReduceShare32(lo, count, dtype, op, ref scratch);
            }
            Wait(rank, "AllReduce");
        }
    }

    private Span<byte> Bytes(int rank, int offset, int length) => new((byte*)_slots[rank].Send + offset, length);

    private void ReduceShare32(int lo, int count, DType dtype, ReduceOp op, ref float[] scratch)
    {
        int esize = dtype.ElementSize();
        if (scratch.Length < 2 * count) scratch = new float[2 * count];
        var acc = scratch.AsSpan(0, count);
        var tmp = scratch.AsSpan(count, count);
        ReduceMath.ToSingle(Bytes(0, lo * esize, count * esize), dtype, acc);
        for (int r = 1; r < Size; r++)
        {
            var src = Bytes(r, lo * esize, count * esize);
            if (dtype == DType.Float32) ReduceMath.Combine(acc, MemoryMarshal.Cast<byte, float>(src), op);
            else
            {
                ReduceMath.ToSingle(src, dtype, tmp);
                ReduceMath.Combine(acc, tmp, op);
            }
        }
        ReduceMath.Finish(acc, op, Size);
        var first = Bytes(0, lo * esize, count * esize);
        ReduceMath.FromSingle(acc, dtype, first);
        for (int r = 1; r < Size; r++) first.CopyTo(Bytes(r, lo * esize, count * esize));
    }

    private void ReduceShare64(int lo, int count, ReduceOp op, ref double[] scratch)
    {
        if (scratch.Length < count) scratch = new double[count];
        var acc = scratch.AsSpan(0, count);
        MemoryMarshal.Cast<byte, double>(Bytes(0, lo * 8, count * 8)).CopyTo(acc);
        for (int r = 1; r < Size; r++) ReduceMath.Combine(acc, MemoryMarshal.Cast<byte, double>(Bytes(r, lo * 8, count * 8)), op);
        ReduceMath.Finish(acc, op, Size);
        for (int r = 0; r < Size; r++) MemoryMarshal.AsBytes(acc).CopyTo(Bytes(r, lo * 8, count * 8));
    }

    public void Broadcast(int rank, long sequence, Span<byte> buffer, int root)
    {
        fixed (byte* p = buffer)
        {
            Arrive(rank, new Slot { Kind = Kind.Broadcast, Sequence = sequence, Send = (nint)p, Bytes = buffer.Length, Root = root }, "Broadcast");
            if (rank != root) Bytes(root, 0, buffer.Length).CopyTo(buffer);
            Wait(rank, "Broadcast");
        }
    }

    public void AllGather(int rank, long sequence, ReadOnlySpan<byte> send, Span<byte> receive)
    {
        fixed (byte* p = send)
        {
            Arrive(rank, new Slot { Kind = Kind.AllGather, Sequence = sequence, Send = (nint)p, Bytes = send.Length }, "AllGather");
            for (int r = 0; r < Size; r++) Bytes(r, 0, send.Length).CopyTo(receive.Slice(r * send.Length, send.Length));
            Wait(rank, "AllGather");
        }
    }

    public void Barrier(int rank, long sequence)
    {
        Arrive(rank, new Slot { Kind = Kind.Barrier, Sequence = sequence }, "Barrier");
        // The second phase keeps a fast rank from publishing its next collective while a peer still checks this one.
        Wait(rank, "Barrier");
    }

    public void Dispose()
    {
        Fail("the group was disposed", null);
        _barrier.Dispose();
        _abort.Dispose();
    }
}
