#!/bin/sh
# FileCheck tests of generated code: run.sh NUMJIT FILECHECK FILE.nj
# FILE.nj says `# emit: STAGE` (default llvm-opt) and `# cpu: NAME` (default
# haswell: the checks name that CPU's vector widths and libmvec variants, so
# they hold on any host); its `CHECK` lines are FileCheck's.
set -eu
numjit=$1 filecheck=$2 file=$3
stage=$(sed -n 's/^# emit: *//p' "$file" | head -n 1)
cpu=$(sed -n 's/^# cpu: *//p' "$file" | head -n 1)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
NUMJIT_CPU=${cpu:-haswell} "$numjit" --no-cache --emit="${stage:-llvm-opt}" "$file" > "$out" 2>&1 || { cat "$out"; exit 1; }
"$filecheck" --input-file="$out" "$file"
