# tools/: tools/with-kvm and its two helpers (see docs/with-kvm.md).
#
# tools/with-kvm builds its own copies of the helpers into its cache, so it
# works without make; these rules build them into $(B)/tools for the tests and
# for anyone who wants to run the probe by hand:
#   $(B)/tools/kvm-probe   does /dev/kvm run real guests? (exit 0 = yes)
#   $(B)/tools/kvm-agent   the command channel (static: it runs as the KVM host's init)
WITH_KVM_BINS := $(B)/tools/kvm-probe $(B)/tools/kvm-agent

.PHONY: with-kvm-tools check-with-kvm
all: with-kvm-tools
with-kvm-tools: $(WITH_KVM_BINS)

$(B)/tools/kvm-probe $(B)/tools/kvm-agent: $(B)/tools/%: tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -static $< -o $@

# Tests of tools/with-kvm itself: boots the KVM host VM a few times (about a minute).
check-with-kvm: $(WITH_KVM_BINS)
	KVM_PROBE=$(B)/tools/kvm-probe sh tests/with-kvm/run-tests.sh
