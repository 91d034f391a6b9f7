#!/usr/bin/env bash
# The portal, whole process, side by side in one run (issue #6):
#   call rate — CALLS (10,000) calls of `fim_portal true` from inside an instance at concurrency
#     1, 16 and 64 against running `true` directly on the host at the same concurrency, with the
#     same static driver (bench/portal/portal-load.c): calls/s, p50/p99 latency, failures;
#   streaming — `fim_portal cat` moving 1 GiB from the guest's stdin to its stdout against a plain
#     pipe through the same cat on the host (the same static busybox `dd` feeds both).
# Writes bench/results/portal.md. Usage: bench/portal.sh [base image]  (run ./build.sh first; fim_portal comes from its tools bundle)
set -euo pipefail
cd "$(dirname "$0")/.."
launcher=$(realpath "${1:-dist/blueprint.flatimage}")
calls=${CALLS:-10000}
bytes=$((1 << 30))
# A short path: the instance's sockets live below it, and sun_path holds 108 bytes.
work=$(mktemp -d /tmp/fimbench-XXXXXX)
trap 'rm -rf --one-file-system "$work"' EXIT

# The busybox tree of the tests (no libc) and the driver.
mkdir -p "$work/tree"/{bin,etc,tmp,root,home,usr/bin}
cp /bin/busybox "$work/tree/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$work/tree/bin/$a"; done
gcc -O2 -static -o "$work/tree/usr/bin/portal-load" bench/portal/portal-load.c
load="$work/tree/usr/bin/portal-load"

cp "$launcher" "$work/app.flatimage"
app="$work/app.flatimage"
"$app" fim-layer create "$work/tree" "$work/tree.layer" >/dev/null 2>&1
"$app" fim-layer add "$work/tree.layer" >/dev/null
"$app" fim-perms add portal >/dev/null
mkdir -m 700 "$work/run"
export XDG_RUNTIME_DIR="$work/run"
"$app" fim-exec true 2>/dev/null # first run: relocation, one-time warnings

lines="$work/lines"
: > "$lines"
# Five alternating rounds of CALLS/5 per side, so that a shared machine's changing load falls on
# both alike; each portal round runs in one instance (its start is outside the timer).
for c in 1 16 64; do
  for round in 1 2 3 4 5; do
    echo "direct $c $("$load" $((calls / 5)) "$c" true)" >> "$lines"
    echo "portal $c $("$app" fim-exec portal-load $((calls / 5)) "$c" fim_portal true)" >> "$lines"
  done
done
# Interleaved, so that the load of a shared machine falls on both alike; the timer runs inside,
# around the transfer only (not the instance's start).
for i in 1 2 3 4 5; do
  echo "pipe 1 $("$load" 1 1 sh -c "/bin/busybox dd if=/dev/zero bs=1M count=$((bytes >> 20)) 2>/dev/null | cat > /dev/null")" >> "$lines"
  echo "stream 1 $("$app" fim-exec portal-load 1 1 sh -c "dd if=/dev/zero bs=1M count=$((bytes >> 20)) 2>/dev/null | fim_portal cat > /dev/null")" >> "$lines"
done

python3 - "$lines" "$(nproc)" "$(git rev-parse --short HEAD)" "$calls" "$bytes" <<'PY' > bench/results/portal.md
import sys, statistics
rows = {}
for line in open(sys.argv[1]):
    kind, c, rest = line.split(" ", 2)
    rows.setdefault((kind, int(c)), []).append(dict(kv.split("=") for kv in rest.split()))
calls, size = int(sys.argv[4]), int(sys.argv[5])
print("# Portal: call rate and streaming, whole process\n")
print(f"Commit {sys.argv[3]}, {sys.argv[2]} cores (shared), one run, as {'root' if __import__('os').getuid()==0 else 'a user'}.")
print("Command: `bench/portal.sh` (after `./build.sh`). Targets: portal ≥ 0.5 × the direct rate at concurrency 64 with zero failures; streaming ≥ 0.9 × the pipe.\n")
print(f"## Call rate: {calls} calls of `fim_portal true` inside an instance vs `true` on the host, in 5 alternating rounds\n")
print("| concurrency | direct calls/s | portal calls/s | ratio | direct p50 / p99 ms | portal p50 / p99 ms | portal failures |")
print("|---|---|---|---|---|---|---|")
def summary(rounds):
    # Rate over all rounds; latency percentiles as the median of the rounds' own.
    rate = sum(int(r["calls"]) for r in rounds) / sum(float(r["seconds"]) for r in rounds)
    p50 = statistics.median(float(r["p50_ms"]) for r in rounds)
    p99 = statistics.median(float(r["p99_ms"]) for r in rounds)
    return rate, p50, p99, sum(int(r["failures"]) for r in rounds)
for c in (1, 16, 64):
    dr, d50, d99, _ = summary(rows[("direct", c)])
    pr, p50, p99, fails = summary(rows[("portal", c)])
    print(f"| {c} | {dr:.0f} | {pr:.0f} | {pr/dr:.2f} | {d50:.2f} / {d99:.2f} | {p50:.2f} / {p99:.2f} | {fails} |")
mib = size / (1 << 20)
pipe = [float(r["seconds"]) for r in rows[("pipe", 1)]]
stream = [float(r["seconds"]) for r in rows[("stream", 1)]]
print(f"\n## Streaming: {mib:.0f} MiB, 5 interleaved runs each\n")
print("| path | best s | median s | best MiB/s | ratio to the pipe (best) | ratio (median) |")
print("|---|---|---|---|---|---|")
print(f"| `dd \\| cat` on the host | {min(pipe):.3f} | {statistics.median(pipe):.3f} | {mib/min(pipe):.0f} | 1.00 | 1.00 |")
print(f"| `dd \\| fim_portal cat` in the guest | {min(stream):.3f} | {statistics.median(stream):.3f} | {mib/min(stream):.0f} | {min(pipe)/min(stream):.2f} | {statistics.median(pipe)/statistics.median(stream):.2f} |")
PY
cat bench/results/portal.md
