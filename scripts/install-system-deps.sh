#!/usr/bin/env bash
# Installs the Debian packages the project needs (idempotent). Runs apt-get only when something is missing;
# needs root for that (CI runs as root). `--mpi` adds Open MPI (multi-process data-parallel training: mpirun and
# libmpi.so.40); `--tests` adds what the test suite needs (onnx.checker, the ONNX node tests, Open MPI); `--fuzz` what
# scripts/fuzz.sh needs (the ONNX node tests, whose models it mutates); `--afl` afl++ for scripts/fuzz-afl.sh.
set -euo pipefail
packages=(dataset-fashion-mnist)
mpi=(openmpi-bin libopenmpi-dev)
for arg in "$@"; do
  case "$arg" in
    --tests) packages+=(python3-onnx libonnx-testdata "${mpi[@]}") ;;
    --mpi) packages+=("${mpi[@]}") ;;
    --fuzz) packages+=(libonnx-testdata) ;;
    --afl) packages+=(afl++) ;;
    *) echo "unknown option $arg (--tests, --mpi, --fuzz, --afl)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi
if ! command -v dotnet >/dev/null 2>&1; then
  echo "The .NET SDK 10 is required (https://learn.microsoft.com/dotnet/core/install/linux-debian)." >&2
  exit 1
fi
