# Shared by the bench scripts (source it): small helpers only.

# wait_mounted <dir>: until <dir> is a mount point that answers (30 s at the most), else exit 1.
wait_mounted() {
  for _ in $(seq 1 600); do
    if awk -v d="$1" '$5==d {f=1} END {exit !f}' /proc/self/mountinfo; then stat -f "$1" >/dev/null; return 0; fi
    sleep 0.05
  done
  echo "$1 did not get mounted" >&2; exit 1
}
