# SPDX-License-Identifier: Apache-2.0
# testhost/: the KVM test host that VM tests and benchmarks run in (never
# installed; see testhost/README.md): testhost/with-kvm and its two helpers.
#
# testhost/with-kvm builds its own copies of the helpers into its cache, so
# it works without make; these rules build them into $(B)/testhost for the
# tests and for anyone who wants to run the probe by hand:
#   $(B)/testhost/kvm-probe   does /dev/kvm run real guests? (exit 0 = yes)
#   $(B)/testhost/kvm-agent   the command channel (static: it runs as the KVM host's init)
WITH_KVM := testhost/with-kvm
WITH_KVM_BINS := $(B)/testhost/kvm-probe $(B)/testhost/kvm-agent

.PHONY: with-kvm-tools check-with-kvm
all: with-kvm-tools
with-kvm-tools: $(WITH_KVM_BINS)

$(B)/testhost/kvm-probe $(B)/testhost/kvm-agent: $(B)/testhost/%: testhost/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -static $< -o $@

# Tests of testhost/with-kvm itself: boots the KVM host VM a few times (about a minute).
check-with-kvm: $(WITH_KVM_BINS)
	KVM_PROBE=$(B)/testhost/kvm-probe sh testhost/tests/run-tests.sh
