#!/usr/bin/env bash
# The longer load-and-reload run of the model server (docs/serving.md): the Fashion-MNIST CNN at batch 1 over HTTP on
# loopback against ONNX Runtime in-process (interleaved windows, requests/s and their ratio), the JSON form and dynamic
# batching beside them, then p50/p99 latency steady and while five new versions and a broken one arrive. Exits non-zero
# if a request failed or a version was not picked up. The last stdout line is one JSON object.
#   $1  interleaved throughput windows per path (default 7); the reload part is 6 pairs of 1.5 s windows
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build benchmarks/DualFramework.Benchmarks -c Release --nologo -v q
dotnet benchmarks/DualFramework.Benchmarks/bin/Release/net10.0/DualFramework.Benchmarks.dll --ratio serve --pairs "${1:-7}"
