#!/usr/bin/env bash
# `app.flatimage fim-exec true`, whole process, side by side in one hyperfine run with
#   (a) bwrap alone on the plain busybox directory — the floor;
#   (b) the composite a user could write with Debian's tools: squashfuse_ll + fuse-overlayfs +
#       bwrap + the two unmounts, on a zstd SquashFS of the same tree.
# Writes bench/results/run.md. Usage: bench/run.sh [base image, default dist/blueprint.flatimage]  (run ./build.sh first)
set -euo pipefail
cd "$(dirname "$0")/.."
launcher=$(realpath "${1:-dist/blueprint.flatimage}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The busybox tree, as the tests build it.
mkdir -p "$work/tree"/{bin,etc,tmp,root,home,usr/bin,dev,proc,sys}
cp /bin/busybox "$work/tree/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$work/tree/bin/$a"; done

cp "$launcher" "$work/app.flatimage"
"$work/app.flatimage" fim-layer create "$work/tree" "$work/tree.layer" >/dev/null 2>&1
"$work/app.flatimage" fim-layer add "$work/tree.layer" >/dev/null
"$work/app.flatimage" fim-exec true 2>/dev/null # first run: relocation, one-time warnings
mksquashfs "$work/tree" "$work/tree.sqfs" -comp zstd -b 1M -noappend -quiet >/dev/null

cat > "$work/composite.sh" <<SH
#!/bin/sh
set -e
d=\$(mktemp -d)
mkdir \$d/lower \$d/upper \$d/work \$d/merged
squashfuse_ll "$work/tree.sqfs" \$d/lower
fuse-overlayfs -o lowerdir=\$d/lower,upperdir=\$d/upper,workdir=\$d/work \$d/merged 2>/dev/null
bwrap --bind \$d/merged / --dev /dev --proc /proc --tmpfs /tmp --unshare-pid --unshare-net --die-with-parent true
fusermount3 -u \$d/merged
fusermount3 -u \$d/lower
rm -rf \$d
SH
chmod +x "$work/composite.sh"

hyperfine -N --warmup 5 --runs "${RUNS:-60}" --export-json "$work/result.json" \
  -n "bwrap alone (plain directory)" "bwrap --bind $work/tree / --dev /dev --proc /proc --tmpfs /tmp --unshare-pid --unshare-net --die-with-parent true" \
  -n "composite: squashfuse_ll + fuse-overlayfs + bwrap + unmounts" "$work/composite.sh" \
  -n "app.flatimage fim-exec true" "$work/app.flatimage fim-exec true" >/dev/null

python3 - "$work/result.json" "$(nproc)" "$(git rev-parse --short HEAD)" "$(bwrap --version)" <<'PY' > bench/results/run.md
import json, sys, statistics
r = json.load(open(sys.argv[1]))["results"]
med = [statistics.median(x["times"]) for x in r]
print("# Run: `fim-exec true`, whole process\n")
print(f"Commit {sys.argv[3]}, {sys.argv[2]} cores, {sys.argv[4]}, hyperfine -N, one run, as {'root' if __import__('os').getuid()==0 else 'a user'}.")
print("Command: `bench/run.sh` (after `./build.sh`). Target: median ≤ 1.25 × the composite.\n")
print("| command | median ms | mean ms | ratio to composite | ratio to bwrap alone |")
print("|---|---|---|---|---|")
for x, m in zip(r, med):
    print(f"| {x['command']} | {m*1000:.1f} | {x['mean']*1000:.1f} | {m/med[1]:.2f} | {m/med[0]:.2f} |")
PY
cat bench/results/run.md
