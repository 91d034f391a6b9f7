#!/usr/bin/env bash
# Layer format benchmark: size and create time of our layer against mksquashfs (zstd and xz,
# 1 MiB blocks) on a Debian bookworm minbase tree, plus block-size and level sweeps.
# Usage: bench/layers.sh [tree]      (default: scripts/debian-rootfs.sh's cached debootstrap tree)
# Writes bench/results/layers.md. Needs: dotnet, mksquashfs, hyperfine, debootstrap (first run).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
# Default: the same tree the tests and the Debian image use (bootstrapped once, then cached).
tree=${1:-$("$repo/scripts/debian-rootfs.sh" tree)}
runs=${RUNS:-3}

dotnet build -c Release "$here/LayerBench" -v quiet -nologo >/dev/null
bench="dotnet $here/LayerBench/bin/Release/net10.0/LayerBench.dll"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

size() { stat -c %s "$1"; }
seconds() { python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']; print(' '.join('%.2f' % x['mean'] for x in r))" "$1"; }

echo "== create time (hyperfine, $runs runs each) =="
hyperfine --runs "$runs" --warmup 1 --export-json "$work/create.json" \
    -n layer "$bench create $tree $work/default.layer" \
    -n squashfs-zstd "mksquashfs $tree $work/zstd.sqfs -comp zstd -b 1M -noappend -no-progress -quiet"
read -r t_layer t_zstd < <(seconds "$work/create.json")

echo "== mksquashfs xz (one run) =="
start=$(date +%s.%N)
mksquashfs "$tree" "$work/xz.sqfs" -comp xz -b 1M -noappend -no-progress -quiet
t_xz=$(python3 -c "import time,sys; print('%.2f' % (time.time() - float(sys.argv[1])))" "$start")

s_layer=$(size "$work/default.layer"); s_zstd=$(size "$work/zstd.sqfs"); s_xz=$(size "$work/xz.sqfs")
input=$(du -sb --apparent-size "$tree" | cut -f1)

echo "== block sizes (level 7) =="
blocks=""
for bs in 1048576 4194304 16777216; do
    line=$($bench create "$tree" "$work/bs.layer" 7 "$bs")
    read_line=$($bench randread "$work/bs.layer" 300 4096)
    secs=${line#seconds=}; secs=${secs%% *}
    blocks+="| $((bs / 1048576)) MiB | $(size "$work/bs.layer") | $(python3 -c "print('%.3f' % ($(size "$work/bs.layer") / $s_zstd))") | $secs | ${read_line##*us_per_read=} |"$'\n'
done

echo "== levels (default block size) =="
levels=""
for level in 0 1 2 3 4 5 6 7 8 9; do
    line=$($bench create "$tree" "$work/level.layer" "$level")
    secs=${line#seconds=}; secs=${secs%% *}
    levels+="| $level | $(size "$work/level.layer") | $(python3 -c "print('%.3f' % ($(size "$work/level.layer") / $s_zstd))") | $secs |"$'\n'
done

ratio() { python3 -c "print('%.3f' % ($1 / $2))"; }
mkdir -p "$here/results"
cat > "$here/results/layers.md" <<MD
# Layer format benchmark

Command: \`bench/layers.sh\` (tree: \`$tree\`, $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m)).
Input: Debian bookworm \`debootstrap --variant=minbase\`, $input bytes apparent size,
$(find "$tree" | wc -l) paths. Layer defaults: level 7, 16 MiB blocks.

## Size and create time

| | bytes | vs squashfs zstd | create seconds | vs squashfs zstd |
|---|---:|---:|---:|---:|
| layer (default) | $s_layer | $(ratio "$s_layer" "$s_zstd") | $t_layer | $(ratio "$t_layer" "$t_zstd") |
| mksquashfs -comp zstd -b 1M | $s_zstd | 1.000 | $t_zstd | 1.000 |
| mksquashfs -comp xz -b 1M | $s_xz | $(ratio "$s_xz" "$s_zstd") | $t_xz | $(ratio "$t_xz" "$t_zstd") |

Targets: size <= 0.90 x squashfs zstd, create time <= 1.0 x mksquashfs zstd.
Create times are hyperfine means over $runs runs (one warm-up); the layer's include .NET start-up.
The xz time is one run.

## Block size (level 7)

A cold read is one 4 KiB read at a random offset of a random file through a reader with no
block cache, so every read fetches, checks and decompresses one whole block.

| block | bytes | vs squashfs zstd | create seconds (one run) | us per cold 4 KiB read |
|---|---:|---:|---|---:|
$blocks
## FIM_COMPRESSION_LEVEL (16 MiB blocks)

| level | bytes | vs squashfs zstd | create seconds (one run) |
|---:|---:|---:|---:|
$levels
MD
cat "$here/results/layers.md"
