using System.Collections;
using System.Globalization;
using System.Reflection;
using DualFramework.Operators;

namespace DualFramework.IR;

/// <summary>Structural views of <see cref="OpAttrs"/> records: readable text and value equality (arrays by content),
/// which graph dumps, common-subexpression elimination and signature caches need.</summary>
public static class Attributes
{
    private static PropertyInfo[] Props(Type t) =>
        t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.Name != "EqualityContract" && p.GetIndexParameters().Length == 0).ToArray();

    /// <summary>The attributes as <c>name=value</c> pairs, e.g. <c>Axes=[1], KeepDims=True</c>.</summary>
    public static string Format(OpAttrs attrs) =>
        string.Join(", ", Props(attrs.GetType()).Select(p => $"{p.Name}={FormatValue(p.GetValue(attrs))}"));

    private static string FormatValue(object? v) => v switch
    {
        null => "null",
        string s => s,
        IEnumerable e => "[" + string.Join(", ", e.Cast<object?>().Select(FormatValue)) + "]",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };

    /// <summary>True when both records have the same type and equal property values (arrays compared element-wise).</summary>
    public static bool StructurallyEqual(OpAttrs a, OpAttrs b)
    {
        if (ReferenceEquals(a, b)) return true;
        if (a.GetType() != b.GetType()) return false;
        foreach (var p in Props(a.GetType()))
            if (!ValueEqual(p.GetValue(a), p.GetValue(b))) return false;
        return true;
    }

    /// <summary>A hash consistent with <see cref="StructurallyEqual"/>.</summary>
    public static int StructuralHash(OpAttrs a)
    {
        var h = new HashCode();
        h.Add(a.GetType());
        foreach (var p in Props(a.GetType())) h.Add(ValueHash(p.GetValue(a)));
        return h.ToHashCode();
    }

    private static bool ValueEqual(object? x, object? y)
    {
        if (x is IEnumerable ex and not string && y is IEnumerable ey and not string)
            return ex.Cast<object?>().SequenceEqual(ey.Cast<object?>(), EqualityComparer<object?>.Default);
        return Equals(x, y);
    }

    private static int ValueHash(object? v)
    {
        if (v is IEnumerable e and not string)
        {
            var h = new HashCode();
            foreach (var x in e) h.Add(x);
            return h.ToHashCode();
        }
        return v?.GetHashCode() ?? 0;
    }
}
