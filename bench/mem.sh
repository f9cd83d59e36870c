#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# bench/mem.sh: does guest memory go back to the host? libkrun-c (its
# virtio-balloon with free page reporting, always there) against QEMU's
# microvm machine with -device virtio-balloon-device,free-page-reporting=on,
# side by side, booting the same kernel (build/vmlinux) and initramfs with
# the same guest: it settles, fills a file of TOUCH_MIB on a tmpfs, holds
# it, deletes it, and waits. Run where /dev/kvm is real KVM (`make
# bench-mem` runs it in testhost/with-kvm). Prints figures and ratios. In
# the emulated test host a GiB takes many minutes to touch: TOUCH_MIB=256.
#
# The VMM's VmRSS (host /proc/PID/status), sampled every half second:
#   - after boot (the guest has settled: its boot-time reports are done);
#   - with TOUCH_MIB touched (the file written);
#   - after the guest deleted it and waited FREE_SECS (the last sample);
# and how soon after the delete the RSS fell by half of TOUCH_MIB (an upper
# bound: the samples are as far apart as the host's load makes them).
set -eu
B=${B:-build}
MEM=${MEM:-1536}
TOUCH_MIB=${TOUCH_MIB:-1024}
SETTLE_SECS=${SETTLE_SECS:-8}
HOLD_SECS=${HOLD_SECS:-4}
FREE_SECS=${FREE_SECS:-20}
K=$B/vmlinux
INIT=$B/gen/init.krun
here=$(dirname "$0")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
die() {
    echo "bench/mem: $*" >&2
    exit 1
}
[ -c /dev/kvm ] || die "no /dev/kvm; run it through testhost/with-kvm"
for f in "$B/vmtest" "$K" "$INIT"; do [ -e "$f" ] || die "$f missing (make vm-test-deps)"; done
QEMU=$(command -v qemu-system-x86_64) || die "qemu-system-x86_64 missing (tools/install-deps)"

# The guest: a busybox initramfs with the script both VMMs run.
ROOT=$T/root
"$here/../tests/vm/mkrootfs.sh" "$ROOT"
cat >"$ROOT/bench-mem.sh" <<SCRIPT
#!/bin/sh
sleep $SETTLE_SECS
echo BOOTED
sleep $HOLD_SECS
mount -t tmpfs -o size=$((TOUCH_MIB + 16))m mem /mnt
dd if=/dev/zero of=/mnt/big bs=1M count=$TOUCH_MIB 2>/dev/null && echo TOUCHED
sleep $HOLD_SECS
rm /mnt/big
echo FREED
sleep $FREE_SECS
echo DONE
SCRIPT
chmod 0755 "$ROOT/bench-mem.sh"
cp "$INIT" "$ROOT/init"
chmod 0755 "$ROOT/init"
(cd "$ROOT" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | gzip -1 >"$T/rd.gz"

# sample PID OUT: until PID ends, "PHASE RSS_KIB SECONDS" lines every half
# second, PHASE the guest's last line in OUT.
sample() {
    _t0=$(date +%s.%N)
    while _rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null) && [ -n "$_rss" ]; do
        _ph=$({ tr -d '\r' <"$2"; } 2>/dev/null | grep -E '^(BOOTED|TOUCHED|FREED|DONE)$' | tail -n 1)
        echo "${_ph:-BOOT} $_rss $(awk -v a="$(date +%s.%N)" -v b="$_t0" 'BEGIN {printf "%.1f", a - b}')"
        sleep 0.5
    done
}

# figures SAMPLES NAME: print the figures of one run, set fig_boot, fig_touched, fig_freed (KiB).
figures() {
    fig_boot=$(awk '$1 == "BOOTED" {print $2; exit}' "$1")
    fig_touched=$(awk '$1 == "TOUCHED" {print $2; exit}' "$1")
    fig_freed=$(awk '$1 == "FREED" {v = $2} END {print v}' "$1")
    _half=$((TOUCH_MIB * 1024 / 2))
    # An upper bound: from the last sample before the delete to the first that shows the fall.
    _after=$(awk -v t="$fig_touched" -v h="$_half" '{n++; last = $3}
        $1 == "TOUCHED" {p = $3}
        $1 == "FREED" && t - $2 >= h && !w {w = $3 - p}
        END {if (w) printf "within %.1f s (samples %.1f s apart here)", w, last / (n - 1)}' "$1")
    [ -n "$fig_boot" ] && [ -n "$fig_touched" ] && [ -n "$fig_freed" ] ||
        die "$2: the guest did not get through its steps: $(cat "$1" | tail -3)"
    echo "$2:"
    echo "  VmRSS after boot:                $((fig_boot / 1024)) MiB"
    echo "  VmRSS with $TOUCH_MIB MiB touched:      $((fig_touched / 1024)) MiB"
    echo "  VmRSS ${FREE_SECS} s after it was freed: $((fig_freed / 1024)) MiB (given back: $(((fig_touched - fig_freed) / 1024)) MiB)"
    echo "  fell by half of it after:        ${_after:-never, within $FREE_SECS s}"
}

echo "bench/mem: $MEM MiB guest, 1 vCPU, touches $TOUCH_MIB MiB and frees it"
echo
CMD="console=hvc0 reboot=k panic=-1 quiet"
"$B/vmtest" --kernel "$K" --initrd "$T/rd.gz" --cmdline "$CMD" --mem "$MEM" -- /bench-mem.sh \
    </dev/null >"$T/k.out" 2>"$T/k.err" &
kpid=$!
sample $kpid "$T/k.out" >"$T/k.samples"
wait $kpid || die "libkrun-c failed: $(tail -3 "$T/k.err")"
figures "$T/k.samples" "libkrun-c (virtio-balloon, free page reporting)"
k_boot=$fig_boot k_touched=$fig_touched k_freed=$fig_freed

echo
"$QEMU" -M microvm,x-option-roms=off,rtc=off,pic=off,pit=on,isa-serial=off,acpi=off \
    -enable-kvm -cpu host -m "$MEM" -smp 1 -nodefaults -no-user-config -display none \
    -monitor none -no-reboot -kernel "$K" -initrd "$T/rd.gz" \
    -device virtio-balloon-device,free-page-reporting=on \
    -device virtio-serial-device -chardev file,id=c0,path="$T/q.out" -device virtconsole,chardev=c0 \
    -append "console=hvc0 reboot=t panic=-1 quiet KRUN_INIT=/bench-mem.sh" \
    </dev/null >"$T/q.log" 2>&1 &
qpid=$!
sample $qpid "$T/q.out" >"$T/q.samples"
wait $qpid || die "QEMU failed: $(tail -3 "$T/q.log")"
figures "$T/q.samples" "QEMU microvm (virtio-balloon-device, free-page-reporting=on)"

echo
awk -v kb="$k_boot" -v kt="$k_touched" -v kf="$k_freed" -v qb="$fig_boot" -v qt="$fig_touched" \
    -v qf="$fig_freed" -v m="$TOUCH_MIB" 'BEGIN {
    printf "ratio libkrun-c / QEMU microvm: VmRSS after boot %.2f, touched %.2f, after the free %.2f\n",
        kb / qb, kt / qt, kf / qf
    printf "given back, share of the %d MiB touched: libkrun-c %.0f %%, QEMU %.0f %%\n", m,
        100 * (kt - kf) / (m * 1024), 100 * (qt - qf) / (m * 1024)
}'
