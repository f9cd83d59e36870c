# SPDX-License-Identifier: Apache-2.0
# Core VM tests (issue 3): boot through krun_set_kernel, console, CPUs,
# memory, exit, shutdown, errors. Sourced by run-tests.sh.

if want marker; then
    vm -- /bin/echo HELLO-MARKER </dev/null
    expect marker 0 HELLO-MARKER
fi

if want virtio-rng; then
    # Every VM has a virtio-rng device: it is the guest's hwrng, and it gives bytes.
    vm -- /bin/sh -c 'echo "rng $(cat /sys/class/misc/hw_random/rng_current) $(head -c 65536 /dev/hwrng | wc -c)"' </dev/null
    expect virtio-rng 0 "^rng virtio_rng.0 65536"
fi

# vmm_rss_kib PID: the resident memory of a VMM process, in KiB (empty once it is gone).
vmm_rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }

# wait_line PID FILE LINE SECONDS: wait until FILE has LINE while PID runs.
wait_line() {
    _wl=0
    while ! grep -qx "$3" "$2" 2>/dev/null; do
        kill -0 "$1" 2>/dev/null && [ "$_wl" -lt $(($4 * 10)) ] || return 1
        sleep 0.1
        _wl=$((_wl + 1))
    done
}

if want virtio-balloon; then
    # Every VM has a virtio-balloon device, bound by the guest's driver with free page
    # reporting negotiated (bit 5 of the features the driver acked). The guest fills a
    # file of BALLOON_TOUCH_MIB (256; the nested test host takes minutes per GiB) on a
    # tmpfs, the host reads the VMM's VmRSS,
    # the guest deletes the file: its pages go back to the guest's allocator, which
    # reports them (after about 2 s, in blocks of 2 MiB and more), and the VMM's RSS
    # must fall by at least half of what was freed. The guest waits for the host on its
    # stdin between the steps.
    mib=${BALLOON_TOUCH_MIB:-256}
    rm -f "$T/ctl"
    mkfifo "$T/ctl"
    "$VMT" --kernel "$K" --initrd "$RD" --cmdline "$CMD" --mem $((mib * 2)) -- /bin/sh -c '
        for d in /sys/bus/virtio/drivers/virtio_balloon/virtio*; do
            [ -e "$d" ] && echo "BOUND $(cut -c6 "$d/features")"
        done
        mount -t tmpfs -o size='"$((mib + 16))"'m mem /mnt &&
            dd if=/dev/zero of=/mnt/big bs=1M count='"$mib"' && echo TOUCHED
        read x; rm /mnt/big; echo FREED; read x; echo DONE' <"$T/ctl" >"$T/out" 2>"$T/err" &
    vpid=$!
    exec 8>"$T/ctl"
    before= after=
    if wait_line "$vpid" "$T/out" TOUCHED 300; then
        before=$(vmm_rss_kib "$vpid")
        echo go >&8
        if wait_line "$vpid" "$T/out" FREED 60; then
            # Up to 60 s for the reports: a deadline, not a measurement.
            for _ in $(seq 120); do
                after=$(vmm_rss_kib "$vpid")
                [ -n "$after" ] && [ $((before - after)) -ge $((mib * 1024 / 2)) ] && break
                sleep 0.5
            done
        fi
    fi
    echo end >&8
    exec 8>&-
    watch "$vpid" 60
    st=$?
    echo "balloon: VmRSS ${before:-?} KiB with $mib MiB touched, ${after:-?} KiB after it was freed" >>"$T/err"
    if [ "$st" != 0 ] || ! grep -q "^DONE" "$T/out"; then
        bad virtio-balloon "status $st, the guest did not finish"
    elif ! grep -q "^BOUND 1" "$T/out"; then
        bad virtio-balloon "virtio_balloon is not bound with free page reporting: $(grep BOUND "$T/out")"
    elif [ -z "$before" ] || [ -z "$after" ] || [ $((before - after)) -lt $((mib * 1024 / 2)) ]; then
        bad virtio-balloon "VmRSS ${before:-?} KiB -> ${after:-?} KiB: it did not fall by $((mib / 2)) MiB"
    else
        ok virtio-balloon
        echo "     VmRSS $((before / 1024)) MiB with $mib MiB touched -> $((after / 1024)) MiB after it was freed"
    fi
fi

if want marker-hvc0; then
    # With a terminal, hvc0 is the terminal: a marker the guest writes there reaches stdout.
    guarded 120 "$PTY" -- "$VMT" --kernel "$K" --initrd "$RD" --cmdline "$CMD" \
        -- /bin/sh -c 'echo HVC0-MARKER > /dev/hvc0'
    expect marker-hvc0 0 HVC0-MARKER
fi

for n in 1 2 4; do
    want "cpus-$n" || continue
    vm --cpus "$n" -- /bin/sh -c 'grep -c ^processor /proc/cpuinfo' </dev/null
    expect "cpus-$n" 0 "^$n"
done

for m in 128 1024; do
    want "mem-$m" || continue
    vm --mem "$m" -- /bin/sh -c 'grep MemTotal /proc/meminfo' </dev/null
    kb=$(awk '/MemTotal/ {print $2}' "$T/out")
    lo=$((m * 1024 * 85 / 100))
    hi=$((m * 1024 * 115 / 100))
    if [ "$st" = 0 ] && [ -n "$kb" ] && [ "$kb" -ge "$lo" ] && [ "$kb" -le "$hi" ]; then
        ok "mem-$m"
    else
        bad "mem-$m" "status $st, MemTotal '${kb:-none}' kB, expected $lo..$hi"
    fi
done

if want stdin-pipe; then
    printf 'first line\nsecond line\n' >"$T/in"
    vm -- /bin/cat <"$T/in"
    if [ "$st" = 0 ] && cmp -s "$T/in" "$T/out"; then ok stdin-pipe; else bad stdin-pipe "status $st, output differs"; fi
fi

if want stdin-tty; then
    guarded 120 "$PTY" --wait-for READY --input "typed text
" -- "$VMT" --kernel "$K" --initrd "$RD" --cmdline "$CMD" \
        -- /bin/sh -c 'echo READY; read x; echo "GOT:$x"'
    expect stdin-tty 0 "GOT:typed text"
fi

if want window-size; then
    guarded 120 "$PTY" --size 24x80 --resize 40x100 --wait-for READY -- "$VMT" --kernel "$K" \
        --initrd "$RD" --cmdline "$CMD" \
        -- /bin/sh -c 'stty size; echo READY; sleep 3; stty size'
    if [ "$st" = 0 ] && grep -q "^24 80" "$T/out" && grep -q "^40 100" "$T/out"; then
        ok window-size
    else
        bad window-size "status $st"
    fi
fi

if want exit-status; then
    vm -- /bin/sh -c 'exit 7' </dev/null
    expect exit-status 7
fi

if want reboot; then
    vm -- /bin/true </dev/null
    expect reboot 0
fi

if want panic; then
    # No init can run: the kernel panics.
    guarded 120 "$VMT" --kernel "$K" --initrd "$RD" --cmdline "$CMD rdinit=/nope init=/nope" \
        </dev/null
    if [ "$st" != 0 ] && [ "$st" != 124 ] && grep -q "panicked" "$T/err"; then
        ok panic
    else
        bad panic "status $st, expected non-zero and a message about the panic"
    fi
fi

if want triple-fault; then
    # A kernel that triple-faults before anything else: status 1, and a message.
    # (Its image ends off a page boundary, which guest memory must allow.)
    guarded 120 "$VMT" --kernel "$B/triple-fault.elf" --initrd "$RD" --cmdline "$CMD" </dev/null
    if [ "$st" = 1 ] && grep -q "the guest triple-faulted (CPU reset" "$T/err"; then
        ok triple-fault
    else
        bad triple-fault "status $st, expected 1 and a message about the triple fault: $(tail -n 3 "$T/err")"
    fi
fi

if want shutdown-eventfd; then
    start=$(date +%s)
    vm --shutdown-after 3 -- /bin/sleep 600 </dev/null
    took=$(($(date +%s) - start))
    # The workload gets SIGTERM and the VM ends with its status.
    if [ "$st" = 143 ] && [ "$took" -lt 100 ]; then ok shutdown-eventfd; else bad shutdown-eventfd "status $st after ${took}s"; fi
fi

if want two-vms; then
    vm --runs 2 -- /bin/sh -c 'exit $((VMTEST_RUN + 2))' </dev/null
    if [ "$st" = 0 ] && grep -q "run 1: status 3" "$T/out" && grep -q "run 2: status 4" "$T/out"; then
        ok two-vms
    else
        bad two-vms "status $st"
    fi
fi

if want bzimage; then
    guarded 120 "$VMT" --kernel "$BZ" --bzimage --initrd "$RD" --cmdline "$CMD" \
        -- /bin/echo BZIMAGE-MARKER </dev/null
    expect bzimage 0 BZIMAGE-MARKER
fi

# krun_set_kernel's compressed formats (a vmlinux ELF compressed by the gzip,
# zstd and bzip2 tools: vm.mk makes them from $K): the kernel boots and the
# workload's status comes back.
for f in gz:gz zstd:zst bz2:bz2; do
    fmt=${f%%:*}
    want "kernel-$fmt" || continue
    guarded 120 "$VMT" --kernel "$K.${f#*:}" --kernel-format "$fmt" --initrd "$RD" --cmdline "$CMD" \
        -- /bin/sh -c 'echo COMPRESSED-MARKER; exit 7' </dev/null
    expect "kernel-$fmt" 7 COMPRESSED-MARKER
done

if want kernel-format-errors; then
    # Errors name the file and what is wrong with it; krun_start_enter returns -EINVAL.
    head -c 100000 "$K.gz" >"$T/cut.gz"
    guarded 60 "$VMT" --kernel "$T/cut.gz" --kernel-format gz -- /bin/true </dev/null
    if [ "$st" = 2 ] && grep -q "$T/cut.gz.*truncated" "$T/err" && grep -q -- "-22" "$T/err"; then
        ok error-kernel-truncated
    else
        bad error-kernel-truncated "status $st"
    fi
    echo "compressed, but no kernel" | zstd -q -c >"$T/notelf.zst"
    guarded 60 "$VMT" --kernel "$T/notelf.zst" --kernel-format zstd -- /bin/true </dev/null
    if [ "$st" = 2 ] && grep -q "$T/notelf.zst.*not an ELF" "$T/err"; then
        ok error-kernel-not-elf-inside
    else
        bad error-kernel-not-elf-inside "status $st"
    fi
    guarded 60 "$VMT" --kernel "$K" --kernel-format gz -- /bin/true </dev/null
    if [ "$st" = 2 ] && grep -q "$K.*no gzip stream" "$T/err"; then
        ok error-kernel-not-compressed
    else
        bad error-kernel-not-compressed "status $st"
    fi
fi

if want kernel-raw; then
    # RAW, as upstream on x86_64: the kernel as laid out in memory, booted at
    # 2 GiB with the default command line (the initramfs and command line are
    # ignored), so the workload comes from a virtio-fs root. The guest's
    # /proc/iomem shows where its code runs.
    "$here/mkrootfs.sh" "$T/rawroot"
    guarded 120 "$VMT" --kernel "$K.raw" --kernel-format raw --initrd "$RD" --cmdline "$CMD" \
        --root "$T/rawroot" -- /bin/sh -c 'grep "Kernel code" /proc/iomem; exit 5' </dev/null
    expect kernel-raw 5 "^ *8[0-9a-f]\{7\}-[0-9a-f]* : Kernel code"
fi

if want split-irqchip; then
    vm --split-irqchip --cpus 2 -- /bin/sh -c 'grep -c ^processor /proc/cpuinfo; echo SPLIT-OK' </dev/null
    expect split-irqchip 0 SPLIT-OK
fi

if want errors; then
    guarded 60 "$VMT" --kernel /nonexistent/vmlinux -- /bin/true </dev/null
    if [ "$st" = 2 ] && grep -q "/nonexistent/vmlinux" "$T/err" && grep -q -- "-22" "$T/err"; then
        ok error-missing-kernel
    else
        bad error-missing-kernel "status $st"
    fi
    guarded 60 "$VMT" --kernel "$K" --initrd /nonexistent/initrd -- /bin/true </dev/null
    if [ "$st" = 2 ] && grep -q "/nonexistent/initrd" "$T/err"; then ok error-missing-initrd; else bad error-missing-initrd "status $st"; fi
    echo "not a kernel" >"$T/notelf"
    guarded 60 "$VMT" --kernel "$T/notelf" -- /bin/true </dev/null
    if [ "$st" = 2 ] && grep -q "$T/notelf" "$T/err"; then ok error-not-elf; else bad error-not-elf "status $st"; fi
    # No /dev/kvm at all, and /dev/kvm without permission.
    unshare -m sh -c "mount -t tmpfs none /dev && exec $VMT --kernel $K --initrd $RD -- /bin/true" \
        </dev/null >"$T/out" 2>"$T/err"
    st=$?
    if [ "$st" = 2 ] && grep -q "/dev/kvm" "$T/err"; then ok error-no-kvm; else bad error-no-kvm "status $st"; fi
    # The unprivileged user needs the program, libraries and images where it can
    # read them: the checkout (a mktemp -d in CI) may be private to root.
    P=$(mktemp -d)
    cp "$VMT" "$B/libkrun.so.1" "$B/libkrunfw.so.5" "$K" "$RD" "$P/"
    chmod -R a+rX "$P"
    old_mode=$(stat -c %a /dev/kvm)
    chmod 0600 /dev/kvm
    setpriv --reuid=65534 --regid=65534 --clear-groups "$P/vmtest" --kernel "$P/$(basename "$K")" \
        --initrd "$P/$(basename "$RD")" -- /bin/true </dev/null >"$T/out" 2>"$T/err"
    st=$?
    chmod "$old_mode" /dev/kvm
    rm -rf "$P"
    if [ "$st" = 2 ] && grep -q "/dev/kvm" "$T/err" && grep -qi "permission" "$T/err"; then
        ok error-kvm-permission
    else
        bad error-kvm-permission "status $st"
    fi
fi

