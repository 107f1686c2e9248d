using DualFramework.IR;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        /// <summary>Optional values are importer-side like sequences: whether one holds an element is known while building
        /// (an optional model input specialises the graph on it), so OptionalHasElement is a constant.</summary>
        private void AddOptional()
        {
            _slotMappings.Add("Optional", () =>
            {
                if (!Has(0)) return [new OptSlot(null)]; // the type attribute only describes the empty value
                var x = SlotIn(0);
                if (x is OptSlot) throw Bad("an optional holding an optional is not supported");
                return [new OptSlot(x)];
            });
            _slotMappings.Add("OptionalGetElement", () => SlotIn(0) switch
            {
                OptSlot { Element: { } e } => [e],
                OptSlot => throw Bad($"the optional '{_n.Input[0]}' is empty"),
                var x => [x], // a tensor or sequence is its own element (opset 18's reading)
            });
            Map("OptionalHasElement", _ =>
            {
                bool has = Has(0) && SlotIn(0) is not OptSlot { Element: null };
                return Const(new TensorSpec(Shape.Scalar, DType.Bool), [has ? (byte)1 : (byte)0]);
            });
        }
    }
}
