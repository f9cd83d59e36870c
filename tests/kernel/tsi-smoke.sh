#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# QEMU/TCG smoke test of the guest half of TSI (kernel/patches 0003-0006):
# boot build/bzImage on QEMU's microvm machine with "tsi_hijack
# tsi_hijack_unix" and a static /init (tsi-smoke-init.c) that checks the
# socket families, guest-local TCP/UDP/AF_UNIX traffic through hijacked
# sockets, bind(0)+listen+getsockname (issue #818), accept() vs a concurrent
# getsockname() (issue #819), and that without a virtio-vsock device the
# host paths fail with EINVAL instead of hanging.  The kernel log must show
# no warning, oops or panic.
#
# usage: tests/kernel/tsi-smoke.sh [BUILD_DIR]     (make check-unit-kernel runs it)
# needs: qemu-system-x86_64, cpio, gzip, a C compiler with static libc and
# pthreads.
set -eu

b=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-gcc}
qemu=${QEMU:-qemu-system-x86_64}

[ -f "$b/bzImage" ] || { echo "tsi-smoke: $b/bzImage missing (run make first)" >&2; exit 1; }
command -v "$qemu" >/dev/null || { echo "tsi-smoke: $qemu not found" >&2; exit 1; }
if [ -f "$b/kernel.config" ] && ! grep -q '^CONFIG_TSI=y' "$b/kernel.config"; then
    echo "tsi-smoke: $b/kernel.config has no CONFIG_TSI=y" >&2
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir "$tmp/root"
"$cc" -static -O2 -Wall -pthread -o "$tmp/root/init" "$here/tsi-smoke-init.c"
(cd "$tmp/root" && echo init | cpio -o -H newc --quiet) | gzip -9 >"$tmp/initrd.gz"

log=$tmp/console.log
echo "== tsi-smoke: $b/bzImage, 2 vCPUs, tsi_hijack tsi_hijack_unix, no vsock device"
if [ -e /dev/vhost-vsock ]; then
    echo "   (note: /dev/vhost-vsock exists, but this test runs without a vsock device)"
fi
start=$(date +%s)
rc=0
timeout 300 "$qemu" -accel tcg -M microvm,acpi=off -cpu max -m 256 -smp 2 \
    -nodefaults -no-user-config -display none -serial "file:$log" \
    -device i8042 \
    -kernel "$b/bzImage" -initrd "$tmp/initrd.gz" \
    -append "console=ttyS0 reboot=k panic=-1 acpi=off tsi_hijack tsi_hijack_unix" \
    -no-reboot || rc=$?
end=$(date +%s)

grep '^TSI-TEST\|^TSI-SMOKE' "$log" | sed 's/^/   /' || true

fails=0
problem() {
    echo "   FAIL: $*"
    fails=$((fails + 1))
}
[ "$rc" -eq 0 ] || problem "qemu exited with status $rc (124 = timeout)"
grep -q '^TSI-SMOKE done: [0-9]* passed, 0 failed' "$log" ||
    problem "the guest checks did not all pass"
grep -q 'init exited with status 0x00000000, restarting' "$log" ||
    problem "no 'init exited with status 0x00000000'"
for pat in 'Kernel panic' 'WARNING:' 'BUG:' 'Oops' 'Call Trace:' 'INFO: task .* blocked'; do
    if grep -q "$pat" "$log"; then
        problem "kernel log contains '$pat'"
    fi
done

if [ $fails -ne 0 ]; then
    echo "   --- console log tail:"
    tail -n 60 "$log" | sed 's/^/   | /'
    echo "tsi-smoke: FAILED ($((end - start)) s)"
    exit 1
fi
echo "tsi-smoke: passed ($((end - start)) s)"
