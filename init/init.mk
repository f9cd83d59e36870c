# SPDX-License-Identifier: Apache-2.0
# The guest init: a static musl binary, stripped, embedded into the library
# by src/api/init_blob.S (.incbin "init.krun" from $(B)/gen) and served to
# the guest as /init.krun.
INIT_CC ?= musl-gcc
INIT_SRCS := $(sort $(wildcard init/*.c))
INIT_HDRS := $(sort $(wildcard init/*.h))
# -Os and section GC keep it small; the stack protector because the init
# parses a JSON file that comes from a container image.
INIT_CFLAGS := -std=c11 -D_GNU_SOURCE -Isrc -Os -static $(WARN) -fstack-protector-strong \
	-ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables
INIT_LDFLAGS := -static -s -Wl,--gc-sections -Wl,-z,noexecstack

$(B)/gen/init.krun: $(INIT_SRCS) $(INIT_HDRS) src/abi/guest_abi.h init/init.mk
	@mkdir -p $(dir $@)
	$(INIT_CC) $(INIT_CFLAGS) $(INIT_LDFLAGS) -o $@.tmp $(INIT_SRCS)
	mv $@.tmp $@

$(B)/obj/src/vm/init_blob.o $(B)/san/src/vm/init_blob.o: $(B)/gen/init.krun

.PHONY: init
init: $(B)/gen/init.krun
