# Shared by the bench scripts (source it): small helpers only.

# wait_mounted <dir>: until <dir> is a mount point that answers (30 s at the most), else exit 1.
wait_mounted() {
  for _ in $(seq 1 600); do
    if awk -v d="$1" '$5==d {f=1} END {exit !f}' /proc/self/mountinfo; then stat -f "$1" >/dev/null; return 0; fi
    sleep 0.05
  done
  echo "$1 did not get mounted" >&2; exit 1
}

# bench_as_user <script name> <work dir prefix>: for the scripts that time runs as the unprivileged
# user $user (they must start as root: they drop the page cache and mount the peers). Creates the
# user if missing, opens /dev/fuse to it, sets uid, gid and as_user (setpriv … --), and makes
# work, a fresh directory the user can enter, unmounted (newest first) and removed at exit
# (kept when KEEP is set).
bench_as_user() {
  [ "$(id -u)" -eq 0 ] || { echo "$1: run as root (it drops the page cache and runs as $user)" >&2; exit 1; }
  id -u "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
  chmod 666 /dev/fuse
  uid=$(id -u "$user")
  gid=$(id -g "$user")
  as_user=(setpriv "--reuid=$uid" "--regid=$gid" --clear-groups --)
  work=$(mktemp -d "/tmp/$2.XXXXXX")
  chmod 755 "$work"
  trap 'for m in $(awk -v w="$work" "index(\$5, w) == 1 { print \$5 }" /proc/self/mountinfo | sort -r); do umount -l "$m"; done; [ -n "${KEEP:-}" ] || rm -rf --one-file-system "$work"' EXIT
}
