namespace DualFramework;

/// <summary>Kind of device a tensor lives on.</summary>
public enum DeviceType : byte
{
    /// <summary>Host memory.</summary>
    Cpu,
    /// <summary>An NVIDIA GPU.</summary>
    Cuda,
}

/// <summary>A device: its type and, for accelerators, its index.</summary>
/// <param name="Type">Device kind.</param>
/// <param name="Index">Ordinal for accelerators; 0 for the CPU.</param>
public readonly record struct Device(DeviceType Type, int Index = 0)
{
    /// <summary>The host CPU.</summary>
    public static readonly Device Cpu = new(DeviceType.Cpu);

    /// <summary>CUDA device <paramref name="index"/>.</summary>
    public static Device Cuda(int index = 0) => new(DeviceType.Cuda, index);

    /// <inheritdoc />
    public override string ToString() => Type == DeviceType.Cpu ? "cpu" : $"cuda:{Index}";
}
