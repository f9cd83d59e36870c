# SPDX-License-Identifier: Apache-2.0
# Upstream's examples (chroot_vm.c, external_kernel.c, consoles.c) as call
# sequences: our own programs (tests/vm/example-*.c) make the same krun_*
# calls with the same arguments, and a busybox guest shows they did what
# they say. Sourced by run-tests.sh.

# ex_root: the busybox root, made by the first test that needs it.
EX_ROOT=$T/example-root
ex_root() { [ -d "$EX_ROOT" ] || "$here/mkrootfs.sh" "$EX_ROOT"; }

if want example-chroot-vm; then
    ex_root
    # 4 vCPUs, TEST=works, RLIMIT_NPROC 4096:8192, workdir /, the exit status.
    guarded 180 "$B/example-chroot-vm" "$EX_ROOT" /bin/sh -c \
        'echo "TEST=$TEST nproc=$(ulimit -u):$(ulimit -Hu) pwd=$(pwd) cpus=$(grep -c ^processor /proc/cpuinfo)"; exit 3' \
        </dev/null
    expect example-chroot-vm 3 "^TEST=works nproc=4096:8192 pwd=/ cpus=4$"
fi

if want example-chroot-vm-vhost-user; then
    ex_root
    # With --vhost-user-rng upstream's example calls krun_add_vhost_user_device,
    # which we document as -ENOTSUP: the program stops with that error, as
    # upstream's does on a failed call, before any VM exists.
    guarded 60 "$B/example-chroot-vm" --vhost-user-rng "$T/no-such.sock" "$EX_ROOT" /bin/true </dev/null
    if [ "$st" = 1 ] && grep -q "krun_add_vhost_user_device.*not supported" "$T/err"; then
        ok example-chroot-vm-vhost-user
    else
        bad example-chroot-vm-vhost-user "status $st"
    fi
fi

if want example-external-kernel; then
    # The kernel ELF with the test initramfs and a command line, a data disk,
    # no root and no krun_set_exec: the init runs KRUN_INIT from the command
    # line, a shell, which reads its commands from the console (our stdin) and
    # reads the disk upstream's example attaches as "data". (The commands do not
    # go after a "--" in the command line: the VMM appends its device list to
    # the command line, as upstream does, and would put it after them.)
    printf 'DATA-DISK-MARKER\n' >"$T/data.img"
    truncate -s 1M "$T/data.img"
    printf 'head -n 1 /dev/vda\nexit 9\n' >"$T/commands"
    guarded 180 "$B/example-external-kernel" -d "$T/data.img" -i "$RD" -c "$CMD KRUN_INIT=/bin/sh" \
        "$K" <"$T/commands"
    if [ "$st" = 9 ] && grep -q "^DATA-DISK-MARKER" "$T/out"; then
        ok example-external-kernel
    else
        bad example-external-kernel "status $st"
    fi
fi

if want example-consoles; then
    ex_root
    # Three TTY ports and a FIFO port: what the guest writes to each port
    # arrives on that port's host side, and the status comes back. TTY ports
    # are console ports, which the guest opens as /dev/hvcN, not by name: the
    # guest writes its name to every hvc, and each TTY port must get exactly one
    # of them, a different one. The FIFO port is a plain port, found by name.
    D=$T/consoles
    mkdir -p "$D"
    guarded 180 "$B/example-consoles" "$D" "$EX_ROOT" /bin/sh -c '
        for t in /sys/class/tty/hvc*; do echo "MARK-${t##*/}" >"/dev/${t##*/}"; done 2>/dev/null
        for p in /sys/class/virtio-ports/*; do
            [ "$(cat "$p/name" 2>/dev/null)" = fifo_inout ] && echo MARK-fifo_inout >"/dev/${p##*/}"
        done
        exit 4' </dev/null
    # The collector ends when the VM's ends of the ports have closed.
    n=0
    while [ ! -e "$D/done" ] && [ "$n" -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
    good=1
    seen=""
    for port in console-1 console-2 console-3; do
        m=$(grep -o "MARK-hvc[0-9]*" "$D/$port" 2>/dev/null)
        if [ -z "$m" ] || [ "$(echo "$m" | wc -l)" != 1 ]; then
            good=0
            echo "$port got '$m', not one hvc's name" >>"$T/err"
        fi
        case " $seen " in *" ${m:-none} "*) good=0; echo "$m reached two ports" >>"$T/err" ;; esac
        seen="$seen $m"
    done
    grep -qx "MARK-fifo_inout" "$D/fifo_inout" 2>/dev/null ||
        { good=0; echo "no MARK-fifo_inout in $D/fifo_inout" >>"$T/err"; }
    if [ "$st" = 4 ] && [ -e "$D/done" ] && [ "$good" = 1 ]; then
        ok example-consoles
    else
        bad example-consoles "status $st, done: $([ -e "$D/done" ] && echo yes || echo no)"
    fi
fi
