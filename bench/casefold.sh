#!/usr/bin/env bash
# fim-casefold's cost, side by side on the same overlay backend: each workload runs in the Debian
# image once with casefold off and once with it on (FIM_CASEFOLD=1), same data, same backend
# (unionfs-fuse, the backend casefold falls back to; BACKENDS="unionfs overlayfs" adds
# fuse-overlayfs). Issue #13's workloads:
#   find+stat   `find /b/tree -type f -exec stat -c %s {} +` over a 20,000-file tree
#   create      10,000 empty files (xargs touch)
#   read        `cat` of a 1 GiB file to /dev/null
#   tar x       extracting a 200 MB archive (2,000 files of 100 KB)
# The data is placed in the writable layer (<data dir>/root) from the host before the runs, so
# only the workload is timed: the guest reads the clock (GNU date) before and after it, which
# leaves out the launcher's start and stop. Every run is a fresh instance (fresh mounts, cold FUSE
# caches), with the host's page cache dropped before it.
#
# Usage: bench/casefold.sh [image]   (default: dist/debian.flatimage; run ./build.sh first)
# Writes bench/results/casefold.md. Needs: root.
set -euo pipefail
cd "$(dirname "$0")/.."
image_src=$(realpath "${1:-dist/debian.flatimage}")
backends=${BACKENDS:-unionfs}
[ "$(id -u)" = 0 ] || { echo "run as root (drop_caches)" >&2; exit 1; }

work=$(mktemp -d /var/tmp/fim-casefold-bench.XXXXXX)
trap 'rm -rf --one-file-system "$work"' EXIT
cp "$image_src" "$work/app.flatimage"
data="$work/.app.flatimage.data"
export XDG_RUNTIME_DIR="$work/xdg"
mkdir -m 700 "$XDG_RUNTIME_DIR"
"$work/app.flatimage" fim-exec true

# The data, once, in the writable layer.
root="$data/root"
mkdir -p "$root/b/tree" "$root/b/c" "$root/b/x"
for d in $(seq 0 199); do
    mkdir "$root/b/tree/Dir$d"
    (cd "$root/b/tree/Dir$d" && seq -f 'File%g.Dat' 1 100 | xargs touch)
done
head -c 1G /dev/urandom > "$root/b/big"
mkdir "$work/tarsrc"
for i in $(seq 1 2000); do head -c 100K /dev/urandom > "$work/tarsrc/Part$i.Bin"; done
tar cf "$root/b/archive.tar" -C "$work/tarsrc" .
rm -rf "$work/tarsrc"

# One timed workload in a fresh instance; prints seconds.
measure() { # backend casefold script
    sync; echo 3 > /proc/sys/vm/drop_caches
    local env=(FIM_OVERLAY="$1")
    [ "$2" = on ] && env+=(FIM_CASEFOLD=1)
    env "${env[@]}" "$work/app.flatimage" fim-root bash -c \
        "s=\$(date +%s.%N); $3; e=\$(date +%s.%N); awk \"BEGIN { print \$e - \$s }\"" 2>/dev/null | tail -n1
}

declare -A workload=(
    [find+stat]='find /b/tree -type f -exec stat -c %s {} + > /dev/null'
    [create]='cd /b/c && seq -f f%g 1 10000 | xargs touch && sync'
    [read]='cat /b/big > /dev/null'
    [tar x]='tar xf /b/archive.tar -C /b/x && sync'
)
order=("find+stat" "create" "read" "tar x")
reset() { rm -rf --one-file-system "$root/b/c" "$root/b/x"; mkdir -p "$root/b/c" "$root/b/x"; }

out=bench/results/casefold.md
{
    echo "# Casefold: workloads with and without \`fim-casefold on\`, same overlay backend"
    echo
    echo "Measured by \`bench/casefold.sh\` on $(date -u +%Y-%m-%d), $(nproc) CPUs ($(uname -r)), one run each,"
    echo "in dist/debian.flatimage; seconds inside the guest (launcher start and stop excluded), page cache dropped before each run."
    echo
    echo "| backend | workload | casefold off (s) | casefold on (s) | ratio | target |"
    echo "|---|---|---|---|---|---|"
} > "$out.tmp"
for backend in $backends; do
    for w in "${order[@]}"; do
        reset; off=$(measure "$backend" off "${workload[$w]}")
        reset; on=$(measure "$backend" on "${workload[$w]}")
        ratio=$(awk "BEGIN { printf \"%.2f\", $on / $off }")
        case "$w" in find+stat|create) target="≤ 1.5×" ;; *) target="≤ 1.1×" ;; esac
        printf '| %s | %s | %.3f | %.3f | %s× | %s |\n' "$backend" "$w" "$off" "$on" "$ratio" "$target" | tee -a "$out.tmp"
    done
done
mv "$out.tmp" "$out"
echo "wrote $out"
