#!/usr/bin/env bash
# numjit's set-up: installs the Debian packages the build needs (when they
# are missing), configures and builds, then runs the demo or the tests.
#
#   ./dev.sh demo   build, then run examples/demo.nj (the workload kernels)
#   ./dev.sh test   build, then run the whole test suite (what CI runs)
#   ./dev.sh build  build only
#   ./dev.sh sanitize  build-asan (ASan+UBSan) and build-tsan (TSan): the whole
#                      suite under ASan+UBSan, the threaded tests under TSan
#   ./dev.sh fuzz      build-fuzz (clang-19, libFuzzer): each fuzzer for
#                      NUMJIT_FUZZ_SECONDS (60) with the corpus in fuzz/corpus
# docs/testing.md describes the suites, the sanitizers and longer fuzz runs.
set -euo pipefail
cd "$(dirname "$0")"

BUILD_DIR=${NUMJIT_BUILD_DIR:-build}
PACKAGES=(cmake ninja-build g++ llvm-19-dev llvm-19-tools libfmt-dev doctest-dev
          libbenchmark-dev libcli11-dev libxxhash-dev libedit-dev python3-numpy)

install_missing() {
  local missing=()
  PACKAGES+=("$@")
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

# configure DIR [cmake options...]: once, into DIR, with Ninja.
configure() {
  local dir=$1
  shift
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNUMJIT_BUILD_BENCH=OFF "$@" >/dev/null
  fi
}

# The threaded tests: the thread pool, parallel kernels and prange, one Jit
# used from several threads, errors and allocation failures on workers.
TSAN_TESTS='*thread*,*parallel*,*concurren*,*prange*,*worker*'

sanitize() {
  install_missing
  # A request for petabytes (zeros(10**15)) must come back null, as from
  # malloc, rather than abort; ASan's own reports still fail the run.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:detect_leaks=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
  export NUMJIT_CACHE_DIR=${NUMJIT_CACHE_DIR:-$PWD/build-asan/cache}
  configure build-asan -DNUMJIT_SANITIZE=address,undefined
  cmake --build build-asan -j "$(nproc)" --target numjit_tests numjit_cli
  build-asan/tests/numjit_tests
  configure build-tsan -DNUMJIT_SANITIZE=thread
  cmake --build build-tsan -j "$(nproc)" --target numjit_tests numjit_cli
  NUMJIT_CACHE_DIR=$PWD/build-tsan/cache build-tsan/tests/numjit_tests -tc="$TSAN_TESTS"
}

fuzz() {
  install_missing clang-19 libclang-rt-19-dev
  export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1}
  configure build-fuzz -DCMAKE_CXX_COMPILER=clang++-19 -DCMAKE_C_COMPILER=clang-19 -DNUMJIT_BUILD_TESTS=OFF \
    -DNUMJIT_BUILD_FUZZERS=ON -DNUMJIT_SANITIZE=address,undefined
  cmake --build build-fuzz -j "$(nproc)" --target fuzz_frontend fuzz_npy fuzz_pipeline
  local seconds=${NUMJIT_FUZZ_SECONDS:-60}
  for t in frontend npy pipeline; do
    # New inputs go to build-fuzz/corpus; fuzz/corpus holds the seeds and
    # regression inputs and is only read.
    mkdir -p "build-fuzz/corpus/$t" build-fuzz/crashes
    echo "dev.sh: fuzz_$t for ${seconds} s" >&2
    "build-fuzz/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=60 -print_final_stats=1 \
      -artifact_prefix=build-fuzz/crashes/ "build-fuzz/corpus/$t" "fuzz/corpus/$t"
  done
}

case "${1:-demo}" in
  build) build ;;
  demo) build; "$BUILD_DIR/numjit" examples/demo.nj ;;
  test) build; ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" ;;
  sanitize) sanitize ;;
  fuzz) fuzz ;;
  *) echo "usage: ./dev.sh [demo|test|build|sanitize|fuzz]" >&2; exit 2 ;;
esac
