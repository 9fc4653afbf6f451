#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release) with the project's dependencies.
# Usage: scripts/build.sh [preset] [extra cmake --build args…]
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
shift || true
bash scripts/install-deps.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" "$@"
