# SPDX-License-Identifier: Apache-2.0
# virtio-blk tests (issue 5): disks, a block-device root, data that is never
# lost, errors. Sourced by run-tests.sh (after chroot.sh, which built $R).

D=$T/disks
mkdir -p "$D"

if want blk-sizes; then
    truncate -s 64M "$D/a.img"
    truncate -s 10M "$D/b.img"
    kc --disk "$D/a.img" --disk "$D/b.img:ro" "$R" /bin/sh -c \
        'cat /sys/block/vda/size /sys/block/vdb/size /sys/block/vda/ro /sys/block/vdb/ro' </dev/null
    printf '131072\n20480\n0\n1\n' >"$T/want"
    same blk-sizes "$T/want"
fi

if want blk-data; then
    truncate -s 64M "$D/data.img"
    kc --disk "$D/data.img" "$R" /bin/sh -c \
        'echo -n GUEST-WROTE-THIS | dd of=/dev/vda bs=1 seek=1048576 conv=fsync 2>/dev/null; echo OK' </dev/null
    got=$(dd if="$D/data.img" bs=1 skip=1048576 count=16 2>/dev/null)
    if [ "$st" = 0 ] && [ "$got" = GUEST-WROTE-THIS ]; then ok blk-data-raw; else bad blk-data-raw "status $st, image has '$got'"; fi
    # Through a filesystem: ext4 made on the host, written in the guest, read back on the host.
    mke2fs -q -t ext4 -F "$D/fs.img" 32M
    kc --disk "$D/fs.img" "$R" /bin/sh -c \
        'mount -t ext4 /dev/vda /mnt && echo file-content > /mnt/hello && umount /mnt && echo OK' </dev/null
    got=$(debugfs -R 'cat /hello' "$D/fs.img" 2>/dev/null)
    if [ "$st" = 0 ] && [ "$got" = file-content ]; then ok blk-data-ext4; else bad blk-data-ext4 "status $st, file has '$got'"; fi
fi

if want blk-read-only; then
    head -c 4M /dev/urandom >"$D/ro.img"
    sum=$(md5sum <"$D/ro.img")
    # The guest kernel refuses writes to a read-only disk; with that lifted
    # (blockdev --setrw) the device itself must still refuse them.
    kc --disk "$D/ro.img:ro" "$R" /bin/sh -c '
        dd if=/dev/zero of=/dev/vda bs=4096 count=1 conv=fsync 2>/dev/null && echo GUEST-WRITE-OK
        blockdev --setrw /dev/vda
        dd if=/dev/zero of=/dev/vda bs=4096 count=1 oflag=direct 2>/dev/null && echo DEVICE-WRITE-OK
        echo DONE' </dev/null
    if [ "$st" = 0 ] && grep -q DONE "$T/out" && ! grep -q WRITE-OK "$T/out" &&
        [ "$(md5sum <"$D/ro.img")" = "$sum" ]; then
        ok blk-read-only
    else
        bad blk-read-only "status $st, image $([ "$(md5sum <"$D/ro.img")" = "$sum" ] && echo unchanged || echo CHANGED)"
    fi
fi

if want blk-durability; then
    truncate -s 16M "$D/dur.img"
    "$KC" --disk "$D/dur.img" "$R" /bin/sh -c '
        echo -n DURABLE-DATA | dd of=/dev/vda bs=4096 seek=100 conv=sync,fsync 2>/dev/null
        echo SYNCED; sleep 300' </dev/null >"$T/out" 2>"$T/err" &
    pid=$!
    i=0
    while ! grep -q SYNCED "$T/out" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$pid"
    watch "$pid" 30
    got=$(dd if="$D/dur.img" bs=4096 skip=100 count=1 2>/dev/null | head -c 12)
    if [ "$got" = DURABLE-DATA ]; then ok blk-durability; else bad blk-durability "image has '$got'"; fi
fi

if want blk-discard; then
    head -c 32M /dev/urandom >"$D/disc.img"
    before=$(stat -c %b "$D/disc.img")
    kc --disk "$D/disc.img" "$R" /bin/sh -c 'blkdiscard -o 0 -l 16777216 /dev/vda && echo DISCARDED' </dev/null
    after=$(stat -c %b "$D/disc.img")
    zeros=$(dd if="$D/disc.img" bs=1M count=16 2>/dev/null | tr -d '\0' | wc -c)
    if [ "$st" = 0 ] && grep -q DISCARDED "$T/out" && [ "$after" -lt "$before" ] && [ "$zeros" = 0 ]; then
        ok blk-discard
    else
        bad blk-discard "status $st, blocks $before -> $after, non-zero bytes $zeros"
    fi
fi

if want blk-root; then
    RD2=$T/blkroot
    "$here/mkrootfs.sh" "$RD2"
    echo from-the-image >"$RD2/marker"
    mke2fs -q -t ext4 -d "$RD2" -F "$D/root.ext4" 64M
    kc --root-disk "$D/root.ext4" /bin/sh -c \
        'cat /marker; [ -e /init.krun ] || echo NO-INIT-KRUN; grep -c " /proc proc" /proc/mounts; exit 5' </dev/null
    if [ "$st" = 5 ] && grep -qx from-the-image "$T/out" && grep -qx NO-INIT-KRUN "$T/out" &&
        grep -qx 1 "$T/out"; then
        ok blk-root-exit-status
    else
        bad blk-root-exit-status "status $st"
    fi
    truncate -s 64M "$D/a.img" # (also made by blk-sizes, which may not have run)
    kc --root-disk "$D/root.ext4:ext4" --disk "$D/a.img" /bin/sh -c 'cat /sys/block/vdb/size' </dev/null
    expect blk-root-with-data-disk 0 "^131072$"
fi

if want blk-errors; then
    kc --disk "$D/no-such.img" "$R" /bin/true </dev/null
    if [ "$st" = 125 ] && grep -q "$D/no-such.img" "$T/err"; then ok blk-missing-image; else bad blk-missing-image "status $st"; fi

    # An image that shrinks while the guest runs: reads past the new end fail, the VM goes on.
    head -c 16M /dev/urandom >"$D/shrink.img"
    rm -f "$R/work/truncated"
    "$KC" --disk "$D/shrink.img" "$R" /bin/sh -c '
        touch /work/ready-shrink
        n=0; while [ ! -e /work/truncated ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n+1)); done
        dd if=/dev/vda of=/dev/null bs=1M skip=8 count=4 iflag=direct 2>/dev/null || echo READ-ERROR-SEEN
        dd if=/dev/vda of=/dev/null bs=1M count=1 iflag=direct 2>/dev/null && echo STILL-WORKS' \
        </dev/null >"$T/out" 2>"$T/err" &
    pid=$!
    i=0
    while [ ! -e "$R/work/ready-shrink" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
    truncate -s 4M "$D/shrink.img"
    touch "$R/work/truncated"
    watch "$pid" 180
    st=$?
    rm -f "$R/work/ready-shrink" "$R/work/truncated"
    if [ "$st" = 0 ] && grep -q READ-ERROR-SEEN "$T/out" && grep -q STILL-WORKS "$T/out"; then
        ok blk-shrunk-image
    else
        bad blk-shrunk-image "status $st"
    fi

    # A host filesystem that fills up: the guest sees write errors, the VM goes on.
    mkdir -p "$D/small"
    mount -t tmpfs -o size=8M tmpfs "$D/small"
    truncate -s 64M "$D/small/full.img"
    kc --disk "$D/small/full.img" "$R" /bin/sh -c '
        dd if=/dev/zero of=/dev/vda bs=1M count=32 oflag=direct 2>/dev/null || echo WRITE-ERROR-SEEN
        echo STILL-RUNNING' </dev/null
    umount "$D/small"
    if [ "$st" = 0 ] && grep -q WRITE-ERROR-SEEN "$T/out" && grep -q STILL-RUNNING "$T/out"; then
        ok blk-host-full
    else
        bad blk-host-full "status $st"
    fi
fi

# qcow2 (issue 13): an overlay on a raw ext4 base, used by the guest as a
# data disk. The guest's writes must land in the overlay (read back by a
# second boot and by qemu-img), the base must not change, and qemu-img
# check must find the overlay consistent, also after the guest's discards.
if want blk-qcow2; then
    if ! command -v qemu-img >/dev/null; then
        bad blk-qcow2 "qemu-img not found: install qemu-utils (tools/install-deps)"
    else
        QB=$T/qbase
        mkdir -p "$QB"
        echo from-the-base >"$QB/marker"
        head -c 3M /dev/urandom >"$QB/old-data"
        mke2fs -q -t ext4 -d "$QB" -F "$D/base.ext4" 64M
        base_sum=$(md5sum <"$D/base.ext4")
        # A relative backing name: resolved against the overlay's directory.
        (cd "$D" && qemu-img create -q -f qcow2 -o cluster_size=65536 -b base.ext4 -F raw over.qcow2)
        kc --disk "$D/over.qcow2:qcow2" "$R" /bin/sh -c '
            mount -t ext4 /dev/vda /mnt || exit 9
            cat /mnt/marker
            md5sum /mnt/old-data | cut -d" " -f1 >/mnt/old.md5
            dd if=/dev/urandom of=/mnt/big bs=1M count=12 2>/dev/null
            md5sum /mnt/big | cut -d" " -f1 >/mnt/big.md5
            echo guest-wrote-this >/mnt/new
            dd if=/dev/urandom of=/mnt/gone bs=1M count=6 2>/dev/null && sync && rm /mnt/gone
            fstrim /mnt && echo TRIMMED
            umount /mnt && echo UNMOUNTED' </dev/null
        if [ "$st" = 0 ] && grep -qx from-the-base "$T/out" && grep -qx TRIMMED "$T/out" &&
            grep -qx UNMOUNTED "$T/out"; then
            ok blk-qcow2-guest-writes
        else
            bad blk-qcow2-guest-writes "status $st"
        fi
        if [ "$(md5sum <"$D/base.ext4")" = "$base_sum" ]; then
            ok blk-qcow2-base-unchanged
        else
            bad blk-qcow2-base-unchanged "the backing file changed"
        fi
        if qemu-img check "$D/over.qcow2" >"$T/out" 2>"$T/err"; then
            ok blk-qcow2-check-clean
        else
            bad blk-qcow2-check-clean "qemu-img check: status $?"
        fi
        # qemu's view of the overlay: the guest's file and a clean filesystem.
        qemu-img convert -O raw "$D/over.qcow2" "$D/over.raw"
        got=$(debugfs -R 'cat /new' "$D/over.raw" 2>/dev/null)
        if [ "$got" = guest-wrote-this ] && e2fsck -fn "$D/over.raw" >"$T/out" 2>&1; then
            ok blk-qcow2-qemu-reads
        else
            bad blk-qcow2-qemu-reads "file has '$got', e2fsck: $(tail -n 3 "$T/out")"
        fi
        # A second boot reads everything back through our qcow2 path, read-only.
        kc --disk "$D/over.qcow2:qcow2:ro" "$R" /bin/sh -c '
            mount -t ext4 -o ro,noload /dev/vda /mnt || exit 9
            [ "$(md5sum /mnt/big | cut -d" " -f1)" = "$(cat /mnt/big.md5)" ] && echo BIG-OK
            [ "$(md5sum /mnt/old-data | cut -d" " -f1)" = "$(cat /mnt/old.md5)" ] && echo OLD-OK
            cat /mnt/new' </dev/null
        if [ "$st" = 0 ] && grep -qx BIG-OK "$T/out" && grep -qx OLD-OK "$T/out" &&
            grep -qx guest-wrote-this "$T/out"; then
            ok blk-qcow2-reboot-reads
        else
            bad blk-qcow2-reboot-reads "status $st"
        fi
        # The format is the caller's: the same file as raw shows the qcow2 header.
        kc --disk "$D/over.qcow2" "$R" /bin/sh -c 'head -c 3 /dev/vda' </dev/null
        expect blk-qcow2-raw-not-probed 0 "^QFI"
    fi
fi

# The root on a qcow2 overlay of a raw ext4 base (krun_set_root_disk_remount
# on a qcow2 disk): the guest's writes land in the overlay, the base stays
# as it was, qemu-img finds the overlay clean, and a second boot sees them.
if want blk-root-qcow2; then
    if ! command -v qemu-img >/dev/null; then
        bad blk-root-qcow2 "qemu-img not found: install qemu-utils (tools/install-deps)"
    else
        QR=$T/qroot
        "$here/mkrootfs.sh" "$QR"
        echo from-the-base >"$QR/marker"
        mke2fs -q -t ext4 -d "$QR" -F "$D/rootbase.ext4" 64M
        base_sum=$(md5sum <"$D/rootbase.ext4")
        (cd "$D" && qemu-img create -q -f qcow2 -b rootbase.ext4 -F raw rootover.qcow2)
        kc --root-disk "$D/rootover.qcow2:ext4:qcow2" /bin/sh -c \
            'cat /marker; echo written-in-the-vm >/new; sync; exit 6' </dev/null
        out_ok=$(grep -cx from-the-base "$T/out")
        st1=$st
        kc --root-disk "$D/rootover.qcow2::qcow2" /bin/sh -c 'cat /new' </dev/null
        if [ "$out_ok" = 1 ] && [ "$st1" = 6 ] && [ "$st" = 0 ] && grep -qx written-in-the-vm "$T/out" &&
            [ "$(md5sum <"$D/rootbase.ext4")" = "$base_sum" ] &&
            qemu-img check "$D/rootover.qcow2" >"$T/err" 2>&1; then
            ok blk-root-qcow2
        else
            bad blk-root-qcow2 "status $st1 then $st, marker seen $out_ok, base $(md5sum <"$D/rootbase.ext4" | cut -c1-8) (was ${base_sum%% *}), check: $(tail -n 2 "$T/err")"
        fi
    fi
fi

# VMDK monolithic flat: the extent file is the disk, byte for byte.
if want blk-vmdk; then
    if ! command -v qemu-img >/dev/null; then
        bad blk-vmdk "qemu-img not found: install qemu-utils (tools/install-deps)"
    else
        qemu-img create -q -f vmdk -o subformat=monolithicFlat "$D/v.vmdk" 16M
        kc --disk "$D/v.vmdk:vmdk" "$R" /bin/sh -c '
            cat /sys/block/vda/size
            echo -n VMDK-GUEST-DATA | dd of=/dev/vda bs=512 seek=2048 conv=sync,fsync 2>/dev/null
            dd if=/dev/vda bs=512 skip=2048 count=1 2>/dev/null | head -c 15; echo' </dev/null
        got=$(dd if="$D/v-flat.vmdk" bs=512 skip=2048 count=1 2>/dev/null | head -c 15)
        if [ "$st" = 0 ] && grep -qx 32768 "$T/out" && grep -qx VMDK-GUEST-DATA "$T/out" &&
            [ "$got" = VMDK-GUEST-DATA ]; then
            ok blk-vmdk-flat
        else
            bad blk-vmdk-flat "status $st, extent has '$got'"
        fi
        qemu-img create -q -f vmdk "$D/sparse.vmdk" 16M
        kc --disk "$D/sparse.vmdk:vmdk" "$R" /bin/true </dev/null
        if [ "$st" != 0 ] && grep -q "sparse" "$T/err"; then
            ok blk-vmdk-sparse-refused
        else
            bad blk-vmdk-sparse-refused "status $st"
        fi
    fi
fi
