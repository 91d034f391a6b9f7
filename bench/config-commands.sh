#!/usr/bin/env bash
# Wall time of configuration commands, whole-process, side by side with `bwrap --version` (the floor
# for starting a small native process) in one hyperfine run. Writes bench/results/config-commands.md.
# Usage: bench/config-commands.sh [launcher]   (default: out/launcher/flatimage; run ./build.sh first)
set -euo pipefail
cd "$(dirname "$0")/.."
launcher=${1:-out/launcher/flatimage}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$launcher" "$work/app.flatimage"
image="$work/app.flatimage"
"$image" fim-perms add home,network,wayland >/dev/null
"$image" fim-env add 'A=1' >/dev/null

hyperfine -N --warmup 20 --runs 300 --export-json "$work/result.json" \
  -n "bwrap --version" "bwrap --version" \
  -n "fim-perms list" "$image fim-perms list" \
  -n "fim-version short" "$image fim-version short" \
  -n "fim-perms add (relocates, writes)" "$image fim-perms add audio" >/dev/null

python3 - "$work/result.json" "$(nproc)" "$(git rev-parse --short HEAD)" <<'PY' > bench/results/config-commands.md
import json, sys, statistics
data = json.load(open(sys.argv[1]))["results"]
floor = statistics.median(data[0]["times"])
print("# Configuration commands: wall time per whole-process run\n")
print(f"Commit {sys.argv[3]}, {sys.argv[2]} cores, hyperfine -N --warmup 20 --runs 300, one run.")
print("Command: `bench/config-commands.sh` (after `./build.sh`). Target: median under 15 ms.\n")
print("| command | median ms | mean ms | p95 ms | median / bwrap --version |")
print("|---|---|---|---|---|")
for r in data:
    t = sorted(r["times"])
    med = statistics.median(t)
    p95 = t[int(len(t) * 0.95)]
    print(f"| `{r['command']}` | {med*1000:.2f} | {r['mean']*1000:.2f} | {p95*1000:.2f} | {med/floor:.1f}x |")
PY
cat bench/results/config-commands.md
