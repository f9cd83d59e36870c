#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# bench/blk.sh: virtio-blk against the host, side by side: fio (Debian's)
# with 4k random reads and writes at queue depth 1 and 16, and 1M sequential
# reads and writes, direct I/O, on the same image file: in the guest on
# /dev/vda (the guest runs the host's fio, its root being the host's /
# shared read-only), and on the host on the file. Prints IOPS, bandwidth
# and the guest/host ratio per case. Run where /dev/kvm is real KVM
# (`make bench-blk` runs it in testhost/with-kvm).
set -eu
B=${B:-build}
SECONDS_PER_CASE=${SECONDS_PER_CASE:-10}
SIZE=${SIZE:-512M}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
command -v fio >/dev/null || { echo "bench/blk: fio not installed (apt install fio)" >&2; exit 1; }
[ -c /dev/kvm ] || { echo "bench/blk: no /dev/kvm; run it through testhost/with-kvm" >&2; exit 1; }
IMG=$T/fio.img
head -c "$SIZE" /dev/zero >"$IMG" # allocated, so that reads hit real blocks
FIO=$(command -v fio)

# The cases: name rw bs iodepth
cases="randread-4k-qd1 randread 4k 1
randread-4k-qd16 randread 4k 16
randwrite-4k-qd1 randwrite 4k 1
randwrite-4k-qd16 randwrite 4k 16
read-1m read 1M 4
write-1m write 1M 4"

# Prints "IOPS BW_KiB IOS" from fio's terse output: fields 8/7/9 (IOPS, KiB/s,
# runtime in ms) for reads, 49/48/50 for writes; IOS is the number of requests.
TERSE='{ if ($8 > 0) print $8, $7, $8 * $9 / 1000; else print $49, $48, $49 * $50 / 1000 }'
fio_line() { # file rw bs qd
    "$FIO" --name=b --filename="$1" --rw="$2" --bs="$3" --iodepth="$4" --ioengine=libaio \
        --direct=1 --runtime="$SECONDS_PER_CASE" --time_based --group_reporting \
        --output-format=terse --terse-version=3 2>/dev/null | awk -F';' "$TERSE"
}

echo "bench/blk: $SIZE raw image, ${SECONDS_PER_CASE}s per case, direct I/O, libaio"
echo "exits/req: the guest's exits to the VMM (MMIO and port I/O, boot included) per request"
printf '%-18s %12s %12s %8s %12s %12s %10s\n' case host-IOPS guest-IOPS ratio host-MiB/s guest-MiB/s exits/req
echo "$cases" | while read -r name rw bs qd; do
    host=$(fio_line "$IMG" "$rw" "$bs" "$qd")
    guest=$("$B/krun-chroot" --log-level 3 --ro --cpus 2 --mem 512 --disk "$IMG" / "$FIO" \
        --name=b --filename=/dev/vda --rw="$rw" --bs="$bs" --iodepth="$qd" --ioengine=libaio \
        --direct=1 --runtime="$SECONDS_PER_CASE" --time_based --group_reporting \
        --output-format=terse --terse-version=3 </dev/null 2>"$T/err" | awk -F';' "$TERSE") || true
    if [ -z "$guest" ]; then
        echo "bench/blk: guest run of $name failed:" >&2
        grep -v 'stats:' "$T/err" | tail -n 20 >&2
        exit 1
    fi
    exits=$(sed -n 's/.*stats: exits to the VMM: port I\/O \([0-9]*\), MMIO \([0-9]*\),.*/\1 \2/p' "$T/err" |
        awk '{ print $1 + $2 }')
    echo "$name $host $guest ${exits:-0}" | awk '{
        printf "%-18s %12.0f %12.0f %8.2f %12.1f %12.1f %10.3f\n", $1, $2, $5, ($2 > 0 ? $5 / $2 : 0),
            $3 / 1024, $6 / 1024, ($7 > 0 ? $8 / $7 : 0) }'
done
