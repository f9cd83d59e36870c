#!/bin/sh
# bench/blk.sh: virtio-blk against the host, side by side: fio (Debian's)
# with 4k random reads and writes at queue depth 1 and 16, and 1M sequential
# reads and writes, direct I/O, on the same image file: in the guest on
# /dev/vda (the guest runs the host's fio, its root being the host's /
# shared read-only), and on the host on the file. Prints IOPS, bandwidth
# and the guest/host ratio per case. Run where /dev/kvm is real KVM
# (`make bench-blk` runs it in tools/with-kvm).
set -eu
B=${B:-build}
SECONDS_PER_CASE=${SECONDS_PER_CASE:-10}
SIZE=${SIZE:-512M}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
command -v fio >/dev/null || { echo "bench/blk: fio not installed (apt install fio)" >&2; exit 1; }
[ -c /dev/kvm ] || { echo "bench/blk: no /dev/kvm; run it through tools/with-kvm" >&2; exit 1; }
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

# One fio run; prints "IOPS BW_KiB" from the terse output (fields 8/7 read, 49/48 write).
fio_line() { # file rw bs qd
    "$FIO" --name=b --filename="$1" --rw="$2" --bs="$3" --iodepth="$4" --ioengine=libaio \
        --direct=1 --runtime="$SECONDS_PER_CASE" --time_based --group_reporting \
        --output-format=terse --terse-version=3 2>/dev/null |
        awk -F';' '{ if ($8 > 0) print $8, $7; else print $49, $48 }'
}

echo "bench/blk: $SIZE raw image, ${SECONDS_PER_CASE}s per case, direct I/O, libaio"
printf '%-18s %12s %12s %10s %12s %12s\n' case host-IOPS guest-IOPS ratio host-MiB/s guest-MiB/s
echo "$cases" | while read -r name rw bs qd; do
    host=$(fio_line "$IMG" "$rw" "$bs" "$qd")
    guest=$("$B/krun-chroot" --ro --cpus 2 --mem 512 --disk "$IMG" / "$FIO" --name=b \
        --filename=/dev/vda --rw="$rw" --bs="$bs" --iodepth="$qd" --ioengine=libaio --direct=1 \
        --runtime="$SECONDS_PER_CASE" --time_based --group_reporting --output-format=terse \
        --terse-version=3 </dev/null 2>"$T/err" |
        awk -F';' '{ if ($8 > 0) print $8, $7; else print $49, $48 }') || true
    if [ -z "$guest" ]; then
        echo "bench/blk: guest run of $name failed:" >&2
        tail -5 "$T/err" >&2
        exit 1
    fi
    echo "$name $host $guest" | awk '{
        printf "%-18s %12.0f %12.0f %10.2f %12.1f %12.1f\n", $1, $2, $4, ($2 > 0 ? $4 / $2 : 0), $3 / 1024, $5 / 1024 }'
done
