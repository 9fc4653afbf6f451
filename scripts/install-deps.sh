#!/usr/bin/env bash
# Installs every Debian package the project needs to build, run and test.
# Both README commands run this script; it is idempotent and quiet when all is present.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config clang clang-format libclang-rt-14-dev
  # libraries (DESIGN.md §5)
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev librocksdb-dev libssl-dev
  libyaml-cpp-dev libcli11-dev libfmt-dev libspdlog-dev libarchive-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev zlib1g-dev libisal-dev libjemalloc-dev
  # io_uring for Boost.Asio: only the experimental MYSFITS_IO_URING build links it (docs/edge.md)
  liburing-dev
  # real clients and test tools
  awscli python3 python3-boto3 python3-pytest curl procps psmisc
  # the disk-full fault test mounts a tmpfs in a user namespace (unshare, nsenter)
  util-linux
  # the format check lists files and the pipeline names images with git
  git
  # app page tests (chromium driven by playwright-core from npm), benchmarks (load generator,
  # comparison proxy and static server; instruction and system-call counts in bench/*_cost.sh,
  # bench/edge_instructions.sh SYSCALLS=1 and the profiles in docs/: valgrind, strace, perf)
  chromium nodejs wrk haproxy nginx-light valgrind strace linux-perf
)
# Debian's nodejs ships npm separately; a nodejs that bundles npm conflicts with that package.
if ! command -v npm >/dev/null; then packages+=(npm); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm packages for the browser tests, from the committed lock file (reinstalled when it changes).
cd "$(dirname "$0")/.."
if ! cmp -s package-lock.json node_modules/.mysfits-installed-lock 2>/dev/null; then
  echo "install-deps: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.mysfits-installed-lock
fi
