#!/usr/bin/env bash
# Builds the bubblewrap of the tools bundle from its upstream source and prints the path of the
# built binary. Debian 12 ships bubblewrap 0.8, which has no kernel overlay options
# (--overlay-src/--overlay arrived in 0.9); the image's default writable overlay needs them.
#
# The source is upstream's release tarball as Debian trixie's source package carries it
# (<pkg>_<version>.orig.tar.xz), fetched with apt-get through a private apt configuration in a
# scratch directory: the machine's own sources, lists and cache are never touched. The tarball's
# sha256 is pinned below; a different file is refused. The build runs against this machine's
# libraries (libcap; collect-tools.sh bundles them with the binary) and is cached, keyed by the
# pinned checksum, so later runs print the cached binary at once.
#
#   scripts/build-bubblewrap.sh        prints the binary's path (building it first if needed)
#   scripts/build-bubblewrap.sh info   prints "version<TAB>source URL<TAB>tarball sha256"
set -euo pipefail

version=0.12.0
tarball="bubblewrap_${version}.orig.tar.xz"
sha256=9760d007363e3abba7c747489910f9f82d9fca53ba3bd3282e396fa3c97a3314
suite=trixie

if [ "${1:-}" = info ]; then
    printf '%s\t%s\t%s\n' "$version" "https://github.com/containers/bubblewrap/releases/tag/v$version" "$sha256"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    cache=${FIM_TOOLS_CACHE:-/var/cache/flatimage-tools}
else
    cache=${FIM_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flatimage-tools}
fi
built="$cache/bubblewrap-$version-${sha256:0:16}/bwrap"
if [ -x "$built" ]; then
    echo "$built"
    exit 0
fi

mkdir -p "$cache"
# Several checkouts on one machine may build at once: one builds, the others wait and reuse it.
exec 9>"$cache/.bubblewrap.lock"
flock 9
if [ -x "$built" ]; then
    echo "$built"
    exit 0
fi

for tool in meson ninja; do
    command -v "$tool" >/dev/null || { echo "build-bubblewrap: $tool is missing (scripts/install-prerequisites.sh)" >&2; exit 1; }
done

scratch=$(mktemp -d "${TMPDIR:-/tmp}/fim-bubblewrap.XXXXXX")
trap 'rm -rf --one-file-system "$scratch"' EXIT
mkdir -p "$scratch/apt/sources.list.d" "$scratch/apt/state/lists/partial" "$scratch/apt/cache/archives/partial" "$scratch/src"
mirror=$("$(dirname "$0")/debian-rootfs.sh" mirror)
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" > "$scratch/apt/sources.list"
apt_private=(
    -o "Dir::Etc::sourcelist=$scratch/apt/sources.list"
    -o "Dir::Etc::sourceparts=$scratch/apt/sources.list.d"
    -o "Dir::State=$scratch/apt/state"
    -o "Dir::Cache=$scratch/apt/cache"
    -o "Debug::NoLocking=1"
    -o "APT::Sandbox::User=$(id -un)"
)
echo "build-bubblewrap: fetching $tarball from $mirror ($suite)" >&2
apt-get "${apt_private[@]}" -qq update >&2
# Only the upstream tarball is used; a missing Debian packaging file (the .dsc of a stable update
# can lag behind on a mirror) makes apt-get report failure, so the result is judged by the tarball.
(cd "$scratch/src" && apt-get "${apt_private[@]}" -qq source --download-only bubblewrap >"$scratch/apt.log" 2>&1) || true
if [ ! -f "$scratch/src/$tarball" ]; then
    cat "$scratch/apt.log" >&2
    echo "build-bubblewrap: $suite no longer carries $tarball; update the pinned version and checksum in $0" >&2
    exit 1
fi
echo "$sha256  $scratch/src/$tarball" | sha256sum --check --quiet - || {
    echo "build-bubblewrap: $tarball does not have the pinned sha256 $sha256" >&2
    exit 1
}

tar -xf "$scratch/src/$tarball" -C "$scratch/src"
# Only the program: no man pages (xsltproc), shell completions, tests, or SELinux labelling
# (the sandbox sets no labels).
echo "build-bubblewrap: building bubblewrap $version" >&2
{
    meson setup "$scratch/build" "$scratch/src/bubblewrap-$version" --buildtype=release \
        -Dman=disabled -Dselinux=disabled -Dtests=false -Dbash_completion=disabled -Dzsh_completion=disabled &&
    ninja -C "$scratch/build"
} >"$scratch/build.log" 2>&1 || { cat "$scratch/build.log" >&2; echo "build-bubblewrap: the build failed" >&2; exit 1; }
"$scratch/build/bwrap" --version | grep -qx "bubblewrap $version" || { echo "build-bubblewrap: the built bwrap is not $version" >&2; exit 1; }

mkdir -p "$(dirname "$built").tmp"
install -m 0755 "$scratch/build/bwrap" "$(dirname "$built").tmp/bwrap"
rm -rf "$(dirname "$built")"
mv "$(dirname "$built").tmp" "$(dirname "$built")"
echo "$built"
