#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian 12 machine: installs the system packages the tests need (as root, or via
# sudo), checks the formatting (dotnet format --verify-no-changes), builds, runs every test and ends with one line
# `tests: N passed, N failed, N skipped`. A skipped test fails the run (its name is printed): every test can run on
# Debian 12 once the packages are in. Unformatted code fails the run too.
#   --avx2        limit libtorch (oneDNN, ATen, MKL) to AVX2 kernels, as on a CPU without AVX-512
#   other args    go to `dotnet test` (e.g. --filter Category=Parity)
set -uo pipefail
cd "$(dirname "$0")/.."
args=()
for arg in "$@"; do
  case "$arg" in
    --avx2) export ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ;;
    *) args+=("$arg") ;;
  esac
done
bash scripts/install-system-deps.sh --tests || exit 1
# Formatting (.editorconfig): unformatted code fails the run; `dotnet format DualFramework.sln` applies the style.
format_rc=0
dotnet format DualFramework.sln --verify-no-changes || format_rc=$?
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
# Build in parallel, then run the test assemblies one after another (-m:1): the package consumer check
# (tests/DualFramework.PackageTests: pack, restore, build and train in a new app) would otherwise load both cores beside
# the main suite for minutes.
dotnet build DualFramework.sln -c Release
rc=$?
if [ "$rc" -eq 0 ]; then
  dotnet test DualFramework.sln -c Release --no-build -m:1 --logger "trx" --results-directory "$results" "${args[@]}"
  rc=$?
fi
passed=0 failed=0 skipped=0
shopt -s nullglob
trx_files=("$results"/*.trx)
for trx in "${trx_files[@]}"; do
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get notExecuted) + $(get inconclusive)))
  # Name every test that did not run.
  grep -o '<UnitTestResult [^>]*outcome="\(NotExecuted\|Inconclusive\)"[^>]*>' "$trx" | grep -o 'testName="[^"]*"' | sed 's/^testName="\(.*\)"$/skipped: \1/'
done
if [ ${#trx_files[@]} -eq 0 ]; then
  echo "no test results were written" >&2
  [ "$rc" -eq 0 ] && rc=1
fi
if [ "$skipped" -gt 0 ] && [ "$rc" -eq 0 ]; then
  echo "$skipped test(s) were skipped: a skip is a failure on Debian 12 (see the names above)" >&2
  rc=1
fi
if [ "$format_rc" -ne 0 ]; then
  echo "dotnet format --verify-no-changes failed: run 'dotnet format DualFramework.sln' and commit the result" >&2
  [ "$rc" -eq 0 ] && rc=1
fi
echo "tests: ${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$rc"
