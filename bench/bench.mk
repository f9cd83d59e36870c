# SPDX-License-Identifier: Apache-2.0
# Benchmarks: figures and ratios, never pass/fail. They run where /dev/kvm
# is real KVM, so they go through $(WITH_KVM).
.PHONY: bench bench-boot bench-fs bench-blk bench-net bench-net-nic bench-many bench-mem
bench: bench-boot bench-fs bench-blk bench-net bench-net-nic bench-many bench-mem

bench-boot bench-fs bench-blk bench-net bench-net-nic bench-many bench-mem: bench-%: vm-test-deps
	$(WITH_KVM) --timeout 3000 env B=$(B) bench/$*.sh
