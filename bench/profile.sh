#!/usr/bin/env bash
# The start profile (issue 12): `sh -c true` in the Debian image and `python3 -c pass` in a
# Python image (python3-minimal installed through the packaging flow, as bench/python-start.sh
# does), each served from one layer made without and with a start profile of that very command,
# beside (b) squashfuse_ll + the bundled bubblewrap 0.12's kernel overlay on a SquashFS of the
# same tree; warm and cold (page cache dropped before every run), as an unprivileged user, in one
# hyperfine run per case. Also the layer sizes against `mksquashfs -comp zstd -b 1M`.
#
# Each image's read-only stack is flattened the same way for all three: served by `fim-layer
# mount`, then `fim-layer create` (plain, and with `--profile` of a FIM_PROFILE=1 run of the
# command in the plain image) onto a copy of the blueprint, and `mksquashfs` for the peer.
#
# Usage: bench/profile.sh [blueprint] [debian image]  (as root, after ./build.sh; defaults
#        dist/blueprint.flatimage and dist/debian.flatimage; needs the Debian mirror build.sh used;
#        RUNS=10 COLD_RUNS=5; KEEP=1 keeps the work directory). Writes bench/results/profile.md (OUT= to change).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
blueprint=$(realpath "${1:-dist/blueprint.flatimage}")
debian=$(realpath "${2:-dist/debian.flatimage}")
out=${OUT:-bench/results/profile.md}
bwrap012=$(scripts/build-bubblewrap.sh)
user=${FIM_BENCH_USER:-fimtest}
runs=${RUNS:-10}
cold_runs=${COLD_RUNS:-5}

# KEEP=1 keeps the work directory (the images, layers, profiles and hyperfine JSON) for a closer look.
bench_as_user bench/profile.sh fim-bench-profile

# The Python image, as bench/python-start.sh makes it.
cp "$debian" "$work/python-src.flatimage"
(
    export FIM_DIR_DATA=$work/python-data
    "$work/python-src.flatimage" fim-perms add network
    "$work/python-src.flatimage" fim-root sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-minimal >/dev/null && apt-get clean && rm -rf /var/lib/apt/lists/*'
    "$work/python-src.flatimage" fim-layer commit binary >/dev/null
    "$work/python-src.flatimage" fim-perms del network
)

# flatten <source image> <name> <command>: $name-plain.flatimage, $name-profiled.flatimage and
# $name.sqfs, all of the source's merged read-only stack; the profile is <command>'s, recorded in
# the plain image.
flatten() {
    local src=$1 name=$2 command=$3
    mkdir "$work/$name-stack"
    "$src" fim-layer mount "$src" "$work/$name-stack" & local pid=$!
    wait_mounted "$work/$name-stack"
    mksquashfs "$work/$name-stack" "$work/$name.sqfs" -comp zstd -b 1M -noappend -quiet >/dev/null
    "$src" fim-layer create "$work/$name-stack" "$work/$name-plain.layer" >/dev/null 2>&1
    cp "$blueprint" "$work/$name-plain.flatimage"
    "$work/$name-plain.flatimage" fim-layer add "$work/$name-plain.layer" >/dev/null
    FIM_DIR_DATA=$work/$name-record FIM_PROFILE=1 "$work/$name-plain.flatimage" fim-exec sh -c "$command" 2>/dev/null
    "$src" fim-layer create "$work/$name-stack" "$work/$name-profiled.layer" --profile "$work/$name-record/start-profile" >/dev/null 2>&1
    cp "$blueprint" "$work/$name-profiled.flatimage"
    "$work/$name-profiled.flatimage" fim-layer add "$work/$name-profiled.layer" >/dev/null
    kill -TERM "$pid"; wait "$pid" || true
    cp "$work/$name-record/start-profile" "$work/$name.profile"
}
flatten "$debian" debian true
flatten "$work/python-src.flatimage" python 'python3 -c pass'

cp "$bwrap012" "$work/bwrap-0.12"
mkdir -p "$work/xdg"
chown -R "$uid:$gid" "$work"
chmod 700 "$work/xdg"
export XDG_RUNTIME_DIR=$work/xdg

write_peer_b "$work/peer-b.sh" "$work/bwrap-0.12"

# First runs (relocation, tool extraction) and a check that each answers.
for name in debian python; do
    p=$([ $name = debian ] && echo true || echo 'python3 -c pass')
    for v in plain profiled; do "${as_user[@]}" "$work/$name-$v.flatimage" fim-exec sh -c "$p"; done
    "${as_user[@]}" "$work/peer-b.sh" "$work/$name.sqfs" sh -c "$p"
done

drop="sh -c 'sync; echo 3 > /proc/sys/vm/drop_caches'"
bench() { # label name program runs hyperfine-options...
    local label=$1 name=$2 p=$3 n=$4; shift 4
    hyperfine -N "$@" --runs "$n" --export-json "$work/$label.json" \
        -n "$name.flatimage fim-exec, no profile" "${as_user[*]} $work/$name-plain.flatimage fim-exec sh -c '$p'" \
        -n "$name.flatimage fim-exec, start profile" "${as_user[*]} $work/$name-profiled.flatimage fim-exec sh -c '$p'" \
        -n "(b) squashfuse_ll + bwrap 0.12 kernel overlay" "${as_user[*]} $work/peer-b.sh $work/$name.sqfs sh -c '$p'" >/dev/null
}
bench true-warm debian true "$runs" --warmup 3
bench true-cold debian true "$cold_runs" --prepare "$drop"
bench python-warm python 'python3 -c pass' "$runs" --warmup 3
bench python-cold python 'python3 -c pass' "$cold_runs" --prepare "$drop"

size() { stat -c %s "$1"; }
region() { python3 -c 'import struct,sys; b=open(sys.argv[1],"rb").read(128); print(struct.unpack_from("<q",b,112)[0])' "$1"; }
python3 - "$work" "$(nproc)" "$(git rev-parse --short HEAD)" "$(uname -r)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
    "$(size "$work/debian-plain.layer")" "$(size "$work/debian-profiled.layer")" "$(size "$work/debian.sqfs")" "$(region "$work/debian-profiled.layer")" \
    "$(size "$work/python-plain.layer")" "$(size "$work/python-profiled.layer")" "$(size "$work/python.sqfs")" "$(region "$work/python-profiled.layer")" \
    "$(grep -vc '^#' "$work/debian.profile")" "$(grep -vc '^#' "$work/python.profile")" <<'PY' > "$out"
import json, sys, statistics
(work, cores, commit, kernel, load, dp, dq, ds, dr, pp, pq, ps, pr, dn, pn) = sys.argv[1:]
print("# Start profile: `true` and `python3 -c pass` with and without a start profile\n")
print(f"Commit {commit}, {cores} cores, kernel {kernel}, as an unprivileged user, hyperfine -N, one run "
      f"(load average before the run: {load}).")
print("Command: `bench/profile.sh` (as root, after `./build.sh`). Each image's read-only stack (the Debian image; "
      "the Debian image plus python3-minimal committed, as `bench/python-start.sh` makes it) is flattened into one "
      "layer by `fim-layer create` from its `fim-layer mount`, once plain and once with `--profile` of a "
      "`FIM_PROFILE=1` run of the very command timed; (b) = squashfuse_ll + the bundled bubblewrap 0.12's kernel "
      "overlay on `mksquashfs -comp zstd -b 1M` of the same tree, mounts and unmounts included. Every command runs "
      "as `sh -c '<program>'`. Cold = page cache dropped before every run. user+sys = mean CPU time of the "
      "command and its children per run (hyperfine), which a busy machine disturbs less than wall time.\n")
print("| case | command | median ms | mean ms | user+sys ms | × no profile | × (b) |")
print("|---|---|---|---|---|---|---|")
for label in ["true-warm", "true-cold", "python-warm", "python-cold"]:
    r = json.load(open(f"{work}/{label}.json"))["results"]
    med = [statistics.median(x["times"]) for x in r]
    for x, m in zip(r, med):
        print(f"| {label} | {x['command']} | {m*1000:.1f} | {x['mean']*1000:.1f} | {(x['user']+x['system'])*1000:.1f} | {m/med[0]:.2f} | {m/med[2]:.2f} |")
print("\nSizes (bytes; the profile region is the start of the data stream in 64 KiB blocks):\n")
print("| tree | files in the profile | region | layer, no profile | layer, start profile | mksquashfs -comp zstd -b 1M | profiled × mksquashfs |")
print("|---|---:|---:|---:|---:|---:|---:|")
for tree, n, reg, plain, prof, sq in [("Debian", dn, dr, dp, dq, ds), ("Debian + python3-minimal", pn, pr, pp, pq, ps)]:
    print(f"| {tree} | {n} | {int(reg):,} | {int(plain):,} | {int(prof):,} | {int(sq):,} | {int(prof)/int(sq):.3f} |".replace(",", " "))
PY
cat "$out"
