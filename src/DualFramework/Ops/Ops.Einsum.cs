using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    /// <summary>
    /// Einstein summation (numpy.einsum, torch.einsum, ONNX Einsum) over one or more operands, e.g. <c>"bij,bjk->bik"</c>
    /// (batched matrix product), <c>"ij->ji"</c>, <c>"...ii->...i"</c> (batched diagonals), <c>"i,i"</c> (inner product).
    /// Labels are letters; <c>...</c> stands for broadcast leading axes. Without <c>-&gt;</c> the output holds the
    /// ellipsis axes, then the labels used once, in alphabetical order.
    /// </summary>
    /// <remarks>A composition of existing ops (differentiable through them): a label repeated within one operand takes a
    /// diagonal (a reshape and a strided slice), labels no other operand or the output uses are summed, and the operands
    /// are combined left to right by a batched matrix product over the shared labels.</remarks>
    public static Tensor Einsum(string equation, params Tensor[] operands)
    {
        var eq = equation.Replace(" ", "", StringComparison.Ordinal);
        OpException Bad(string reason) => new("einsum", operands.Select(o => o.Spec).ToArray(), $"equation '{equation}': {reason}", LayerPath.Current);
        if (operands.Length == 0) throw Bad("needs at least one operand");
        var sides = eq.Split("->");
        if (sides.Length > 2) throw Bad("more than one '->'");
        var terms = sides[0].Split(',');
        if (terms.Length != operands.Length) throw Bad($"{terms.Length} input terms for {operands.Length} operands");

        // Labels as ints: letters as themselves, the ellipsis axes as −1 … −ellipsisRank (right-aligned).
        int ellipsisRank = 0;
        var parsed = new List<int>[terms.Length];
        for (int i = 0; i < terms.Length; i++)
        {
            var (letters, hasEllipsis) = EinsumTerm(terms[i], Bad);
            int extra = operands[i].Rank - letters.Count;
            if (extra < 0 || (!hasEllipsis && extra != 0)) throw Bad($"term '{terms[i]}' does not fit operand {i} of shape {operands[i].Shape}");
            ellipsisRank = Math.Max(ellipsisRank, extra);
            int at = terms[i].IndexOf("...", StringComparison.Ordinal) is var p && p >= 0 ? terms[i][..p].Count(char.IsLetter) : 0;
            letters.InsertRange(at, Enumerable.Range(0, extra).Select(k => -(extra - k)));
            parsed[i] = letters;
        }
        var ellipsis = Enumerable.Range(0, ellipsisRank).Select(k => -(ellipsisRank - k)).ToList();
        List<int> output;
        if (sides.Length == 2)
        {
            var (letters, hasEllipsis) = EinsumTerm(sides[1], Bad);
            int at = hasEllipsis ? sides[1][..sides[1].IndexOf("...", StringComparison.Ordinal)].Length : 0;
            if (hasEllipsis) letters.InsertRange(at, ellipsis);
            else if (ellipsisRank > 0) throw Bad("the output must keep the ellipsis axes ('...')");
            output = letters;
            if (output.Distinct().Count() != output.Count) throw Bad("a label repeats in the output");
            foreach (var l in output.Where(l => l > 0))
                if (!parsed.Any(p => p.Contains(l))) throw Bad($"output label '{(char)l}' is in no input");
        }
        else
        {
            var once = parsed.SelectMany(p => p).Where(l => l > 0).GroupBy(l => l).Where(g => g.Count() == 1).Select(g => g.Key).Order();
            output = [.. ellipsis, .. once];
        }

        // Size of each label (1 broadcasts).
        var size = new Dictionary<int, long>();
        for (int i = 0; i < operands.Length; i++)
        {
            for (int a = 0; a < parsed[i].Count; a++)
            {
                long n = operands[i].Shape[a];
                if (!size.TryGetValue(parsed[i][a], out var m) || m == 1) size[parsed[i][a]] = n;
                else if (n != m && n != 1) throw Bad($"label {EinsumName(parsed[i][a])} has sizes {m} and {n}");
            }
        }

        var (cur, labels) = EinsumReduce(operands[0], parsed[0], output, parsed.Skip(1));
        for (int i = 1; i < operands.Length; i++)
        {
            var later = parsed.Skip(i + 1).ToList();
            var (b, lb) = EinsumReduce(operands[i], parsed[i], output, later.Append(labels));
            (cur, labels) = EinsumReduce(cur, labels, output, later.Append(lb));
            (cur, labels) = EinsumPair(cur, labels, b, lb, size, l => output.Contains(l) || later.Any(p => p.Contains(l)));
        }
        (cur, labels) = EinsumReduce(cur, labels, output, []);
        return labels.SequenceEqual(output) ? cur : Permute(cur, output.Select(l => labels.IndexOf(l)).ToArray());
    }

    private static (List<int> Letters, bool HasEllipsis) EinsumTerm(string term, Func<string, OpException> bad)
    {
        int e = term.IndexOf("...", StringComparison.Ordinal);
        var rest = e >= 0 ? term.Remove(e, 3) : term;
        if (rest.Any(ch => !char.IsAsciiLetter(ch))) throw bad($"term '{term}' holds characters other than letters and one '...'");
        return (rest.Select(ch => (int)ch).ToList(), e >= 0);
    }

    private static string EinsumName(int label) => label > 0 ? $"'{(char)label}'" : "of '...'";

    /// <summary>Takes the diagonal of each label repeated in <paramref name="labels"/>, then sums the labels that neither
    /// the output nor <paramref name="others"/> use.</summary>
    private static (Tensor, List<int>) EinsumReduce(Tensor x, List<int> labels, List<int> output, IEnumerable<List<int>> others)
    {
        labels = [.. labels];
        while (labels.GroupBy(l => l).FirstOrDefault(g => g.Count() > 1) is { } rep)
        {
            int p = labels.IndexOf(rep.Key), q = labels.IndexOf(rep.Key, p + 1);
            long n = Math.Min(x.Shape[p], x.Shape[q]);
            if (x.Shape[p] != x.Shape[q]) throw new OpException("einsum", [x.Spec], $"the repeated label {EinsumName(rep.Key)} has sizes {x.Shape[p]} and {x.Shape[q]}", LayerPath.Current);
            // Axes p and q moved last and merged: the diagonal is every (n + 1)-th element.
            var perm = Enumerable.Range(0, x.Rank).Where(a => a != p && a != q).Append(p).Append(q).ToArray();
            var moved = Permute(x, perm);
            var dims = moved.Shape.ToArray()[..^2];
            x = Slice(Reshape(moved, [.. dims, n * n]), dims.Length, 0, n * n, n + 1);
            labels = perm[..^2].Select(a => labels[a]).Append(rep.Key).ToList();
        }
        var otherList = others.ToList();
        var drop = Enumerable.Range(0, labels.Count).Where(a => !output.Contains(labels[a]) && !otherList.Any(o => o.Contains(labels[a]))).ToArray();
        if (drop.Length == 0) return (x, labels);
        return (Sum(x, drop), labels.Where((_, a) => !drop.Contains(a)).ToList());
    }

    /// <summary>Combines two reduced operands: labels both share and <paramref name="keep"/> keeps are batch axes, shared
    /// ones it drops are contracted, the rest stay; one batched matrix product [B, M, K] × [B, K, N].</summary>
    private static (Tensor, List<int>) EinsumPair(Tensor a, List<int> la, Tensor b, List<int> lb, Dictionary<int, long> size, Func<int, bool> keep)
    {
        var batch = la.Where(l => lb.Contains(l) && keep(l)).ToList();
        var contract = la.Where(l => lb.Contains(l) && !keep(l)).ToList();
        var left = la.Where(l => !lb.Contains(l)).ToList();
        var right = lb.Where(l => !la.Contains(l)).ToList();
        long Prod(IEnumerable<int> ls) => ls.Aggregate(1L, (p, l) => p * size[l]);
        Tensor Arrange(Tensor t, List<int> lt, List<int> order)
        {
            var perm = order.Select(l => lt.IndexOf(l)).ToArray();
            var moved = perm.SequenceEqual(Enumerable.Range(0, perm.Length)) ? t : Permute(t, perm);
            // Shared labels of size 1 on one side broadcast to the other's size.
            var full = new Shape(order.Select(l => size[l]).ToArray());
            return moved.Shape == full ? moved : BroadcastTo(moved, full);
        }
        var am = Reshape(Arrange(a, la, [.. batch, .. left, .. contract]), Prod(batch), Prod(left), Prod(contract));
        var bm = Reshape(Arrange(b, lb, [.. batch, .. contract, .. right]), Prod(batch), Prod(contract), Prod(right));
        var y = MatMul(am, bm);
        List<int> labels = [.. batch, .. left, .. right];
        return (Reshape(y, labels.Select(l => size[l]).ToArray()), labels);
    }
}
