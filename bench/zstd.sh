#!/usr/bin/env bash
# libzstd, linked into the launcher, against ZstdSharp, the managed port it replaced, side by side
# in one run on the cached debootstrap tree (scripts/debian-rootfs.sh):
#   codec           every zstd block of a 1 MiB-block layer of the tree, decompressed, then
#                   compressed again with the writer's level and window, by both libraries in one
#                   process, alternating (LayerBench codec)
#   cold 4 KiB read LayerBench randread through a reader without a block cache: every read
#                   fetches, checks and decompresses one whole 1 MiB block
#   cold tree read  tar of a fresh `fim-layer mount` after drop_caches (squashfuse_ll of
#                   `mksquashfs -comp zstd -b 1M` beside them, for reference)
#   create          `fim-layer create`: time and size, on the tree and on the tree as the Debian
#                   image stores it (no .debs, no apt lists), against mksquashfs' size
# "Before" is commit $BASE (the last launcher with ZstdSharp), exported with git archive and built
# once into $WORK/base; "after" is $FIM_LAUNCHER and this checkout's LayerBench. Both LayerBench
# builds are NativeAOT with the launcher's OptimizationPreference=Size, so managed code runs as it
# ships. Every read goes to the layer the *before* launcher wrote, and the tree the after launcher
# mounts from it is compared with the source: old layers must read back identically.
# Each figure is the median of $RUNS runs, before and after alternating. Needs root.
# Usage: bench/zstd.sh [results.md]
#   env: RUNS=5 BASE=ec4079f FIM_LAUNCHER=out/launcher/flatimage FIM_BENCH_WORK=/tmp/fim-bench-zstd
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${RUNS:-5}
BASE=${BASE:-ec4079f}
LAUNCHER=$(realpath "${FIM_LAUNCHER:-out/launcher/flatimage}")
WORK=${FIM_BENCH_WORK:-/tmp/fim-bench-zstd}
OUT=${1:-bench/results/zstd.md}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
[ -x "$LAUNCHER" ] || { echo "$LAUNCHER missing: dotnet publish Cli -c Release -r linux-x64 -o out/launcher" >&2; exit 1; }
TREE=$(scripts/debian-rootfs.sh tree)
mkdir -p "$WORK"

aot_bench() { # aot_bench <source root> <output dir>
  dotnet publish "$1/bench/LayerBench" -c Release -r linux-x64 -p:PublishAot=true -p:OptimizationPreference=Size \
    -maxcpucount:1 -nologo -clp:ErrorsOnly -o "$2" >&2
}
if [ ! -x "$WORK/base/launcher/flatimage" ] || [ ! -x "$WORK/base/bench/LayerBench" ]; then
  rm -rf "$WORK/base"
  mkdir -p "$WORK/base/src"
  git archive "$BASE" | tar -x -C "$WORK/base/src"
  dotnet publish "$WORK/base/src/Cli" -c Release -r linux-x64 -maxcpucount:1 -nologo -clp:ErrorsOnly -o "$WORK/base/launcher" >&2
  aot_bench "$WORK/base/src" "$WORK/base/bench"
fi
aot_bench . "$WORK/after-bench"
OLD=$WORK/base/launcher/flatimage
NEW=$LAUNCHER
OLD_BENCH=$WORK/base/bench/LayerBench
NEW_BENCH=$WORK/after-bench/LayerBench

# The tree as scripts/build-debian-image.sh stores it.
if [ ! -d "$WORK/image-tree" ]; then
  rm -rf "$WORK/image-tree.tmp"
  cp -a "$TREE" "$WORK/image-tree.tmp"
  rm -f "$WORK/image-tree.tmp"/var/cache/apt/archives/*.deb "$WORK/image-tree.tmp"/var/cache/apt/*.bin
  find "$WORK/image-tree.tmp/var/lib/apt/lists" -maxdepth 1 -type f ! -name lock -delete
  mv "$WORK/image-tree.tmp" "$WORK/image-tree"
fi
declare -A SRC=([tree]=$TREE [image]=$WORK/image-tree)
for t in tree image; do
  [ -s "$WORK/$t.sqfs" ] || mksquashfs "${SRC[$t]}" "$WORK/$t.sqfs" -comp zstd -b 1M -noappend -quiet >/dev/null
done

declare -A T
median() { tr ' ' '\n' <<<"${T[$1]}" | grep . | sort -g | awk '{a[NR]=$1} END {printf "%.3f", (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { echo "scale=3; $1 / $2" | bc -l | sed 's/^\./0./'; }

# create: wall and CPU (user + sys) seconds, GNU time; before and after alternate.
create() { # create <key> <launcher> <tree> <out>
  /usr/bin/time -o "$WORK/time" -f "%e %U %S" "$2" fim-layer create "$3" "$4" >/dev/null 2>&1
  read -r wall user sys <"$WORK/time"
  T[$1_wall]+="$wall "; T[$1_cpu]+="$(echo "$user + $sys" | bc -l) "
}
for _ in $(seq 1 "$RUNS"); do
  for t in tree image; do
    create "${t}_old" "$OLD" "${SRC[$t]}" "$WORK/$t.old.layer"
    create "${t}_new" "$NEW" "${SRC[$t]}" "$WORK/$t.new.layer"
  done
done
LAYER=$WORK/tree.old.layer

# codec: one process, its own rounds alternate the libraries.
codec=$("$NEW_BENCH" codec "$LAYER" "$((RUNS < 3 ? 3 : RUNS))")
field() { tr ' ' '\n' <<<"$codec" | sed -n "s/^$1=//p"; }

# cold 4 KiB reads, before and after alternating.
for _ in $(seq 1 "$RUNS"); do
  T[rr_old]+="$("$OLD_BENCH" randread "$LAYER" 1000 4096 | tr ' ' '\n' | sed -n 's/^us_per_read=//p') "
  T[rr_new]+="$("$NEW_BENCH" randread "$LAYER" 1000 4096 | tr ' ' '\n' | sed -n 's/^us_per_read=//p') "
done

# cold full-tree read through the FUSE mount, as bench/layers-read.sh does it: the images are
# copied afresh once (drop_caches does not empty the host's cache), then every run mounts anew
# after dropping this machine's page cache.
mkdir -p "$WORK/mnt"
cp "$LAYER" "$WORK/run.layer"; cp "$WORK/tree.sqfs" "$WORK/run.sqfs"; sync
PID=
mount_old()    { "$OLD" fim-layer mount "$WORK/run.layer" "$WORK/mnt" & PID=$!; wait_mounted "$WORK/mnt"; }
mount_new()    { "$NEW" fim-layer mount "$WORK/run.layer" "$WORK/mnt" & PID=$!; wait_mounted "$WORK/mnt"; }
umount_ours()  { kill -TERM "$PID"; wait "$PID" || true; PID=; }
mount_squash() { squashfuse_ll "$WORK/run.sqfs" "$WORK/mnt"; wait_mounted "$WORK/mnt"; }
umount_squash(){ umount "$WORK/mnt"; }
cleanup() {
  if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null || true; fi
  umount -l "$WORK/mnt" 2>/dev/null || true
}
trap cleanup EXIT
READ='tar -cf - . | cat >/dev/null'
cold_once() { # cold_once <mount fn> <umount fn>: seconds of one cold full-tree read
  sync; echo 3 > /proc/sys/vm/drop_caches
  "$1"
  local t0 t1; t0=$(date +%s.%N); (cd "$WORK/mnt" && eval "$READ"); t1=$(date +%s.%N)
  "$2"
  echo "$t1 - $t0" | bc -l
}
for _ in $(seq 1 "$RUNS"); do
  T[cr_old]+="$(cold_once mount_old umount_ours) "
  T[cr_new]+="$(cold_once mount_new umount_ours) "
  T[cr_sq]+="$(cold_once mount_squash umount_squash) "
done
# The old writer's layer through the new reader: names, contents, modes, owners, mtimes (to the
# nanosecond), links, xattrs. pax headers would otherwise carry atime, ctime and tar's pid.
TAR='tar --sort=name --numeric-owner --xattrs --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -cf - .'
tree_sum() { (cd "$1" && eval "$TAR" 2>/dev/null | sha256sum | cut -d' ' -f1); }
mount_new; same=$([ "$(tree_sum "$WORK/mnt")" = "$(tree_sum "$TREE")" ] && echo identical || echo DIFFERENT); umount_ours

size() { stat -c %s "$1"; }
load=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "# zstd: libzstd (static, in the launcher) vs ZstdSharp (managed)"
  echo
  echo "\`bench/zstd.sh\` (RUNS=$RUNS, medians), $(date -u +%Y-%m-%dT%H:%MZ), $(uname -r), $(nproc) CPUs, load average at the end: $load."
  echo "Before: commit $BASE (ZstdSharp.Port 0.8.8); after: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!bench/results' || echo ' + uncommitted changes') (libzstd $(field libzstd), Debian's libzstd-dev)."
  echo "Tree: debootstrap --variant=minbase bookworm ($(du -sh --apparent-size "$TREE" | cut -f1), $(find "$TREE" | wc -l) paths); layers with the defaults (level 7 = zstd $(field level), 1 MiB blocks)."
  echo "LayerBench for both is NativeAOT with OptimizationPreference=Size, as the launcher."
  echo
  echo "| measurement | command | before (ZstdSharp) | after (libzstd) | after / before |"
  echo "|---|---|---:|---:|---:|"
  echo "| decompress every zstd block ($(field blocks) blocks, $(field raw_mib) MiB), one thread | \`LayerBench codec\` | $(field decompress_managed_s) s ($(field decompress_managed_mibps) MiB/s) | $(field decompress_native_s) s ($(field decompress_native_mibps) MiB/s) | $(ratio "$(field decompress_native_s)" "$(field decompress_managed_s)") |"
  echo "| compress the same blocks (zstd $(field level), window 2^$(field window_log)), one thread | \`LayerBench codec\` | $(field compress_managed_s) s | $(field compress_native_s) s | $(ratio "$(field compress_native_s)" "$(field compress_managed_s)") |"
  echo "| … their compressed size | | $(field compressed_managed) | $(field compressed_native) | $(ratio "$(field compressed_native)" "$(field compressed_managed)") |"
  echo "| cold 4 KiB random read (no block cache: one 1 MiB block read, checked, decompressed) | \`LayerBench randread <layer> 1000 4096\` | $(printf %.0f "$(median rr_old)") µs | $(printf %.0f "$(median rr_new)") µs | $(ratio "$(median rr_new)" "$(median rr_old)") |"
  echo "| cold full-tree read of a fresh mount (squashfuse_ll: $(median cr_sq) s) | \`fim-layer mount\`, then \`${READ//|/\\|}\` | $(median cr_old) s | $(median cr_new) s | $(ratio "$(median cr_new)" "$(median cr_old)") |"
  for t in tree image; do
    name=$([ "$t" = tree ] && echo "the tree" || echo "the image's tree (no .debs, no apt lists)")
    echo "| \`fim-layer create\` of $name, wall | \`fim-layer create <dir> <out>\` | $(median "${t}_old_wall") s | $(median "${t}_new_wall") s | $(ratio "$(median "${t}_new_wall")" "$(median "${t}_old_wall")") |"
    echo "| … CPU (user + sys), $(nproc) threads | | $(median "${t}_old_cpu") s | $(median "${t}_new_cpu") s | $(ratio "$(median "${t}_new_cpu")" "$(median "${t}_old_cpu")") |"
    echo "| … layer bytes (× \`mksquashfs -comp zstd -b 1M\`, $(size "$WORK/$t.sqfs") bytes) | | $(size "$WORK/$t.old.layer") ($(ratio "$(size "$WORK/$t.old.layer")" "$(size "$WORK/$t.sqfs")")) | $(size "$WORK/$t.new.layer") ($(ratio "$(size "$WORK/$t.new.layer")" "$(size "$WORK/$t.sqfs")")) | $(ratio "$(size "$WORK/$t.new.layer")" "$(size "$WORK/$t.old.layer")") |"
  done
  echo "| launcher (stripped NativeAOT ELF) | \`ls -l\` | $(size "$OLD") | $(size "$NEW") | $(ratio "$(size "$NEW")" "$(size "$OLD")") |"
  echo
  echo "The before-launcher's layer of the tree, mounted by the after-launcher, against the source tree"
  echo "(\`$TAR | sha256sum\` of both): **$same**."
  echo
  echo "Reproduce (as root, Debian 12 with scripts/install-prerequisites.sh run):"
  echo
  echo '```'
  echo "dotnet publish Cli -c Release -r linux-x64 -o out/launcher -maxcpucount:1"
  echo "RUNS=$RUNS BASE=$BASE bench/zstd.sh"
  echo '```'
  echo
  echo "which builds the before side once from \`git archive $BASE\` into \`$WORK/base\` (\`dotnet publish Cli\`),"
  echo "publishes both LayerBench builds with \`dotnet publish bench/LayerBench -c Release -r linux-x64"
  echo "-p:PublishAot=true -p:OptimizationPreference=Size\`, and runs the commands of the table; interpretation"
  echo "in [zstd-notes.md](zstd-notes.md)."
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
cat "$OUT"
