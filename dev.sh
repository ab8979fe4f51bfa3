#!/usr/bin/env bash
# numjit's set-up: installs the Debian packages the build needs (when they
# are missing), configures and builds, then runs the demo or the tests.
#
#   ./dev.sh demo   build, then run examples/demo.nj (the workload kernels)
#   ./dev.sh test   build, then run the whole test suite (what CI runs)
#   ./dev.sh build  build only
set -euo pipefail
cd "$(dirname "$0")"

BUILD_DIR=${NUMJIT_BUILD_DIR:-build}
PACKAGES=(cmake ninja-build g++ llvm-19-dev llvm-19-tools libfmt-dev doctest-dev
          libbenchmark-dev libcli11-dev libxxhash-dev libedit-dev python3-numpy)

install_missing() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  echo "dev.sh: installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

build() {
  install_missing
  if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  cmake --build "$BUILD_DIR" -j "$(nproc)"
}

case "${1:-demo}" in
  build) build ;;
  demo) build; "$BUILD_DIR/numjit" examples/demo.nj ;;
  test) build; ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" ;;
  *) echo "usage: ./dev.sh [demo|test|build]" >&2; exit 2 ;;
esac
