#!/usr/bin/python3
"""The workload suite (/work/shared/BENCHMARKS.md) through numjit's peers.

    /usr/bin/python3 bench/peers.py [--json out.json] [--numjit r.json]

Debian's python3-numpy is required; python3-numexpr and python3-numba are used
when importable (run with /usr/bin/python3: a pyenv or virtualenv python on
PATH does not see Debian's packages). Kernels K1-K10 with the sizes
and seed conventions of bench/numjit_bench.cpp: n = 10,000,000 (override:
NUMJIT_BENCH_N), K10 X (n // 10, 16), K7 = K1 at n = 1000, all inputs drawn
in one sequence from numpy.random.default_rng(42) with the same distributions
as the C++ bench (not the same bits: mt19937_64 there):

    K1 K2 K8 K10   f64 uniform [1, 2)
    K3             e = 100 * exp(cumsum(0.002 * (u - 0.5))), u uniform [0, 1)
    K4             p uniform [90, 110), q of K1, sym i32 uniform [0, 64)
    K5             x, y uniform [-4, 4)
    K6, K9         p of K1 (EWMA with a = 0.1; rolling mean, window 20)

Implementations (names as numjit_bench's, K<id>/<impl>/threads:<T>):
    numpy             threads:1 (NumPy runs these single-threaded)
    numexpr           threads:1 and all (numexpr.set_num_threads); K3 and K4
                      have no numexpr form for the scan / the scatter, so the
                      cummax / bincount part runs in NumPy (marked in the table)
    numba             @njit loops, threads:1
    numba-parallel    @njit(parallel=True) with prange, threads:1 and all
                      (numba.set_num_threads); K3 is the two-pass block scan,
                      K4 per-thread 64-entry tables and K9 one running sum per
                      thread block, as the C++ references; K6 (a recurrence)
                      has no parallel form
K6 has no NumPy or NumExpr form (a recurrence); its results are checked
against the @njit loop instead of NumPy. K9 through NumPy is the cumsum idiom
(c = cumsum(p); (c[w:] - c[:-w]) / w), which rounds differently from a
running sum (checked to 1e-8).
Every function is run once before timing (this compiles the Numba ones) and its
result checked against NumPy's. Times are the median over --repetitions of
time.perf_counter() around --inner-time worth of calls (one call for the large
kernels, many for K7). Output: a markdown table, one row per run (--wide: one
row per kernel and thread count, one column per implementation); with
--numjit, numjit's median at the same thread count from numjit_bench's JSON
and the ratio peer / numjit; with --json the same rows as JSON, which --load
prints again without running anything.
"""
import argparse
import gc
import json
import math
import os
import statistics
import sys
import time

import numpy as np

try:
    import numexpr as ne
except ImportError:  # optional
    ne = None
try:
    import numba
    from numba import njit, prange
except ImportError:  # optional
    numba = None

DEFAULT_N = 10_000_000
K7_N = 1000
COLS = 16
GROUPS = 64
C5 = 0.3989422804014327
B = 8

EXPR = {
    "K1": "sum(p * q - f)",
    "K2": "(p[1:] - p[:-1]) / p[:-1]",
    "K3": "peak = cummax(e); (peak - e) / peak",
    "K4": "group_sum(sym, where(p > 100, p * q, 0.0), 64)",
    "K5": "exp(-0.5 * x * x) * 0.3989422804014327 + log1p(abs(y))",
    "K7": "sum(p * q - f), n = 1000",
    "K8": "((a * b + c) * d - e) / (a + 1.5) + sqrt(abs(b))",
    "K10": "sum(X * w, axis=1)",
    "K6": "out[i] = 0.1 * p[i] + 0.9 * out[i - 1]",
    "K9": "rolling mean of p, window 20 (n - 19 outputs)",
}
K6_ALPHA = 0.1
K9_W = 20


def bench_n():
    s = os.environ.get("NUMJIT_BENCH_N", "")
    if not s:
        return DEFAULT_N
    try:
        v = int(s)
    except ValueError:
        v = 0
    if v < 2:
        sys.exit(f"peers.py: NUMJIT_BENCH_N must be an integer >= 2, got '{s}'")
    return v


def make_inputs(n):
    rng = np.random.default_rng(42)
    uni = lambda *shape: rng.random(shape) + 1.0  # [1, 2)
    d = {}
    for k in "pqfabcde":
        d[k] = uni(n)
    rows = max(1, n // 10)
    d["X"] = uni(rows, COLS)
    d["w"] = uni(COLS)
    d["e3"] = 100.0 * np.exp(np.cumsum(0.002 * (rng.random(n) - 0.5)))
    d["p4"] = rng.uniform(90.0, 110.0, n)
    d["sym"] = rng.integers(0, GROUPS, n, dtype=np.int32)
    d["x5"] = rng.uniform(-4.0, 4.0, n)
    d["y5"] = rng.uniform(-4.0, 4.0, n)
    for k in "pqf":
        d[k + "7"] = d[k][:K7_N].copy()
    return d


def bytes_of(kernel, n):
    rows = max(1, n // 10)
    return {
        "K1": 3 * B * n, "K2": B * n + B * (n - 1), "K3": 2 * B * n,
        "K4": (2 * B + 4) * n + B * GROUPS, "K5": 3 * B * n, "K7": 3 * B * K7_N,
        "K8": 6 * B * n, "K10": B * rows * COLS + B * COLS + B * rows,
        "K6": 2 * B * n, "K9": B * n + B * (n - K9_W + 1),
    }[kernel]


# ---------------------------------------------------------------- NumPy --

def numpy_impls(d):
    p, q, f = d["p"], d["q"], d["f"]
    a, b, c, dd, e = d["a"], d["b"], d["c"], d["d"], d["e"]
    X, w, e3, p4, sym, x5, y5 = d["X"], d["w"], d["e3"], d["p4"], d["sym"], d["x5"], d["y5"]
    p7, q7, f7 = d["p7"], d["q7"], d["f7"]

    def k3():
        peak = np.maximum.accumulate(e3)
        return (peak - e3) / peak

    def k9():
        c = np.cumsum(p)
        out = np.empty(p.size - K9_W + 1)
        out[0] = c[K9_W - 1]
        np.subtract(c[K9_W:], c[:-K9_W], out=out[1:])
        out /= K9_W
        return out

    return {
        "K9": k9,
        "K1": lambda: np.sum(p * q - f),
        "K2": lambda: (p[1:] - p[:-1]) / p[:-1],
        "K3": k3,
        "K4": lambda: np.bincount(sym, weights=np.where(p4 > 100, p4 * q, 0.0), minlength=GROUPS),
        "K5": lambda: np.exp(-0.5 * x5 * x5) * C5 + np.log1p(np.abs(y5)),
        "K7": lambda: np.sum(p7 * q7 - f7),
        "K8": lambda: ((a * b + c) * dd - e) / (a + 1.5) + np.sqrt(np.abs(b)),
        "K10": lambda: np.sum(X * w, axis=1),
    }


# -------------------------------------------------------------- NumExpr --

NUMEXPR_NOTES = {"K3": "cummax in NumPy", "K4": "bincount in NumPy", "K9": "cumsum in NumPy"}


def numexpr_impls(d):
    ev = ne.evaluate
    p, q, f = d["p"], d["q"], d["f"]
    a, b, c, dd, e = d["a"], d["b"], d["c"], d["d"], d["e"]
    X, w, e3, p4, sym, x5, y5 = d["X"], d["w"], d["e3"], d["p4"], d["sym"], d["x5"], d["y5"]
    p7, q7, f7 = d["p7"], d["q7"], d["f7"]
    p1, p0 = p[1:], p[:-1]

    def k3():
        peak = np.maximum.accumulate(e3)
        return ev("(peak - e) / peak", local_dict={"peak": peak, "e": e3})

    def k4():
        v = ev("where(p > 100, p * q, 0.0)", local_dict={"p": p4, "q": q})
        return np.bincount(sym, weights=v, minlength=GROUPS)

    def k9():
        c = np.empty(p.size + 1)
        c[0] = 0.0
        np.cumsum(p, out=c[1:])
        return ev(f"(c1 - c0) / {K9_W}", local_dict={"c1": c[K9_W:], "c0": c[:-K9_W]})

    return {
        "K9": k9,
        "K1": lambda: ev("sum(p * q - f)", local_dict={"p": p, "q": q, "f": f}),
        "K2": lambda: ev("(p1 - p0) / p0", local_dict={"p1": p1, "p0": p0}),
        "K3": k3,
        "K4": k4,
        "K5": lambda: ev(f"exp(-0.5 * x * x) * {C5!r} + log1p(abs(y))", local_dict={"x": x5, "y": y5}),
        "K7": lambda: ev("sum(p * q - f)", local_dict={"p": p7, "q": q7, "f": f7}),
        "K8": lambda: ev("((a * b + c) * d - e) / (a + 1.5) + sqrt(abs(b))",
                         local_dict={"a": a, "b": b, "c": c, "d": dd, "e": e}),
        "K10": lambda: ev("sum(X * w, axis=1)", local_dict={"X": X, "w": w}),
    }


# ---------------------------------------------------------------- Numba --

def numba_kernels():
    """The @njit and @njit(parallel=True) kernels (defined only when Numba is
    importable)."""

    @njit
    def k1(p, q, f):
        s = 0.0
        for i in range(p.size):
            s += p[i] * q[i] - f[i]
        return s

    @njit(parallel=True)
    def k1_par(p, q, f):
        s = 0.0
        for i in prange(p.size):
            s += p[i] * q[i] - f[i]
        return s

    @njit
    def k2(p):
        out = np.empty(p.size - 1)
        for i in range(p.size - 1):
            out[i] = (p[i + 1] - p[i]) / p[i]
        return out

    @njit(parallel=True)
    def k2_par(p):
        out = np.empty(p.size - 1)
        for i in prange(p.size - 1):
            out[i] = (p[i + 1] - p[i]) / p[i]
        return out

    @njit
    def k3(e):
        out = np.empty(e.size)
        peak = -np.inf
        for i in range(e.size):
            if e[i] > peak:
                peak = e[i]
            out[i] = (peak - e[i]) / peak
        return out

    @njit(parallel=True)
    def k3_par(e):
        # Two-pass block scan: each block's max, the carry of block t is the
        # max of blocks 0..t-1, every block rescanned from its carry.
        n = e.size
        T = numba.get_num_threads()
        out = np.empty(n)
        maxes = np.empty(T)
        for t in prange(T):
            m = -np.inf
            for i in range(n * t // T, n * (t + 1) // T):
                if e[i] > m:
                    m = e[i]
            maxes[t] = m
        carry = np.empty(T)
        carry[0] = -np.inf
        for t in range(1, T):
            carry[t] = max(carry[t - 1], maxes[t - 1])
        for t in prange(T):
            peak = carry[t]
            for i in range(n * t // T, n * (t + 1) // T):
                if e[i] > peak:
                    peak = e[i]
                out[i] = (peak - e[i]) / peak
        return out

    @njit
    def k4(sym, p, q):
        out = np.zeros(GROUPS)
        for i in range(sym.size):
            k = sym[i]
            if k < 0 or k >= GROUPS:
                raise ValueError("group key out of range")
            out[k] += p[i] * q[i] if p[i] > 100.0 else 0.0
        return out

    @njit(parallel=True)
    def k4_par(sym, p, q):
        # Per-thread 64-entry tables, added in thread order.
        n = sym.size
        T = numba.get_num_threads()
        tables = np.zeros((T, GROUPS))
        bad = np.zeros(T, dtype=np.int64)
        for t in prange(T):
            for i in range(n * t // T, n * (t + 1) // T):
                k = sym[i]
                if k < 0 or k >= GROUPS:
                    bad[t] += 1
                else:
                    tables[t, k] += p[i] * q[i] if p[i] > 100.0 else 0.0
        if bad.sum() > 0:
            raise ValueError("group key out of range")
        out = np.zeros(GROUPS)
        for t in range(T):
            for g in range(GROUPS):
                out[g] += tables[t, g]
        return out

    @njit
    def k5(x, y):
        out = np.empty(x.size)
        for i in range(x.size):
            out[i] = math.exp(-0.5 * x[i] * x[i]) * C5 + math.log1p(abs(y[i]))
        return out

    @njit(parallel=True)
    def k5_par(x, y):
        out = np.empty(x.size)
        for i in prange(x.size):
            out[i] = math.exp(-0.5 * x[i] * x[i]) * C5 + math.log1p(abs(y[i]))
        return out

    @njit
    def k8(a, b, c, d, e):
        out = np.empty(a.size)
        for i in range(a.size):
            out[i] = ((a[i] * b[i] + c[i]) * d[i] - e[i]) / (a[i] + 1.5) + math.sqrt(abs(b[i]))
        return out

    @njit(parallel=True)
    def k8_par(a, b, c, d, e):
        out = np.empty(a.size)
        for i in prange(a.size):
            out[i] = ((a[i] * b[i] + c[i]) * d[i] - e[i]) / (a[i] + 1.5) + math.sqrt(abs(b[i]))
        return out

    @njit
    def k10(X, w):
        rows, cols = X.shape
        out = np.empty(rows)
        for r in range(rows):
            s = 0.0
            for j in range(cols):
                s += X[r, j] * w[j]
            out[r] = s
        return out

    @njit(parallel=True)
    def k10_par(X, w):
        rows, cols = X.shape
        out = np.empty(rows)
        for r in prange(rows):
            s = 0.0
            for j in range(cols):
                s += X[r, j] * w[j]
            out[r] = s
        return out

    @njit
    def k6(x, a):
        out = np.empty(x.size)
        out[0] = x[0]
        for i in range(1, x.size):
            out[i] = a * x[i] + (1 - a) * out[i - 1]
        return out

    @njit
    def k9(x, w):
        n = x.size
        out = np.empty(n - w + 1)
        s = 0.0
        for i in range(w):
            s += x[i]
        out[0] = s / w
        for i in range(w, n):
            s += x[i] - x[i - w]
            out[i - w + 1] = s / w
        return out

    @njit(parallel=True)
    def k9_par(x, w):
        # One running sum per thread block of outputs, as the C++ reference.
        m = x.size - w + 1
        T = numba.get_num_threads()
        out = np.empty(m)
        for t in prange(T):
            lo = m * t // T
            hi = m * (t + 1) // T
            if lo < hi:
                s = 0.0
                for i in range(lo, lo + w):
                    s += x[i]
                out[lo] = s / w
                for j in range(lo + 1, hi):
                    s += x[j + w - 1] - x[j - 1]
                    out[j] = s / w
        return out

    return {"K1": (k1, k1_par), "K2": (k2, k2_par), "K3": (k3, k3_par), "K4": (k4, k4_par),
            "K5": (k5, k5_par), "K7": (k1, k1_par), "K8": (k8, k8_par), "K10": (k10, k10_par),
            "K6": (k6, None), "K9": (k9, k9_par)}


def numba_impls(d, parallel):
    ks = numba_kernels_cached()
    i = 1 if parallel else 0
    args = {
        "K1": (d["p"], d["q"], d["f"]), "K2": (d["p"],), "K3": (d["e3"],),
        "K4": (d["sym"], d["p4"], d["q"]), "K5": (d["x5"], d["y5"]), "K7": (d["p7"], d["q7"], d["f7"]),
        "K8": (d["a"], d["b"], d["c"], d["d"], d["e"]), "K10": (d["X"], d["w"]),
        "K6": (d["p"], K6_ALPHA), "K9": (d["p"], K9_W),
    }
    return {k: (lambda fn=ks[k][i], a=args[k]: fn(*a)) for k in ks if ks[k][i] is not None}


_NUMBA = None


def numba_kernels_cached():
    global _NUMBA
    if _NUMBA is None:
        _NUMBA = numba_kernels()
    return _NUMBA


# --------------------------------------------------------------- timing --

def time_median(fn, reps, inner_time):
    """Median seconds per call over reps repetitions; fn already warmed up."""
    t0 = time.perf_counter()
    fn()
    one = time.perf_counter() - t0
    inner = max(1, int(inner_time / max(one, 1e-9)))
    times = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(reps):
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            times.append((time.perf_counter() - t0) / inner)
    finally:
        gc.enable()
    return statistics.median(times)


def matches(kernel, got, want):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return False, f"shape {got.shape}, NumPy {want.shape}"
    # Sums in another order (K1, K4, K7, K10); libm vs other exp/log1p (K5).
    # K9: NumPy's cumsum idiom against running sums.
    rtol = {"K1": 1e-9, "K4": 1e-9, "K7": 1e-12, "K10": 1e-12, "K5": 1e-12, "K9": 1e-8}.get(kernel, 1e-12)
    if not np.allclose(got, want, rtol=rtol, atol=0.0):
        rel = np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-300))
        return False, f"max rel diff {rel:.3g} > {rtol:g}"
    return True, ""


def load_numjit(path):
    """numjit medians from numjit_bench's JSON, via bench/ratios.py:
    (kernel, impl, threads) -> ms."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import ratios  # noqa: E402
    res, _ = ratios.load(path)
    return {k: v[0] for k, v in res.items()}


def fmt_ms(ms):
    return "-" if ms is None else (f"{ms * 1e3:.3f} us" if ms < 0.1 else f"{ms:.3f}")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE ('-': stdout, no table)")
    ap.add_argument("--numjit", metavar="R.JSON", help="numjit_bench JSON: add numjit's time and peer/numjit")
    ap.add_argument("--load", metavar="PEERS.JSON",
                    help="do not run anything: print the tables of an earlier --json output")
    ap.add_argument("--wide", action="store_true",
                    help="one row per kernel and thread count, one column per implementation")
    ap.add_argument("--repetitions", type=int, default=7)
    ap.add_argument("--inner-time", type=float, default=0.05,
                    help="seconds of back-to-back calls per repetition (default 0.05)")
    ap.add_argument("--kernels", default="K1,K2,K3,K4,K5,K6,K7,K8,K9,K10")
    ap.add_argument("--impls", default="numpy,numexpr,numba,numba-parallel")
    args = ap.parse_args(argv[1:])

    if args.load:
        with open(args.load) as fh:
            saved = json.load(fh)
        nj = load_numjit(args.numjit) if args.numjit else {}
        (print_wide if args.wide else print_long)(saved["benchmarks"], nj)
        c = saved["context"]
        print(f"\nMedians of {c['repetitions']} repetitions (time.perf_counter), n = {c['n']}; "
              f"numba threading layer: {c['numba_threading_layer']}.")
        return 0

    n = bench_n()
    all_threads = os.cpu_count() or 1
    counts = [1] + ([all_threads] if all_threads > 1 else [])
    kernels = [k.strip() for k in args.kernels.split(",") if k.strip()]
    impls = [i.strip() for i in args.impls.split(",") if i.strip()]
    print(f"peers.py: n = {n}, threads {counts}, numpy {np.__version__}, "
          f"numexpr {ne.__version__ if ne else 'not installed'}, "
          f"numba {numba.__version__ if numba else 'not installed'}", file=sys.stderr)

    d = make_inputs(n)
    want = {k: fn() for k, fn in numpy_impls(d).items() if k in kernels}
    if "K6" in kernels and numba is not None:  # no NumPy form: the @njit loop is the reference
        want["K6"] = numba_impls(d, False)["K6"]()

    # (impl, threads, set-up, functions, notes)
    plan = []
    if "numpy" in impls:
        plan.append(("numpy", 1, None, numpy_impls(d), {}))
    if "numexpr" in impls and ne is not None:
        for T in counts:
            plan.append(("numexpr", T, lambda T=T: ne.set_num_threads(T), numexpr_impls(d), NUMEXPR_NOTES))
    if numba is not None:
        if "numba" in impls:
            plan.append(("numba", 1, lambda: numba.set_num_threads(1), numba_impls(d, False), {}))
        if "numba-parallel" in impls:
            for T in counts:
                plan.append(("numba-parallel", T, lambda T=T: numba.set_num_threads(T), numba_impls(d, True), {}))

    rows = []
    bad = 0
    for impl, T, setup, fns, notes in plan:
        if setup:
            setup()
        for k in kernels:
            if k not in fns:
                continue
            name = f"{k}/{impl}/threads:{T}"
            try:
                got = fns[k]()  # warm-up: compiles Numba
                ok, why = matches(k, got, want[k]) if k in want else (False, "no reference to check against")
            except Exception as ex:  # a peer that cannot run a kernel
                print(f"{name}: failed: {type(ex).__name__}: {ex}", file=sys.stderr)
                continue
            if not ok:
                bad += 1
                print(f"{name}: result differs from NumPy: {why}", file=sys.stderr)
            sec = time_median(fns[k], args.repetitions, args.inner_time)
            row = {"name": name, "kernel": k, "impl": impl, "threads": T, "ms": sec * 1e3,
                   "gb_per_s": bytes_of(k, n) / sec / 1e9, "verified": ok}
            if k in notes:
                row["note"] = notes[k]
            rows.append(row)
            print(f"{name}: {fmt_ms(sec * 1e3)}", file=sys.stderr)

    context = {"n": n, "k10_shape": f"{max(1, n // 10)}x{COLS}", "k7_n": K7_N,
               "seed": "numpy.random.default_rng(42)", "repetitions": args.repetitions,
               "numpy": np.__version__, "numexpr": ne.__version__ if ne else None,
               "numba": numba.__version__ if numba else None,
               "numba_threading_layer": None, "cpu_count": all_threads}
    if numba is not None and "numba-parallel" in impls:
        try:
            context["numba_threading_layer"] = numba.threading_layer()
        except ValueError:
            pass
    if args.json:
        text = json.dumps({"context": context, "benchmarks": rows}, indent=1)
        if args.json == "-":
            print(text)
            return 1 if bad else 0
        with open(args.json, "w") as fh:
            fh.write(text + "\n")

    nj = load_numjit(args.numjit) if args.numjit else {}
    if args.wide:
        print_wide(rows, nj)
    else:
        print_long(rows, nj)
    print(f"\nMedians of {args.repetitions} repetitions (time.perf_counter), n = {n}; "
          f"numba threading layer: {context['numba_threading_layer']}.")
    return 1 if bad else 0


ORDER = {k: i for i, k in enumerate(["K1", "K2", "K3", "K4", "K5", "K6", "K7", "K8", "K9", "K10"])}
IMPLS = ["numpy", "numexpr", "numba", "numba-parallel"]


def print_wide(rows, nj):
    """kernel | threads | numpy | numexpr | numba | numba-parallel [| numjit | best peer / numjit]."""
    cell = {(r["kernel"], r["threads"], r["impl"]): r for r in rows}
    impls = [i for i in IMPLS if any(r["impl"] == i for r in rows)]
    head = "| kernel | threads | " + " | ".join(f"{i} ms" for i in impls) + " |"
    rule = "|---|---:|" + "---:|" * len(impls)
    if nj:
        head += " numjit ms | best peer / numjit |"
        rule += "---:|---:|"
    print(head)
    print(rule)
    for k, T in sorted({(r["kernel"], r["threads"]) for r in rows}, key=lambda kt: (ORDER.get(kt[0], 99), kt[1])):
        line = f"| {k} | {T} |"
        for i in impls:
            r = cell.get((k, T, i))
            line += " - |" if r is None else f" {fmt_ms(r['ms'])}{'' if r['verified'] else ' MISMATCH'}{'*' if 'note' in r else ''} |"
        if nj:
            m = nj.get((k, "numjit", T))
            best = min((r["ms"] for (kk, tt, _), r in cell.items() if (kk, tt) == (k, T)), default=None)
            line += f" {fmt_ms(m)} | {best / m:.2f} |" if m and best else " - | - |"
        print(line)
    notes = sorted({f"{r['kernel']}: {r['note']}" for r in rows if "note" in r})
    if notes:
        print("\n\\* numexpr " + "; ".join(notes) + ".")


def print_long(rows, nj):
    head = "| kernel | threads | impl | ms | GB/s |"
    rule = "|---|---:|---|---:|---:|"
    if nj:
        head += " numjit ms | impl / numjit |"
        rule += "---:|---:|"
    print(head)
    print(rule)
    imorder = {i: n for n, i in enumerate(IMPLS)}
    for r in sorted(rows, key=lambda r: (ORDER.get(r["kernel"], 99), r["threads"], imorder.get(r["impl"], 9))):
        impl = r["impl"] + (f" ({r['note']})" if "note" in r else "") + ("" if r["verified"] else " MISMATCH")
        line = f"| {r['kernel']} | {r['threads']} | {impl} | {fmt_ms(r['ms'])} | {r['gb_per_s']:.2f} |"
        if nj:
            m = nj.get((r["kernel"], "numjit", r["threads"]))
            line += f" {fmt_ms(m)} | {r['ms'] / m:.2f} |" if m else " - | - |"
        print(line)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
