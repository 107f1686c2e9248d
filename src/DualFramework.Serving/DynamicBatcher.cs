using System.Threading.Channels;

namespace DualFramework.Serving;

/// <summary>
/// Joins concurrent requests to one version along the batch axis (axis 0) into one ONNX Runtime run, up to
/// <see cref="BatchingOptions.MaxBatch"/> rows or <see cref="BatchingOptions.MaxWait"/> after the first request, then
/// splits the outputs back. Only for models whose every input and output has a free first dimension and fixed others.
/// </summary>
internal sealed class DynamicBatcher : IDisposable
{
    private readonly ServedVersion _version;
    private readonly BatchingOptions _options;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>();

    public DynamicBatcher(ServedVersion version, BatchingOptions options)
    {
        _version = version;
        _options = options;
        // One runner per core: with one intra-op thread per run, that keeps every core busy.
        for (int i = 0; i < Math.Max(1, Environment.ProcessorCount); i++) _ = Task.Run(RunnerAsync);
    }

    /// <summary>Whether the model's signatures allow joining requests along axis 0.</summary>
    public static bool Supports(ServedVersion v) =>
        v.Inputs.Concat(v.Outputs).All(s => s.Shape.Count > 0 && s.Shape[0] < 0 && s.Shape.Skip(1).All(d => d >= 0));

    public Task<NamedTensor[]> SubmitAsync(NamedTensor[] inputs)
    {
        var pending = new Pending(inputs, new TaskCompletionSource<NamedTensor[]>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(pending)) throw new ObjectDisposedException(_version.ToString(), "the version's batcher has stopped");
        return pending.Done.Task;
    }

    public void Dispose()
    {
        // The last lease is gone, so nothing is queued or running: the runners just end.
        _queue.Writer.TryComplete();
    }

    private async Task RunnerAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<Pending>();
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            int rows = Take(reader, batch, 0);
            if (rows == 0) continue;
            if (rows < _options.MaxBatch && _options.MaxWait > TimeSpan.Zero)
            {
                using var timeout = new CancellationTokenSource(_options.MaxWait);
                try
                {
                    while (rows < _options.MaxBatch && await reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false))
                        rows = Take(reader, batch, rows);
                }
                catch (OperationCanceledException) when (timeout.IsCancellationRequested) { }
            }
            Execute(batch, rows);
        }
    }

    // Moves queued requests into the batch while they fit (a lone request larger than the limit runs by itself).
    private int Take(ChannelReader<Pending> reader, List<Pending> batch, int rows)
    {
        while (reader.TryPeek(out var next) && (batch.Count == 0 || rows + next.Rows <= _options.MaxBatch) && reader.TryRead(out next))
        {
            batch.Add(next);
            rows += next.Rows;
        }
        return rows;
    }

    private long _runs, _rows;

    /// <summary>Runs made so far and the request rows they carried.</summary>
    public (long Runs, long Rows) Statistics => (Interlocked.Read(ref _runs), Interlocked.Read(ref _rows));

    private void Execute(List<Pending> batch, int rows)
    {
        Interlocked.Increment(ref _runs);
        Interlocked.Add(ref _rows, rows);
        try
        {
            if (batch.Count == 1)
            {
                batch[0].Done.TrySetResult(_version.RunSession(batch[0].Inputs));
                return;
            }
            var joined = new NamedTensor[_version.Inputs.Count];
            for (int i = 0; i < joined.Length; i++)
            {
                var first = batch[0].Inputs[i];
                long[] shape = [rows, .. first.Shape.Skip(1)];
                var data = first.DType.Allocate(checked((int)NamedTensor.ElementCount(shape)));
                int offset = 0;
                foreach (var p in batch)
                {
                    var part = p.Inputs[i].Data;
                    Array.Copy(part, 0, data, offset, part.Length);
                    offset += part.Length;
                }
                joined[i] = new NamedTensor(first.Name, first.DType, shape, data);
            }
            var outputs = _version.RunSession(joined);
            var row = 0;
            foreach (var p in batch)
            {
                var mine = new NamedTensor[outputs.Length];
                for (int o = 0; o < outputs.Length; o++)
                {
                    var all = outputs[o];
                    if (all.Shape.Length == 0 || all.Shape[0] != rows)
                        throw new InvalidOperationException($"output '{all.Name}' has shape {TensorSignature.FormatShape(all.Shape)}, not {rows} rows: the model cannot be batched");
                    int rowSize = checked((int)(all.Data.Length / rows));
                    long[] shape = [p.Rows, .. all.Shape.Skip(1)];
                    var data = all.DType.Allocate(p.Rows * rowSize);
                    Array.Copy(all.Data, row * rowSize, data, 0, data.Length);
                    mine[o] = new NamedTensor(all.Name, all.DType, shape, data);
                }
                row += p.Rows;
                p.Done.TrySetResult(mine);
            }
        }
        catch (Exception e)
        {
            foreach (var p in batch) p.Done.TrySetException(e);
        }
    }

    private sealed record Pending(NamedTensor[] Inputs, TaskCompletionSource<NamedTensor[]> Done)
    {
        public int Rows => checked((int)Inputs[0].Shape[0]);
    }
}
