using System.Runtime.InteropServices;
using DualFramework.Onnx.Proto;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    /// <summary>Reads TensorProto payloads (raw, typed fields or external files) after validating dims and sizes.</summary>
    internal static class TensorData
    {
        public static DType DTypeOf(int elemType, string what)
        {
            try
            {
                return OnnxTypes.FromOnnx((TensorProto.Types.DataType)elemType);
            }
            catch (Exception e) when (e is NotSupportedException or ArgumentOutOfRangeException)
            {
                throw new OnnxImportException($"{what} has ONNX element type {(TensorProto.Types.DataType)elemType}, which DualFramework lacks.", e);
            }
        }

        /// <summary>Element count of <paramref name="dims"/>, rejecting ranks over <see cref="MaxRank"/>, negative dims and
        /// counts over the limit (no overflow).</summary>
        public static long CheckDims(IReadOnlyList<long> dims, OnnxImportOptions options, string what)
        {
            if (dims.Count > MaxRank) throw new OnnxImportException($"{what} has rank {dims.Count}, more than the limit of {MaxRank}.");
            long n = 1;
            foreach (var d in dims)
            {
                if (d < 0) throw new OnnxImportException($"{what} has a negative dimension ({d}) in [{string.Join(", ", dims)}].");
                if (d != 0 && n > options.MaxTensorElements / d)
                    throw new OnnxImportException($"{what} has dims [{string.Join(", ", dims)}], more than the limit of {options.MaxTensorElements} elements.");
                n *= d;
            }
            if (n > options.MaxTensorElements)
                throw new OnnxImportException($"{what} has {n} elements, more than the limit of {options.MaxTensorElements}.");
            return n;
        }

        public static (TensorSpec Spec, byte[] Data) Read(TensorProto t, OnnxImportOptions options, string? baseDirectory)
        {
            string what = $"Tensor '{t.Name}'";
            var dtype = DTypeOf(t.DataType, what);
            long n = CheckDims(t.Dims, options, what);
            var spec = new TensorSpec(new Shape(t.Dims.ToArray()), dtype);
            long size = n * dtype.ElementSize();
            if (t.DataLocation == TensorProto.Types.DataLocation.External)
                return (spec, External(t, size, baseDirectory, what));
            if (!t.RawData.IsEmpty)
            {
                if (t.RawData.Length != size) throw new OnnxImportException($"{what} ({spec}) needs {size} bytes of raw_data, got {t.RawData.Length}.");
                return (spec, t.RawData.ToByteArray());
            }
            // The typed field's length is checked before the payload is allocated: dims alone must not size an allocation.
            int count = dtype switch
            {
                DType.Float32 => t.FloatData.Count,
                DType.Float64 => t.DoubleData.Count,
                DType.Int64 => t.Int64Data.Count,
                DType.Int32 or DType.Int8 or DType.UInt8 or DType.Bool or DType.Float16 or DType.BFloat16 => t.Int32Data.Count,
                _ => throw new OnnxImportException($"{what}: {dtype.Name()} data is not supported."),
            };
            if (count != n) throw new OnnxImportException($"{what} ({spec}) needs {n} values, the typed data field has {count}.");
            var data = new byte[size];
            switch (dtype)
            {
                case DType.Float32: MemoryMarshal.AsBytes(t.FloatData.ToArray().AsSpan()).CopyTo(data); break;
                case DType.Float64: MemoryMarshal.AsBytes(t.DoubleData.ToArray().AsSpan()).CopyTo(data); break;
                case DType.Int64: MemoryMarshal.AsBytes(t.Int64Data.ToArray().AsSpan()).CopyTo(data); break;
                case DType.Int32: MemoryMarshal.AsBytes(t.Int32Data.ToArray().AsSpan()).CopyTo(data); break;
                case DType.Int8 or DType.UInt8 or DType.Bool:
                    for (int i = 0; i < n; i++) data[i] = unchecked((byte)t.Int32Data[i]);
                    break;
                default:
                    for (int i = 0; i < n; i++) BitConverter.TryWriteBytes(data.AsSpan(2 * i), unchecked((ushort)t.Int32Data[i]));
                    break;
            }
            return (spec, data);
        }

        private static byte[] External(TensorProto t, long size, string? baseDirectory, string what)
        {
            var kv = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var e in t.ExternalData)
                if (!kv.TryAdd(e.Key, e.Value)) throw new OnnxImportException($"{what}: external data key '{e.Key}' appears more than once.");
            if (!kv.TryGetValue("location", out var location) || string.IsNullOrEmpty(location))
                throw new OnnxImportException($"{what} uses external data without a location.");
            if (baseDirectory == null)
                throw new OnnxImportException($"{what} uses external data ('{location}') but the model was not loaded from a file (no base folder).");
            long offset = 0, length = size;
            if (kv.TryGetValue("offset", out var o) && (!long.TryParse(o, out offset) || offset < 0))
                throw new OnnxImportException($"{what}: invalid external data offset '{o}'.");
            if (kv.TryGetValue("length", out var l) && (!long.TryParse(l, out length) || length != size))
                throw new OnnxImportException($"{what}: external data length '{l}' does not match the {size} bytes the tensor needs.");
            var path = SafePath(baseDirectory, location, what);
            var info = new FileInfo(path);
            if (!info.Exists) throw new OnnxImportException($"{what}: external data file '{location}' does not exist.");
            if (offset > info.Length || size > info.Length - offset)
                throw new OnnxImportException($"{what}: external data range [{offset}, {offset}+{size}) lies past the end of '{location}' ({info.Length} bytes).");
            var data = new byte[size];
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            fs.Seek(offset, SeekOrigin.Begin);
            fs.ReadExactly(data);
            return data;
        }

        /// <summary>The full path of <paramref name="location"/> under <paramref name="baseDirectory"/>; rejects absolute
        /// paths, <c>..</c> escapes and symbolic links (of the file or any folder) that lead outside.</summary>
        internal static string SafePath(string baseDirectory, string location, string what)
        {
            if (location.Contains('\0'))
                throw new OnnxImportException($"{what}: external data location '{location.Replace("\0", "\\0", StringComparison.Ordinal)}' contains a NUL character.");
            if (Path.IsPathRooted(location) || location.Contains(':'))
                throw new OnnxImportException($"{what}: external data location '{location}' must be a relative path inside the model's folder.");
            var root = Real(Path.GetFullPath(baseDirectory));
            var full = Path.GetFullPath(Path.Combine(root, location));
            if (!Inside(root, full))
                throw new OnnxImportException($"{what}: external data location '{location}' escapes the model's folder.");
            var real = Real(full);
            if (!Inside(root, real))
                throw new OnnxImportException($"{what}: external data location '{location}' is a link that leads outside the model's folder.");
            return real;
        }

        private static bool Inside(string root, string path)
        {
            var r = Path.TrimEndingDirectorySeparator(root) + Path.DirectorySeparatorChar;
            return path.StartsWith(r, StringComparison.Ordinal);
        }

        // Resolves links component by component, so a linked folder on the way counts too.
        private static string Real(string full)
        {
            var rootPart = Path.GetPathRoot(full) ?? "/";
            var current = rootPart;
            foreach (var part in full[rootPart.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
            {
                current = Path.Combine(current, part);
                FileSystemInfo fi = Directory.Exists(current) ? new DirectoryInfo(current) : new FileInfo(current);
                if (fi.Exists && fi.LinkTarget != null)
                {
                    var target = fi.ResolveLinkTarget(true);
                    if (target != null) current = Path.GetFullPath(target.FullName);
                }
            }
            return current;
        }
    }
}
