using DualFramework.Checkpoints;
using DualFramework.Onnx.Proto;
using DualFramework.Tools.Dualfx.Inspection;
using Google.Protobuf;

namespace DualFramework.Tools.Dualfx.Conversion;

/// <summary>Moves weights between ONNX initializers and safetensors files, bytes unchanged.</summary>
internal static class WeightConverter
{
    /// <summary>Writes every initializer of <paramref name="onnxPath"/> to <paramref name="safetensorsPath"/> under its
    /// ONNX name; returns the number of tensors.</summary>
    public static int OnnxToSafeTensors(string onnxPath, string safetensorsPath)
    {
        var model = OnnxInspector.Read(onnxPath);
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(onnxPath)) ?? ".";
        using var scope = TensorScope.Begin();
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var init in model.Graph.Initializer)
        {
            var (spec, data) = InitializerData.Read(init, baseDir);
            if (!tensors.TryAdd(init.Name, Tensor.FromBytes(data, spec)))
                throw new UserErrorException($"'{onnxPath}' has two initializers named '{init.Name}'");
        }
        if (tensors.Count == 0) throw new UserErrorException($"'{onnxPath}' has no initializers to convert");
        var metadata = new Dictionary<string, string> { ["source"] = Path.GetFileName(onnxPath), ["format"] = "onnx-initializers" };
        SafeTensors.Save(safetensorsPath, tensors, metadata);
        return tensors.Count;
    }

    /// <summary>
    /// Writes the tensors of <paramref name="safetensorsPath"/> as ONNX initializers: into a copy of
    /// <paramref name="templatePath"/> (each must replace an initializer of the same name, dtype and shape) or, without a
    /// template, into a graph that holds only initializers. Returns the number of tensors written.
    /// </summary>
    public static int SafeTensorsToOnnx(string safetensorsPath, string onnxPath, string? templatePath)
    {
        var header = SafeTensors.ReadHeader(safetensorsPath);
        var model = templatePath != null ? OnnxInspector.Read(templatePath) : new ModelProto
        {
            IrVersion = 8,
            ProducerName = "dualfx",
            Graph = new GraphProto { Name = Path.GetFileNameWithoutExtension(safetensorsPath) },
            OpsetImport = { new OperatorSetIdProto { Domain = "", Version = 17 } },
        };
        var existing = model.Graph.Initializer.Select((t, i) => (t.Name, i)).ToDictionary(x => x.Name, x => x.i, StringComparer.Ordinal);
        if (templatePath != null)
        {
            var unknown = header.Entries.Where(e => !existing.ContainsKey(e.Name)).Select(e => e.Name).Take(5).ToList();
            if (unknown.Count > 0) throw new UserErrorException($"'{templatePath}' has no initializer named {string.Join(", ", unknown)}");
        }
        using var file = File.OpenRead(safetensorsPath);
        foreach (var e in header.Entries)
        {
            var data = new byte[e.ByteLength];
            file.Seek(header.DataOffset + e.Begin, SeekOrigin.Begin);
            file.ReadExactly(data);
            var init = InitializerData.Create(e.Name, e.Spec, data);
            if (existing.TryGetValue(e.Name, out int i))
            {
                var old = model.Graph.Initializer[i];
                if (old.DataType != init.DataType || !old.Dims.SequenceEqual(init.Dims))
                    throw new UserErrorException($"'{e.Name}': the template holds {(TensorProto.Types.DataType)old.DataType} [{string.Join(", ", old.Dims)}], " +
                                                 $"the weights {e.Spec.DType.Name()} {SafeTensorsInspector.Dims(e.Spec.Shape.ToArray())}");
                model.Graph.Initializer[i] = init;
            }
            else model.Graph.Initializer.Add(init);
        }
        var dir = Path.GetDirectoryName(Path.GetFullPath(onnxPath));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        using (var output = File.Create(onnxPath)) model.WriteTo(output);
        return header.Entries.Count;
    }
}
