#!/usr/bin/env bash
# The tools bundle: sizes of dist/blueprint.flatimage and its parts, and `fim-exec true` on the
# blueprint (no layers: busybox's `true` from the bundle), side by side in one hyperfine run:
#   later run              — everything in place;
#   first run of a bundle  — the relocated launcher is there, the tools are extracted again;
#   first run ever         — fresh runtime directory: relocation copy + extraction.
# Writes bench/results/tools.md. Usage: bench/tools.sh [image]  (run ./build.sh first)
set -euo pipefail
cd "$(dirname "$0")/.."
blueprint=$(realpath "${1:-dist/blueprint.flatimage}")
work=$(mktemp -d)
trap 'rm -rf --one-file-system "$work"' EXIT

cp "$blueprint" "$work/app.flatimage"
# The runtime directory's filesystem matters: extraction is mostly file and symlink creation (busybox's
# 268 applets). On a desktop XDG_RUNTIME_DIR is a tmpfs; /tmp may be a disk. Both are measured.
bases=${RUNTIME_BASES:-/dev/shm /tmp}
for base in $bases; do
  rt=$(mktemp -d -p "$base")
  export XDG_RUNTIME_DIR="$rt"
  "$work/app.flatimage" fim-exec true 2>/dev/null # one-time warnings
  hyperfine -N --warmup 3 --runs "${RUNS:-30}" --export-json "$work/result-$(basename "$base").json" \
    --prepare "true" -n "later run" "$work/app.flatimage fim-exec true" \
    --prepare "sh -c 'rm -rf $rt/fim/app/*/bin $rt/fim/app/*/lib $rt/fim/app/*/sbin $rt/fim/app/*/.tools'" \
    -n "first run of the bundle (extraction)" "$work/app.flatimage fim-exec true" \
    --prepare "rm -rf $rt/fim" -n "first run ever (relocation + extraction)" "$work/app.flatimage fim-exec true" >/dev/null
  echo "$base $(df --output=fstype "$base" | tail -1) $work/result-$(basename "$base").json" >> "$work/runs.txt"
  rm -rf --one-file-system "$rt"
done

offset=$(FIM_MAIN_OFFSET=1 "$work/app.flatimage")
payload=$(python3 -c "import struct,sys; f=open(sys.argv[1],'rb'); f.seek(int(sys.argv[2])+1048576+8); print(struct.unpack('<q', f.read(8))[0])" "$blueprint" "$offset")
python3 - "$work/runs.txt" "$(nproc)" "$(git rev-parse --short HEAD)" "$blueprint" "$offset" "$payload" "$(du -sb out/tools 2>/dev/null | cut -f1)" <<'PY' > bench/results/tools.md
import json, os, sys, statistics
runs = [line.split() for line in open(sys.argv[1])]
blueprint, offset, payload, raw = sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
mb = lambda n: f"{int(n)/1e6:.1f} MB"
load = open("/proc/loadavg").read().split()[0]
print("# Tools bundle: size and first-run cost\n")
print(f"Commit {sys.argv[3]}, {sys.argv[2]} cores (load average {load} at the end: the machine is shared), hyperfine -N, one run, as {'root' if os.getuid()==0 else 'a user'}.")
print("Command: `bench/tools.sh` (after `./build.sh`). The AOT options behind the launcher's size: launcher-size.md.\n")
print("| part | size |\n|---|---|")
print(f"| dist/blueprint.flatimage (FlatImage's blueprint: about 28 MB) | {mb(os.path.getsize(blueprint))} |")
print(f"| launcher ELF (+ alignment) | {mb(offset)} |")
print(f"| configuration region | {mb(1048576)} |")
print(f"| tools bundle, compressed (out/tools is {mb(raw) if raw else '?'} unpacked) | {mb(payload)} |")
for base, fstype, path in runs:
    r = json.load(open(path))["results"]
    med0 = statistics.median(r[0]["times"])
    print(f"\n| `fim-exec true` on the blueprint, runtime directory on {base} ({fstype}) | median ms | mean ms | ratio to a later run |")
    print("|---|---|---|---|")
    for x in r:
        m = statistics.median(x["times"])
        print(f"| {x['command']} | {m*1000:.1f} | {x['mean']*1000:.1f} | {m/med0:.2f} |")
PY
cat bench/results/tools.md
