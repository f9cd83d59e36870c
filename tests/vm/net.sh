# SPDX-License-Identifier: Apache-2.0
# virtio-net tests. Sourced by run-tests.sh after vsock.sh ($R has
# /bin/guest-net; wait_for and free_port come from vsock.sh). Real peers:
# Debian's passt (DHCP, DNS through the test's dnsmasq, TCP to the host),
# a tap in a network namespace of its own, and tests/vm/net-peer.c on a
# datagram socket. Each test fails, naming what is missing, if its peer
# program is not installed.

# A directory passt can use: it drops to nobody before it makes its socket.
NP=$(mktemp -d /tmp/krun-net.XXXXXX)
chmod 1777 "$NP"
trap 'rm -rf "$T" "$NP"' EXIT

# need PROGRAM TEST: whether PROGRAM is installed; if not, TEST fails saying so.
need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    : >"$T/out"
    : >"$T/err"
    bad "$2" "$1 is not installed (tools/install-deps installs it)"
    return 1
}

# The guest's view, printed by the tests below: address, routes, resolver.
SHOW_NET='ip -4 addr show eth0; ip route; cat /etc/resolv.conf'

if want net-passt && need passt net-passt && need dnsmasq net-passt; then
    # As crun's krun.use_passt: krun_add_net_unixstream(NULL, fd, COMPAT_NET_FEATURES,
    # NET_FLAG_DHCP_CLIENT). passt gives the guest the KVM host's address by
    # DHCP and maps its gateway address to the host's loopback, where an
    # HTTP server and a dnsmasq wait. No bulk transfer here: Debian 12's
    # passt (2023-03-09) sends stale data under new sequence numbers, seen in
    # its own packet capture after 160 KiB to 13 MiB (docs/virtio-net.md);
    # bulk data is checked on the tap below and in test_net_mmio.
    hport=$(free_port 40)
    echo "HELLO-THROUGH-PASST" >"$NP/index.html"
    busybox httpd -f -p "127.0.0.1:$hport" -h "$NP" &
    hpid=$!
    dnsmasq --keep-in-foreground --port=53 --listen-address=127.0.0.1 --bind-interfaces \
        --no-resolv --no-hosts --address=/krun-test.example/192.0.2.77 2>"$NP/dnsmasq.log" &
    dpid=$!
    passt -f -q -1 -s "$NP/passt.sock" -D 10.0.2.2 >"$NP/passt.log" 2>&1 &
    ppid=$!
    i=0
    while [ ! -S "$NP/passt.sock" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
    guarded 300 "$VMT" --root "$R" --net-stream "$NP/passt.sock" --net-dhcp -- /bin/sh -c \
        "$SHOW_NET; nslookup krun-test.example 2>&1; wget -q -O - http://10.0.2.2:$hport/index.html;
         echo tsi=\$(grep -c tsi_hijack /proc/cmdline)" </dev/null
    kill $hpid $dpid $ppid 2>/dev/null
    wait $hpid $dpid $ppid 2>/dev/null
    if [ "$st" != 0 ]; then
        bad net-passt "exit status $st; passt said: $(tail -n 3 "$NP/passt.log")"
    elif ! grep -q 'inet 10\.0\.2\.15/' "$T/out" || ! grep -q 'default via 10\.0\.2\.2' "$T/out"; then
        bad net-passt "eth0 was not configured by DHCP"
    elif ! grep -q 'nameserver 10\.0\.2\.2' "$T/out" || ! grep -q '192\.0\.2\.77' "$T/out"; then
        bad net-passt "no name resolution through passt's DNS address"
    elif ! grep -q HELLO-THROUGH-PASST "$T/out"; then
        bad net-passt "the page from the host's HTTP server did not arrive"
    elif ! grep -q '^tsi=0$' "$T/out"; then
        bad net-passt "TSI is still on although the VM has a network interface"
    else
        ok net-passt
    fi
fi

if want net-tap && need ip net-tap; then
    # A tap with an address in a network namespace of its own, so that the
    # KVM host's own network is untouched; the guest pings it (ICMP, which
    # TSI cannot carry) and moves 16 MiB each way over TCP.
    ns=krun-test-$$
    tport=$(free_port 42)
    ip netns add "$ns"
    ip netns exec "$ns" sh -c 'ip link set lo up && ip tuntap add dev ktap0 mode tap &&
        ip addr add 10.8.0.1/24 dev ktap0 && ip link set ktap0 up' 2>"$T/err"
    ip netns exec "$ns" "$GNET" listen inet 10.8.0.1 "$tport" $MIB16 >"$NP/tap-gnet.out" 2>&1 &
    gpid=$!
    wait_for "$NP/tap-gnet.out" LISTENING 30
    guarded 300 ip netns exec "$ns" "$VMT" --root "$R" --net-tap ktap0 -- /bin/sh -c \
        "ip link set eth0 up && ip addr add 10.8.0.2/24 dev eth0 && ping -c 3 -W 10 10.8.0.1 &&
         /bin/guest-net connect inet 10.8.0.1 $tport $MIB16" </dev/null
    watch $gpid 60
    gst=$?
    ip netns del "$ns"
    if [ "$st" = 0 ] && [ "$gst" = 0 ] && grep -q '3 packets received' "$T/out" &&
        grep -q '^ok 1 connections' "$T/out"; then
        ok net-tap
    else
        bad net-tap "status $st, host side $gst: $(tail -n 2 "$NP/tap-gnet.out")"
    fi
fi

if want net-unixgram && [ -x "$B/net-peer" ]; then
    # gvproxy's transport: one frame per datagram; the VMM binds its own
    # socket and connects to the peer's. Two interfaces, eth0 and eth1 in
    # the order added, each with its MAC, each to a peer that answers ARP
    # and ping.
    "$B/net-peer" dgram "$NP/peer0.sock" 10.9.0.1 2>"$NP/peer0.log" &
    npid0=$!
    "$B/net-peer" dgram "$NP/peer1.sock" 10.9.1.1 2>"$NP/peer1.log" &
    npid1=$!
    i=0
    while { [ ! -S "$NP/peer0.sock" ] || [ ! -S "$NP/peer1.sock" ]; } && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    guarded 120 "$VMT" --root "$R" --net-dgram "$NP/peer0.sock" --net-dgram "$NP/peer1.sock" \
        -- /bin/sh -c 'cat /sys/class/net/eth0/address /sys/class/net/eth1/address &&
        ip link set eth0 up && ip addr add 10.9.0.2/24 dev eth0 &&
        ip link set eth1 up && ip addr add 10.9.1.2/24 dev eth1 &&
        ping -c 3 -W 10 10.9.0.1 && ping -c 2 -W 10 10.9.1.1' </dev/null
    kill $npid0 $npid1 2>/dev/null
    wait $npid0 $npid1 2>/dev/null
    if [ "$st" = 0 ] && grep -q '3 packets received' "$T/out" && grep -q '2 packets received' "$T/out" &&
        grep -q '^5a:94:ef:e4:0c:10$' "$T/out" && grep -q '^5a:94:ef:e4:0c:11$' "$T/out"; then
        ok net-unixgram
    else
        bad net-unixgram "status $st; peers: $(cat "$NP/peer0.log" "$NP/peer1.log")"
    fi
elif want net-unixgram; then
    : >"$T/out"
    : >"$T/err"
    bad net-unixgram "$B/net-peer is missing (make vm-test-deps)"
fi

if want net-chroot-passt && need passt net-chroot-passt; then
    # krun-chroot --net passt, as a user would: eth0 by DHCP, and a guest
    # web server reached from the host through passt's -t forward.
    hport=$(free_port 43)
    mkdir -p "$R/www"
    echo "HELLO-FROM-GUEST" >"$R/www/index.html"
    "$KC" --net passt --passt-opt=-t --passt-opt="$hport:80" "$R" /bin/sh -c \
        'ip -4 addr show eth0; echo READY; exec httpd -f -p 80 -h /www' \
        </dev/null >"$T/out" 2>"$T/err" &
    kpid=$!
    wait_for "$T/out" READY 120 $kpid
    got=""
    i=0
    while [ -z "$got" ] && [ $i -lt 30 ] && kill -0 $kpid 2>/dev/null; do
        got=$(wget -q -O - "http://127.0.0.1:$hport/index.html" 2>/dev/null || true)
        [ -n "$got" ] || sleep 1
        i=$((i + 1))
    done
    kill $kpid 2>/dev/null
    wait $kpid 2>/dev/null
    rm -rf "$R/www"
    if grep -q 'inet 10\.0\.2\.15/' "$T/out" && [ "$got" = HELLO-FROM-GUEST ]; then
        ok net-chroot-passt
    else
        bad net-chroot-passt "got '$got' from the guest's server through passt"
    fi
fi

if want net-passt-legacy && need passt net-passt-legacy; then
    # krun_set_passt_fd, the deprecated call (COMPAT_NET_FEATURES, no DHCP,
    # upstream's default MAC): the guest configures eth0 itself and reaches
    # a host server through passt.
    hport=$(free_port 44)
    echo "HELLO-LEGACY" >"$NP/legacy.html"
    busybox httpd -f -p "127.0.0.1:$hport" -h "$NP" &
    hpid=$!
    rm -f "$NP/passt.sock"
    passt -f -q -1 -s "$NP/passt.sock" >"$NP/passt.log" 2>&1 &
    ppid=$!
    i=0
    while [ ! -S "$NP/passt.sock" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
    guarded 300 "$VMT" --root "$R" --passt "$NP/passt.sock" -- /bin/sh -c \
        "cat /sys/class/net/eth0/address; ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 &&
         wget -q -O - http://10.0.2.2:$hport/legacy.html" </dev/null
    kill $hpid $ppid 2>/dev/null
    wait $hpid $ppid 2>/dev/null
    if [ "$st" = 0 ] && grep -q '^5a:94:ef:e4:0c:ee$' "$T/out" && grep -q HELLO-LEGACY "$T/out"; then
        ok net-passt-legacy
    else
        bad net-passt-legacy "status $st; passt said: $(tail -n 2 "$NP/passt.log")"
    fi
fi
