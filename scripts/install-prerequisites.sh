#!/usr/bin/env bash
# Installs what building, testing and benchmarking need on a fresh Debian machine.
# Idempotent: packages already present are not touched; the apt index is refreshed only when
# something is missing. Needs root (or sudo) for apt-get.
set -euo pipefail

packages=(
  # build: NativeAOT links with clang; zlib for the runtime's compression support
  clang zlib1g-dev git
  # build: the launcher links libzstd.a statically (layer blocks are zstd frames); JIT hosts such
  # as the tests use the libzstd1 that every Debian has
  libzstd-dev
  # the tools bundle: give each dynamic tool its own RPATH and loader placeholder (collect-tools.sh)
  patchelf binutils
  # the tools bundle: bubblewrap built from upstream source (scripts/build-bubblewrap.sh)
  gcc meson ninja-build pkg-config libcap-dev xz-utils
  # run time and tests: the sandbox, FUSE, overlays, the busybox test userland, xattr tools, setpriv
  bubblewrap fuse3 fuse-overlayfs unionfs-fuse busybox-static attr util-linux passwd
  # desktop integration: the host tools that judge and use it in the tests (entry validation, the
  # MIME and desktop databases, xdg-mime/xdg-open, gio for MIME sniffing, a session bus), and wget
  # for icon URLs
  desktop-file-utils shared-mime-info xdg-utils libglib2.0-bin dbus-daemon dbus-session-bus-common wget
  # layer tests and benchmarks: a real Debian tree and the peers we compare against
  debootstrap squashfuse squashfs-tools hyperfine time
  # a GUI program's window under a real X server (the xorg permission)
  xvfb x11-utils xauth
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v dotnet >/dev/null; then
  echo "error: the .NET 10 SDK (dotnet) is not on PATH" >&2
  exit 1
fi
