using System.Collections;

namespace DualFramework.Data;

internal sealed class MapDataset<TIn, TOut>(Dataset<TIn> input, Func<TIn, ItemContext, TOut> fn, int parallelism) : Dataset<TOut>
{
    public override long Cardinality => input.Cardinality;

    public override IEnumerator<TOut> GetEnumerator(long epoch) =>
        parallelism == 1 ? Sequential(epoch) : new ParallelEnumerator(input.GetEnumerator(epoch), fn, parallelism, epoch);

    private IEnumerator<TOut> Sequential(long epoch)
    {
        using var src = input.GetEnumerator(epoch);
        for (long i = 0; src.MoveNext(); i++) yield return Apply(fn, src.Current, new ItemContext(epoch, i));
    }

    private static TOut Apply(Func<TIn, ItemContext, TOut> f, TIn item, ItemContext ctx)
    {
        try
        {
            return f(item, ctx);
        }
        catch (Exception e)
        {
            throw new DataPipelineException($"Map function failed on item {ctx.Index} of epoch {ctx.Epoch}: {e.Message}", ctx.Index, ctx.Epoch, e);
        }
    }

    // A sliding window of tasks: the input is pulled on the consumer thread (input enumerators need not be thread-safe),
    // each item is mapped on the thread pool, and results are handed out strictly in input order.
    private sealed class ParallelEnumerator(IEnumerator<TIn> src, Func<TIn, ItemContext, TOut> fn, int parallelism, long epoch) : IEnumerator<TOut>
    {
        private readonly Queue<Task<TOut>> _window = new(parallelism);
        private long _next;
        private bool _inputDone;
        private bool _disposed;
        private TOut _current = default!;

        public TOut Current => _current;
        object? IEnumerator.Current => _current;

        public bool MoveNext()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            while (!_inputDone && _window.Count < parallelism)
            {
                if (!src.MoveNext())
                {
                    _inputDone = true;
                    break;
                }
                var item = src.Current;
                var ctx = new ItemContext(epoch, _next++);
                _window.Enqueue(Task.Run(() => Apply(fn, item, ctx)));
            }
            if (_window.Count == 0) return false;
            // GetResult rethrows the DataPipelineException itself rather than an AggregateException.
            _current = _window.Dequeue().GetAwaiter().GetResult();
            return true;
        }

        public void Reset() => throw new NotSupportedException("Start a new pass with Dataset.GetEnumerator(epoch) instead.");

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            // Let started calls finish so the user function never runs after disposal; their failures no longer matter.
            while (_window.Count > 0)
            {
                var t = _window.Dequeue();
                try { t.Wait(); }
                catch (AggregateException) { }
            }
            src.Dispose();
        }
    }
}
