#!/usr/bin/env bash
# Writes a Debian image: a copy of the blueprint plus `debootstrap --variant=minbase bookworm` as
# layer 0, made with the product's own commands (fim-layer create, fim-layer add).
#
#   scripts/build-debian-image.sh <blueprint> <out.flatimage> [--keep-rootfs <dir>]
#
# The tree is prepared so that package management works under `fim-root` in a single-uid user
# namespace (an unprivileged user's run maps only their own uid, to 0):
#   - APT::Sandbox::User "root": apt would otherwise drop to _apt (uid 42) to download, a uid
#     that does not exist in that namespace (setresuid fails); and no terminal log, which apt
#     would chown to group adm (a warning on every run);
#   - apt's sources name the mirror this machine's apt uses (scripts/debian-rootfs.sh), so the
#     image reaches the same archive the host does;
#   - no downloaded .debs and no package lists: `apt-get update` fetches fresh ones, and the image
#     does not carry 80 MB of stale indexes;
#   - the writable overlay is the default one, bwrap's kernel overlay: the kernel creates and
#     renames the mode-0 directories dpkg makes as the namespace's root. (fuse-overlayfs, run by an
#     unprivileged user, cannot: it builds a new directory in its work dir and then cannot rename
#     it into place, EACCES, even in 1.14; unionfs-fuse creates in place and works too.)
#     `fim-overlay set` changes it per image.
#   - a start profile (docs/layers.md "Start profile"): the image is built once, a shell start is
#     recorded in it (FIM_PROFILE=1 ... sh -c 'bash -c : && /usr/bin/true'), and the layer is made
#     again with that profile, so what that reads from the layer (dash, the dynamic loader, libc,
#     the locale files the bundled bash loads, true) opens the data stream in small blocks the
#     launcher decompresses ahead. The second build costs a few seconds of CPU.
# --keep-rootfs leaves the prepared tree in <dir> (the benchmark compares it with mksquashfs).
# Needs root: debootstrap the first time, and a root-owned tree for the layer.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

blueprint=${1:?usage: $0 <blueprint> <out.flatimage> [--keep-rootfs <dir>]}
out=${2:?usage: $0 <blueprint> <out.flatimage> [--keep-rootfs <dir>]}
keep=""
if [ "${3:-}" = "--keep-rootfs" ]; then
    keep=${4:?--keep-rootfs needs a directory}
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "error: building a Debian image needs root (debootstrap, and files owned by root in the layer); run as root" >&2
    exit 1
fi

tree=$("$repo/scripts/debian-rootfs.sh" tree)
mirror=$("$repo/scripts/debian-rootfs.sh" mirror)
security=$("$repo/scripts/debian-rootfs.sh" security)

work=$(mktemp -d "${TMPDIR:-/tmp}/fim-debian-image.XXXXXX")
trap 'rm -rf --one-file-system "$work"' EXIT
rootfs="$work/rootfs"
# The cached tree is shared with the layer tests: change a copy.
cp -a "$tree" "$rootfs"

rm -f "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin
find "$rootfs/var/lib/apt/lists" -maxdepth 1 -type f ! -name lock -delete

cat > "$rootfs/etc/apt/apt.conf.d/00flatimage" <<'EOF'
// FlatImage: fim-root of an unprivileged user is a single-uid user namespace where only root
// exists. apt's download sandbox user (_apt) cannot be switched to there, and the terminal log
// would be chowned to group adm, which does not exist there either (a warning on every run).
APT::Sandbox::User "root";
Dir::Log::Terminal "/dev/null";
EOF

rm -f "$rootfs/etc/apt/sources.list"
{
    echo "Types: deb"
    echo "URIs: $mirror"
    echo "Suites: bookworm bookworm-updates"
    echo "Components: main"
    echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
    if [ -n "$security" ]; then
        echo
        echo "Types: deb"
        echo "URIs: $security"
        echo "Suites: bookworm-security"
        echo "Components: main"
        echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
    fi
} > "$rootfs/etc/apt/sources.list.d/debian.sources"

mkdir -p "$(dirname "$out")"
tmp="$(dirname "$out")/.$(basename "$out").tmp"
cp "$blueprint" "$tmp"
"$tmp" fim-layer create "$rootfs" "$work/debian.layer"
"$tmp" fim-layer add "$work/debian.layer"
# The start profile of a shell: recorded in the image just built (its own data directory, so
# nothing of this run is kept), then the layer again with those files first.
FIM_DIR_DATA="$work/data" FIM_PROFILE=1 "$tmp" fim-exec sh -c 'bash -c : && /usr/bin/true' 2>/dev/null
cp "$blueprint" "$tmp"
"$tmp" fim-layer create "$rootfs" "$work/debian.layer" --profile "$work/data/start-profile"
"$tmp" fim-layer add "$work/debian.layer"
mv "$tmp" "$out"

if [ -n "$keep" ]; then
    rm -rf --one-file-system "$keep"
    mv "$rootfs" "$keep"
fi
