using DualFramework.Onnx;
using DualFramework.Onnx.Proto;
using Google.Protobuf;

namespace DualFramework.Tools.Dualfx.Conversion;

/// <summary>The little-endian bytes of an ONNX initializer, wherever its data is stored, and back.</summary>
internal static class InitializerData
{
    /// <summary>dtype, shape and data of <paramref name="t"/> by the importer's reader (dims, sizes and external-data
    /// paths validated); external data is read relative to <paramref name="baseDir"/>.</summary>
    public static (TensorSpec Spec, byte[] Data) Read(TensorProto t, string baseDir)
    {
        try
        {
            return OnnxImporter.TensorData.Read(t, new OnnxImportOptions(), baseDir);
        }
        catch (OnnxImportException e)
        {
            throw new UserErrorException($"initializer '{t.Name}': {e.Message}");
        }
    }

    /// <summary>An initializer holding <paramref name="data"/> as raw bytes.</summary>
    public static TensorProto Create(string name, TensorSpec spec, byte[] data)
    {
        var t = new TensorProto { Name = name, DataType = (int)OnnxTypes.ToOnnx(spec.DType), RawData = ByteString.CopyFrom(data) };
        t.Dims.AddRange(spec.Shape.ToArray());
        return t;
    }
}
