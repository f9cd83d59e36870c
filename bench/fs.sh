#!/bin/sh
# bench/fs.sh: virtio-fs metadata against the host, side by side: unpack a
# tree of 5000 small files, find it, stat every file, remove it, in the
# guest on virtio-fs and on the host in the same directory. Prints each
# phase's time and the guest/host ratio, and the end-to-end time of
# `krun-chroot ROOT /bin/true`. Run where /dev/kvm is real KVM
# (`make bench-fs` runs it in tools/with-kvm).
set -eu
B=${B:-build}
RUNS=${RUNS:-5}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
[ -c /dev/kvm ] || { echo "bench/fs: no /dev/kvm; run it through tools/with-kvm" >&2; exit 1; }
ROOT=$T/root
"$(dirname "$0")/../tests/vm/mkrootfs.sh" "$ROOT"

# DIRS directories of 100 files of 200 bytes (50 by default: 5000 files).
DIRS=${DIRS:-50}
mkdir -p "$T/src/tree"
for d in $(seq 1 "$DIRS"); do
    mkdir "$T/src/tree/d$d"
    for f in $(seq 1 100); do printf "%200s" "" >"$T/src/tree/d$d/f$f"; done
done
tar -C "$T/src" -cf "$ROOT/tree.tar" tree
rm -rf "$T/src"

# The workload, the same script for both sides. Each phase prints "phase
# seconds" (from /proc/uptime) on stdout, and on stderr to show progress.
cat >"$ROOT/meta.sh" <<'SH'
set -eu
cd "$1"
t() { cut -d' ' -f1 /proc/uptime; }
done_at() { r="$1 $(echo "$(t) - $2" | bc)"; echo "$r"; echo "  $r" >&2; }
a=$(t); tar -xf "$2"; done_at unpack "$a"
a=$(t); n=$(find tree -type f | wc -l); done_at find "$a"
[ "$n" = "$3" ] || { echo "meta.sh: unpacked $n files, not $3" >&2; exit 1; }
a=$(t); find tree -type f | xargs stat -c %s >/dev/null; done_at stat "$a"
a=$(t); rm -rf tree; done_at remove "$a"
SH

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for i in $(seq "$RUNS"); do
    echo "bench/fs: run $i, host" >&2
    sh "$ROOT/meta.sh" "$ROOT" "$ROOT/tree.tar" $((DIRS * 100)) >>"$T/host"
    echo "bench/fs: run $i, guest" >&2
    "$B/krun-chroot" --cpus 2 --mem 512 "$ROOT" /bin/sh /meta.sh / /tree.tar $((DIRS * 100)) \
        </dev/null >>"$T/guest"
done
echo "bench/fs: $((DIRS * 100)) files of 200 bytes in $DIRS directories, median of $RUNS runs"
printf '%-8s %10s %10s %8s\n' phase host-s guest-s ratio
for p in unpack find stat remove; do
    h=$(awk -v p=$p '$1 == p {print $2}' "$T/host" | median)
    g=$(awk -v p=$p '$1 == p {print $2}' "$T/guest" | median)
    echo "$p $h $g" | awk '{ printf "%-8s %10.2f %10.2f %8.1f\n", $1, $2, $3, ($2 > 0 ? $3 / $2 : 0) }'
done

: >"$T/e2e"
for i in $(seq "$RUNS"); do
    /usr/bin/time -a -o "$T/e2e" -f "%e" "$B/krun-chroot" "$ROOT" /bin/true </dev/null
done
echo "krun-chroot ROOT /bin/true, end to end: $(median <"$T/e2e") s (median of $RUNS)"
