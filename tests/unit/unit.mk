# SPDX-License-Identifier: Apache-2.0
# Unit tests: no KVM needed, and none may depend on the host's /dev/kvm.
# Every tests/unit/test_*.c is one program, built twice: normally and with
# ASan+UBSan. Its first lines (after the SPDX line) name what it links, so
# that a test depends only on the code it tests:
#   /* SRCS: src/virtio/queue.c src/util/guest_mem.c */
#   /* LDLIBS: -luring */            (optional)
# "@library" in SRCS stands for the whole library's objects (and its $(LIB_LIBS)).
# A test with a line "/* TSAN */" (concurrency tests) is also built with
# ThreadSanitizer, from its own objects in $(B)/tsan (explicit SRCS only).
# Tests build their configs from string literals: -Wwrite-strings is for the library.
UNIT_CFLAGS := -Wno-write-strings -Itests/unit
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
UNIT_SAN_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests-san/%)
UNIT_TSAN_SRCS := $(shell grep -l '^/\* TSAN \*/$$' $(UNIT_SRCS))
UNIT_TSAN_BINS := $(UNIT_TSAN_SRCS:tests/unit/%.c=$(B)/tests-tsan/%)
TSAN_CC ?= $(CC)
TSAN_CFLAGS := $(BASE_CFLAGS) -O1 -fno-omit-frame-pointer -fsanitize=thread
# Stop at the first report, with a non-zero status.
UNIT_TSAN_OPTIONS := halt_on_error=1 second_deadlock_stack=1

unit_srcs = $(shell sed -n 's|^/\* SRCS: \(.*\) \*/$$|\1|p' tests/unit/$(1).c)
unit_ldlibs = $(shell sed -n 's|^/\* LDLIBS: \(.*\) \*/$$|\1|p' tests/unit/$(1).c)\
	$(if $(filter @library,$(call unit_srcs,$(1))),$(LIB_LIBS))
unit_objs = $(patsubst @library,$(B)/libkrun-$(notdir $(2)).a,\
	$(patsubst %.c,$(2)/%.o,$(patsubst %.S,$(2)/%.o,$(call unit_srcs,$(1)))))

.SECONDEXPANSION:
$(B)/tests/%: tests/unit/%.c tests/unit/test.h $$(call unit_objs,$$*,$(B)/obj)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP $(UNIT_CFLAGS) $< -o $@ $(call unit_objs,$*,$(B)/obj) -ldl -lseccomp $(call unit_ldlibs,$*)

$(B)/tests-san/%: tests/unit/%.c tests/unit/test.h $$(call unit_objs,$$*,$(B)/san)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -MMD -MP $(UNIT_CFLAGS) $< -o $@ $(call unit_objs,$*,$(B)/san) -ldl -lseccomp $(call unit_ldlibs,$*)

# Kept: nothing else names these objects, so make would delete them as intermediates.
.PRECIOUS: $(B)/tsan/%.o
$(B)/tsan/%.o: %.c
	@mkdir -p $(dir $@)
	$(TSAN_CC) $(TSAN_CFLAGS) -MMD -MP -c $< -o $@

$(B)/tests-tsan/%: tests/unit/%.c tests/unit/test.h $$(call unit_objs,$$*,$(B)/tsan)
	@mkdir -p $(dir $@)
	$(TSAN_CC) $(TSAN_CFLAGS) -MMD -MP $(UNIT_CFLAGS) $< -o $@ $(call unit_objs,$*,$(B)/tsan) -ldl -lseccomp $(call unit_ldlibs,$*)

# Two of them read the built guest kernel (the bundle's ABI, the real
# vmlinux and bzImage through the loaders), as do the valgrind checks;
# the others run in the fast lane, before the kernel is built.
UNIT_KERNEL_NAMES := test_bundle test_loader
UNIT_FAST_BINS := $(filter-out $(UNIT_KERNEL_NAMES:%=$(B)/tests/%),$(UNIT_BINS)) \
	$(filter-out $(UNIT_KERNEL_NAMES:%=$(B)/tests-san/%),$(UNIT_SAN_BINS)) $(UNIT_TSAN_BINS)
UNIT_KERNEL_BINS := $(filter-out $(UNIT_FAST_BINS),$(UNIT_BINS) $(UNIT_SAN_BINS))
UNIT_RUN = KRUN_BUILD_DIR=$(B) TSAN_OPTIONS="$(UNIT_TSAN_OPTIONS)"

.PHONY: check-unit check-unit-fast check-unit-kernel
check-unit: check-unit-fast check-unit-kernel

check-unit-fast: $(UNIT_FAST_BINS) $(B)/$(KRUN_SONAME)
	@set -e; for t in $(UNIT_FAST_BINS); do echo "== $$t"; $(UNIT_RUN) $$t; done

# (The kernel and the tools the valgrind checks run are prerequisites.)
check-unit-kernel: $(UNIT_KERNEL_BINS) $(B)/$(KRUN_SONAME) $(B)/$(KRUNFW_SONAME) $(B)/vmlinux $(B)/bzImage \
		$(B)/vmtest $(B)/krun-chroot
	@set -e; for t in $(UNIT_KERNEL_BINS); do echo "== $$t"; $(UNIT_RUN) $$t; done
	@echo "== tests/unit/valgrind-errors.sh"
	B=$(B) tests/unit/valgrind-errors.sh
	@echo "== tests/kernel/tsi-smoke.sh (the guest half of TSI, under QEMU)"
	tests/kernel/tsi-smoke.sh $(B)
