#!/usr/bin/env bash
# Collects the helper tools of the tools bundle (docs/architecture.md "The image file") into one directory:
#   bin/   the tools
#   lib/   the shared libraries the dynamic ones need, and the dynamic loader
#   sbin/  one symlink per busybox applet (docs/cli.md §10: FIM_DIR_APP_SBIN)
#   deps.tsv  one line per tool for `fim-version deps`: name, version, licence (SPDX), source URL,
#          sha256 (of the source tarball for what we build from source, else of the binary as its
#          Debian package installed it, before patchelf); recorded here, where the facts are
#          known, so a run never has to probe a tool for its version
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

# bubblewrap >= 0.9 for the kernel overlay: built from upstream source (Debian 12 has 0.8).
bwrap=$(scripts/build-bubblewrap.sh)

# name in bin/ | source | dependency name (fim-version deps) | SPDX licence | optional (missing is fine)
# — one more tool is one more line. fuse-overlayfs stays Debian 12's 1.10: 1.14 (trixie) was
# checked by hand and fails the same way for an unprivileged user creating a mode-0 directory
# (EACCES), so it would not let dpkg run on it; see docs/storage.md.
tools=(
  "busybox        /bin/busybox              busybox        GPL-2.0-only"
  "bash           /bin/bash                 bash           GPL-3.0-or-later"
  "bwrap          $bwrap                    bubblewrap     LGPL-2.0-or-later"
  "fuse-overlayfs /usr/bin/fuse-overlayfs   fuse-overlayfs GPL-3.0-or-later"
  "unionfs        /usr/bin/unionfs          unionfs-fuse   BSD-3-Clause"
  "fim_portal     out/portal/fim_portal     fim_portal     NOASSERTION      optional"
)

# Must match ToolsExtractor.LoaderPlaceholder: the marker, padded to 511 bytes (+ NUL = 512), room
# for any runtime directory path a user will have.
placeholder="/@FIM_LOADER@"
placeholder+=$(printf '%*s' $((511 - ${#placeholder})) '' | tr ' ' '_')

command -v patchelf >/dev/null || { echo "collect-tools: patchelf is missing (scripts/install-prerequisites.sh)" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out/bin" "$out/lib" "$out/sbin"

is_dynamic() { LC_ALL=C readelf -lW "$1" 2>/dev/null | grep -q 'Requesting program interpreter'; }

# "version<TAB>source URL<TAB>sha256" of a tool: the Debian package that installed it, or for our
# own builds what their build script pins.
provenance() {
  local name=$1 source=$2 pkg
  case "$name" in
    bwrap)
      scripts/build-bubblewrap.sh info
      return ;;
    fim_portal)
      # ours: the launcher's version and commit, built from Cli/Portal of this repository
      printf '%s+%s\t%s\t%s\n' "$(sed -n 's:.*<FimVersion[^>]*>\([^<]*\)<.*:\1:p' Runtime/FlatImage.Runtime.csproj)" \
        "$(git rev-parse --short=7 HEAD 2>/dev/null || echo 0000000)" "Cli/Portal of FlatImage for .NET" \
        "$(sha256sum < "$source" | cut -d' ' -f1)"
      return ;;
  esac
  pkg=$(dpkg -S "$source" 2>/dev/null | head -n1 | cut -d: -f1) || true
  [ -n "$pkg" ] || pkg=$(dpkg -S "$(readlink -f "$source")" 2>/dev/null | head -n1 | cut -d: -f1) || true
  [ -n "$pkg" ] || { echo "collect-tools: no Debian package owns $source" >&2; exit 1; }
  printf '%s\t%s\n' "$(dpkg-query -W -f='${Version}\thttps://sources.debian.org/src/${source:Package}/${source:Version}/' "$pkg")" \
    "$(sha256sum < "$source" | cut -d' ' -f1)"
}

: > "$out/deps.tsv"
for line in "${tools[@]}"; do
  read -r name source dep license optional <<<"$line"
  if [ ! -e "$source" ]; then
    [ "${optional:-}" = optional ] && { echo "collect-tools: $name not built yet ($source), left out"; continue; }
    echo "collect-tools: $source is missing (scripts/install-prerequisites.sh)" >&2
    exit 1
  fi
  install -m 0755 "$source" "$out/bin/$name"
  IFS=$'\t' read -r version url sha < <(provenance "$name" "$source")
  printf '%s\t%s\t%s\t%s\t%s\n' "$dep" "$version" "$license" "$url" "$sha" >> "$out/deps.tsv"
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
