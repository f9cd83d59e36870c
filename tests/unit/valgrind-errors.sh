#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Bad input never aborts or leaks: the start-up error paths of
# krun_start_enter (missing kernel or initramfs, a non-ELF kernel, no
# /dev/kvm, a missing root or disk) run under valgrind, which must report
# no errors and no leaked memory, and the process must fail with a message
# that names what was at fault.
set -u
B=${B:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
VG="$(command -v valgrind) -q --leak-check=full --show-leak-kinds=definite,indirect,possible"
VG="$VG --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99"

# check NAME EXPECTED-STATUS MESSAGE-PATTERN CMD...
check() {
    name=$1 want=$2 msg=$3
    shift 3
    "$@" </dev/null >"$T/out" 2>"$T/err"
    st=$?
    if [ "$st" = "$want" ] && grep -q -- "$msg" "$T/err"; then
        echo "ok   valgrind-$name"
    else
        echo "FAIL valgrind-$name: status $st (expected $want)"
        tail -20 "$T/err"
        fail=1
    fi
}

echo "not a kernel" >"$T/notelf"
mkdir -p "$T/root"
: >"$T/root/true"
check missing-kernel 2 /nonexistent/vmlinux $VG "$B/vmtest" --kernel /nonexistent/vmlinux -- /bin/true
check missing-initrd 2 /nonexistent/initrd $VG "$B/vmtest" --kernel "$B/vmlinux" --initrd /nonexistent/initrd -- /bin/true
check not-elf 2 "$T/notelf" $VG "$B/vmtest" --kernel "$T/notelf" -- /bin/true
check missing-disk 125 /nonexistent/disk.img $VG "$B/krun-chroot" --disk /nonexistent/disk.img "$T/root" /true
check missing-root 125 /nonexistent/root $VG "$B/krun-chroot" /nonexistent/root /bin/true
# krun-chroot's network options: each mistake is named, before /dev/kvm is probed.
check net-bogus 125 "got 'bogus'" $VG "$B/krun-chroot" --net bogus "$T/root" /true
check net-tap-empty 125 "got 'tap:'" $VG "$B/krun-chroot" --net tap: "$T/root" /true
check net-tap-long 125 "'abcdefghijklmnop' is longer" $VG "$B/krun-chroot" --net tap:abcdefghijklmnop "$T/root" /true
check mac-short 125 "got '52:54:00:12:34'" $VG "$B/krun-chroot" --net passt --mac 52:54:00:12:34 "$T/root" /true
check mac-multicast 125 "01:00:5e:00:00:01 is a multicast" $VG "$B/krun-chroot" --net tap:tap0 --mac 01:00:5e:00:00:01 "$T/root" /true
check mac-with-tsi 125 "mac needs --net passt" $VG "$B/krun-chroot" --mac 52:54:00:12:34:56 "$T/root" /true
check port-with-passt 125 "port needs --net tsi" $VG "$B/krun-chroot" --net passt --port 8080:80 "$T/root" /true
check passt-opt-with-none 125 "passt-opt needs --net passt" $VG "$B/krun-chroot" --net none --passt-opt=-t "$T/root" /true
check dhcp-with-tsi 125 "dhcp needs --net passt" $VG "$B/krun-chroot" --dhcp "$T/root" /true
check passt-missing 125 "passt is not in PATH" env PATH=/nonexistent $VG "$B/krun-chroot" --net passt "$T/root" /true
# Without /dev/kvm (valgrind itself needs /dev/null).
check no-kvm 2 /dev/kvm unshare -m sh -c \
    "mount -t tmpfs none /dev && exec $VG $B/vmtest --kernel $B/vmlinux -- /bin/true"
exit $fail
