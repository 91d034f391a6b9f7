#!/usr/bin/env bash
# The one Debian bookworm `debootstrap --variant=minbase` tree that the Debian image, the layer
# tests and the layer benchmarks share, and the one place that knows which mirror to use.
#
#   scripts/debian-rootfs.sh tree      bootstraps the tree once (needs root and the mirror), caches
#                                      it as a tarball plus an extracted copy under $FIM_TEST_CACHE
#                                      (default /var/cache/flatimage-tests), prints the tree's path
#   scripts/debian-rootfs.sh mirror    prints the Debian archive apt is configured with here
#   scripts/debian-rootfs.sh security  prints the Debian security archive apt is configured with (or nothing)
#
# The cached tree is shared and read-only by convention: callers copy it before changing it.
set -euo pipefail

cache=${FIM_TEST_CACHE:-/var/cache/flatimage-tests}
apt_etc=${FIM_APT_ETC:-/etc/apt} # where apt's sources are read from (tests point it elsewhere)
suite=bookworm

# "URI SUITE..." for every deb entry in apt's own sources (one-line *.list and deb822 *.sources);
# files apt ignores (other extensions, such as *.disabled) are ignored here too.
entries() {
    local files=()
    [ -f "$apt_etc/sources.list" ] && files+=("$apt_etc/sources.list")
    for f in "$apt_etc"/sources.list.d/*.list "$apt_etc"/sources.list.d/*.sources; do
        [ -f "$f" ] && files+=("$f")
    done
    ((${#files[@]})) || return 0
    awk '
        FNR == 1 { flush() }
        /^[[:space:]]*#/ { next }
        /^deb[[:space:]]/ {
            sub(/\[[^]]*\][[:space:]]*/, "")
            print $2, $3; next
        }
        /^[[:space:]]*$/ { flush(); next }
        /^Types:/   { types = $0 }
        /^URIs:/    { uris = $2 }
        /^Suites:/  { $1 = ""; suites = $0 }
        function flush() {
            if (types ~ /(^|[[:space:]])deb([[:space:]]|$)/ && uris != "") print uris, suites
            types = ""; uris = ""; suites = ""
        }
        END { flush() }
    ' "${files[@]}"
}

# The archive that carries the plain release suites; prefer one that lists the suite we bootstrap.
mirror() {
    local uri
    uri=$(entries | awk -v s="$suite" '$1 ~ /^https?:/ && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i == s) { print $1; exit } }')
    [ -n "$uri" ] || uri=$(entries | awk '$1 ~ /^https?:\/\/.*\/debian\/?$/ { print $1; exit }')
    echo "${uri:-http://deb.debian.org/debian}" | sed 's:/*$::'
}

security() {
    entries | awk '$1 ~ /^https?:/ && $0 ~ /-security/ { print $1; exit }' | sed 's:/*$::'
}

tree() {
    local tree="$cache/$suite-minbase" tar="$cache/$suite-minbase.tar"
    mkdir -p "$cache"
    # One builder at a time (tests and build.sh may start together); the .ok marker says "complete".
    exec 9>"$cache/.lock"
    flock 9
    if [ ! -f "$tree.ok" ] || [ ! -d "$tree" ]; then
        rm -rf --one-file-system "$tree.tmp" "$tree"
        if [ ! -f "$tar" ]; then
            if [ "$(id -u)" -ne 0 ]; then
                echo "error: debootstrap needs root: run this as root (the tree is cached in $cache afterwards)" >&2
                exit 1
            fi
            local from
            from=$(mirror)
            if ! debootstrap --variant=minbase "$suite" "$tree.tmp" "$from" >&2; then
                echo "error: debootstrap $suite from $from failed (network or mirror unavailable?)" >&2
                exit 1
            fi
            tar --xattrs --xattrs-include='*' --numeric-owner -cf "$tar.tmp" -C "$tree.tmp" .
            mv "$tar.tmp" "$tar"
        else
            mkdir -p "$tree.tmp"
            tar --xattrs --xattrs-include='*' --numeric-owner -xpf "$tar" -C "$tree.tmp"
        fi
        mv "$tree.tmp" "$tree"
        touch "$tree.ok"
    fi
    echo "$tree"
}

case "${1:-}" in
    tree) tree ;;
    mirror) mirror ;;
    security) security ;;
    *) echo "usage: $0 tree|mirror|security" >&2; exit 2 ;;
esac
