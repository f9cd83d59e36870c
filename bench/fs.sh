#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# bench/fs.sh: virtio-fs metadata against the host, side by side: unpack a
# tree of 5000 small files, find it, stat every file, remove it, in the
# guest on virtio-fs and on the host in the same directory. Prints each
# phase's time and the guest/host ratio, and the end-to-end time of
# `krun-chroot ROOT /bin/true`. The host runs the four phases in one go;
# the guest runs each in a fresh boot, so its caches start cold. Run where
# /dev/kvm is real KVM (`make bench-fs` runs it in testhost/with-kvm).
set -eu
B=${B:-build}
RUNS=${RUNS:-5}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
[ -c /dev/kvm ] || { echo "bench/fs: no /dev/kvm; run it through testhost/with-kvm" >&2; exit 1; }
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

# The workload: the same script and the same busybox on both sides, so
# the same system calls. `meta.sh DIR TAR FILES PHASE...` runs the phases
# in DIR and prints "phase seconds" for each (from /proc/uptime), on stdout
# and on stderr to show progress. tar runs with --numeric-owner, so that it
# does not read /etc/passwd and /etc/group for every file.
cat >"$ROOT/meta.sh" <<'SH'
set -eu
cd "$1"
tarball=$2
files=$3
shift 3
t() { cut -d' ' -f1 /proc/uptime; }
for phase in "$@"; do
    a=$(t)
    case $phase in
    unpack) tar --numeric-owner -xf "$tarball" ;;
    find) n=$(find tree -type f | wc -l) ;;
    stat) find tree -type f | xargs stat -c %s >/dev/null ;;
    remove) rm -rf tree ;;
    esac
    r="$phase $(echo "$(t) - $a" | bc)"
    echo "$r"
    echo "  $r" >&2
    if [ "$phase" = find ] && [ "$n" != "$files" ]; then
        echo "meta.sh: found $n files, not $files" >&2
        exit 1
    fi
done
SH
FILES=$((DIRS * 100))
PHASES="unpack find stat remove"
host_sh() { PATH=$ROOT/bin "$ROOT/bin/sh" "$ROOT/meta.sh" "$@"; }

# The state a phase starts from: no tree before unpack, the whole tree before the others.
prepare() {
    if [ "$1" = unpack ]; then
        rm -rf "$ROOT/tree"
    elif [ "$(find "$ROOT/tree" -type f 2>/dev/null | wc -l)" != "$FILES" ]; then
        rm -rf "$ROOT/tree"
        host_sh "$ROOT" "$ROOT/tree.tar" "$FILES" unpack >/dev/null 2>&1
    fi
}

# Each guest phase is its own boot, so that one failure of the emulated test
# host costs one phase, which is tried again (3 attempts), not a whole run.
guest_phase() {
    for attempt in 1 2 3; do
        prepare "$1"
        st=0
        "$B/krun-chroot" --cpus "${CPUS:-1}" --mem 512 "$ROOT" /bin/sh /meta.sh / /tree.tar \
            "$FILES" "$1" </dev/null >"$T/phase" || st=$?
        if [ $st = 0 ]; then
            cat "$T/phase" >>"$T/guest"
            return 0
        fi
        echo "bench/fs: guest phase $1 failed (status $st), attempt $attempt of 3" >&2
    done
    return 1
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for i in $(seq "$RUNS"); do
    echo "bench/fs: run $i, host" >&2
    prepare unpack
    host_sh "$ROOT" "$ROOT/tree.tar" "$FILES" $PHASES >>"$T/host"
    echo "bench/fs: run $i, guest" >&2
    for p in $PHASES; do guest_phase $p; done
done
echo "bench/fs: $FILES files of 200 bytes in $DIRS directories, median of $RUNS runs"
printf '%-8s %10s %10s %8s\n' phase host-s guest-s ratio
for p in $PHASES; do
    h=$(awk -v p=$p '$1 == p {print $2}' "$T/host" | median)
    g=$(awk -v p=$p '$1 == p {print $2}' "$T/guest" | median)
    echo "$p $h $g" | awk '{ printf "%-8s %10.2f %10.2f %8.1f\n", $1, $2, $3, ($2 > 0 ? $3 / $2 : 0) }'
done

: >"$T/e2e"
for i in $(seq "$RUNS"); do
    /usr/bin/time -a -o "$T/e2e" -f "%e" "$B/krun-chroot" "$ROOT" /bin/true </dev/null
done
echo "krun-chroot ROOT /bin/true, end to end: $(median <"$T/e2e") s (median of $RUNS)"
