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
VG="valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible"
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
# Without /dev/kvm (valgrind itself needs /dev/null).
check no-kvm 2 /dev/kvm unshare -m sh -c \
    "mount -t tmpfs none /dev && exec $VG $B/vmtest --kernel $B/vmlinux -- /bin/true"
exit $fail
