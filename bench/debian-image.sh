#!/usr/bin/env bash
# The Debian image (scripts/build-debian-image.sh), in one run:
#   size   debian.flatimage beside the base image + `mksquashfs -comp zstd -b 1M` of the same
#          prepared rootfs (what a SquashFS-based single file would weigh);
#   time   `debian.flatimage fim-exec true`, hyperfine -N, side by side:
#          - first run: a fresh copy's first start (no relocated launcher in the runtime directory,
#            no data directory), page cache warm — a just-downloaded file;
#          - first run, cold: the same after dropping the page cache (a file read from disk);
#          - later runs: relocated launcher, data directory, page cache all warm;
#          - bwrap alone on the extracted rootfs directory: the floor.
# Writes bench/results/debian-image.md. Needs root (debootstrap, drop_caches).
# Usage: bench/debian-image.sh [base image, default dist/blueprint.flatimage]   (run ./build.sh first)   env: RUNS=20
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
launcher=$(realpath "${1:-dist/blueprint.flatimage}")
runs=${RUNS:-20}
work=$(mktemp -d /tmp/fim-bench-debian.XXXXXX)
trap 'rm -rf --one-file-system "$work"' EXIT

scripts/build-debian-image.sh "$launcher" "$work/debian.flatimage" --keep-rootfs "$work/rootfs" >/dev/null 2>&1
mksquashfs "$work/rootfs" "$work/rootfs.sqfs" -comp zstd -b 1M -noappend -quiet >/dev/null

image=$(stat -c %s "$work/debian.flatimage")
bare=$(stat -c %s "$launcher")
sqfs=$(stat -c %s "$work/rootfs.sqfs")
layer=$("$work/debian.flatimage" fim-layer list | head -n1 | cut -d: -f3)
rootfs=$(du -sb --apparent-size "$work/rootfs" | cut -f1)
files=$(find "$work/rootfs" | wc -l)

# Each image run gets its own runtime directory (XDG_RUNTIME_DIR) so "first run" can be reset
# without touching anyone else's instances.
mkdir -m 700 "$work/xdg"
export XDG_RUNTIME_DIR="$work/xdg"
fresh="rm -rf $work/xdg/fim $work/.debian.flatimage.data"
"$work/debian.flatimage" fim-exec true 2>/dev/null # one-time warnings out of the way

hyperfine -N --runs "$runs" --export-json "$work/first.json" \
  --prepare "sh -c '$fresh'" -n "first run (fresh runtime and data directories)" "$work/debian.flatimage fim-exec true" >/dev/null
# Fewer cold runs: dropping the page cache slows everything else on the machine too.
hyperfine -N --runs "$(( runs < 10 ? runs : 10 ))" --export-json "$work/cold.json" \
  --prepare "sh -c '$fresh; sync; echo 3 > /proc/sys/vm/drop_caches'" -n "first run, cold page cache" "$work/debian.flatimage fim-exec true" >/dev/null
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/later.json" \
  -n "later runs" "$work/debian.flatimage fim-exec true" \
  -n "bwrap alone (extracted rootfs directory)" "bwrap --bind $work/rootfs / --dev /dev --proc /proc --tmpfs /tmp --unshare-pid --unshare-net --die-with-parent true" >/dev/null

load=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$work/first.json" "$work/cold.json" "$work/later.json" "$load" "$(nproc)" "$(git rev-parse --short HEAD)" "$(bwrap --version)" \
  "$image" "$bare" "$sqfs" "$layer" "$rootfs" "$files" "$runs" <<'PY' > bench/results/debian-image.md
import json, sys, statistics
first, cold, later, load, cores, commit, bwrap = sys.argv[1:8]
image, bare, sqfs, layer, rootfs, files, runs = map(int, sys.argv[8:15])
r = [x for f in (first, cold, later) for x in json.load(open(f))["results"]]
med = {x["command"]: statistics.median(x["times"]) for x in r}
warm = med["later runs"]
mb = lambda b: f"{b / 1e6:.1f} MB"
print("# Debian image: size and start time\n")
print(f"Commit {commit}, {cores} cores (load average at the end: {load}), {bwrap}, as root. "
      "Command: `bench/debian-image.sh` (after `./build.sh`).")
print(f"Rootfs: `debootstrap --variant=minbase bookworm` as scripts/build-debian-image.sh prepares it, "
      f"{mb(rootfs)} apparent size, {files} paths.\n")
print("## Size\n")
print("| file | bytes | size | ratio to base + SquashFS |")
print("|---|---|---|---|")
rows = [("debian.flatimage (base image + layer)", image),
        ("  its Debian layer (our format, zstd)", layer),
        ("base image (launcher, config region, tools bundle)", bare),
        ("`mksquashfs -comp zstd -b 1M` of the same rootfs", sqfs),
        ("base image + SquashFS", bare + sqfs)]
for name, b in rows:
    print(f"| {name} | {b} | {mb(b)} | {b / (bare + sqfs):.3f} |")
print(f"\nLayer vs SquashFS alone: {layer / sqfs:.3f}.\n")
print("## `debian.flatimage fim-exec true`\n")
print(f"hyperfine -N, {runs} runs each ({min(runs, 10)} cold); medians.\n")
print("| run | median ms | mean ms | ratio to later runs |")
print("|---|---|---|---|")
for x in r:
    m = med[x["command"]]
    print(f"| {x['command']} | {m * 1000:.1f} | {x['mean'] * 1000:.1f} | {m / warm:.2f} |")
PY
cat bench/results/debian-image.md
