# SPDX-License-Identifier: Apache-2.0
# libkrun-c: `make` builds everything, `make check` runs every test,
# `make install PREFIX=/usr DESTDIR=...` installs.
#
# Each area adds its own rules in a fragment included below; everything
# that is built goes under $(B).

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=

B := build
CC ?= cc
ifeq ($(CC),cc)
CC := gcc
endif

VERSION := 1.18.0
# What the library links (in libkrun.pc: Requires.private for those with a .pc file,
# Libs.private for -lbz2, -ldl and -lpthread).
LIB_LIBS := -ldl -luring -lseccomp -lz -lbz2 -lzstd
KRUN_SONAME := libkrun.so.1

# WERROR=0 keeps the warnings but does not fail on them (for packagers with
# newer compilers).
WERROR ?= 1
WARN := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wstrict-prototypes -Wmissing-prototypes \
	-Wmissing-declarations -Wformat=2 -Wundef -Wwrite-strings
ifeq ($(WERROR),1)
WARN += -Werror
endif
# Hardening: stack canaries, checked libc calls, read-only relocations.
HARDEN_CFLAGS := -fstack-protector-strong -D_FORTIFY_SOURCE=2
HARDEN_LDFLAGS := -Wl,-z,relro,-z,now -Wl,-z,noexecstack
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -g -fPIC -pthread $(WARN) $(HARDEN_CFLAGS) -Iinclude -Isrc \
	-I$(B)/gen
CFLAGS ?= -O2
ALL_CFLAGS := $(BASE_CFLAGS) $(CFLAGS)
SAN_CFLAGS := $(BASE_CFLAGS) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

LIB_SRCS := $(sort $(shell find src -name '*.c'))
LIB_ASM := $(sort $(shell find src -name '*.S'))
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/obj/%.o) $(LIB_ASM:%.S=$(B)/obj/%.o)
SAN_OBJS := $(LIB_SRCS:%.c=$(B)/san/%.o) $(LIB_ASM:%.S=$(B)/san/%.o)

.PHONY: all check check-unit check-vm install clean format bench
all:

include kernel/kernel.mk
include init/init.mk
include testhost/testhost.mk
include tools/krun-chroot.mk
include tests/unit/unit.mk
include tests/vm/vm.mk
include bench/bench.mk
include tests/fuzz/fuzz.mk

all: $(B)/$(KRUN_SONAME) $(B)/libkrun.pc

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(B)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -MMD -MP -c $< -o $@

# Assembly files pull generated blobs in with .incbin; they live in $(B)/gen.
# Two separate rules: one rule with two target patterns would tell make that
# a single run builds both objects.
ASM_COMPILE = mkdir -p $(dir $@) && $(CC) -c $< -o $@ -Wa,-I$(B)/gen
$(B)/obj/%.o: %.S
	$(ASM_COMPILE)
$(B)/san/%.o: %.S
	$(ASM_COMPILE)

$(B)/$(KRUN_SONAME): $(LIB_OBJS) src/libkrun.map
	$(CC) -shared -pthread -Wl,-soname,$(KRUN_SONAME) -Wl,--version-script=src/libkrun.map \
		$(HARDEN_LDFLAGS) -o $@ $(LIB_OBJS) $(LIB_LIBS)
	ln -sf $(KRUN_SONAME) $(B)/libkrun.so

# Internal archives: tests link the library's objects directly.
$(B)/libkrun-obj.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^
$(B)/libkrun-san.a: $(SAN_OBJS)
	rm -f $@ && ar rcs $@ $^

# The pkg-config file for the directories of this make run (install writes
# its own, so that `make; make install LIBDIR=...` does not keep a stale libdir).
pc_subst = sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' libkrun.pc.in
$(B)/libkrun.pc: libkrun.pc.in
	@mkdir -p $(B)
	$(pc_subst) > $@

# `make check` runs a fast lane first, so that a broken build or unit test
# fails in minutes: the format and layer checks, gcc and clang builds of
# the library, unit tests plain and with ASan/UBSan, a short run of every
# fuzzer. Then what needs the guest kernel (about 6 minutes to build on a
# cache miss): its unit tests and valgrind on error paths, the KVM test
# host's own tests, and real guests in it.
.PHONY: check-fast check-format check-layers build-gcc build-clang
check: check-fast check-unit-kernel check-install check-with-kvm check-vm
check-fast: check-format check-layers build-gcc build-clang check-unit-fast check-fuzz

check-format:
	@clang-format --dry-run -Werror $$(find include src init tools tests bench testhost -name '*.[ch]')
	@echo "ok   clang-format"

check-layers:
	@tests/lint/layers.sh

# make install for Debian's and Fedora's library directories (needs the kernel).
.PHONY: check-install
check-install: $(B)/$(KRUN_SONAME) $(B)/$(KRUNFW_SONAME) $(B)/krun-chroot
	@tests/install/check-install.sh $(B)

build-gcc: $(B)/$(KRUN_SONAME) $(B)/krun-chroot $(B)/vmtest

# The library again with clang, into its own directory (its warnings differ).
build-clang:
	$(MAKE) --no-print-directory B=$(B)/clang CC=clang $(B)/clang/$(KRUN_SONAME)

install: $(B)/$(KRUN_SONAME)
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 0755 $(B)/$(KRUN_SONAME) $(DESTDIR)$(LIBDIR)/libkrun.so.$(VERSION)
	ln -sf libkrun.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(KRUN_SONAME)
	ln -sf $(KRUN_SONAME) $(DESTDIR)$(LIBDIR)/libkrun.so
	install -m 0644 include/libkrun.h include/libkrun_display.h include/libkrun_input.h \
		$(DESTDIR)$(INCLUDEDIR)/
	$(pc_subst) > $(DESTDIR)$(LIBDIR)/pkgconfig/libkrun.pc

format:
	clang-format -i $$(find include src init tools tests bench testhost -name '*.[ch]')

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
