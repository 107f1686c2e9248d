// dualfx: train, export, inspect, convert, quantize and benchmark DualFramework models (docs/cli.md).
return DualFramework.Tools.Dualfx.DualfxApp.Run(args);
