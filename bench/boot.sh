#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# bench/boot.sh: boot time and memory of libkrun-c against QEMU's microvm
# machine, side by side, booting the same kernel (build/vmlinux) and
# initramfs with a guest that exits at once. Run where /dev/kvm is real KVM
# (`make bench-boot` runs it in testhost/with-kvm). Prints figures and ratios.
#
# Measures, median of RUNS (default 7):
#   - libkrun-c: host CPU and wall time from krun_start_enter to the first
#     KVM_RUN (the library's own statistic), the whole process's wall and
#     CPU time, and the VMM's RSS beyond guest memory;
#   - the same for krun-chroot ROOT /bin/true (the bundled kernel mapped
#     from libkrunfw.so.5, a busybox root on virtio-fs);
#   - QEMU microvm (-enable-kvm, same kernel, initramfs and command line,
#     reboot by triple fault): the whole process's wall and CPU time, RSS.
set -eu
B=${B:-build}
RUNS=${RUNS:-7}
K=$B/vmlinux
RD=$B/test-initramfs.cpio.gz
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
[ -c /dev/kvm ] || { echo "bench/boot: no /dev/kvm; run it through testhost/with-kvm" >&2; exit 1; }
for f in "$B/vmtest" "$K" "$RD"; do [ -e "$f" ] || { echo "bench/boot: $f missing" >&2; exit 1; }; done
QEMU=$(command -v qemu-system-x86_64 || true)

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "n/a"}'; }

# run_timed OUTFILE CMD...: appends "wall_s user_s sys_s maxrss_kib" to OUTFILE.
run_timed() {
    out=$1
    shift
    /usr/bin/time -o "$T/time" -f "%e %U %S %M" "$@" </dev/null >"$T/stdout" 2>"$T/stderr" || {
        echo "bench/boot: '$*' failed:" >&2
        tail -5 "$T/stderr" >&2
        exit 1
    }
    cat "$T/time" >>"$out"
}

echo "bench/boot: $RUNS runs each, kernel $(basename "$K"), initramfs $(du -k "$RD" | cut -f1) KiB"
: >"$T/krun"
: >"$T/setup"
: >"$T/vmm"
for i in $(seq "$RUNS"); do
    KRUN_LOG_LEVEL=3 run_timed "$T/krun" "$B/vmtest" --log-level 3 --kernel "$K" --initrd "$RD" \
        --cmdline "console=hvc0 reboot=k panic=-1 quiet" -- /bin/true
    sed -n 's/.*stats: setup to first KVM_RUN: \([0-9]*\) us CPU, \([0-9]*\) us wall.*/\1 \2/p' \
        "$T/stderr" >>"$T/setup"
    sed -n 's/.*stats: RSS \([0-9]*\) KiB, of which guest RAM \([0-9]*\) KiB, VMM \([0-9]*\) KiB.*/\3/p' \
        "$T/stderr" >>"$T/vmm"
done

k_wall=$(awk '{print $1}' "$T/krun" | median)
k_cpu=$(awk '{print $2 + $3}' "$T/krun" | median)
k_setup_cpu=$(awk '{print $1}' "$T/setup" | median)
k_setup_wall=$(awk '{print $2}' "$T/setup" | median)
k_vmm=$(median <"$T/vmm")
k_rss=$(awk '{print $4}' "$T/krun" | median)

echo
echo "libkrun-c (krun_set_kernel + initramfs, 1 vCPU, 128 MiB):"
echo "  setup, krun_start_enter -> first KVM_RUN: ${k_setup_cpu} us CPU, ${k_setup_wall} us wall"
echo "  whole process, guest exits at once:      ${k_wall} s wall, ${k_cpu} s CPU"
echo "  RSS: ${k_rss} KiB max, of which beyond guest memory at exit: ${k_vmm} KiB"

# The bundled kernel with a virtio-fs root, as crun, krunvm and muvm use it.
ROOT=$T/root
"$(dirname "$0")/../tests/vm/mkrootfs.sh" "$ROOT"
: >"$T/chroot"
: >"$T/csetup"
: >"$T/cvmm"
for i in $(seq "$RUNS"); do
    run_timed "$T/chroot" "$B/krun-chroot" --log-level 3 --mem 128 "$ROOT" /bin/true
    sed -n 's/.*stats: setup to first KVM_RUN: \([0-9]*\) us CPU, \([0-9]*\) us wall.*/\1 \2/p' \
        "$T/stderr" >>"$T/csetup"
    sed -n 's/.*stats: RSS \([0-9]*\) KiB, of which guest RAM \([0-9]*\) KiB, VMM \([0-9]*\) KiB.*/\3/p' \
        "$T/stderr" >>"$T/cvmm"
done
echo
echo "libkrun-c, bundled kernel and virtio-fs root (krun-chroot ROOT /bin/true, 1 vCPU, 128 MiB):"
echo "  setup, krun_start_enter -> first KVM_RUN: $(awk '{print $1}' "$T/csetup" | median) us CPU, $(awk '{print $2}' "$T/csetup" | median) us wall"
echo "  whole process:                           $(awk '{print $1}' "$T/chroot" | median) s wall, $(awk '{print $2 + $3}' "$T/chroot" | median) s CPU"
echo "  RSS: $(awk '{print $4}' "$T/chroot" | median) KiB max, of which beyond guest memory at exit: $(median <"$T/cvmm") KiB"

if [ -z "$QEMU" ]; then
    echo "QEMU not installed: no comparison"
    exit 0
fi
: >"$T/qemu"
for i in $(seq "$RUNS"); do
    run_timed "$T/qemu" "$QEMU" -M microvm,x-option-roms=off,rtc=off,pic=off,pit=on,isa-serial=off,acpi=off \
        -enable-kvm -cpu host -m 128 -smp 1 -nodefaults -no-user-config -display none \
        -monitor none -no-reboot -kernel "$K" -initrd "$RD" \
        -append "reboot=t panic=-1 quiet KRUN_INIT=/bin/true"
done
q_wall=$(awk '{print $1}' "$T/qemu" | median)
q_cpu=$(awk '{print $2 + $3}' "$T/qemu" | median)
q_rss=$(awk '{print $4}' "$T/qemu" | median)
echo
echo "QEMU microvm (-enable-kvm, same kernel, initramfs and command line):"
echo "  whole process, guest exits at once:      ${q_wall} s wall, ${q_cpu} s CPU"
echo "  RSS: ${q_rss} KiB max"
echo
awk -v kw="$k_wall" -v qw="$q_wall" -v kc="$k_cpu" -v qc="$q_cpu" -v kr="$k_rss" -v qr="$q_rss" 'BEGIN {
    printf "ratio libkrun-c / QEMU microvm: wall %.2f, CPU %.2f, max RSS %.2f\n", kw / qw, kc / qc, kr / qr
}'

# Counts that do not depend on the emulation: the system calls (all
# threads) and the KVM ioctls from exec to the first KVM_RUN, and the guest
# kernel's own time from its first printk to running /init (its timestamps,
# so the VMM's speed does not enter). One traced run each.
if ! command -v strace >/dev/null; then
    echo "strace not installed: no system call counts"
    exit 0
fi
# until_first_run TRACE: "SYSCALLS KVM_IOCTLS" before the first KVM_RUN.
until_first_run() {
    awk '/KVM_RUN/ {exit} /resumed>/ {next} /^[0-9]+ +[a-z_0-9]+\(/ {n++; if ($2 ~ /^ioctl\(/ && /KVM_/) k++}
        END {print n + 0, k + 0}' "$1"
}
# init_time OUTPUT: seconds from the guest kernel's first timestamp to "Run /init".
init_time() {
    sed -n 's/^\[ *\([0-9.]*\)\] Run .* as init process.*/\1/p' "$1" | head -1
}
strace -f -qq -o "$T/k.trace" "$B/vmtest" --kernel "$K" --initrd "$RD" \
    --cmdline "console=hvc0 reboot=k panic=-1 loglevel=7 printk.time=1" -- /bin/true \
    </dev/null >"$T/k.out" 2>&1 || true
strace -f -qq -o "$T/q.trace" "$QEMU" -M microvm,x-option-roms=off,rtc=off,pic=off,pit=on,isa-serial=on,acpi=off \
    -enable-kvm -cpu host -m 128 -smp 1 -nodefaults -no-user-config -display none \
    -monitor none -serial stdio -no-reboot -kernel "$K" -initrd "$RD" \
    -append "console=ttyS0 reboot=t panic=-1 loglevel=7 printk.time=1 KRUN_INIT=/bin/true" \
    </dev/null >"$T/q.out" 2>&1 || true
set -- $(until_first_run "$T/k.trace") $(until_first_run "$T/q.trace")
echo
echo "exec -> first KVM_RUN (strace -f, one run; QEMU with a serial console for its printk):"
echo "  libkrun-c: $1 system calls, $2 KVM ioctls; guest kernel to /init: $(init_time "$T/k.out") s"
echo "  QEMU:      $3 system calls, $4 KVM ioctls; guest kernel to /init: $(init_time "$T/q.out") s"
awk -v a="$1" -v b="$2" -v c="$3" -v d="$4" 'BEGIN {
    if (c && d) printf "ratio libkrun-c / QEMU microvm: system calls %.2f, KVM ioctls %.2f\n", a / c, b / d
}'
