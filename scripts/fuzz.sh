#!/usr/bin/env bash
# Fuzzes the file loaders (docs/reliability.md, "Fuzzed loaders"): N structure-aware mutations of real files (default
# 10,000) per loader — OnnxImporter, Checkpoint/SafeTensors, IdxReader — each of which must load or end in the loader's
# documented exception within the time and allocation bounds. Prints one JSON line per loader on stdout,
#   {"loader":"onnx","inputs":10000,"crashes":0,"hangs":0,"max_ms":...,"max_alloc_mb":...,"valid":...,"rejected":...}
# and each crash or hang on stderr; exits 1 if there was any. Further arguments go to the fuzzer, e.g.
#   bash scripts/fuzz.sh 10000 --seed 7 --loader onnx --save fuzz-crashes
# (tools/Fuzz/Program.cs lists them; --minimize shrinks a saved crash for the regression corpus).
set -euo pipefail
cd "$(dirname "$0")/.."
n=10000
if [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then n=$1; shift; fi
bash scripts/install-system-deps.sh --fuzz >&2
dotnet build tools/Fuzz -c Release --nologo -v q >&2
exec dotnet tools/Fuzz/bin/Release/net10.0/DualFramework.Fuzz.dll --inputs "$n" "$@"
