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

# write_peer_b <script> <bwrap 0.12>: peer (b) as a script, `<script> <squashfs> <command...>`:
# mounts the SquashFS with squashfuse_ll, runs the command in bubblewrap 0.12's kernel overlay on
# it (fresh upper and work directories below $work), then unmounts and removes what it made.
write_peer_b() {
  cat > "$1" <<SH
#!/bin/sh
set -e
sqfs=\$1; shift
d=\$(mktemp -d -p "$work")
mkdir \$d/lower \$d/upper \$d/work
squashfuse_ll "\$sqfs" \$d/lower
"$2" --unshare-user --uid 0 --gid 0 --overlay-src \$d/lower --overlay \$d/upper \$d/work / --dev /dev --proc /proc --tmpfs /tmp --unshare-pid --unshare-net --die-with-parent "\$@"
fusermount3 -u \$d/lower
chmod -R u+rwx \$d 2>/dev/null || true
rm -rf \$d
SH
  chmod 755 "$1"
}
