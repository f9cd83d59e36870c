# Benchmarks: figures and ratios, never pass/fail. They run where /dev/kvm
# is real KVM, so they go through tools/with-kvm.
.PHONY: bench bench-boot
bench: bench-boot

bench-boot: vm-test-deps
	tools/with-kvm --timeout 3000 env B=$(B) bench/boot.sh
