#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# bench/net-nic.sh: the workload's network through a virtio-net interface.
# libkrun-c and QEMU's microvm on the same tap (a namespace of its own, an
# iperf3 server on the tap's address), same kernel, same guest programs;
# and libkrun-c through Debian's passt. Run where /dev/kvm is real KVM
# (`make bench-net-nic` runs it in testhost/with-kvm). Prints figures,
# ratios, and the exits to the VMM per MiB moved.
#
#   TCP throughput guest -> host and host -> guest: iperf3 in the guest as
#   the client (-R for host -> guest), SECS seconds each (default 10).
#   UDP packet rate guest -> host: iperf3 -u -b 0 -l 64, packets the server
#   received per second.
#   Exits: libkrun-c's own counters (KRUN_LOG_LEVEL=3), QEMU's KVM_RUN
#   calls (strace, in separate runs), each minus a boot that does nothing.
set -eu
B=${B:-build}
SECS=${SECS:-10}
MEM=${MEM:-512}
K=$B/vmlinux
VMT=$B/vmtest
INIT=$B/gen/init.krun
here=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
ns=krun-bench-$$
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT
die() {
    echo "bench/net-nic: $*" >&2
    exit 1
}
[ -c /dev/kvm ] || die "no /dev/kvm; run it through testhost/with-kvm"
for f in "$VMT" "$K" "$INIT"; do [ -e "$f" ] || die "$f missing (make vm-test-deps)"; done
IPERF=$(command -v iperf3) || die "iperf3 missing (tools/install-deps)"
command -v ip >/dev/null || die "ip missing (tools/install-deps)"
QEMU=$(command -v qemu-system-x86_64) || die "qemu-system-x86_64 missing (tools/install-deps)"
PASST=$(command -v passt || true)

# The guest root: busybox and iperf3 with its libraries.
ROOT=$T/root
"$here/iperf-root.sh" "$ROOT"

# The tap, in a namespace of its own so that the host's network is untouched.
ip netns add "$ns"
ip netns exec "$ns" sh -c 'ip link set lo up && ip tuntap add dev ktap0 mode tap &&
    ip addr add 10.8.0.1/24 dev ktap0 && ip link set ktap0 up'
ip netns exec "$ns" "$IPERF" -s -B 10.8.0.1 -p 5201 >"$T/iperf-tap.log" 2>&1 &
pids="$pids $!"
"$IPERF" -s -B 127.0.0.1 -p 5201 >"$T/iperf-lo.log" 2>&1 &
pids="$pids $!"
sleep 1

# The guest's commands, for both VMMs: MODE, the server's address, SECS.
cat >"$ROOT/bench-nic.sh" <<'SCRIPT'
#!/bin/sh
if [ "$SERVER" = 10.8.0.1 ]; then
    ip addr add 10.8.0.2/24 dev eth0 && ip link set eth0 up || exit 1
fi
case $MODE in
up) exec /usr/bin/iperf3 -c "$SERVER" -p 5201 -t "$SECS" -J ;;
down) exec /usr/bin/iperf3 -c "$SERVER" -p 5201 -t "$SECS" -J -R ;;
udp) exec /usr/bin/iperf3 -c "$SERVER" -p 5201 -t "$SECS" -J -u -b 0 -l 64 ;;
true) exit 0 ;;
esac
SCRIPT
chmod 0755 "$ROOT/bench-nic.sh"

exits() {
    sed -n 's/.*stats: exits to the VMM: port I\/O \([0-9]*\), MMIO \([0-9]*\), other \([0-9]*\).*/\1 \2 \3/p' \
        "$1" | awk '{s += $1 + $2 + $3} END {print s + 0}'
}
# iperf_json FILE MODE: "rate bytes": bits/s and bytes received for TCP; for
# UDP, packets the server received per second and bytes sent.
iperf_json() {
    python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["end"]
if sys.argv[2] == "udp":
    s = e["sum"]
    print((s["packets"] - s["lost_packets"]) / s["seconds"], s["bytes"])
else:
    print(e["sum_received"]["bits_per_second"], e["sum_received"]["bytes"])' "$1" "$2"
}
json_of() { sed -n '/^{/,/^}/p' "$1" | tr -d '\r' >"$2"; }

# krun_run WHERE MODE OUT ERR: libkrun-c with a tap (WHERE=tap) or passt.
krun_run() {
    if [ "$1" = tap ]; then
        ip netns exec "$ns" "$VMT" --root "$ROOT" --mem "$MEM" --log-level 3 --net-tap ktap0 \
            --env SERVER=10.8.0.1 --env "MODE=$2" --env "SECS=$SECS" -- /bench-nic.sh \
            </dev/null >"$3" 2>"$4"
    else
        rm -f "$T/passt.sock"
        "$PASST" -f -q -1 -s "$T/passt.sock" >"$T/passt.log" 2>&1 &
        _pp=$!
        _i=0
        while [ ! -S "$T/passt.sock" ] && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
        "$VMT" --root "$ROOT" --mem "$MEM" --log-level 3 --net-stream "$T/passt.sock" --net-dhcp \
            --env SERVER=10.0.2.2 --env "MODE=$2" --env "SECS=$SECS" -- /bench-nic.sh \
            </dev/null >"$3" 2>"$4"
        _st=$?
        kill $_pp 2>/dev/null || true
        wait $_pp 2>/dev/null || true
        return $_st
    fi
}

# krun_bench WHERE: figures for libkrun-c over WHERE into k_WHERE_*.
krun_bench() {
    chmod 1777 "$T"
    krun_run "$1" true "$T/k-$1-true.out" "$T/k-$1-true.err" ||
        die "libkrun-c ($1) boot failed: $(tail -3 "$T/k-$1-true.err")"
    _boot=$(exits "$T/k-$1-true.err")
    for mode in up down udp; do
        krun_run "$1" $mode "$T/k-$1-$mode.out" "$T/k-$1-$mode.err" ||
            die "libkrun-c ($1) iperf3 $mode failed: $(tail -5 "$T/k-$1-$mode.err")"
        json_of "$T/k-$1-$mode.out" "$T/k-$1-$mode.json"
        set -- "$1" $(iperf_json "$T/k-$1-$mode.json" $mode)
        eval "k_$1_${mode}_rate=$2 k_$1_${mode}_bytes=$3"
        eval "k_$1_${mode}_exits=$(($(exits "$T/k-$1-$mode.err") - _boot))"
    done
}

# qemu_run MODE OUT [strace]: QEMU microvm on the same tap.
cp "$INIT" "$ROOT/init"
chmod 0755 "$ROOT/init"
(cd "$ROOT" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | gzip -1 >"$T/rd.gz"
qemu_run() {
    wrap=""
    [ -n "${3:-}" ] && wrap="strace -f -qq -e trace=ioctl -e signal=none -o $T/strace.$1"
    ip netns exec "$ns" $wrap "$QEMU" \
        -M microvm,x-option-roms=off,rtc=off,pic=off,pit=on,isa-serial=off,acpi=off \
        -enable-kvm -cpu host -m "$MEM" -smp 1 -nodefaults -no-user-config -display none \
        -monitor none -no-reboot -kernel "$K" -initrd "$T/rd.gz" \
        -netdev tap,id=n0,ifname=ktap0,script=no,downscript=no \
        -device virtio-net-device,netdev=n0 \
        -device virtio-serial-device -chardev file,id=c0,path="$2" -device virtconsole,chardev=c0 \
        -append "console=hvc0 reboot=t panic=-1 quiet KRUN_INIT=/bench-nic.sh SERVER=10.8.0.1 MODE=$1 SECS=$SECS" \
        </dev/null >"$T/qemu.log" 2>&1 || die "QEMU ($1) failed: $(tail -3 "$T/qemu.log")"
}
kvm_runs() { grep -c 'KVM_RUN' "$1" || true; }

echo "bench/net-nic: iperf3 $SECS s per figure, 1 vCPU, $MEM MiB, the bundled guest kernel"
krun_bench tap
[ -n "$PASST" ] && krun_bench passt

for mode in up down udp; do
    qemu_run $mode "$T/q-$mode.out"
    json_of "$T/q-$mode.out" "$T/q-$mode.json"
    set -- $(iperf_json "$T/q-$mode.json" $mode)
    eval "q_${mode}_rate=$1"
done
qemu_run true "$T/q-true.out" strace
q_boot=$(kvm_runs "$T/strace.true")
for mode in up down; do
    qemu_run $mode "$T/q-$mode-s.out" strace
    json_of "$T/q-$mode-s.out" "$T/q-$mode-s.json"
    set -- $(iperf_json "$T/q-$mode-s.json" $mode)
    eval "q_${mode}_exits=$(($(kvm_runs "$T/strace.$mode") - q_boot)) q_${mode}_sbytes=$2"
done

# show NAME RATE_UP BYTES_UP EXITS_UP RATE_DOWN BYTES_DOWN EXITS_DOWN UDP_PPS
show() {
    awk -v n="$1" -v u="$2" -v ub="$3" -v ue="$4" -v d="$5" -v db="$6" -v de="$7" -v p="$8" 'BEGIN {
        printf "%-34s guest->host %7.1f Mbit/s (%6.1f exits/MiB), host->guest %7.1f Mbit/s (%6.1f exits/MiB), UDP %8.0f packets/s\n",
            n, u / 1e6, ue / (ub / 1048576), d / 1e6, de / (db / 1048576), p
    }'
}
echo
show "libkrun-c, tap" "$k_tap_up_rate" "$k_tap_up_bytes" "$k_tap_up_exits" \
    "$k_tap_down_rate" "$k_tap_down_bytes" "$k_tap_down_exits" "$k_tap_udp_rate"
show "QEMU microvm, tap (exits: strace run)" "$q_up_rate" "$q_up_sbytes" "$q_up_exits" \
    "$q_down_rate" "$q_down_sbytes" "$q_down_exits" "$q_udp_rate"
if [ -n "$PASST" ]; then
    show "libkrun-c, passt" "$k_passt_up_rate" "$k_passt_up_bytes" "$k_passt_up_exits" \
        "$k_passt_down_rate" "$k_passt_down_bytes" "$k_passt_down_exits" "$k_passt_udp_rate"
fi
awk -v ku="$k_tap_up_rate" -v kd="$k_tap_down_rate" -v kp="$k_tap_udp_rate" \
    -v qu="$q_up_rate" -v qd="$q_down_rate" -v qp="$q_udp_rate" 'BEGIN {
    printf "ratio libkrun-c / QEMU on the same tap: guest->host %.2f, host->guest %.2f, UDP packets %.2f\n",
        ku / qu, kd / qd, kp / qp
}'
echo "(TSI beside these: bench/net.sh)"
