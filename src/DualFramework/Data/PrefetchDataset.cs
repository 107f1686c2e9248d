using System.Collections;
using System.Runtime.ExceptionServices;

namespace DualFramework.Data;

internal sealed class PrefetchDataset<T>(Dataset<T> input, int capacity) : Dataset<T>
{
    public override long Cardinality => input.Cardinality;

    public override IEnumerator<T> GetEnumerator(long epoch) => new PrefetchEnumerator(input, epoch, capacity);

    // One producer thread per pass. A slot is reserved BEFORE the producer asks upstream for an item, so the number of
    // items requested from upstream minus the number handed to the consumer never exceeds the capacity.
    private sealed class PrefetchEnumerator(Dataset<T> input, long epoch, int capacity) : IEnumerator<T>
    {
        private readonly object _lock = new();
        private readonly Queue<T> _queue = new();
        private int _reserved; // items queued + the one being produced
        private bool _producerDone;
        private bool _stop;
        private bool _finished;
        private ExceptionDispatchInfo? _error;
        private Thread? _thread;
        private T _current = default!;

        public T Current => _current;
        object? IEnumerator.Current => _current;

        public bool MoveNext()
        {
            if (_finished) return false;
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_stop, this);
            }
            if (_thread == null)
            {
                _thread = new Thread(Produce) { IsBackground = true, Name = "DualFramework.Data prefetch" };
                _thread.Start();
            }
            ExceptionDispatchInfo? error;
            lock (_lock)
            {
                while (_queue.Count == 0 && !_producerDone && _error == null) Monitor.Wait(_lock);
                if (_queue.Count > 0)
                {
                    // Items produced before a failure are still delivered, in order, before the failure itself.
                    _current = _queue.Dequeue();
                    _reserved--;
                    Monitor.PulseAll(_lock);
                    return true;
                }
                error = _error;
                _finished = true;
            }
            error?.Throw();
            return false;
        }

        private void Produce()
        {
            IEnumerator<T>? src = null;
            try
            {
                src = input.GetEnumerator(epoch);
                while (true)
                {
                    lock (_lock)
                    {
                        while (_reserved >= capacity && !_stop) Monitor.Wait(_lock);
                        if (_stop) return;
                        _reserved++;
                    }
                    if (!src.MoveNext()) break;
                    var item = src.Current;
                    lock (_lock)
                    {
                        _queue.Enqueue(item);
                        Monitor.PulseAll(_lock);
                    }
                }
                // Dispose upstream before announcing the end, so its failures still reach the consumer.
                var s = src;
                src = null;
                s.Dispose();
                lock (_lock)
                {
                    _producerDone = true;
                    Monitor.PulseAll(_lock);
                }
            }
            catch (Exception e)
            {
                lock (_lock)
                {
                    _error ??= ExceptionDispatchInfo.Capture(e);
                    Monitor.PulseAll(_lock);
                }
            }
            finally
            {
                try { src?.Dispose(); }
                catch (Exception) when (Volatile.Read(ref _stop)) { } // consumer is gone: nobody to report to
                catch (Exception e)
                {
                    lock (_lock)
                    {
                        _error ??= ExceptionDispatchInfo.Capture(e);
                        Monitor.PulseAll(_lock);
                    }
                }
            }
        }

        public void Reset() => throw new NotSupportedException("Start a new pass with Dataset.GetEnumerator(epoch) instead.");

        public void Dispose()
        {
            lock (_lock)
            {
                if (_stop) return;
                _stop = true;
                Monitor.PulseAll(_lock);
            }
            // Waits for the upstream MoveNext in progress (if any) to return; the producer then disposes upstream.
            _thread?.Join();
            lock (_lock) _queue.Clear();
            _finished = true;
        }
    }
}
