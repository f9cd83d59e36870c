#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# VM tests: boot real guests through the public API and check what they see.
# Runs where /dev/kvm is real KVM: `make check-vm` runs it in testhost/with-kvm.
# Usage: tests/vm/run-tests.sh [TEST-NAME-PATTERN]
# Suites: core.sh (issue 3: boot, console, exit), chroot.sh (krun-chroot on
# virtio-fs), blk.sh (virtio-blk), vsock.sh (vsock ports, TSI), net.sh,
# examples.sh (upstream's examples' call sequences). Each test
# prints "ok" or "FAIL" (or "skip" with the reason, uncounted).
set -u
B=${B:-build}
pattern=${1:-}
VMT=$B/vmtest
PTY=$B/ptyrun
KC=$B/krun-chroot
FSOPS=$B/guest-fsops
GNET=$B/guest-net
K=$B/vmlinux
BZ=$B/bzImage
RD=$B/test-initramfs.cpio.gz
CMD="console=hvc0 reboot=k panic=-1 quiet"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
failed=""
here=$(dirname "$0")

for f in "$VMT" "$PTY" "$KC" "$FSOPS" "$GNET" "$K" "$BZ" "$RD" "$K.gz" "$K.zst" "$K.bz2" "$K.raw" \
    "$B/example-chroot-vm" "$B/example-external-kernel" "$B/example-consoles"; do
    [ -e "$f" ] || { echo "FAIL setup: $f is missing (run make vm-test-deps)"; exit 1; }
done
if [ ! -c /dev/kvm ]; then
    echo "FAIL setup: no /dev/kvm here; run this through testhost/with-kvm"
    exit 1
fi

. "$here/lib.sh"
for suite in core chroot blk vsock net examples; do
    . "$here/$suite.sh"
done

echo "vm tests: $pass passed, $fail failed${failed:+ ($failed )}"
[ "$fail" = 0 ]
