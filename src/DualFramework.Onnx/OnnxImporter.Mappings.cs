using DualFramework.IR;
using DualFramework.Onnx.Proto;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private static HashSet<string>? _known;

    /// <summary>Every ONNX op type the mapping table has an entry for (read from a builder's table, built on first use).</summary>
    private static HashSet<string> Known => _known ??= new HashSet<string>(Builder.MappedOpTypes(), StringComparer.Ordinal);

    private sealed partial class Builder
    {
        /// <summary>
        /// The mapping table, keyed by ONNX op type as the lowerings are keyed by op: each entry turns the current node
        /// (<c>_n</c>) into graph nodes and returns its first output (further outputs go to <c>_more</c>). The entry gets
        /// the op type, for entries shared by several types. Each op family adds its entries in
        /// <c>OnnxImporter.Mappings.&lt;Family&gt;.cs</c> (the families of <c>OpSet.&lt;Family&gt;.cs</c>), so an op type is
        /// named once, next to its mapping.
        /// </summary>
        private readonly Dictionary<string, Func<string, Value>> _mappings = new(StringComparer.Ordinal);

        /// <summary>The ONNX op types some entry maps.</summary>
        public static IEnumerable<string> MappedOpTypes() =>
            new Builder(new OnnxImportOptions(), MaxOpset, new HashSet<string>(), null) is var b ? b._mappings.Keys.Concat(b._sequenceMappings.Keys).Concat(b._slotMappings.Keys) : [];

        private void AddMappings()
        {
            AddControl();
            AddConv();
            AddCreation();
            AddElementwise();
            AddLinalg();
            AddLoss();
            AddMath();
            AddNorm();
            AddOneHot();
            AddTopK();
            AddPad();
            AddGridSample();
            AddWindows();
            AddFourier();
            AddRoiAlign();
            AddRecurrent();
            AddPool();
            AddQuantize();
            AddReductions();
            AddScatter();
            AddSequence();
            AddOptional();
            AddShape();
            AddSoftmax();
            AddTake();
            AddLegacy();
            AddTraining();
        }

        /// <summary>Adds the entry of <paramref name="opType"/>; an op type mapped twice is a programming error.</summary>
        private void Map(string opType, Func<string, Value> mapping) => _mappings.Add(opType, mapping);

        /// <summary>Adds one entry shared by several op types.</summary>
        private void Map(string[] opTypes, Func<string, Value> mapping)
        {
            foreach (var t in opTypes) Map(t, mapping);
        }

        private Value MapNode(string opType) =>
            opset < 7 && _legacy.TryGetValue(opType, out var legacy) ? legacy(opType)
            : _mappings.TryGetValue(opType, out var mapping) ? mapping(opType) : throw Bad("unsupported op"); // filtered earlier

        /// <summary>The table key of a node: its op type, prefixed by its domain outside the default one.</summary>
        /// (A default-domain op type never contains '.', so one that does cannot reach another domain's entry.)
        internal static string MappingKey(NodeProto n) =>
            !IsDefaultDomain(n.Domain) ? $"{n.Domain}.{n.OpType}" : n.OpType.Contains('.') ? $"{n.OpType} (default domain)" : n.OpType;
    }
}
