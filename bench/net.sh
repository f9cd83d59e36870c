#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# bench/net.sh: the workload's network, libkrun-c (TSI, the default: no NIC,
# the VMM makes the socket calls on the host) against QEMU's microvm with
# virtio-net and user networking (slirp), side by side, same kernel, same
# guest programs, same host servers. Run where /dev/kvm is real KVM
# (`make bench-net` runs it in testhost/with-kvm). Prints figures, ratios,
# and the exits to the VMM per MiB moved.
#
#   TCP throughput guest -> host and host -> guest: iperf3 (Debian's) in
#   the guest as the client (-R for host -> guest), iperf3 -s on the host's
#   loopback; SECS seconds each (default 10).
#   Connection rate: CONNS short connections (default 300), one after
#   another (bench/connrate.c), to a host echo server.
#   Exits: libkrun-c's own counters (KRUN_LOG_LEVEL=3 statistics), minus
#   a boot that does nothing; QEMU's KVM_RUN calls counted with strace in a
#   separate run (strace slows it, so the throughput runs go without).
set -eu
B=${B:-build}
SECS=${SECS:-10}
CONNS=${CONNS:-300}
MEM=${MEM:-512}
K=$B/vmlinux
KC=$B/krun-chroot
INIT=$B/gen/init.krun
here=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT
die() {
    echo "bench/net: $*" >&2
    exit 1
}
[ -c /dev/kvm ] || die "no /dev/kvm; run it through testhost/with-kvm"
for f in "$KC" "$K" "$INIT"; do [ -e "$f" ] || die "$f missing (make vm-test-deps)"; done
IPERF=$(command -v iperf3) || die "iperf3 missing (tools/install-deps)"
QEMU=$(command -v qemu-system-x86_64 || true)

# The guest root: busybox, iperf3 with its libraries, connrate.
ROOT=$T/root
"$here/iperf-root.sh" "$ROOT"
musl-gcc -static -O2 -Wall -Wextra -Werror "$here/connrate.c" -o "$T/connrate"
cp "$T/connrate" "$ROOT/bin/connrate"

# Host servers on the loopback (TSI reaches them as 127.0.0.1, slirp as 10.0.2.2).
"$IPERF" -s -B 127.0.0.1 -p 5201 >"$T/iperf-server.log" 2>&1 &
pids="$pids $!"
"$T/connrate" serve 5202 &
pids="$pids $!"
sleep 1

# exits STDERR: the sum of the VMM's exit counters in a statistics log.
exits() {
    sed -n 's/.*stats: exits to the VMM: port I\/O \([0-9]*\), MMIO \([0-9]*\), other \([0-9]*\).*/\1 \2 \3/p' \
        "$1" | awk '{s += $1 + $2 + $3} END {print s + 0}'
}
# iperf_json FILE: "bits_per_second bytes" received, from iperf3 -J output.
iperf_json() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["end"]["sum_received"]; print(d["bits_per_second"], d["bytes"])' "$1"
}

echo "bench/net: iperf3 $SECS s each way, $CONNS connections, 1 vCPU, $MEM MiB"
echo
echo "libkrun-c, TSI (krun-chroot ROOT ..., the bundled kernel, no NIC):"
"$KC" --log-level 3 --mem "$MEM" "$ROOT" /bin/true </dev/null >/dev/null 2>"$T/k-boot.err" ||
    die "libkrun-c boot failed: $(tail -3 "$T/k-boot.err")"
k_boot_exits=$(exits "$T/k-boot.err")
for dir in up down; do
    flag=""
    [ "$dir" = down ] && flag=-R
    "$KC" --log-level 3 --mem "$MEM" "$ROOT" /usr/bin/iperf3 -c 127.0.0.1 -p 5201 -t "$SECS" -J $flag \
        </dev/null >"$T/k-$dir.json" 2>"$T/k-$dir.err" ||
        die "libkrun-c iperf3 $dir failed: $(tail -5 "$T/k-$dir.err") $(tail -5 "$T/k-$dir.json")"
    set -- $(iperf_json "$T/k-$dir.json")
    eval "k_${dir}_bps=$1 k_${dir}_bytes=$2"
    eval "k_${dir}_exits=$(($(exits "$T/k-$dir.err") - k_boot_exits))"
done
"$KC" --mem "$MEM" "$ROOT" /bin/connrate client 127.0.0.1 5202 "$CONNS" </dev/null >"$T/k-conn.out" \
    2>"$T/k-conn.err" || die "libkrun-c connrate failed: $(tail -3 "$T/k-conn.err")"
k_conn=$(sed -n 's/.* \([0-9.]*\) per second/\1/p' "$T/k-conn.out")
awk -v u="$k_up_bps" -v d="$k_down_bps" -v ub="$k_up_bytes" -v db="$k_down_bytes" \
    -v ue="$k_up_exits" -v de="$k_down_exits" -v c="$k_conn" 'BEGIN {
    printf "  guest -> host: %8.1f Mbit/s, %6.1f exits per MiB\n", u / 1e6, ue / (ub / 1048576)
    printf "  host -> guest: %8.1f Mbit/s, %6.1f exits per MiB\n", d / 1e6, de / (db / 1048576)
    printf "  connections:   %8.1f per second\n", c
}'

[ -n "$QEMU" ] || { echo "QEMU not installed: no comparison"; exit 0; }

# QEMU: the same kernel and guest programs in an initramfs, our init as /init.
cp "$INIT" "$ROOT/init"
chmod 0755 "$ROOT/init"
cat >"$ROOT/bench-net.sh" <<'SCRIPT'
#!/bin/sh
ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up
route add default gw 10.0.2.2
case $MODE in
up) exec /usr/bin/iperf3 -c 10.0.2.2 -p 5201 -t "$SECS" -J ;;
down) exec /usr/bin/iperf3 -c 10.0.2.2 -p 5201 -t "$SECS" -J -R ;;
conn) exec /bin/connrate client 10.0.2.2 5202 "$CONNS" ;;
true) exit 0 ;;
esac
SCRIPT
chmod 0755 "$ROOT/bench-net.sh"
(cd "$ROOT" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | gzip -1 >"$T/rd.gz"

# qemu_run MODE OUT [strace]: one QEMU microvm run, the guest's console in OUT.
qemu_run() {
    wrap=""
    [ -n "${3:-}" ] && wrap="strace -f -qq -e trace=ioctl -e signal=none -o $T/strace.$1"
    $wrap "$QEMU" -M microvm,x-option-roms=off,rtc=off,pic=off,pit=on,isa-serial=off,acpi=off \
        -enable-kvm -cpu host -m "$MEM" -smp 1 -nodefaults -no-user-config -display none \
        -monitor none -no-reboot -kernel "$K" -initrd "$T/rd.gz" \
        -netdev user,id=n0 -device virtio-net-device,netdev=n0 \
        -device virtio-serial-device -chardev file,id=c0,path="$2" -device virtconsole,chardev=c0 \
        -append "console=hvc0 reboot=t panic=-1 quiet KRUN_INIT=/bench-net.sh MODE=$1 SECS=$SECS CONNS=$CONNS" \
        </dev/null >"$T/qemu.log" 2>&1 || die "QEMU ($1) failed: $(tail -3 "$T/qemu.log")"
}
# The guest's console has the kernel's and init's lines too: the JSON is what is between braces.
json_of() { sed -n '/^{/,/^}/p' "$1" | tr -d '\r' >"$2"; }
kvm_runs() { grep -c 'KVM_RUN' "$1" || true; }

echo
echo "QEMU microvm, virtio-net-device + user networking (same kernel and guest programs):"
for dir in up down; do
    qemu_run "$dir" "$T/q-$dir.out"
    json_of "$T/q-$dir.out" "$T/q-$dir.json"
    set -- $(iperf_json "$T/q-$dir.json")
    eval "q_${dir}_bps=$1"
done
qemu_run conn "$T/q-conn.out"
q_conn=$(sed -n 's/.* \([0-9.]*\) per second.*/\1/p' "$T/q-conn.out" | tr -d '\r')
# Exits: count KVM_RUN calls of a run that does nothing, and of each transfer.
qemu_run true "$T/q-true.out" strace
q_boot_runs=$(kvm_runs "$T/strace.true")
for dir in up down; do
    qemu_run "$dir" "$T/q-$dir-s.out" strace
    json_of "$T/q-$dir-s.out" "$T/q-$dir-s.json"
    set -- $(iperf_json "$T/q-$dir-s.json")
    eval "q_${dir}_exits=$(($(kvm_runs "$T/strace.$dir") - q_boot_runs)) q_${dir}_sbytes=$2"
done
awk -v u="$q_up_bps" -v d="$q_down_bps" -v ub="$q_up_sbytes" -v db="$q_down_sbytes" \
    -v ue="$q_up_exits" -v de="$q_down_exits" -v c="$q_conn" 'BEGIN {
    printf "  guest -> host: %8.1f Mbit/s, %6.1f exits per MiB (strace run)\n", u / 1e6, ue / (ub / 1048576)
    printf "  host -> guest: %8.1f Mbit/s, %6.1f exits per MiB (strace run)\n", d / 1e6, de / (db / 1048576)
    printf "  connections:   %8.1f per second\n", c
}'
echo
awk -v ku="$k_up_bps" -v kd="$k_down_bps" -v kc="$k_conn" -v qu="$q_up_bps" -v qd="$q_down_bps" \
    -v qc="$q_conn" 'BEGIN {
    printf "ratio libkrun-c TSI / QEMU user networking: guest->host %.2f, host->guest %.2f, connections %.2f\n",
        ku / qu, kd / qd, kc / qc
}'
