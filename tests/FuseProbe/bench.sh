#!/bin/bash
# Rough comparison used during development (root only: drops caches).
# usage: bench.sh <dir> <label>
# walk: find with stat of every entry after drop_caches; cold-read: tar of the tree after
# drop_caches; warm-read: the same again; warm-big: cat of <dir>/big.bin from the page cache.
# Serve a tree with: FIM_PROBE_SOURCE=<src> [FIM_PROBE_STATELESS_OPEN=1] FuseProbe <mnt>
D=$1; L=$2
t() { local s=$(date +%s.%N); "$@" >/dev/null 2>&1; local e=$(date +%s.%N); echo "$(echo "$e - $s" | bc)"; }
sync; echo 3 > /proc/sys/vm/drop_caches
walk=$(t find $D -printf '%s %m %U\n')
sync; echo 3 > /proc/sys/vm/drop_caches
cold=$(t sh -c "tar cf - -C $D . | cat > /dev/null")
warm=$(t sh -c "tar cf - -C $D . | cat > /dev/null")
warmbig=$(t sh -c "cat $D/big.bin > /dev/null")
printf "%-14s walk %6.3fs  cold-read %6.3fs  warm-read %6.3fs  warm-big %6.3fs\n" $L $walk $cold $warm $warmbig
