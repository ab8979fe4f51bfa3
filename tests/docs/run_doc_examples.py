#!/usr/bin/env python3
"""Runs the command-and-output examples of README.md and docs/*.md.

    run_doc_examples.py SOURCE_DIR BUILD_DIR

In every fenced block, a line starting with `$ ` is a shell command (it
continues over the next lines while a quote is open) and the lines after
it, up to the next command or the end of the block, are its expected output
(standard output and standard error together). The commands run with bash
in a fresh directory holding `build` (a link to the build directory, so
`build/numjit` works) and `examples` (a link to the examples), with
`numjit` on PATH, one directory per block; `/tmp/` in a command or its
output means that block's directory.

A block whose lines start with `>>> ` is a REPL session: its entries (with
`... ` continuation lines) are fed to `numjit --repl` in one run, and each
entry's output must be the lines after it, up to the next `>>> `; a
`:time` entry's figures vary, so only its first word is compared.

Matching: the output must equal the expected lines, except that a line
`...` stands for any number of lines, and a command whose comment says the
output varies (`# ... names vary ...`) is checked for its number of words
only. Trailing blank lines of the expected output are ignored. A command with no expected output must exit with status 0.
`$ cat FILE` followed by lines defines FILE for the commands after it.
Exits 1 and prints each difference when an example does not hold.
"""
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path


def examples(md: Path):
    """Yields [line number, command, expected lines, -, block number] of each example."""
    lines = md.read_text().splitlines()
    in_block = False
    block = 0
    cur = None
    for no, line in enumerate(lines, 1):
        if line.startswith("```"):
            if in_block and cur:
                yield cur
            cur = None
            in_block = not in_block
            block += 1
            continue
        if not in_block:
            continue
        if cur and cur[3]:  # inside a quoted, multi-line command
            cur[1] += "\n" + line
            cur[3] = open_quote(cur[1])
            continue
        if line.startswith("$ "):
            if cur:
                yield cur
            cmd = line[2:]
            cur = [no, cmd, [], open_quote(cmd), block]
        elif cur:
            cur[2].append(line)


def repl_sessions(md: Path):
    """Yields [line number, [(entry, expected lines)]] of each REPL block."""
    lines = md.read_text().splitlines()
    in_block = False
    cur = None
    for no, line in enumerate(lines, 1):
        if line.startswith("```"):
            if in_block and cur and cur[1]:
                yield cur
            in_block = not in_block
            cur = [no + 1, []] if in_block else None
            continue
        if not in_block or cur is None:
            continue
        if line.startswith(">>> "):
            cur[1].append([line[4:], []])
        elif line.startswith("... ") and cur[1]:
            cur[1][-1][0] += "\n" + line[4:]
        elif cur[1]:
            cur[1][-1][1].append(line)
        elif line.strip():
            cur = None  # output before any entry: not a REPL session


def check_repl(md: Path, src: Path, no: int, entries, env) -> bool:
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        (work / "examples").symlink_to(src / "examples")
        env["NUMJIT_CACHE_DIR"] = str(work / "cache")
        stdin = "".join(entry + "\n" for entry, _ in entries)
        p = subprocess.run(["numjit", "--repl"], cwd=work, env=env, input=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=300)
    out = p.stdout.split("\n", 1)[1] if "\n" in p.stdout else ""
    pieces = out.split(">>> ")[1:]
    ok = True
    for i, (entry, want) in enumerate(entries):
        # The prompts of an entry's continuation lines come before its output.
        got = pieces[i].replace("... ", "").splitlines() if i < len(pieces) else ["(no output: the REPL stopped)"]
        while want and not want[-1].strip():
            want = want[:-1]
        if entry.startswith(":time"):
            good = bool(got) and bool(want) and got[0].split()[:1] == want[0].split()[:1]
        else:
            good = matches(want, got)
        if not good:
            ok = False
            print(f"{md.relative_to(src)}:{no}: >>> {entry}\n  expected:\n" +
                  "".join(f"    {line}\n" for line in want) + "  got:\n" + "".join(f"    {line}\n" for line in got))
    return ok


def open_quote(cmd: str) -> bool:
    """Whether a single or double quote is left open in cmd."""
    quote = None
    for c in cmd:
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "#":
            break
    return quote is not None


def matches(expected, got) -> bool:
    if not expected:
        return not got
    if expected[0].strip() == "...":
        return any(matches(expected[1:], got[i:]) for i in range(len(got) + 1))
    return bool(got) and expected[0] == got[0] and matches(expected[1:], got[1:])


def main() -> int:
    src, build = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    docs = [src / "README.md"] + sorted((src / "docs").glob("*.md"))
    failures = 0
    count = 0
    env = dict(os.environ)
    env["PATH"] = f"{build}:{env['PATH']}"
    env.pop("NUMJIT_TRACE", None)
    for md in docs:
        dirs = {}
        for no, cmd, expected, _, block in examples(md):
            if block not in dirs:
                dirs[block] = tempfile.TemporaryDirectory()
                work = Path(dirs[block].name)
                (work / "build").symlink_to(build)
                (work / "examples").symlink_to(src / "examples")
                (work / "tmp").mkdir()
            work = Path(dirs[block].name)
            env["NUMJIT_CACHE_DIR"] = str(work / "cache")
            if True:
                run = cmd.replace("/tmp/", f"{work}/tmp/")
                want = [line.replace("/tmp/", f"{work}/tmp/") for line in expected]
                cat = re.fullmatch(r"cat (\S+)", cmd.strip())
                if cat:  # the file as the example shows it, for the commands after it
                    defined = "\n".join(expected) + "\n"
                    files[cat.group(1)] = defined
                    continue
                for name, text in files.items():
                    (work / name).write_text(text)
                count += 1
                while want and not want[-1].strip():
                    want.pop()
                p = subprocess.run(["bash", "-c", run], cwd=work, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, timeout=300)
                got = p.stdout.splitlines()
                if "vary" in cmd.split("#", 1)[-1] and "#" in cmd:
                    ok = len(" ".join(got).split()) == len(" ".join(want).split())
                elif not want:
                    ok = p.returncode == 0
                else:
                    ok = matches(want, got)
                if not ok:
                    failures += 1
                    print(f"{md.relative_to(src)}:{no}: $ {cmd}\n  expected:\n" +
                          "".join(f"    {line}\n" for line in want) + f"  got (exit {p.returncode}):\n" +
                          "".join(f"    {line}\n" for line in got))
        files.clear()
        for d in dirs.values():
            d.cleanup()
        for no, entries in repl_sessions(md):
            count += len(entries)
            if not check_repl(md, src, no, entries, env):
                failures += 1
    print(f"{count} documented commands, {failures} failed")
    return 1 if failures else 0


files = {}

if __name__ == "__main__":
    sys.exit(main())
