#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# QEMU/TCG smoke test of the guest kernel: boot build/bzImage (boot protocol)
# and build/vmlinux (PVH entry) on QEMU's microvm machine with an initramfs
# whose /init prints a marker and ends, and check that the kernel restarts
# cleanly (patches/0001) instead of panicking with "Attempted to kill init!".
# It also checks that virtio-mmio devices given on the command line appear.
#
# usage: tests/kernel/smoke.sh [BUILD_DIR]      (or: make check-kernel)
# needs: qemu-system-x86_64, cpio, gzip, a C compiler with static libc.
set -eu

b=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-gcc}
qemu=${QEMU:-qemu-system-x86_64}

for f in "$b/bzImage" "$b/vmlinux"; do
    [ -f "$f" ] || { echo "smoke: $f missing (run make first)" >&2; exit 1; }
done
command -v "$qemu" >/dev/null || { echo "smoke: $qemu not found" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir "$tmp/root"
"$cc" -static -Os -o "$tmp/root/init" "$here/smoke-init.c"
(cd "$tmp/root" && echo init | cpio -o -H newc --quiet) | gzip -9 >"$tmp/initrd.gz"

fails=0
run() {
    name=$1
    kernel=$2
    mode=$3
    want_status=$4
    log=$tmp/$name.log
    echo "== $name: $kernel, init ends by $mode"
    start=$(date +%s)
    rc=0
    timeout 120 "$qemu" -accel tcg -M microvm,acpi=off -cpu max -m 256 -smp 2 \
        -nodefaults -no-user-config -display none -serial "file:$log" \
        -device i8042 -device virtio-rng-device -device virtio-serial-device \
        -kernel "$kernel" -initrd "$tmp/initrd.gz" \
        -append "console=ttyS0 reboot=k panic=-1 acpi=off smoke_mode=$mode" \
        -no-reboot || rc=$?
    end=$(date +%s)
    ok=1
    if [ "$rc" -ne 0 ]; then
        echo "   FAIL: qemu exited with status $rc (124 = timeout)"
        ok=0
    fi
    if ! grep -q "KRUN-SMOKE-MARKER pid=1 mode=$mode" "$log"; then
        echo "   FAIL: marker from /init not seen"
        ok=0
    fi
    # microvm puts virtio_mmio.device=... on the command line for these
    # (device IDs: 3 console, 4 rng).
    for id in 0x0003 0x0004; do
        if ! grep -q "KRUN-SMOKE-VIRTIO .* device=$id" "$log"; then
            echo "   FAIL: virtio-mmio device $id not found by the guest"
            ok=0
        fi
    done
    if grep -q "Kernel panic" "$log"; then
        echo "   FAIL: kernel panicked"
        ok=0
    fi
    if ! grep -q "init exited with status $want_status, restarting" "$log"; then
        echo "   FAIL: no 'init exited with status $want_status' message"
        ok=0
    fi
    if ! grep -q "reboot: Restarting system" "$log"; then
        echo "   FAIL: no 'Restarting system' message"
        ok=0
    fi
    if [ $ok = 1 ]; then
        echo "   ok ($((end - start)) s)"
    else
        fails=$((fails + 1))
        echo "   --- console log tail:"
        tail -n 25 "$log" | sed 's/^/   | /'
    fi
}

run bzImage-exit "$b/bzImage" exit 0x00000700
run pvh-exit "$b/vmlinux" exit 0x00000700
run bzImage-segv "$b/bzImage" segv "0x000000[08]b"

if [ $fails -ne 0 ]; then
    echo "smoke: $fails run(s) failed"
    exit 1
fi
echo "smoke: all runs passed"
