#!/usr/bin/env bash
# README's first command: installs the dependencies, builds the release preset, and runs
# `mysfits up` — both regions' tables, agents, stacks, images, the global table and the
# accelerator — then prints the page's URL (through the accelerator) and the dashboard's.
# Arguments are passed to `mysfits up` (e.g. --regions us-west-2,us-east-1,eu-west-1).
# Environment (optional): MYSFITS_STATE_DIR (default ./.mysfits).
# Stop everything with: build/release/src/cli/mysfits down
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
# Only what the running system needs (the tests build in the asan preset, benchmarks build their own).
nice cmake --build --preset release --target mysfits mysfits-table mysfits-edge mysfits-core mysfits-like
exec build/release/src/cli/mysfits up --build-dir build/release --source-dir . "$@"
