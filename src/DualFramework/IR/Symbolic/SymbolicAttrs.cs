using System.Collections.Concurrent;
using System.Reflection;
using DualFramework.Operators;

namespace DualFramework.IR;

/// <summary>One integer attribute entry of a node that depends on the symbols: property <paramref name="Property"/> of the
/// attributes record, element <paramref name="Index"/> of it when it is an array (−1 for a scalar property).</summary>
/// <param name="Property">Property name of the attributes record (e.g. <c>Ends</c> of <see cref="SliceAttrs"/>).</param>
/// <param name="Index">Array element, or −1.</param>
/// <param name="Dim">Its value as a dimension expression.</param>
public sealed record AttrDim(string Property, int Index, Dim Dim)
{
    /// <inheritdoc />
    public override string ToString() => Index < 0 ? $"{Property}={Dim}" : $"{Property}[{Index}]={Dim}";
}

/// <summary>Reads and rebinds the integer entries of attribute records generically (by reflection over their properties),
/// so every op's attributes can carry symbolic sizes without a symbolic twin of each record.</summary>
internal static class AttrEntries
{
    private static readonly ConcurrentDictionary<Type, PropertyInfo[]> Props = new();

    private static PropertyInfo[] Of(Type t) => Props.GetOrAdd(t, type => type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.GetIndexParameters().Length == 0 && p.Name != "EqualityContract").OrderBy(p => p.Name, StringComparer.Ordinal).ToArray());

    /// <summary>Every entry: (property, index or −1, value). Integer entries are boxed longs; others as they are.</summary>
    public static IEnumerable<(string Property, int Index, object? Value)> Read(OpAttrs attrs)
    {
        foreach (var p in Of(attrs.GetType()))
        {
            var v = p.GetValue(attrs);
            switch (v)
            {
                case long[] ls: for (int i = 0; i < ls.Length; i++) yield return (p.Name, i, ls[i]); yield return (p.Name, -2, ls.Length); break;
                case int[] ints: for (int i = 0; i < ints.Length; i++) yield return (p.Name, i, (long)ints[i]); yield return (p.Name, -2, ints.Length); break;
                case long l: yield return (p.Name, -1, l); break;
                case int i32: yield return (p.Name, -1, (long)i32); break;
                case Array a: yield return (p.Name, -1, string.Join(",", a.Cast<object>())); break;
                default: yield return (p.Name, -1, v); break;
            }
        }
    }

    /// <summary>A copy of <paramref name="attrs"/> with the <paramref name="dims"/> entries evaluated for a binding.</summary>
    public static OpAttrs Bind(OpAttrs attrs, IReadOnlyList<AttrDim> dims, Func<string, long> symbol)
    {
        var clone = (OpAttrs)attrs.GetType().GetMethod("<Clone>$")!.Invoke(attrs, null)!;
        foreach (var group in dims.GroupBy(d => d.Property))
        {
            var p = attrs.GetType().GetProperty(group.Key)!;
            var v = p.GetValue(attrs);
            switch (v)
            {
                case long[] ls:
                    var nl = (long[])ls.Clone();
                    foreach (var d in group) nl[d.Index] = d.Dim.Evaluate(symbol);
                    p.SetValue(clone, nl);
                    break;
                case int[] ints:
                    var ni = (int[])ints.Clone();
                    foreach (var d in group) ni[d.Index] = checked((int)d.Dim.Evaluate(symbol));
                    p.SetValue(clone, ni);
                    break;
                case long:
                    p.SetValue(clone, group.Single().Dim.Evaluate(symbol));
                    break;
                case int:
                    p.SetValue(clone, checked((int)group.Single().Dim.Evaluate(symbol)));
                    break;
                case double:
                    p.SetValue(clone, (double)group.Single().Dim.Evaluate(symbol));
                    break;
                default:
                    throw new InvalidOperationException($"Attribute {group.Key} of {attrs.GetType().Name} is not an integer entry.");
            }
        }
        return clone;
    }
}
