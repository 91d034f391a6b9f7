#!/usr/bin/env bash
# A real program's start (issue #12): python3-minimal installed into a copy of the Debian image
# through the packaging flow (fim-perms add network, fim-root apt-get install, fim-layer commit),
# then `python3 -c pass` timed by bench/storage.sh against (a) squashfuse_ll + fuse-overlayfs +
# bwrap and (b) squashfuse_ll + the bundled bubblewrap's kernel overlay, on the same tree, warm
# and cold, beside `true` and the read-heavy program. Writes bench/results/python-start.md.
#
# Usage: bench/python-start.sh  (as root, after ./build.sh; needs the Debian mirror build.sh used)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "bench/python-start.sh: run as root" >&2; exit 1; }
work=$(mktemp -d /tmp/fim-bench-python.XXXXXX)
trap 'rm -rf --one-file-system "$work"' EXIT
image=$work/python.flatimage
cp dist/debian.flatimage "$image"
export FIM_DIR_DATA=$work/data
"$image" fim-perms add network
"$image" fim-root sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-minimal >/dev/null && apt-get clean && rm -rf /var/lib/apt/lists/*'
"$image" fim-layer commit binary >/dev/null
"$image" fim-perms del network
"$image" fim-exec python3 -c 'import sys; print("python", sys.version.split()[0], "in the image")'
unset FIM_DIR_DATA
OUT=bench/results/python-start.md PROGRAM='python3 -c pass' bench/storage.sh "$image"
