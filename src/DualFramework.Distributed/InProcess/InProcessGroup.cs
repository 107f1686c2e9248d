namespace DualFramework.Distributed;

/// <summary>
/// N replicas of one program running as threads of this process, joined by <see cref="ICommunicator"/>s that exchange
/// buffers through shared memory (no copies beyond the reduction itself). For tests, and for machines whose devices are
/// driven from one process.
/// </summary>
/// <example><code>
/// InProcessGroup.Run(2, comm =&gt; { using var dp = new DataParallel(comm); /* build a model, train with dp */ });
/// </code></example>
public sealed class InProcessGroup : IDisposable
{
    private readonly InProcessCommunicator[] _members;

    /// <summary>Creates a group of <paramref name="size"/> ranks whose collectives wait at most <paramref name="timeout"/>
    /// (default 5 minutes) for each other.</summary>
    public InProcessGroup(int size, TimeSpan? timeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        Rendezvous = new InProcessRendezvous(size, timeout ?? TimeSpan.FromMinutes(5));
        _members = new InProcessCommunicator[size];
        for (int r = 0; r < size; r++) _members[r] = new InProcessCommunicator(Rendezvous, r);
    }

    internal InProcessRendezvous Rendezvous { get; }

    /// <summary>Number of ranks.</summary>
    public int Size => _members.Length;

    /// <summary>The communicator of rank <paramref name="rank"/> (hand each to its own thread).</summary>
    public ICommunicator this[int rank] => _members[rank];

    /// <summary>
    /// Runs <paramref name="body"/> on <paramref name="replicas"/> threads, one per rank, and waits for all. When a replica
    /// throws, the group is aborted (the others' collectives fail at once) and the first failure is rethrown as a
    /// <see cref="CommunicatorException"/> naming its rank, with the original exception as the inner one.
    /// </summary>
    public static void Run(int replicas, Action<ICommunicator> body, TimeSpan? timeout = null) =>
        Run(replicas, c => { body(c); return 0; }, timeout);

    /// <summary>Like <see cref="Run(int, Action{ICommunicator}, TimeSpan?)"/>, returning each rank's result (index = rank).</summary>
    public static T[] Run<T>(int replicas, Func<ICommunicator, T> body, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        using var group = new InProcessGroup(replicas, timeout);
        var results = new T[replicas];
        var errors = new Exception?[replicas];
        var threads = new Thread[replicas];
        for (int r = 0; r < replicas; r++)
        {
            int rank = r;
            threads[r] = new Thread(() =>
            {
                try
                {
                    results[rank] = body(group[rank]);
                }
                catch (Exception e)
                {
                    errors[rank] = e;
                    group.Rendezvous.Fail($"replica {rank} failed: {e.GetType().Name}: {e.Message}", rank);
                }
            }, 16 << 20)
            { Name = $"DualFramework replica {rank}", IsBackground = true };
            threads[r].Start();
        }
        foreach (var t in threads) t.Join();
        if (group.Rendezvous.FailedRank is int first && errors[first] is { } cause)
            throw new CommunicatorException($"In-process replica {first} of {replicas} failed: {cause.Message}", cause);
        foreach (var e in errors)
            if (e != null) throw new CommunicatorException($"An in-process replica failed: {e.Message}", e);
        return results;
    }

    /// <summary>Aborts pending collectives and frees the group.</summary>
    public void Dispose() => Rendezvous.Dispose();
}
