#!/usr/bin/env bash
# The start-time cost of the sandbox's seccomp filter and new session: `fim-exec true` on a busybox
# image made from two launchers that differ only in those two bwrap options (the control is built
# from the same commit with `--seccomp` and `--new-session` left out of Runtime/Sandbox/BwrapCommandLine.cs).
# Writes bench/results/seccomp.md.
# Usage: bench/seccomp.sh <blueprint with the filter> <control blueprint without it>
set -euo pipefail
cd "$(dirname "$0")/.."
with=$(realpath "$1")
without=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf --one-file-system "$work"' EXIT

mkdir -p "$work/tree"/{bin,etc,tmp,root,home,usr/bin,dev,proc,sys}
cp /bin/busybox "$work/tree/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$work/tree/bin/$a"; done
"$with" fim-layer create "$work/tree" "$work/tree.layer" >/dev/null 2>&1
for v in with without; do
  mkdir "$work/$v"
  cp "${!v}" "$work/$v/app.flatimage"
  "$work/$v/app.flatimage" fim-layer add "$work/tree.layer" >/dev/null
  "$work/$v/app.flatimage" fim-exec true 2>/dev/null # first run: relocation, tool extraction
done

hyperfine -N --warmup 5 --runs "${RUNS:-40}" --export-json "$work/result.json" \
  -n "fim-exec true, seccomp filter + new session" "$work/with/app.flatimage fim-exec true" \
  -n "fim-exec true, neither (control)" "$work/without/app.flatimage fim-exec true" >/dev/null

python3 - "$work/result.json" "$(nproc)" "$(git rev-parse --short HEAD)" <<'PY' > bench/results/seccomp.md
import json, sys, statistics, os
r = json.load(open(sys.argv[1]))["results"]
med = [statistics.median(x["times"]) for x in r]
print("# Start-time cost of the seccomp filter and the new session\n")
print(f"Commit {sys.argv[3]}, {sys.argv[2]} cores, hyperfine -N, one run, as {'root' if os.getuid()==0 else 'a user'}, on a busybox image.")
print("Command: `bench/seccomp.sh <blueprint> <control blueprint>` (see the script for the control).\n")
print("| command | median ms | mean ms | stddev ms |")
print("|---|---|---|---|")
for x, m in zip(r, med):
    print(f"| {x['command']} | {m*1000:.1f} | {x['mean']*1000:.1f} | {x['stddev']*1000:.1f} |")
print(f"\nDifference of the medians: {(med[0]-med[1])*1000:+.1f} ms.")
PY
cat bench/results/seccomp.md
