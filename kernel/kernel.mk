# SPDX-License-Identifier: Apache-2.0
# The guest kernel bundle: libkrunfw.so.5 (upstream libkrunfw ABI), plus the
# vmlinux ELF (for krun_set_kernel) and bzImage it is made from.
#
#   kernel/build.sh   Debian linux-source-6.12 + kernel/config + kernel/patches
#                     -> $(B)/vmlinux, $(B)/bzImage (through a cache keyed on
#                     its inputs; a cache hit takes about a second)
#   kernel/elf2bundle PT_LOAD span of vmlinux -> $(B)/gen/kernel/krunfw-kernel.bin
#                     + krunfw_params.h (load address, entry, size)
#   kernel/bundle.S   .incbin of the blob into .data, 64 KiB aligned
#   kernel/krunfw.c   krunfw_get_kernel(), krunfw_get_version()

KRUNFW_SONAME := libkrunfw.so.5
KRUNFW_VERSION := 5.0.0
KRUNFW_GEN := $(B)/gen/kernel
KRUNFW_OBJ := $(B)/kernel

all: $(B)/$(KRUNFW_SONAME) $(B)/vmlinux $(B)/bzImage

# build.sh always runs (it is quick when nothing changed) because only it
# knows the whole cache key: the installed linux-source version and the set
# of patches. It rewrites its outputs only when the key changes, so the
# targets below are remade only for a different kernel.
.PHONY: kernel-force
kernel-force:

$(B)/vmlinux: kernel-force
	@kernel/build.sh $(B)

$(B)/bzImage: $(B)/vmlinux
	@test -f $@ || kernel/build.sh $(B)

$(KRUNFW_OBJ)/elf2bundle: kernel/elf2bundle.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 $(WARN) -o $@ $<

# elf2bundle writes the blob first and the header last, both by rename.
$(KRUNFW_GEN)/krunfw_params.h: $(B)/vmlinux $(KRUNFW_OBJ)/elf2bundle
	@mkdir -p $(dir $@)
	$(KRUNFW_OBJ)/elf2bundle $(B)/vmlinux $(KRUNFW_GEN)/krunfw-kernel.bin $@

$(KRUNFW_OBJ)/bundle.o: kernel/bundle.S $(KRUNFW_GEN)/krunfw_params.h
	@mkdir -p $(dir $@)
	$(CC) -c $< -o $@ -I$(KRUNFW_GEN) -Wa,-I$(KRUNFW_GEN)

$(KRUNFW_OBJ)/krunfw.o: kernel/krunfw.c $(KRUNFW_GEN)/krunfw_params.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -I$(KRUNFW_GEN) -c $< -o $@

$(B)/$(KRUNFW_SONAME): $(KRUNFW_OBJ)/krunfw.o $(KRUNFW_OBJ)/bundle.o kernel/libkrunfw.map
	$(CC) -shared -s -Wl,-soname,$(KRUNFW_SONAME) -Wl,--version-script=kernel/libkrunfw.map \
		-Wl,-z,noexecstack -Wl,-z,max-page-size=65536 -Wl,--as-needed \
		-o $@ $(KRUNFW_OBJ)/krunfw.o $(KRUNFW_OBJ)/bundle.o

.PHONY: install-kernel
install-kernel: $(B)/$(KRUNFW_SONAME) $(B)/vmlinux $(B)/bzImage
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PREFIX)/share/libkrun-c
	install -m 0755 $(B)/$(KRUNFW_SONAME) $(DESTDIR)$(LIBDIR)/libkrunfw.so.$(KRUNFW_VERSION)
	ln -sf libkrunfw.so.$(KRUNFW_VERSION) $(DESTDIR)$(LIBDIR)/$(KRUNFW_SONAME)
	ln -sf $(KRUNFW_SONAME) $(DESTDIR)$(LIBDIR)/libkrunfw.so
	install -m 0644 $(B)/vmlinux $(DESTDIR)$(PREFIX)/share/libkrun-c/vmlinux
	install -m 0644 $(B)/bzImage $(DESTDIR)$(PREFIX)/share/libkrun-c/bzImage

install: install-kernel

# QEMU smoke test of the guest kernel (not part of `make check`).
.PHONY: check-kernel
check-kernel: $(B)/bzImage $(B)/vmlinux
	tests/kernel/smoke.sh $(B)
