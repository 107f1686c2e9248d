using System.Buffers.Binary;
using System.Runtime.InteropServices;
using DualFramework.Onnx;
using DualFramework.Onnx.Proto;
using Google.Protobuf;

namespace DualFramework.Tools.Dualfx.Conversion;

/// <summary>The little-endian bytes of an ONNX initializer, wherever its data is stored, and back.</summary>
internal static class InitializerData
{
    /// <summary>dtype, shape and data of <paramref name="t"/>; external data is read relative to <paramref name="baseDir"/>.</summary>
    public static (TensorSpec Spec, byte[] Data) Read(TensorProto t, string baseDir)
    {
        var type = (TensorProto.Types.DataType)t.DataType;
        DType dtype;
        try
        {
            dtype = OnnxTypes.FromOnnx(type);
        }
        catch (NotSupportedException e)
        {
            throw new UserErrorException($"initializer '{t.Name}': {e.Message}");
        }
        var spec = new TensorSpec(new Shape(t.Dims.ToArray()), dtype);
        long count = spec.Shape.NumElements;
        byte[] data = t.DataLocation == TensorProto.Types.DataLocation.External ? External(t, baseDir)
            : !t.RawData.IsEmpty ? t.RawData.ToByteArray()
            : Typed(t, dtype, count);
        if (data.LongLength != count * dtype.ElementSize())
            throw new UserErrorException($"initializer '{t.Name}' holds {data.Length} bytes, its shape needs {count * dtype.ElementSize()}");
        return (spec, data);
    }

    /// <summary>An initializer holding <paramref name="data"/> as raw bytes.</summary>
    public static TensorProto Create(string name, TensorSpec spec, byte[] data)
    {
        var t = new TensorProto { Name = name, DataType = (int)OnnxTypes.ToOnnx(spec.DType), RawData = ByteString.CopyFrom(data) };
        t.Dims.AddRange(spec.Shape.ToArray());
        return t;
    }

    // Typed repeated fields (what some exporters write instead of raw_data); the ONNX spec fixes which field each type uses.
    private static byte[] Typed(TensorProto t, DType dtype, long count)
    {
        byte[] bytes = dtype switch
        {
            DType.Float32 => MemoryMarshal.AsBytes(t.FloatData.ToArray().AsSpan()).ToArray(),
            DType.Float64 => MemoryMarshal.AsBytes(t.DoubleData.ToArray().AsSpan()).ToArray(),
            DType.Int64 => MemoryMarshal.AsBytes(t.Int64Data.ToArray().AsSpan()).ToArray(),
            DType.Int32 => MemoryMarshal.AsBytes(t.Int32Data.ToArray().AsSpan()).ToArray(),
            DType.Float16 or DType.BFloat16 => Narrow(t.Int32Data, 2),
            _ => Narrow(t.Int32Data, 1), // int8, uint8, bool
        };
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("dualfx converts on little-endian machines only");
        return count == 0 ? [] : bytes;
    }

    private static byte[] Narrow(IReadOnlyList<int> values, int size)
    {
        var b = new byte[values.Count * size];
        for (int i = 0; i < values.Count; i++)
            if (size == 2) BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(i * 2), (ushort)values[i]);
            else b[i] = (byte)values[i];
        return b;
    }

    private static byte[] External(TensorProto t, string baseDir)
    {
        string Get(string key) => t.ExternalData.FirstOrDefault(e => e.Key == key)?.Value ?? "";
        var location = Get("location");
        if (location.Length == 0) throw new UserErrorException($"initializer '{t.Name}' has external data without a location");
        long offset = long.TryParse(Get("offset"), out var o) ? o : 0;
        var path = Path.Combine(baseDir, location);
        using var f = File.OpenRead(path);
        long length = long.TryParse(Get("length"), out var l) ? l : f.Length - offset;
        var data = new byte[length];
        f.Seek(offset, SeekOrigin.Begin);
        f.ReadExactly(data);
        return data;
    }
}
