#!/usr/bin/env bash
# Runs every test: unit, actor and end-to-end tests of the published binary, as root and as an
# unprivileged user (the end-to-end set-up creates the user 'fimtest' and opens /dev/fuse to it).
# Installs what it needs (Debian packages, NuGet restore) and builds first.
set -euo pipefail
cd "$(dirname "$0")"

./build.sh

# The end-to-end tests copy the base image with the tools bundle, so every run uses the bundled tools.
export FIM_LAUNCHER="$PWD/dist/blueprint.flatimage"
# Test runs remove their own images; clear what an interrupted run left (never across a mount).
rm -rf --one-file-system /tmp/fim-e2e-* 2>/dev/null || true
results="$PWD/out/test-results"
rm -rf "$results"
status=0
# One test assembly at a time: some tests touch machine-wide state (fuse.conf, fusectl) that
# another assembly's mounts would see.
dotnet test FlatImage.sln -c Release -nologo -maxcpucount:1 --logger "trx" --results-directory "$results" "$@" || status=$?

# One closing line over all test assemblies, read from the trx files.
python3 - "$results" <<'PY' || true
import sys, glob, xml.etree.ElementTree as ET
p = f = s = 0
for path in glob.glob(sys.argv[1] + "/*.trx"):
    c = ET.parse(path).getroot().find(".//{*}Counters")
    if c is None: continue
    p += int(c.get("passed", 0)); f += int(c.get("failed", 0)) + int(c.get("error", 0))
    s += int(c.get("notExecuted", 0))
print(f"{p} passed, {f} failed, {s} skipped")
PY
exit $status
