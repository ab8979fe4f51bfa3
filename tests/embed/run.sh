#!/usr/bin/env bash
# The installed-package test: installs numjit into a temporary prefix, then
# configures, builds and runs examples/embed against it as a separate project
# would (find_package(numjit), numjit::numjit).
#
#   tests/embed/run.sh [BUILD_DIR]
#
# With BUILD_DIR (what CTest passes) the already-built tree is installed as it
# is; nothing there is rebuilt. Without it, numjit is configured and built in
# build-embed/ first. The prefix is deleted on success and kept on failure.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)

if [ $# -ge 1 ]; then
  BUILD=$(cd "$1" && pwd)
else
  BUILD=$SRC/build-embed
  if [ ! -f "$BUILD/build.ninja" ]; then
    cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
          -DNUMJIT_BUILD_TESTS=OFF -DNUMJIT_BUILD_BENCH=OFF >/dev/null
  fi
  cmake --build "$BUILD" --target numjit numjit_cli
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/numjit-embed.XXXXXX")
PREFIX=$WORK/prefix
fail() { echo "embed test FAILED: $*; files kept in $WORK" >&2; exit 1; }

echo "== cmake --install $BUILD --prefix $PREFIX"
cmake --install "$BUILD" --prefix "$PREFIX" >"$WORK/install.log" || { cat "$WORK/install.log"; fail "install"; }
for f in include/numjit/numjit.hpp lib/libnumjit.a bin/numjit lib/cmake/numjit/numjitConfig.cmake \
         lib/cmake/numjit/numjitConfigVersion.cmake lib/cmake/numjit/numjitTargets.cmake; do
  [ -e "$PREFIX/$f" ] || fail "the install has no $f"
done
out=$("$PREFIX/bin/numjit" -e 'sum(arange(5) * 1.5)') || fail "installed CLI"
[ "$out" = "15.0" ] || fail "installed CLI printed '$out', expected 15.0"

# Only the prefix: the example must not see the source or build tree.
echo "== configure and build examples/embed against $PREFIX"
cmake -S "$SRC/examples/embed" -B "$WORK/embed-build" -G Ninja -DCMAKE_PREFIX_PATH="$PREFIX" \
      >"$WORK/configure.log" 2>&1 || { cat "$WORK/configure.log"; fail "configure examples/embed"; }
cmake --build "$WORK/embed-build" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; fail "build examples/embed"; }
grep -qF -e "$BUILD/" -e "$SRC/include" "$WORK/embed-build/build.ninja" && fail "examples/embed refers to the numjit build or source tree"

echo "== run"
NUMJIT_CACHE_DIR=$WORK/cache "$WORK/embed-build/market_host" || fail "market_host exited with status $?"
rm -rf "$WORK"
