using System.Collections.Immutable;
using System.Text;

namespace DualFramework.IR;

/// <summary>
/// A tensor dimension in a graph that serves many sizes: a constant, a named symbol (<c>batch</c>, <c>sequence</c>), or a
/// polynomial over symbols with integer coefficients (<c>batch*sequence</c>, <c>2*s + 1</c>), the form reshape, flatten,
/// concat and padding give. Immutable, compared by value (canonical form: terms sorted, zero terms dropped).
/// </summary>
public sealed class Dim : IEquatable<Dim>
{
    // Monomial (sorted symbol names joined by '*', "" for the constant term) → coefficient.
    private readonly ImmutableSortedDictionary<string, long> _terms;

    private Dim(ImmutableSortedDictionary<string, long> terms) => _terms = terms;

    /// <summary>A constant dimension.</summary>
    public static Dim Const(long value) =>
        new(value == 0 ? ImmutableSortedDictionary<string, long>.Empty : ImmutableSortedDictionary<string, long>.Empty.Add("", value));

    /// <summary>A named symbol; names are identifiers (letters, digits, '_', '.', '/', ':' and '-').</summary>
    public static Dim Symbol(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Any(ch => !(char.IsLetterOrDigit(ch) || ch is '_' or '.' or '/' or ':' or '-')))
            throw new ArgumentException($"'{name}' is not a valid symbol name (letters, digits, '_', '.', '/', ':', '-').", nameof(name));
        return new(ImmutableSortedDictionary<string, long>.Empty.Add(name, 1));
    }

    /// <summary>True when the dimension has one size for every binding of the symbols.</summary>
    public bool IsConstant => _terms.Count == 0 || (_terms.Count == 1 && _terms.ContainsKey(""));

    /// <summary>The size of a constant dimension; throws for a symbolic one.</summary>
    public long Value => IsConstant ? _terms.GetValueOrDefault("") : throw new InvalidOperationException($"Dimension {this} is symbolic.");

    /// <summary>The symbol's name when the dimension is exactly one symbol, else null.</summary>
    public string? SymbolName => _terms.Count == 1 && _terms.First() is var (k, c) && c == 1 && k.Length > 0 && !k.Contains('*') ? k : null;

    /// <summary>The symbols the dimension depends on.</summary>
    public IEnumerable<string> Symbols => _terms.Keys.Where(k => k.Length > 0).SelectMany(k => k.Split('*')).Distinct();

    /// <summary>The terms: (symbols of the monomial, empty for the constant term; coefficient).</summary>
    public IEnumerable<(string[] Symbols, long Coefficient)> Terms => _terms.Select(t => (t.Key.Length == 0 ? [] : t.Key.Split('*'), t.Value));

    /// <summary>The size for a binding of the symbols.</summary>
    /// <exception cref="KeyNotFoundException">A symbol has no value.</exception>
    public long Evaluate(Func<string, long> value)
    {
        long sum = 0;
        foreach (var (k, c) in _terms)
        {
            long p = c;
            if (k.Length > 0)
                foreach (var s in k.Split('*')) p = checked(p * value(s));
            sum = checked(sum + p);
        }
        return sum;
    }

    /// <summary>The size for a binding of the symbols.</summary>
    public long Evaluate(IReadOnlyDictionary<string, long> values) =>
        Evaluate(s => values.TryGetValue(s, out var v) ? v : throw new KeyNotFoundException($"Symbol '{s}' of dimension {this} has no value."));

    /// <summary>Sum.</summary>
    public static Dim operator +(Dim a, Dim b)
    {
        var t = a._terms.ToBuilder();
        foreach (var (k, c) in b._terms) Put(t, k, t.GetValueOrDefault(k) + c);
        return new(t.ToImmutable());
    }

    /// <summary>Difference.</summary>
    public static Dim operator -(Dim a, Dim b) => a + (-1 * b);

    /// <summary>Product.</summary>
    public static Dim operator *(Dim a, Dim b)
    {
        var t = ImmutableSortedDictionary.CreateBuilder<string, long>(StringComparer.Ordinal);
        foreach (var (ka, ca) in a._terms)
            foreach (var (kb, cb) in b._terms)
            {
                var k = Monomial(ka, kb);
                Put(t, k, t.GetValueOrDefault(k) + checked(ca * cb));
            }
        return new(t.ToImmutable());
    }

    /// <summary>Scaled by a constant.</summary>
    public static Dim operator *(long c, Dim a) => Const(c) * a;

    /// <summary>A constant dimension.</summary>
    public static implicit operator Dim(long value) => Const(value);

    /// <summary>The exact quotient by <paramref name="divisor"/> when every coefficient divides; null otherwise.</summary>
    public Dim? TryDivide(long divisor)
    {
        if (divisor == 0 || _terms.Values.Any(c => c % divisor != 0)) return null;
        return new(_terms.ToImmutableSortedDictionary(t => t.Key, t => t.Value / divisor, StringComparer.Ordinal));
    }

    private static string Monomial(string a, string b) =>
        a.Length == 0 ? b : b.Length == 0 ? a : string.Join('*', a.Split('*').Concat(b.Split('*')).Order(StringComparer.Ordinal));

    private static void Put(ImmutableSortedDictionary<string, long>.Builder t, string k, long c)
    {
        if (c == 0) t.Remove(k);
        else t[k] = c;
    }

    /// <inheritdoc />
    public bool Equals(Dim? other) => other is not null && _terms.Count == other._terms.Count && _terms.All(t => other._terms.TryGetValue(t.Key, out var c) && c == t.Value);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Dim);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var (k, c) in _terms) { h.Add(k); h.Add(c); }
        return h.ToHashCode();
    }

    /// <summary>Formats as <c>384</c>, <c>batch</c>, <c>batch*sequence</c>, <c>2*s + 1</c>.</summary>
    public override string ToString()
    {
        if (_terms.Count == 0) return "0";
        var sb = new StringBuilder();
        // Highest-degree terms first, the constant last.
        foreach (var (k, c) in _terms.OrderByDescending(t => t.Key.Length == 0 ? -1 : t.Key.Count(ch => ch == '*')).ThenBy(t => t.Key, StringComparer.Ordinal))
        {
            long m = c;
            if (sb.Length > 0)
            {
                sb.Append(c < 0 ? " - " : " + ");
                m = Math.Abs(c);
            }
            if (k.Length == 0) sb.Append(m);
            else if (m == 1) sb.Append(k);
            else if (m == -1) sb.Append('-').Append(k);
            else sb.Append(m).Append('*').Append(k);
        }
        return sb.ToString();
    }
}
