#!/usr/bin/env bash
# Sets up what the main job needs and runs it on the default eager CPU backend. Extra arguments go to the sample.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
dotnet run -c Release --project samples/FashionMnist -- "$@"
