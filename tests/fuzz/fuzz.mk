# SPDX-License-Identifier: Apache-2.0
# libFuzzer harnesses (clang). Each tests/fuzz/fuzz_NAME.c names the sources
# it links in its first lines (and optionally /* LDLIBS: ... */), like the
# unit tests. `make fuzz-build` builds them all; `make fuzz-NAME` (fuzz-queue,
# fuzz-loader, ...) runs one for FUZZ_SECONDS on a corpus kept in
# $(B)/fuzz/corpus-NAME, seeded with valid inputs by gen_seeds.
# FUZZ_ARGS passes extra libFuzzer flags (e.g. -jobs=4).
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 30
FUZZ_ARGS ?=
FUZZ_CFLAGS := $(BASE_CFLAGS) -Itests/unit -Wno-write-strings -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_BINS := $(FUZZ_NAMES:%=$(B)/fuzz/fuzz_%)
FUZZ_HDRS := $(shell find src -name '*.h') $(wildcard tests/fuzz/*.h) tests/unit/mmio_driver.h

fuzz_srcs = $(shell sed -n 's|^/\* SRCS: \(.*\) \*/$$|\1|p' tests/fuzz/fuzz_$(1).c)
fuzz_ldlibs = $(shell sed -n 's|^/\* LDLIBS: \(.*\) \*/$$|\1|p' tests/fuzz/fuzz_$(1).c)

.PHONY: fuzz-build $(FUZZ_NAMES:%=fuzz-%)
fuzz-build: $(FUZZ_BINS) $(B)/fuzz/gen_seeds

$(B)/fuzz/gen_seeds: tests/fuzz/gen_seeds.c $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ -lz -lbz2 -lzstd

define fuzz_rules
$(B)/fuzz/fuzz_$(1): tests/fuzz/fuzz_$(1).c $(call fuzz_srcs,$(1)) $(FUZZ_HDRS)
	@mkdir -p $(B)/fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) tests/fuzz/fuzz_$(1).c $(call fuzz_srcs,$(1)) -o $(B)/fuzz/fuzz_$(1) \
		$(call fuzz_ldlibs,$(1)) -lseccomp

fuzz-$(1): $(B)/fuzz/fuzz_$(1) $(B)/fuzz/gen_seeds
	@mkdir -p $(B)/fuzz/corpus-$(1)
	$(B)/fuzz/gen_seeds $(1) $(B)/fuzz/corpus-$(1)
	$(B)/fuzz/fuzz_$(1) -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(FUZZ_ARGS) \
		$(B)/fuzz/corpus-$(1)
endef
$(foreach n,$(FUZZ_NAMES),$(eval $(call fuzz_rules,$(n))))

# make check runs every fuzzer briefly, so that the harnesses keep building
# and the parsers see fresh random input on every run.
FUZZ_SMOKE_SECONDS ?= 10
.PHONY: check-fuzz
check-fuzz: fuzz-build
	@set -e; for n in $(FUZZ_NAMES); do \
		echo "== fuzz $$n ($(FUZZ_SMOKE_SECONDS) s)"; \
		mkdir -p $(B)/fuzz/corpus-$$n; $(B)/fuzz/gen_seeds $$n $(B)/fuzz/corpus-$$n; \
		$(B)/fuzz/fuzz_$$n -max_total_time=$(FUZZ_SMOKE_SECONDS) $(B)/fuzz/corpus-$$n \
			2>$(B)/fuzz/$$n.log || { tail -40 $(B)/fuzz/$$n.log; exit 1; }; \
		grep -h "^#.*DONE\|stat::number_of_executed_units" $(B)/fuzz/$$n.log | tail -1; done
