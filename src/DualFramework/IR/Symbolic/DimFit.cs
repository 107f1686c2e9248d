namespace DualFramework.IR;

/// <summary>
/// Recovers a size as a <see cref="Dim"/> from its values in builds of one graph at several bindings of the symbols
/// (<see cref="SymbolicGraphs.SamplePoints"/>): a constant, or up to two monomials of degree ≤ 3 with integer coefficients
/// plus a constant. The points use distinct primes per symbol, so the fit is unique; one point beyond the unknowns
/// verifies it.
/// </summary>
internal static class DimFit
{
    /// <summary>The dimension taking value <c>observed[p]</c> at <c>points[p]</c>, or null when no such form fits.</summary>
    public static Dim? Fit(IReadOnlyList<IReadOnlyDictionary<string, long>> points, IReadOnlyList<long> observed)
    {
        if (observed.All(v => v == observed[0])) return Dim.Const(observed[0]);
        var symbols = points[0].Keys.Order(StringComparer.Ordinal).ToArray();
        var monomials = Monomials(symbols, 3).ToArray();
        int n = points.Count;
        // One monomial: y = a·m + b (2 unknowns), then two: y = a·m1 + c·m2 + b (3 unknowns); the rest of the points verify.
        foreach (var m in monomials)
            if (Solve([m], points, observed) is { } d) return d;
        if (n >= 4)
            for (int i = 0; i < monomials.Length; i++)
                for (int j = i + 1; j < monomials.Length; j++)
                    if (Solve([monomials[i], monomials[j]], points, observed) is { } d) return d;
        return null;
    }

    /// <summary>The monomials (coefficient 1, degree 1 to 3) over <paramref name="symbols"/>, lowest degree first.</summary>
    public static IEnumerable<Dim> MonomialDims(IEnumerable<string> symbols) =>
        Monomials(symbols.Order(StringComparer.Ordinal).ToArray(), 3).Select(m => m.Aggregate(Dim.Const(1), (d, s) => d * Dim.Symbol(s)));

    private static IEnumerable<string[]> Monomials(string[] symbols, int degree)
    {
        IEnumerable<string[]> Grow(string[] prefix, int from, int left)
        {
            if (prefix.Length > 0) yield return prefix;
            if (left == 0) yield break;
            for (int k = from; k < symbols.Length; k++)
                foreach (var m in Grow([.. prefix, symbols[k]], k, left - 1)) yield return m;
        }
        return Grow([], 0, degree).OrderBy(m => m.Length);
    }

    private static Dim? Solve(string[][] terms, IReadOnlyList<IReadOnlyDictionary<string, long>> points, IReadOnlyList<long> y)
    {
        int u = terms.Length + 1;
        if (points.Count <= u) return null;
        // Exact integer solve over the first u points (Cramer's rule in decimal), then check every point.
        var rows = new decimal[u, u + 1];
        for (int p = 0; p < u; p++)
        {
            for (int t = 0; t < terms.Length; t++) rows[p, t] = Value(terms[t], points[p]);
            rows[p, terms.Length] = 1;
            rows[p, u] = y[p];
        }
        var x = Gauss(rows, u);
        if (x == null) return null;
        var coef = new long[u];
        for (int k = 0; k < u; k++)
        {
            if (decimal.Round(x[k]) != x[k] || Math.Abs(x[k]) > long.MaxValue / 4) return null;
            coef[k] = (long)x[k];
        }
        Dim d = Dim.Const(coef[^1]);
        for (int t = 0; t < terms.Length; t++)
        {
            if (coef[t] == 0) return null; // a smaller form fits; it was tried first
            Dim m = Dim.Const(coef[t]);
            foreach (var s in terms[t]) m *= Dim.Symbol(s);
            d += m;
        }
        for (int p = 0; p < points.Count; p++)
            if (d.Evaluate(points[p]) != y[p]) return null;
        return d;
    }

    private static decimal Value(string[] monomial, IReadOnlyDictionary<string, long> point)
    {
        decimal v = 1;
        foreach (var s in monomial) v *= point[s];
        return v;
    }

    private static decimal[]? Gauss(decimal[,] a, int n)
    {
        for (int c = 0; c < n; c++)
        {
            int piv = -1;
            for (int r = c; r < n; r++) if (a[r, c] != 0) { piv = r; break; }
            if (piv < 0) return null;
            if (piv != c)
                for (int k = 0; k <= n; k++) (a[c, k], a[piv, k]) = (a[piv, k], a[c, k]);
            for (int r = 0; r < n; r++)
            {
                if (r == c || a[r, c] == 0) continue;
                decimal f = a[r, c] / a[c, c];
                for (int k = c; k <= n; k++) a[r, k] -= f * a[c, k];
            }
        }
        var x = new decimal[n];
        for (int r = 0; r < n; r++) x[r] = decimal.Round(a[r, n] / a[r, r], 10);
        return x;
    }
}
