using DualFramework.Onnx.Proto;
using Google.Protobuf;

namespace DualFramework.Fuzz;

/// <summary>
/// Shrinks a crashing input while it still crashes the same way (same exception type thrown from the same method), so
/// the regression corpus holds small files: for ONNX models node, initializer, value-info and attribute removals first,
/// then, for every format, removal of byte ranges of decreasing size.
/// </summary>
public static class Minimizer
{
    /// <summary>The smallest input found that keeps <paramref name="input"/>'s crash signature.</summary>
    public static byte[] Minimize(FuzzRunner runner, FuzzTarget target, byte[] input)
    {
        var signature = Signature(runner, target, input) ?? throw new ArgumentException("The input does not crash.", nameof(input));
        bool Same(byte[] candidate) => Signature(runner, target, candidate) == signature;
        if (target.Name == "onnx") input = ShrinkModel(input, Same);
        for (int chunk = Math.Max(1, input.Length / 2); chunk >= 1; chunk /= 2)
        {
            for (int at = 0; at + chunk <= input.Length;)
            {
                var candidate = input[..at].Concat(input[(at + chunk)..]).ToArray();
                if (Same(candidate)) input = candidate;
                else at += chunk;
            }
        }
        return input;
    }

    /// <summary>"Crash: type at method" or "Hang", or null when the input loads or is rejected as documented.</summary>
    public static string? Signature(FuzzRunner runner, FuzzTarget target, byte[] input)
    {
        var (outcome, detail, _, _) = runner.RunOne(target, input);
        if (outcome is Outcome.Valid or Outcome.Rejected) return null;
        var lines = detail.Split('\n');
        return $"{outcome}: {lines[0].Split(':')[0]} {lines.Skip(1).FirstOrDefault(l => l.Contains("DualFramework", StringComparison.Ordinal))?.Trim().Split(" in ")[0]}";
    }

    private static byte[] ShrinkModel(byte[] input, Func<byte[], bool> same)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(input);
        }
        catch (InvalidProtocolBufferException)
        {
            return input;
        }
        if (model.Graph == null) return input;
        bool progress = true;
        while (progress)
        {
            progress = false;
            foreach (var remove in Removals(model))
            {
                var candidate = model.Clone();
                remove(candidate.Graph);
                var bytes = candidate.ToByteArray();
                if (bytes.Length < input.Length && same(bytes))
                {
                    model = candidate;
                    input = bytes;
                    progress = true;
                    break;
                }
            }
        }
        return input;
    }

    private static IEnumerable<Action<GraphProto>> Removals(ModelProto m)
    {
        var g = m.Graph;
        for (int i = 0; i < g.Node.Count; i++)
        {
            int k = i;
            yield return x => x.Node.RemoveAt(k);
            for (int a = 0; a < g.Node[k].Attribute.Count; a++)
            {
                int j = a;
                yield return x => x.Node[k].Attribute.RemoveAt(j);
                if (g.Node[k].Attribute[j].Ints.Count > 1) yield return x => Halve(x.Node[k].Attribute[j].Ints);
            }
        }
        for (int i = 0; i < g.Initializer.Count; i++)
        {
            int k = i;
            yield return x => x.Initializer.RemoveAt(k);
        }
        for (int i = 0; i < g.Input.Count; i++)
        {
            int k = i;
            yield return x => x.Input.RemoveAt(k);
        }
        for (int i = 0; i < g.Output.Count; i++)
        {
            int k = i;
            yield return x => x.Output.RemoveAt(k);
        }
        yield return x => x.ValueInfo.Clear();
        yield return x => x.DocString = "";
    }

    private static void Halve(Google.Protobuf.Collections.RepeatedField<long> ints)
    {
        for (int n = ints.Count / 2; n > 0; n--) ints.RemoveAt(ints.Count - 1);
    }
}
