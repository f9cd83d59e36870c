# SPDX-License-Identifier: Apache-2.0
# VM tests: real guests through the public API, run inside $(WITH_KVM).
VMTEST_BINS := $(B)/vmtest $(B)/ptyrun $(B)/test-initramfs.cpio.gz
# (Named here: a rule's prerequisites are expanded when make reads it.)
VM_KERNEL_FORMATS := $(B)/vmlinux.gz $(B)/vmlinux.zst $(B)/vmlinux.bz2 $(B)/vmlinux.raw
EXAMPLE_BINS := $(B)/example-chroot-vm $(B)/example-external-kernel $(B)/example-consoles

$(B)/vmtest: tests/vm/vmtest.c include/libkrun.h $(B)/$(KRUN_SONAME)
	$(CC) $(ALL_CFLAGS) $< -o $@ -L$(B) -l:$(KRUN_SONAME) -Wl,-rpath,'$$ORIGIN' -pthread

$(B)/ptyrun: tests/vm/ptyrun.c
	$(CC) $(ALL_CFLAGS) $< -o $@ -lutil

$(B)/test-initramfs.cpio.gz: tests/vm/mkinitramfs.sh $(B)/gen/init.krun
	tests/vm/mkinitramfs.sh $(B)/gen/init.krun $@

vm-test-deps: all $(VMTEST_BINS) $(B)/guest-fsops $(B)/guest-net $(B)/net-peer $(B)/chroot-after-load \
	$(B)/triple-fault.elf $(VM_KERNEL_FORMATS) $(EXAMPLE_BINS)
.PHONY: vm-test-deps

check-vm: vm-test-deps
	WITH_KVM=$(WITH_KVM) B=$(B) tests/vm/check-vm.sh

# A guest kernel that triple-faults at once.
$(B)/triple-fault.elf: tests/vm/triple-fault.S
	$(CC) -nostdlib -static -no-pie -Wl,-Ttext=0x1000000 -Wl,--build-id=none $< -o $@

# A static helper the tests copy into guest root filesystems.
$(B)/guest-fsops: tests/vm/guest-fsops.c
	musl-gcc -static -O2 -Wall -Wextra -Werror $< -o $@
VMTEST_BINS += $(B)/guest-fsops

# Socket traffic for the vsock and TSI tests, in guests and on the host alike.
$(B)/guest-net: tests/vm/guest-net.c
	musl-gcc -static -O2 -Wall -Wextra -Werror $< -o $@
VMTEST_BINS += $(B)/guest-net

# The host side of a guest's virtio-net interface: answers ARP and ping
# (tests/unit/test_net_peer.c tests its workings without a VM).
$(B)/net-peer: tests/vm/net-peer.c tests/vm/net_peer_lib.c tests/vm/net_peer_lib.h
	musl-gcc -static -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror tests/vm/net-peer.c \
		tests/vm/net_peer_lib.c -o $@
VMTEST_BINS += $(B)/net-peer

# What crun before 1.21 does: load libkrun, chroot, then create the context.
$(B)/chroot-after-load: tests/vm/chroot-after-load.c
	$(CC) $(ALL_CFLAGS) $< -o $@ -ldl

# The guest kernel in krun_set_kernel's other formats, made from $(B)/vmlinux
# by the same tools a user would: a gzip-, zstd- and bzip2-compressed ELF
# (IMAGE_GZ, IMAGE_ZSTD, IMAGE_BZ2), and RAW: the bundle's blob, the kernel
# laid out as in memory, which upstream boots at its first byte (see
# mkrawkernel.sh).
$(B)/vmlinux.gz: $(B)/vmlinux
	gzip -1 -n -c $< >$@.tmp && mv $@.tmp $@
$(B)/vmlinux.zst: $(B)/vmlinux
	zstd -q -3 -c $< >$@.tmp && mv $@.tmp $@
$(B)/vmlinux.bz2: $(B)/vmlinux
	bzip2 -1 -c $< >$@.tmp && mv $@.tmp $@
$(B)/vmlinux.raw: $(KRUNFW_GEN)/krunfw_params.h tests/vm/mkrawkernel.sh
	tests/vm/mkrawkernel.sh $< $(KRUNFW_GEN)/krunfw-kernel.bin $@

# Our own programs making the call sequences of upstream's examples
# (chroot_vm.c, external_kernel.c, consoles.c): tests/vm/examples.sh.
$(B)/example-%: tests/vm/example-%.c include/libkrun.h $(B)/$(KRUN_SONAME)
	$(CC) $(ALL_CFLAGS) $< -o $@ -L$(B) -l:$(KRUN_SONAME) -Wl,-rpath,'$$ORIGIN'
