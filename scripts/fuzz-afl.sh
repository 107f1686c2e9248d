#!/usr/bin/env bash
# Coverage-guided fuzzing of one loader (docs/reliability.md, "Fuzzed loaders"): afl-fuzz (Debian afl++) drives
# tools/Fuzz's AFL harness; SharpFuzz instruments DualFramework.dll and DualFramework.Onnx.dll so that afl-fuzz sees
# which branches each input reaches, starting from the loader's real seed files. Prints one JSON line,
#   {"loader":"idx","mode":"afl","seconds":600,"execs":...,"paths":...,"crashes":0,"hangs":0}
# and exits 1 if afl-fuzz saved a crash or a hang (under artifacts/afl/<loader>/findings/default/{crashes,hangs}).
#   usage: bash scripts/fuzz-afl.sh onnx|safetensors|idx [SECONDS (default 600)]
set -euo pipefail
cd "$(dirname "$0")/.."
loader=${1:?usage: fuzz-afl.sh onnx|safetensors|idx [SECONDS]}
seconds=${2:-600}
bash scripts/install-system-deps.sh --fuzz --afl >&2
dotnet tool restore >&2
work=artifacts/afl/$loader
rm -rf "$work"
mkdir -p "$work"
dotnet build tools/Fuzz -c Release -o "$work/bin" --nologo -v q >&2
# Seeds first: instrumented code runs only under afl-fuzz (it writes to afl's coverage map).
dotnet "$work/bin/DualFramework.Fuzz.dll" --loader "$loader" --write-seeds "$work/seeds" >&2
for dll in DualFramework.dll DualFramework.Onnx.dll; do dotnet sharpfuzz "$work/bin/$dll" >&2; done
# The harness is a managed program started by the dotnet host: afl-fuzz cannot check its instrumentation itself.
AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 \
  afl-fuzz -i "$work/seeds" -o "$work/findings" -t 20000 -m none -V "$seconds" -- \
  dotnet "$work/bin/DualFramework.Fuzz.dll" --loader "$loader" --afl >"$work/afl.log" 2>&1 || { tail -n 30 "$work/afl.log" >&2; exit 1; }
stats=$work/findings/default/fuzzer_stats
stat() { grep "^$1 " "$stats" | awk '{print $3}'; }
crashes=$(find "$work/findings/default/crashes" -name 'id:*' | wc -l)
hangs=$(find "$work/findings/default/hangs" -name 'id:*' | wc -l)
echo "{\"loader\":\"$loader\",\"mode\":\"afl\",\"seconds\":$seconds,\"execs\":$(stat execs_done),\"paths\":$(stat corpus_count),\"crashes\":$crashes,\"hangs\":$hangs}"
[ "$crashes" -eq 0 ] && [ "$hangs" -eq 0 ]
