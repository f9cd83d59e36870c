# Benchmarks: figures and ratios, never pass/fail. They run where /dev/kvm
# is real KVM, so they go through tools/with-kvm.
.PHONY: bench bench-boot bench-fs bench-blk
bench: bench-boot bench-fs bench-blk

bench-boot bench-fs bench-blk: bench-%: vm-test-deps
	tools/with-kvm --timeout 3000 env B=$(B) bench/$*.sh
