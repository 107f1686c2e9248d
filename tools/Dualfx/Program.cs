// dualfx: train, export, inspect, convert, quantize, benchmark and serve DualFramework models (docs/cli.md).
return DualFramework.Tools.Dualfx.DualfxApp.Run(args);
