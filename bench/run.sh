#!/usr/bin/env bash
# bench/run.sh [OUTDIR]: the whole benchmark in one go -- numjit_bench
# (numjit against the C++ references, Google Benchmark JSON) and then
# bench/peers.py (NumPy, NumExpr, Numba) on the same machine -- and prints
# both tables: bench/ratios.py's numjit/cpp table and peers.py's table with
# numjit's time at the same thread count.
#
# Files in OUTDIR (default build/bench-results): numjit.json, numjit.log
# (verification and console output), numjit.md, peers.json, peers.log,
# peers.md, machine.txt, noise.txt (the seconds in which other processes were running),
# cli.txt / cli.json (hyperfine: the CLI on a trivial script, warm cache and --no-cache).
#
# Environment: NUMJIT_BUILD_DIR (default build), NUMJIT_BENCH_N (n, default
# 10,000,000, both programs), NUMJIT_BENCH_REPS (repetitions, default 5),
# NUMJIT_BENCH_ARGS (extra numjit_bench flags, e.g. --benchmark_filter=K3),
# PEERS_ARGS (extra peers.py flags, e.g. --kernels K1,K3), PYTHON (default
# /usr/bin/python3: Debian's, which sees python3-numpy/-numexpr/-numba).
#
# Build first, with the shared lock:
#   flock /tmp/numjit-build.lock ninja -C build numjit_bench
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${NUMJIT_BUILD_DIR:-$root/build}
out=${1:-$build/bench-results}
reps=${NUMJIT_BENCH_REPS:-5}
py=${PYTHON:-/usr/bin/python3}

mkdir -p "$out"
if pgrep -x ninja >/dev/null 2>&1; then
  echo "run.sh: warning: a build (ninja) is running; the numbers will be noisy" >&2
fi
{
  date -u +%Y-%m-%dT%H:%M:%SZ
  uname -srm
  grep -m1 'model name' /proc/cpuinfo || true
  echo "cores: $(nproc)"
  uptime
} > "$out/machine.txt"

# Anything else running meanwhile makes the numbers noisy (on a 2-core VM
# one compile or test takes the second core): once a second, note the
# processes outside this script's process group that are running right then.
: > "$out/noise.txt"
pgid=$(ps -o pgid= $$ | tr -d ' ')
(
  while sleep 1; do
    others=$(ps -eLo stat=,pgid=,comm= | awk -v g="$pgid" '$1 ~ /^R/ && $2 != g && $2 != 0 { printf "%s ", $3 }')
    [ -n "$others" ] && echo "$(date -u +%T) running: $others(load $(cut -d' ' -f1 /proc/loadavg))" >> "$out/noise.txt"
  done
) &
monitor=$!
trap 'kill "$monitor" 2>/dev/null || true' EXIT

echo "run.sh: numjit_bench ($reps repetitions) -> $out/numjit.json" >&2
# shellcheck disable=SC2086
"$build/numjit_bench" --benchmark_min_time=0.5 --benchmark_repetitions="$reps" \
  --benchmark_report_aggregates_only=true --benchmark_format=json \
  ${NUMJIT_BENCH_ARGS:-} > "$out/numjit.json" 2> "$out/numjit.log"
"$py" "$here/ratios.py" "$out/numjit.json" > "$out/numjit.md"

echo "run.sh: peers.py ($reps repetitions) -> $out/peers.json" >&2
# shellcheck disable=SC2086
"$py" "$here/peers.py" --wide --repetitions "$reps" --json "$out/peers.json" \
  --numjit "$out/numjit.json" ${PEERS_ARGS:-} > "$out/peers.md" 2> "$out/peers.log" || {
  rc=$?
  echo "run.sh: peers.py exited with $rc (see $out/peers.log)" >&2
}

# CLI start-to-exit on a trivial script with a warm disk cache (issue 5).
if command -v hyperfine >/dev/null 2>&1; then
  cli_cache=$(mktemp -d)
  printf 'x = arange(10) * 1.5\nprint(sum(x))\n' > "$cli_cache/trivial.nj"
  NUMJIT_CACHE_DIR="$cli_cache" "$build/numjit" "$cli_cache/trivial.nj" > /dev/null
  hyperfine -N --warmup 3 -r 30 --export-json "$out/cli.json" \
    "env NUMJIT_CACHE_DIR=$cli_cache $build/numjit $cli_cache/trivial.nj" \
    "$build/numjit --no-cache $cli_cache/trivial.nj" > "$out/cli.txt" 2>&1 || true
  rm -rf "$cli_cache"
fi

kill "$monitor" 2>/dev/null || true
if [ -s "$out/noise.txt" ]; then
  echo "run.sh: warning: other processes ran during $(wc -l < "$out/noise.txt") s of the run ($out/noise.txt): noisy numbers" >&2
fi

echo "## numjit vs hand-written C++ ($(head -1 "$out/machine.txt"))"
echo
cat "$out/numjit.md"
echo
echo "## Peers (NumPy, NumExpr, Numba) against numjit"
echo
cat "$out/peers.md"
if [ -s "$out/cli.txt" ]; then
  echo
  echo "## CLI start to exit (hyperfine)"
  echo
  cat "$out/cli.txt"
fi
