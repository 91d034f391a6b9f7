#!/usr/bin/env bash
# The storage stack, side by side in alternating runs on the Debian image's own tree:
#   - `debian.flatimage fim-exec <program>` (our launcher, its default overlay);
#   - (a) squashfuse_ll + fuse-overlayfs + Debian's bwrap, then the two unmounts;
#   - (b) squashfuse_ll + the bundled bubblewrap's kernel overlay (--overlay-src … --overlay …),
#         then the unmount;
# for `true` and a read-heavy program (cat of /usr/bin/* and every shared library), warm and
# cold (page cache dropped before every run), plus the launcher's peak memory (max RSS). The
# peers' SquashFS is made from the image's own read-only stack as a run sees it (fim-layer mount),
# so all three serve the same tree.
# Runs as the unprivileged test user (FIM_BENCH_USER, default fimtest) when started as root,
# as a new user would. Writes bench/results/storage.md (OUT= to change).
#
# Usage: bench/storage.sh [image]  (as root, after ./build.sh; the image defaults to
#        dist/debian.flatimage; RUNS=10 COLD_RUNS=5 by default; PROGRAM='python3 -c pass' adds
#        that program as a third case, see bench/python-start.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
repo=$PWD
image=$(realpath "${1:-dist/debian.flatimage}")
out=${OUT:-bench/results/storage.md}
bwrap012=$(scripts/build-bubblewrap.sh)
user=${FIM_BENCH_USER:-fimtest}
runs=${RUNS:-10}
cold_runs=${COLD_RUNS:-5}
program=${PROGRAM:-}

bench_as_user bench/storage.sh fim-bench-storage
# The image's merged read-only stack, exactly as a run mounts it, is the peers' tree.
mkdir "$work/stack"
"$image" fim-layer mount "$image" "$work/stack" & stack_pid=$!
wait_mounted "$work/stack"
mksquashfs "$work/stack" "$work/tree.sqfs" -comp zstd -b 1M -noappend -quiet >/dev/null
kill -TERM "$stack_pid"; wait "$stack_pid" || true
cp "$image" "$work/debian.flatimage"
cp "$bwrap012" "$work/bwrap-0.12"
mkdir -p "$work/xdg"
chown -R "$uid:$gid" "$work"
chmod 700 "$work/xdg"
export XDG_RUNTIME_DIR=$work/xdg

read_heavy="cat /usr/bin/* /usr/lib/x86_64-linux-gnu/*.so* >/dev/null"

# One script per peer: mount, run the program, unmount, as a user would write it.
cat > "$work/peer-a.sh" <<SH
#!/bin/sh
set -e
d=\$(mktemp -d -p "$work")
mkdir \$d/lower \$d/upper \$d/work \$d/merged
squashfuse_ll "$work/tree.sqfs" \$d/lower
fuse-overlayfs -o lowerdir=\$d/lower,upperdir=\$d/upper,workdir=\$d/work,squash_to_uid=$uid,squash_to_gid=$gid \$d/merged 2>/dev/null
bwrap --unshare-user --uid 0 --gid 0 --bind \$d/merged / --dev /dev --proc /proc --tmpfs /tmp --unshare-pid --unshare-net --die-with-parent "\$@"
fusermount3 -u \$d/merged
# fuse-overlayfs may still hold the lower mount for an instant after its own unmount: lazily.
fusermount3 -u -z \$d/lower
rm -rf \$d
SH
write_peer_b "$work/peer-b.sh" "$work/bwrap-0.12"
chmod 755 "$work/peer-a.sh"

# First runs: relocation, tool extraction, the kernel overlay probe; and a sanity check of each.
for p in true "$read_heavy" ${program:+"$program"}; do
    "${as_user[@]}" "$work/debian.flatimage" fim-exec sh -c "$p"
    "${as_user[@]}" "$work/peer-a.sh" sh -c "$p"
    "${as_user[@]}" "$work/peer-b.sh" "$work/tree.sqfs" sh -c "$p"
done
overlay=$("${as_user[@]}" "$work/debian.flatimage" fim-overlay show)

# hyperfine -N runs --prepare without a shell too.
drop="sh -c 'sync; echo 3 > /proc/sys/vm/drop_caches'"
bench() { # label program runs hyperfine-options...
    local label=$1 p=$2 n=$3; shift 3
    hyperfine -N "$@" --runs "$n" --export-json "$work/$label.json" \
        -n "$(basename "$image") fim-exec ($overlay)" "${as_user[*]} $work/debian.flatimage fim-exec sh -c '$p'" \
        -n "(a) squashfuse_ll + fuse-overlayfs + bwrap $(bwrap --version | cut -d' ' -f2)" "${as_user[*]} $work/peer-a.sh sh -c '$p'" \
        -n "(b) squashfuse_ll + bwrap 0.12 kernel overlay" "${as_user[*]} $work/peer-b.sh $work/tree.sqfs sh -c '$p'" >/dev/null
}
labels="true-warm true-cold read-warm read-cold"
bench true-warm true "$runs" --warmup 3
bench read-warm "$read_heavy" "$runs" --warmup 2
bench true-cold true "$cold_runs" --prepare "$drop"
bench read-cold "$read_heavy" "$cold_runs" --prepare "$drop"
if [ -n "$program" ]; then
    bench program-warm "$program" "$runs" --warmup 3
    bench program-cold "$program" "$cold_runs" --prepare "$drop"
    labels="$labels program-warm program-cold"
fi

peak() { /usr/bin/time -f %M "${as_user[@]}" "$work/debian.flatimage" fim-exec sh -c "$1" 2>&1 >/dev/null | tail -n1; }
peak_true=$(peak true)
peak_read=$(peak "$read_heavy")

python3 - "$work" "$(nproc)" "$(git rev-parse --short HEAD)" "$(uname -r)" "$overlay" "$peak_true" "$peak_read" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(basename "$image")" "$labels" "$program" <<'PY' > "$out"
import json, sys, statistics
work, cores, commit, kernel, overlay, peak_true, peak_read, load, image, labels, program = sys.argv[1:]
print(f"# Storage stack: `true`, a read-heavy program{' and `' + program + '`' if program else ''} on the tree of {image}\n")
print(f"Commit {commit}, {cores} cores, kernel {kernel}, as an unprivileged user, hyperfine -N, one run "
      f"(load average before the run: {load}). The launcher's overlay: {overlay}.")
print(f"Command: `{'PROGRAM=' + repr(program) + ' ' if program else ''}bench/storage.sh{' ' + image if image != 'debian.flatimage' else ''}` (as root, after `./build.sh`). (a) = squashfuse_ll + fuse-overlayfs + "
      "Debian's bwrap; (b) = squashfuse_ll + the bundled bubblewrap 0.12's kernel overlay; both on a zstd "
      "SquashFS of the image's own read-only stack, mounts and unmounts included. Read-heavy = "
      "`sh -c 'cat /usr/bin/* /usr/lib/x86_64-linux-gnu/*.so* >/dev/null'`. Cold = page cache dropped before every run.\n")
print("| case | command | median ms | mean ms | × (a) | × (b) |")
print("|---|---|---|---|---|---|")
for label in labels.split():
    r = json.load(open(f"{work}/{label}.json"))["results"]
    med = [statistics.median(x["times"]) for x in r]
    for x, m in zip(r, med):
        print(f"| {label} | {x['command']} | {m*1000:.1f} | {x['mean']*1000:.1f} | {m/med[1]:.2f} | {m/med[2]:.2f} |")
print(f"\nLauncher peak memory (max RSS of the launcher and its children, GNU time): `true` {int(peak_true)/1024:.1f} MiB, "
      f"read-heavy {int(peak_read)/1024:.1f} MiB.")
print("\nTargets of issue 11: `fim-exec true` ≤ 0.5 × (a); the read-heavy program ≤ 1.0 × (b).")
PY
cat "$out"
