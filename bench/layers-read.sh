#!/usr/bin/env bash
# Layer read performance, side by side in one run, on the cached debootstrap tree of the layer
# tests (scripts/debian-rootfs.sh):
#   cold full-tree read   tar -cf - . | cat >/dev/null   ours (fim-layer mount) vs squashfuse_ll
#   cold metadata walk    find . -printf '%s %m\n'        ours vs squashfuse_ll
#   warm full-tree read   tar -cf - . | cat >/dev/null   ours vs the plain directory
# "Cold" = freshly mounted (empty FUSE/kernel caches) after echo 3 > /proc/sys/vm/drop_caches.
# Each figure is the median of $RUNS runs. Needs root (drop_caches, mounts).
# Usage: bench/layers-read.sh [results.md]   env: RUNS=5 FIM_LAUNCHER=out/launcher/flatimage
#        FIM_BENCH_WORKERS, FIM_BENCH_CACHE_MB (tuning knobs passed to the layer mount)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${RUNS:-5}
LAUNCHER=$(realpath "${FIM_LAUNCHER:-out/launcher/flatimage}")
WORK=${FIM_BENCH_WORK:-/tmp/fim-bench-layers}
OUT=${1:-bench/results/layers-read.md}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
TREE=$(scripts/debian-rootfs.sh tree)
[ -x "$LAUNCHER" ] || { echo "$LAUNCHER missing: dotnet publish Cli -c Release -r linux-x64 -o out/launcher" >&2; exit 1; }
mkdir -p "$WORK/ours" "$WORK/squash"

# The same tree in both formats; rebuilt when the launcher is newer than our layer.
if [ ! -s "$WORK/tree.layer" ] || [ "$LAUNCHER" -nt "$WORK/tree.layer" ]; then
  "$LAUNCHER" fim-layer create "$TREE" "$WORK/tree.layer" >/dev/null 2>&1
fi
[ -s "$WORK/tree.sqfs" ] || mksquashfs "$TREE" "$WORK/tree.sqfs" -comp zstd -b 1M -noappend -quiet >/dev/null

# Both images are copied afresh for every run: drop_caches empties this VM's page cache but not
# the host's, which keeps recently written files; fresh copies make "cold" equally cold for both.
cp "$WORK/tree.layer" "$WORK/run.layer"; cp "$WORK/tree.sqfs" "$WORK/run.sqfs"; sync

OURS_PID=
mount_ours()   { "$LAUNCHER" fim-layer mount "$WORK/run.layer" "$WORK/ours" & OURS_PID=$!; wait_mounted "$WORK/ours"; }
umount_ours()  { kill -TERM "$OURS_PID"; wait "$OURS_PID" || true; OURS_PID=; }
mount_squash() { squashfuse_ll "$WORK/run.sqfs" "$WORK/squash"; wait_mounted "$WORK/squash"; }
umount_squash(){ umount "$WORK/squash"; }
cleanup() {
  if [ -n "$OURS_PID" ]; then kill -TERM "$OURS_PID" 2>/dev/null || true; fi
  umount -l "$WORK/squash" 2>/dev/null || true
  umount -l "$WORK/ours" 2>/dev/null || true
}
trap cleanup EXIT

# Seconds taken by a command run in directory $1.
timed() { local dir=$1; shift; local t0 t1; t0=$(date +%s.%N); (cd "$dir" && eval "$*"); t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
median() { sort -g | awk '{a[NR]=$1} END {printf "%.3f", (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
READ='tar -cf - . | cat >/dev/null'
WALK="find . -printf '%s %m\n' >/dev/null"

# One cold run: fresh mount, empty page cache, timed command, unmount.
# Prints "<seconds to mount until usable> <seconds of the command>".
cold_once() { # cold_once <mount fn> <umount fn> <dir> <command>
  sync; echo 3 > /proc/sys/vm/drop_caches
  local t0 t1; t0=$(date +%s.%N); "$1"; t1=$(date +%s.%N)
  echo "$(echo "$t1 - $t0" | bc -l) $(timed "$3" "$4")"; "$2"
}
# Ours and the peer alternate run by run, so that both see the same background load.
declare -A T
for _ in $(seq 1 "$RUNS"); do
  read -r _ r < <(cold_once mount_ours umount_ours "$WORK/ours" "$READ"); T[cr_ours]+="$r "
  read -r _ r < <(cold_once mount_squash umount_squash "$WORK/squash" "$READ"); T[cr_sq]+="$r "
  read -r m w < <(cold_once mount_ours umount_ours "$WORK/ours" "$WALK"); T[mt_ours]+="$m "; T[cw_ours]+="$w "
  read -r m w < <(cold_once mount_squash umount_squash "$WORK/squash" "$WALK"); T[mt_sq]+="$m "; T[cw_sq]+="$w "
done
mount_ours
timed "$WORK/ours" "$READ" >/dev/null; timed "$TREE" "$READ" >/dev/null # fill the caches
for _ in $(seq 1 "$RUNS"); do
  T[wr_ours]+="$(timed "$WORK/ours" "$READ") "
  T[wr_plain]+="$(timed "$TREE" "$READ") "
done
umount_ours
med() { tr ' ' '\n' <<<"${T[$1]}" | grep . | median; }
cold_read_ours=$(med cr_ours); cold_read_sq=$(med cr_sq)
cold_walk_ours=$(med cw_ours); cold_walk_sq=$(med cw_sq)
warm_read_ours=$(med wr_ours); warm_read_plain=$(med wr_plain)
mount_ours_s=$(med mt_ours); mount_sq_s=$(med mt_sq)
load=$(cut -d' ' -f1-3 /proc/loadavg)

ratio() { echo "scale=2; $1 / $2" | bc -l | sed 's/^\./0./'; }
{
  echo "# Layer read benchmark"
  echo
  echo "\`bench/layers-read.sh\` (RUNS=$RUNS, median seconds), $(date -u +%Y-%m-%dT%H:%MZ), $(uname -r), $(nproc) CPUs."
  echo "Tree: debootstrap --variant=minbase bookworm ($(du -sh --apparent-size "$TREE" | cut -f1), $(find "$TREE" | wc -l) paths)."
  echo "Both images copied afresh before the run (the host's cache is outside our drop_caches)."
  echo "Load average at the end: $load (the machine is shared; runs alternate ours/peer to share the noise)."
  echo "Knobs: FIM_LAYER_WORKERS=${FIM_LAYER_WORKERS:-default} FIM_LAYER_CACHE_MB=${FIM_LAYER_CACHE_MB:-default} FIM_LAYER_MAX_PAGES=${FIM_LAYER_MAX_PAGES:-default} FIM_LAYER_READAHEAD_KB=${FIM_LAYER_READAHEAD_KB:-default}."
  echo "Ours: \`fim-layer mount\` of \`fim-layer create\` ($(du -h "$WORK/tree.layer" | cut -f1)); peer: \`squashfuse_ll\` of"
  echo "\`mksquashfs -comp zstd -b 1M\` ($(du -h "$WORK/tree.sqfs" | cut -f1)). Cold = fresh mount after \`echo 3 > /proc/sys/vm/drop_caches\`."
  echo
  echo "| measurement | command | ours (s) | peer (s) | ours / peer | target |"
  echo "|---|---|---|---|---|---|"
  echo "| cold full-tree read | \`${READ//|/\\|}\` | $cold_read_ours | $cold_read_sq (squashfuse_ll) | $(ratio "$cold_read_ours" "$cold_read_sq") | ≤ 1.0 |"
  echo "| cold metadata walk | \`$WALK\` | $cold_walk_ours | $cold_walk_sq (squashfuse_ll) | $(ratio "$cold_walk_ours" "$cold_walk_sq") | ≤ 1.0 |"
  echo "| cold mount, until usable (not a target; ours reads and checks all metadata here, and starts the launcher) | mount, then \`stat -f\` | $mount_ours_s | $mount_sq_s (squashfuse_ll) | $(ratio "$mount_ours_s" "$mount_sq_s") | – |"
  echo "| warm full-tree read | \`${READ//|/\\|}\` | $warm_read_ours | $warm_read_plain (plain directory) | $(ratio "$warm_read_ours" "$warm_read_plain") | ≤ 1.2 |"
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
cat "$OUT"
exit 0
