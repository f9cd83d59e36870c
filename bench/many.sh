#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# bench/many.sh: N VMs at once (default 20), from N processes and from one
# process (vmtest --runs N --parallel), against N QEMU microvm processes on
# the same kernel and initramfs; each guest boots and exits. Run where
# /dev/kvm is real KVM (`make bench-many` runs it in testhost/with-kvm).
# Prints the wall time for all N, the peak RSS per VM, and the VMM's own
# memory per VM beyond the guest RAM it touched (the library's statistic).
set -eu
B=${B:-build}
N=${N:-20}
K=$B/vmlinux
RD=$B/test-initramfs.cpio.gz
CMD="console=hvc0 reboot=k panic=-1 quiet"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
[ -c /dev/kvm ] || { echo "bench/many: no /dev/kvm; run it through testhost/with-kvm" >&2; exit 1; }
QEMU=$(command -v qemu-system-x86_64 || true)

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "n/a"}'; }
now() { date +%s.%N; }
vmm_kib() { sed -n 's/.*stats: RSS [0-9]* KiB, of which guest RAM \([0-9]*\) KiB, VMM \([0-9]*\) KiB.*/\1 \2/p' "$@"; }

echo "bench/many: $N VMs at once, 1 vCPU and 64 MiB each, the guest exits at once"

t0=$(now)
for i in $(seq "$N"); do
    /usr/bin/time -o "$T/p$i.time" -f %M "$B/vmtest" --log-level 3 --kernel "$K" --initrd "$RD" \
        --cmdline "$CMD" --mem 64 -- /bin/true </dev/null >/dev/null 2>"$T/p$i.err" &
done
wait
t1=$(now)
cat "$T"/p*.time | grep -E '^[0-9]+$' >"$T/prss"
vmm_kib "$T"/p*.err | awk '{print $2}' >"$T/pvmm"
[ "$(wc -l <"$T/pvmm")" = "$N" ] || { echo "bench/many: not every process reported" >&2; tail -3 "$T"/p1.err >&2; exit 1; }
p_wall=$(echo "$t0 $t1" | awk '{printf "%.2f", $2 - $1}')
p_rss=$(median <"$T/prss")
echo
echo "libkrun-c, $N processes: all done in ${p_wall} s; peak RSS per process ${p_rss} KiB (median);"
echo "  VMM beyond guest RAM: $(median <"$T/pvmm") KiB median, $(sort -n "$T/pvmm" | tail -1) KiB max"

t0=$(now)
/usr/bin/time -o "$T/one.time" -f %M "$B/vmtest" --log-level 3 --kernel "$K" --initrd "$RD" \
    --cmdline "$CMD" --mem 64 --runs "$N" --parallel -- /bin/true </dev/null >"$T/one.out" 2>"$T/one.err"
t1=$(now)
ok=$(grep -c 'status 0$' "$T/one.out" || true)
if [ "$ok" != "$N" ]; then
    echo "bench/many: not every VM exited 0:" >&2
    grep -v 'status 0$' "$T/one.out" >&2
    grep -i 'error\|triple\|panic' "$T/one.err" | head -5 >&2
fi
peak=$(grep -E '^[0-9]+$' "$T/one.time")
guest=$(vmm_kib "$T/one.err" | awk '{s += $1} END {print s + 0}')
echo
echo "libkrun-c, one process, $N threads: $ok of $N exited 0, in $(echo "$t0 $t1" | awk '{printf "%.2f", $2 - $1}') s;"
echo "  peak RSS ${peak} KiB ($((peak / N)) KiB per VM); the guests' RAM at their exits adds up to ${guest} KiB,"
echo "  so the VMM's own memory is at most $(((peak - guest) / N)) KiB per VM"

[ -n "$QEMU" ] || { echo "QEMU not installed: no comparison"; exit 0; }
t0=$(now)
for i in $(seq "$N"); do
    /usr/bin/time -o "$T/q$i.time" -f %M "$QEMU" \
        -M microvm,x-option-roms=off,rtc=off,pic=off,pit=on,isa-serial=off,acpi=off \
        -enable-kvm -cpu host -m 64 -smp 1 -nodefaults -no-user-config -display none \
        -monitor none -no-reboot -kernel "$K" -initrd "$RD" \
        -append "reboot=t panic=-1 quiet KRUN_INIT=/bin/true" </dev/null >/dev/null 2>&1 &
done
wait
t1=$(now)
q_wall=$(echo "$t0 $t1" | awk '{printf "%.2f", $2 - $1}')
q_rss=$(cat "$T"/q*.time | grep -E '^[0-9]+$' | median)
echo
echo "QEMU microvm, $N processes: all done in ${q_wall} s; peak RSS per process ${q_rss} KiB (median)"
awk -v pw="$p_wall" -v qw="$q_wall" -v pr="$p_rss" -v qr="$q_rss" 'BEGIN {
    printf "ratio libkrun-c / QEMU microvm (%s processes each): wall %.2f, peak RSS per VM %.2f\n", '"$N"', pw / qw, pr / qr
}'
