#!/usr/bin/env bash
# Long-run memory check (docs/reliability.md, "Long runs"): 10,000 training steps of the MLP and the CNN on each engine
# (eager torch, compiled graph on ONNX Runtime, compiled step on torch), resident memory and managed heap sampled.
# Prints one line per run and a JSON line last. Options go to the suite: --steps N, --engines torch,graph, --models cnn.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build -c Release benchmarks/DualFramework.Benchmarks >/dev/null
dotnet benchmarks/DualFramework.Benchmarks/bin/Release/net10.0/DualFramework.Benchmarks.dll --ratio longrun "$@"
