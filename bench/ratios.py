#!/usr/bin/env python3
"""Ratio table from numjit_bench's Google Benchmark JSON output.

    ./numjit_bench --benchmark_repetitions=10 --benchmark_format=json > r.json
    python3 bench/ratios.py r.json

Benchmark names are K<id>/<impl>/threads:<T> (BENCHMARKS.md). With
repetitions the *_median aggregates are used; without, the plain runs (the
median of them if a name occurs more than once). Prints a markdown table:
kernel, threads, numjit ms, cpp ms, numjit/cpp, and GB/s of each; variants
(numjit-prange, ...) get a row of their own against the same cpp time, and
reference variants (cpp-scalar, ...) a row comparing numjit with them.
Times under 0.1 ms (K7, the call overhead) are printed in microseconds.

Then, when the run has them: the cost of bounds checking (each
<impl> / <impl>-nobounds pair at the same thread count: numjit-nobounds,
numjit-prange-nobounds), and the compile-latency table from the
compile/<K>/{cold,memory-hit,disk-hit} and compile/engine/cold benchmarks
(with the disk-hit counters engine_ms and process_ms).
"""
import json
import re
import statistics
import sys

# UseRealTime() makes Google Benchmark append "/real_time" to the name.
COMPILE = re.compile(r"^compile/(?P<kernel>[^/]+)/(?P<kind>[^/]+)(?:/.*)?$")
NAME = re.compile(r"^(?P<kernel>[^/]+)/(?P<impl>[^/]+)/threads:(?P<threads>\d+)"
                  r"(?:/(?:real_time|manual_time|process_time))*$")
TO_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def load(path):
    with open(path) as fh:
        data = json.load(fh)
    benches = data.get("benchmarks", [])
    medians = [b for b in benches
               if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median"]
    if medians:
        rows = [(b.get("run_name", b["name"].rsplit("_", 1)[0]), b) for b in medians]
    else:
        rows = [(b.get("run_name", b["name"]), b) for b in benches
                if b.get("run_type", "iteration") == "iteration" and not b.get("error_occurred")]
    # (kernel, impl, threads) -> list of (ms, bytes/s)
    out = {}
    for name, b in rows:
        c = COMPILE.match(name)
        if c and "real_time" in b:
            ms = b["real_time"] * TO_MS.get(b.get("time_unit", "ns"), 1e-6)
            key = ("compile:" + c["kernel"], c["kind"], 0)
            out.setdefault(key, []).append((ms, {k: b[k] for k in ("engine_ms", "process_ms") if k in b}))
            continue
        m = NAME.match(name)
        if not m or "real_time" not in b:
            continue
        ms = b["real_time"] * TO_MS.get(b.get("time_unit", "ns"), 1e-6)
        key = (m["kernel"], m["impl"], int(m["threads"]))
        out.setdefault(key, []).append((ms, b.get("bytes_per_second")))
    result = {}
    for key, vals in out.items():
        ms = statistics.median(v[0] for v in vals)
        if key[0].startswith("compile:"):
            extra = {k: statistics.median(v[1][k] for v in vals) for k in vals[0][1]}
            result[key] = (ms, extra)
            continue
        bps = [v[1] for v in vals if v[1] is not None]
        result[key] = (ms, statistics.median(bps) if bps else None)
    return result, bool(medians)


def split(res):
    """(workload results, compile-latency results)."""
    work = {k: v for k, v in res.items() if not k[0].startswith("compile:")}
    comp = {(k[0][len("compile:"):], k[1]): v for k, v in res.items() if k[0].startswith("compile:")}
    return work, comp


def print_bounds(res):
    """<impl> / <impl>-nobounds at the same kernel and thread count."""
    pairs = sorted(((k, i, t) for k, i, t in res if i.endswith("-nobounds") and (k, i[:-9], t) in res),
                   key=lambda x: (kernel_order(x[0]), x[1], x[2]))
    if not pairs:
        return
    print("\n| kernel | threads | bounds checked ms | unchecked ms | checked / unchecked |")
    print("|---|---:|---:|---:|---:|")
    for k, i, t in pairs:
        on, off = res[(k, i[:-9], t)][0], res[(k, i, t)][0]
        print(f"| {k} ({i[:-9]}) | {t} | {fmt_ms(on)} | {fmt_ms(off)} | {on / off:.2f} |")


def print_compile(comp):
    if not comp:
        return
    kernels = sorted({k for k, _ in comp if k != "engine"}, key=lambda k: kernel_order(k.split("-")[0]) + (k,))
    print("\n| kernel | cold ms | in-memory hit us | disk hit (fresh process) ms | that process: first eval ms | that process: spawn to exit ms |")
    print("|---|---:|---:|---:|---:|---:|")
    f = lambda x, scale=1.0: "-" if x is None else f"{x * scale:.3f}"
    for k in kernels:
        cold = comp.get((k, "cold"), (None, {}))[0]
        mem = comp.get((k, "memory-hit"), (None, {}))[0]
        disk, extra = comp.get((k, "disk-hit"), (None, {}))
        print(f"| {k} | {f(cold)} | {f(mem, 1e3)} | {f(disk)} | {f(extra.get('engine_ms'))} | {f(extra.get('process_ms'))} |")
    if ("engine", "cold") in comp:
        print(f"\ncompile/engine/cold (a fresh Jit's first eval of `x + 1.0`, creating its LLVM JIT): "
              f"{comp[('engine', 'cold')][0]:.3f} ms")


def kernel_order(k):
    m = re.match(r"^K(\d+)$", k)
    return (0, int(m.group(1)), "") if m else (1, 0, k)


def fmt_ms(x):
    if x is None:
        return "-"
    return f"{x * 1e3:.3f} us" if x < 0.1 else f"{x:.3f}"


def fmt_gbs(x):
    return "-" if x is None else f"{x / 1e9:.2f}"


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    res, used_medians = load(argv[1])
    res, comp = split(res)
    if not res and comp:
        print_compile(comp)
        return 0
    if not res:
        print(f"{argv[1]}: no K<id>/<impl>/threads:<T> benchmarks found", file=sys.stderr)
        return 1
    print("| kernel | threads | numjit ms | cpp ms | numjit/cpp | numjit GB/s | cpp GB/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    groups = sorted({(k, t) for k, _, t in res}, key=lambda kt: (kernel_order(kt[0]), kt[1]))
    for kernel, threads in groups:
        cpp = res.get((kernel, "cpp", threads))
        here = [i for k, i, t in res if (k, t) == (kernel, threads) and i != "cpp"]
        impls = sorted(i for i in here if not i.startswith("cpp-"))
        refs = sorted(i for i in here if i.startswith("cpp-"))
        if not impls:  # reference only (triad, readsum: the bandwidth ceiling)
            if cpp:
                print(f"| {kernel} | {threads} | - | {fmt_ms(cpp[0])} | - | - | {fmt_gbs(cpp[1])} |")
            for ref in refs:
                r = res[(kernel, ref, threads)]
                print(f"| {kernel} ({ref}) | {threads} | - | {fmt_ms(r[0])} | - | - | {fmt_gbs(r[1])} |")
            continue
        for impl in impls:
            nj = res[(kernel, impl, threads)]
            label = kernel if impl == "numjit" else f"{kernel} ({impl})"
            ratio = f"{nj[0] / cpp[0]:.2f}" if cpp and cpp[0] > 0 else "-"
            print(f"| {label} | {threads} | {fmt_ms(nj[0])} | {fmt_ms(cpp[0] if cpp else None)} "
                  f"| {ratio} | {fmt_gbs(nj[1])} | {fmt_gbs(cpp[1] if cpp else None)} |")
        # numjit against a reference variant: the cpp columns hold the variant.
        nj = res.get((kernel, "numjit", threads))
        for ref in refs:
            r = res[(kernel, ref, threads)]
            ratio = f"{nj[0] / r[0]:.2f}" if nj and r[0] > 0 else "-"
            print(f"| {kernel} vs {ref} | {threads} | {fmt_ms(nj[0] if nj else None)} | {fmt_ms(r[0])} "
                  f"| {ratio} | {fmt_gbs(nj[1] if nj else None)} | {fmt_gbs(r[1])} |")
    src = "medians of repetitions" if used_medians else "single runs (no repetitions: noisy)"
    print(f"\nTimes are real time, {src}; GB/s counts bytes read + written per call.")
    print_bounds(res)
    print_compile(comp)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
