using DualFramework.Autodiff;

namespace DualFramework;

public sealed partial class Tensor
{
    /// <summary>
    /// Whether gradients are computed for this tensor. Set it on leaves (parameters, inputs you differentiate by);
    /// results of ops on such tensors require grad automatically. Only floating tensors can require grad.
    /// </summary>
    public bool RequiresGrad
    {
        get => Autograd.UsesNative(Backend) ? Backend.NativeAutograd!.RequiresGrad(Handle) : TapeRequiresGrad;
        set
        {
            if (value && !DType.IsFloating())
                throw new InvalidOperationException($"Only floating tensors can require gradients; this one is {Spec}.");
            if (Autograd.UsesNative(Backend)) Backend.NativeAutograd!.SetRequiresGrad(Handle, value);
            else
            {
                if (!value && Node != null) throw new InvalidOperationException("Cannot clear RequiresGrad on a non-leaf tensor; use Detach().");
                TapeRequiresGrad = value;
            }
        }
    }

    /// <summary>The gradient accumulated into this leaf by <see cref="Backward"/>, or null. Assign null to clear it.</summary>
    public Tensor? Grad
    {
        get
        {
            if (!Autograd.UsesNative(Backend)) return TapeGrad;
            var h = Backend.NativeAutograd!.GetGrad(Handle);
            return h == null ? null : Wrap(Backend, h, Spec);
        }
        set
        {
            if (value != null && value.Spec != Spec) throw new ArgumentException($"Gradient {value.Spec} does not match tensor {Spec}.");
            if (Autograd.UsesNative(Backend)) Backend.NativeAutograd!.SetGrad(Handle, value?.Handle);
            else
            {
                if (value != null) TensorScope.Release(value);
                // The leaf owns its tape gradient (Backward accumulates into it), so a replaced one is freed here.
                if (TapeGrad != null && !ReferenceEquals(TapeGrad, value)) TapeGrad.Dispose();
                TapeGrad = value;
            }
        }
    }

    /// <summary>
    /// Computes the gradient of this tensor with respect to every leaf that requires grad and accumulates it into their
    /// <see cref="Grad"/>. A non-scalar tensor needs <paramref name="gradient"/> (the gradient of some scalar w.r.t. it).
    /// </summary>
    public void Backward(Tensor? gradient = null, bool retainGraph = false) => Autograd.Backward(this, gradient, retainGraph);

    /// <summary>A tensor with the same values that does not take part in gradient computation.</summary>
    public Tensor Detach() => Ops.StopGradient(this);
}
