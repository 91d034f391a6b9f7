#!/usr/bin/env bash
# Collects the helper tools of the tools bundle (design.md "The image file") into one directory:
#   bin/   the tools
#   lib/   the shared libraries the dynamic ones need, and the dynamic loader
#   sbin/  one symlink per busybox applet (cli.md §10: FIM_DIR_APP_SBIN)
#
# The exodus technique, without wrapper scripts: each dynamic tool gets DT_RPATH $ORIGIN/../lib
# (--force-rpath: a DT_RUNPATH would let the guest's LD_LIBRARY_PATH win, and would not apply to
# the libraries' own dependencies) and a PT_INTERP that is a fixed-size placeholder. When the
# launcher extracts the bundle it writes the absolute path of the extracted loader into that
# placeholder (Runtime/Tools/ToolsExtractor), so every tool is an ordinary executable whose argv[0]
# and /proc/self/exe are its own, on any x86-64 distribution and inside any guest.
#
# Usage: scripts/collect-tools.sh OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: collect-tools.sh OUT_DIR}

# name in bin/ | source | optional (missing is fine) — one more tool is one more line.
tools=(
  "busybox        /bin/busybox"
  "bash           /bin/bash"
  "bwrap          /usr/bin/bwrap"
  "fuse-overlayfs /usr/bin/fuse-overlayfs"
  "unionfs        /usr/bin/unionfs"
  "fim_portal     out/portal/fim_portal     optional"
)

# Must match ToolsExtractor.LoaderPlaceholder: the marker, padded to 511 bytes (+ NUL = 512), room
# for any runtime directory path a user will have.
placeholder="/@FIM_LOADER@"
placeholder+=$(printf '%*s' $((511 - ${#placeholder})) '' | tr ' ' '_')

command -v patchelf >/dev/null || { echo "collect-tools: patchelf is missing (scripts/install-prerequisites.sh)" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out/bin" "$out/lib" "$out/sbin"

is_dynamic() { LC_ALL=C readelf -lW "$1" 2>/dev/null | grep -q 'Requesting program interpreter'; }

for line in "${tools[@]}"; do
  read -r name source optional <<<"$line"
  if [ ! -e "$source" ]; then
    [ "${optional:-}" = optional ] && { echo "collect-tools: $name not built yet ($source), left out"; continue; }
    echo "collect-tools: $source is missing (scripts/install-prerequisites.sh)" >&2
    exit 1
  fi
  install -m 0755 "$source" "$out/bin/$name"
  is_dynamic "$out/bin/$name" || continue

  # ldd lists every library of the whole dependency tree with the path the host resolves it to,
  # and the loader as an absolute path (a line without "=>").
  while read -r soname arrow path _; do
    if [ "$arrow" = "=>" ] && [ -f "$path" ]; then
      [ -e "$out/lib/$soname" ] || install -m 0755 "$(readlink -f "$path")" "$out/lib/$soname"
    elif [[ "$soname" == /* ]]; then
      [ -e "$out/lib/$(basename "$soname")" ] || install -m 0755 "$(readlink -f "$soname")" "$out/lib/$(basename "$soname")"
    fi
  done < <(ldd "$source")
  patchelf --force-rpath --set-rpath '$ORIGIN/../lib' --set-interpreter "$placeholder" "$out/bin/$name"
done

# xdg-open in the guest is fim_portal under another name: it asks the host's xdg-open, through the
# portal, to open a URL or file (Cli/Portal/XdgOpen.cs).
if [ -x "$out/bin/fim_portal" ]; then
  ln -s fim_portal "$out/bin/xdg-open"
fi

if [ -x "$out/bin/busybox" ]; then
  for applet in $("$out/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s ../bin/busybox "$out/sbin/$applet"
  done
fi

du -sh "$out" | sed 's/^/collect-tools: /'
