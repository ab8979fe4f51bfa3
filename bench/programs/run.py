#!/usr/bin/python3
"""Times each program of bench/programs/ under numjit and under Numba @njit.

Each NAME.nj holds numjit kernels and a `# call: EXPR` line; NAME.py holds
the same functions under Numba's @njit and setup(rng), the inputs. Both
run on the same data (saved as .npy, loaded by numjit), their results are
compared (to 1e-12 relative), and the times are printed as a table:
numjit timed by the REPL's :time (no start-up, no compile), Numba by
time.perf_counter around the call after a warm-up call. Each side's figure
is the median of its runs and, with --min, the fastest run: on a shared VM
whose neighbours come and go, the minimum is the figure that repeats.

  /usr/bin/python3 bench/programs/run.py [--numjit build/numjit] [--threads 1,2] [--min] [NAME ...]
"""
import argparse
import importlib.util
import pathlib
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
UNITS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def numjit_time(numjit, source, call, inputs, threads, out, fastest):
    lines = [f":threads {threads}", source.rstrip(), ""]
    lines += [f'{name} = load("{path}")' for name, path in inputs.items()]
    lines += [f":time {call}", f'save("{out}", {call})', ":quit"]
    r = subprocess.run([numjit, "--repl"], input="\n".join(lines) + "\n", capture_output=True, text=True)
    m = re.search(r"min ([0-9.]+) (ns|us|ms|s)\)" if fastest else r"median ([0-9.]+) (ns|us|ms|s) ", r.stdout)
    if not m or "error" in r.stdout + r.stderr:
        sys.exit(f"numjit failed on {call}:\n{r.stdout}\n{r.stderr}")
    return float(m.group(1)) * UNITS[m.group(2)]


def numba_time(fn, args, fastest, reps=15):
    fn(*args)
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn(*args)
        ts.append(time.perf_counter() - t)
    return (min(ts) if fastest else sorted(ts)[len(ts) // 2]) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--numjit", default=str(HERE.parent.parent / "build" / "numjit"))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--min", action="store_true", help="report each side's fastest run, not the median")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    names = a.names or sorted(p.stem for p in HERE.glob("*.nj"))
    threads = [int(t) for t in a.threads.split(",")]
    print(f"{'program':<20} {'threads':>7} {'numjit ms':>10} {'Numba ms':>10} {'numjit/Numba':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            source = (HERE / f"{name}.nj").read_text()
            call = re.search(r"^# call: (.+)$", source, re.M).group(1)
            spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            data = mod.setup(np.random.default_rng(42))
            paths = {}
            for k, v in data.items():
                paths[k] = f"{tmp}/{name}_{k}.npy"
                np.save(paths[k], v)
            fn = getattr(mod, call.split("(")[0])
            args = [data[k.strip()] for k in call[call.index("(") + 1:-1].split(",")]
            want = fn(*args)
            for t in threads:
                import numba
                numba.set_num_threads(min(t, numba.config.NUMBA_NUM_THREADS))
                out = f"{tmp}/{name}_out.npy"
                nj = numjit_time(a.numjit, source, call, paths, t, out, a.min)
                got = np.load(out) if np.ndim(want) else float(np.load(out))
                if not np.allclose(got, want, rtol=1e-12, atol=0, equal_nan=True):
                    sys.exit(f"{name}: numjit and Numba disagree")
                nb = numba_time(fn, args, a.min)
                print(f"{name:<20} {t:>7} {nj:>10.3f} {nb:>10.3f} {nj / nb:>13.2f}")


if __name__ == "__main__":
    main()
