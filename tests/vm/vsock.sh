# SPDX-License-Identifier: Apache-2.0
# virtio-vsock and TSI tests. Sourced by run-tests.sh (after chroot.sh,
# which built $R). tests/vm/guest-net.c does the traffic on both sides and
# checks every byte.
#
# vsock-*: unix-socket ports both ways (krun_add_vsock_port, and
# krun_add_vsock_port2 with listen), an unmapped port, 200 connections at
# once. tsi-*: TSI, which needs the bundled kernel's TSI patches; each
# fails, naming the reason, if the guest kernel has no tsi_hijack parameter.

cp "$GNET" "$R/bin/guest-net"
V=$T/vsock
mkdir -p "$V"

# vsock_bg ARGS...: vmtest on the bundled kernel with root $R, in the background
# (output in $T/out, $T/err); sets $vpid.
vsock_bg() {
    "$VMT" --root "$R" "$@" </dev/null >"$T/out" 2>"$T/err" &
    vpid=$!
}

# wait_for FILE TEXT SECONDS [PID]: until FILE contains TEXT; returns 1 on
# timeout, or as soon as process PID (if given) is gone.
wait_for() {
    _wend=$(($(date +%s) + $3))
    while ! grep -q -- "$2" "$1" 2>/dev/null; do
        [ "$(date +%s)" -ge "$_wend" ] && return 1
        [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null && ! grep -q -- "$2" "$1" 2>/dev/null && return 1
        sleep 0.1
    done
}

# The sockets a process holds (the guest's file lookups add virtio-fs fds).
nsockets() { ls -l /proc/"$1"/fd 2>/dev/null | grep -c 'socket:'; }

# vmm_kib PID: the VMM's resident memory in KiB, but guest RAM (vmtest's
# 128 MiB, one mapping; mappings of that size or more are left out).
vmm_kib() {
    awk '/^Size:/ { big = $2 >= 131072 } /^Rss:/ && !big { s += $2 } END { print s + 0 }' \
        /proc/"$1"/smaps 2>/dev/null
}

# A TCP/UDP port for test N: the KVM host's loopback has nothing else on these.
free_port() {
    echo $((20000 + ($$ * 7 + $1 * 101) % 20000))
}

MIB16=16777216

if want vsock-guest-to-host; then
    # The guest connects to CID 2:6000; the VMM connects the host unix socket.
    rm -f "$V/g2h.sock"
    "$GNET" listen unix "$V/g2h.sock" 0 $MIB16 >"$V/host.out" 2>&1 &
    hpid=$!
    wait_for "$V/host.out" LISTENING 30
    guarded 600 "$VMT" --root "$R" --vsock-port "6000:$V/g2h.sock" \
        -- /bin/guest-net connect vsock 2 6000 $MIB16 </dev/null
    watch $hpid 60
    hst=$?
    if [ "$st" = 0 ] && [ "$hst" = 0 ] && grep -q "^ok 1 connections" "$T/out" &&
        grep -q "^ok 1 connections" "$V/host.out"; then
        ok vsock-guest-to-host-16MiB
    else
        bad vsock-guest-to-host-16MiB "guest status $st, host status $hst: $(cat "$V/host.out")"
    fi
fi

if want vsock-host-to-guest; then
    # krun_add_vsock_port2(listen): the VMM listens on the path and forwards
    # each client to the guest's vsock port 5000.
    rm -f "$V/h2g.sock"
    vsock_bg --vsock-listen "5000:$V/h2g.sock" -- /bin/guest-net listen vsock any 5000 $MIB16
    if wait_for "$T/out" LISTENING 120 $vpid; then
        [ -S "$V/h2g.sock" ] && sock_made=1 || sock_made=0
        "$GNET" connect unix "$V/h2g.sock" 0 $MIB16 >"$V/host.out" 2>&1
        hst=$?
    else
        sock_made=0
        hst=timeout
    fi
    watch $vpid 600
    st=$?
    if [ "$st" = 0 ] && [ "$hst" = 0 ] && [ "$sock_made" = 1 ] && [ ! -e "$V/h2g.sock" ] &&
        grep -q "^ok 1 connections" "$T/out"; then
        ok vsock-host-to-guest-16MiB
    else
        bad vsock-host-to-guest-16MiB "guest status $st, host status $hst, socket made $sock_made, left behind: $([ -e "$V/h2g.sock" ] && echo yes || echo no): $(cat "$V/host.out")"
    fi
    # The path must not exist: -EEXIST at the call, as upstream.
    touch "$V/exists.sock"
    guarded 60 "$VMT" --root "$R" --vsock-listen "5000:$V/exists.sock" -- /bin/true </dev/null
    if [ "$st" = 2 ] && grep -q "krun_add_vsock_port2.*(-17)" "$T/err"; then
        ok vsock-listen-path-exists
    else
        bad vsock-listen-path-exists "status $st"
    fi
fi

if want vsock-unmapped; then
    guarded 120 "$VMT" --root "$R" -- /bin/guest-net refused vsock 2 7777 </dev/null
    expect vsock-unmapped-port 0 "^ok refused: ECONNRESET"
    # No vsock device at all: the guest's connect fails as well.
    guarded 120 "$VMT" --root "$R" --no-vsock -- /bin/sh -c \
        'guest-net refused vsock 2 7777 >/dev/null; grep -c tsi_hijack /proc/cmdline; exit 0' </dev/null
    expect vsock-disabled 0 "^0$"
fi

if want vsock-chroot-net; then
    # krun-chroot: a vsock device (virtio id 19) and tsi_hijack by default, neither with --net none.
    probe='grep -l 0x0013 /sys/bus/virtio/devices/*/device | wc -l; grep -c tsi_hijack /proc/cmdline; exit 0'
    guarded 120 "$KC" "$R" /bin/sh -c "$probe" </dev/null
    printf '1\n1\n' >"$T/want"
    if [ "$st" = 0 ] && cmp -s "$T/want" "$T/out"; then ok vsock-chroot-net-tsi; else bad vsock-chroot-net-tsi "status $st"; fi
    guarded 120 "$KC" --net none "$R" /bin/sh -c "$probe" </dev/null
    printf '0\n0\n' >"$T/want"
    if [ "$st" = 0 ] && cmp -s "$T/want" "$T/out"; then ok vsock-chroot-net-none; else bad vsock-chroot-net-none "status $st"; fi
fi

if want vsock-many; then
    # Two rounds of 200 connections at once, 64 KiB each way on each. After
    # each, the VMM has exactly the sockets it had before; the second round
    # leaves its memory outside guest RAM where the first left it (within
    # 1 MiB: 5 KiB kept per connection would show; the first round warms
    # the allocator up).
    rm -f "$V/many.sock" "$R/work/vsock-go"* "$R/work/vsock-end"
    mkdir -p "$R/work"
    vsock_bg --vsock-port "6001:$V/many.sock" -- /bin/sh -c '
        echo READY
        for round in 1 2; do
            while [ ! -e /work/vsock-go$round ]; do sleep 0.1; done
            guest-net connect vsock 2 6001 65536 200 && echo DONE$round
        done
        while [ ! -e /work/vsock-end ]; do sleep 0.1; done'
    before=x
    socks=""
    mem=""
    hst=0
    if wait_for "$T/out" READY 120 $vpid; then
        sleep 1
        before=$(nsockets $vpid)
        for round in 1 2; do
            rm -f "$V/many.sock"
            "$GNET" listen unix "$V/many.sock" 0 65536 200 >"$V/host.out" 2>&1 &
            hpid=$!
            wait_for "$V/host.out" LISTENING 30
            touch "$R/work/vsock-go$round"
            wait_for "$T/out" DONE$round 600 $vpid || break
            watch $hpid 30 || hst=$?
            # Closed connections may linger a moment while the host drains them.
            _i=0
            while [ "$(nsockets $vpid)" != "$before" ] && [ $_i -lt 100 ]; do
                sleep 0.1
                _i=$((_i + 1))
            done
            socks="$socks $(nsockets $vpid)"
            mem="$mem $(vmm_kib $vpid)"
        done
    fi
    touch "$R/work/vsock-end"
    watch $vpid 120
    st=$?
    set -- $mem
    if [ "$st" = 0 ] && [ "$hst" = 0 ] && [ "$(grep -c "^ok 200 connections" "$T/out")" = 2 ] &&
        [ "$socks" = " $before $before" ] && [ $# = 2 ] && [ $(($2 - $1)) -lt 1024 ]; then
        ok vsock-200-connections
        echo "     VMM memory outside guest RAM after each round: $1 KiB, $2 KiB"
    else
        bad vsock-200-connections "guest status $st, host status $hst, VMM sockets $before before, after each round:$socks; memory (KiB):$mem: $(tail -3 "$V/host.out")"
    fi
    rm -f "$R/work/vsock-go"* "$R/work/vsock-end"
fi

# ---------------------------------------------------------------------------
# TSI (needs the kernel's tsi_hijack)

tsi_kernel=unknown
no_tsi="the guest kernel has no TSI (no /sys/module/kernel/parameters/tsi_hijack)"
tsi_ready() {
    if [ "$tsi_kernel" = unknown ]; then
        guarded 120 "$VMT" --root "$R" -- /bin/sh -c \
            'test -e /sys/module/kernel/parameters/tsi_hijack && echo TSI-KERNEL' </dev/null
        grep -q TSI-KERNEL "$T/out" && tsi_kernel=yes || tsi_kernel=no
    fi
    [ "$tsi_kernel" = yes ]
}

if want tsi-network; then
    if ! tsi_ready; then
        bad tsi-network "$no_tsi"
    else
        # Upstream's init: dummy0 with 203.0.113.1/24 and a default route; resolv.conf untouched.
        printf 'nameserver 192.0.2.53\n' >"$R/etc/resolv.conf"
        guarded 120 "$VMT" --root "$R" -- /bin/sh -c \
            'ip -4 addr show dummy0; ip route; cat /etc/resolv.conf' </dev/null
        if [ "$st" = 0 ] && grep -q "inet 203.0.113.1/24" "$T/out" &&
            grep -q "^default .*dummy0" "$T/out" && grep -q "nameserver 192.0.2.53" "$T/out"; then
            ok tsi-network
        else
            bad tsi-network "status $st"
        fi
        rm -f "$R/etc/resolv.conf"
    fi
fi

if want tsi-tcp-out; then
    if ! tsi_ready; then
        bad tsi-tcp-out "$no_tsi"
    else
        # A host busybox httpd on 127.0.0.1; the guest's wget reaches it through TSI.
        P=$(free_port 1)
        mkdir -p "$V/www"
        head -c 4194304 /dev/urandom >"$V/www/blob"
        want_sum=$(md5sum <"$V/www/blob" | cut -d' ' -f1)
        busybox httpd -f -p "127.0.0.1:$P" -h "$V/www" &
        wpid=$!
        sleep 0.5
        guarded 300 "$VMT" --root "$R" -- /bin/sh -c \
            "wget -q -O - http://127.0.0.1:$P/blob | md5sum" </dev/null
        kill $wpid 2>/dev/null
        wait $wpid 2>/dev/null
        expect tsi-tcp-out-wget 0 "^$want_sum"
    fi
fi

if want tsi-tcp-out-ipv6; then
    if ! tsi_ready; then
        bad tsi-tcp-out-ipv6 "$no_tsi"
    else
        # A host listener on ::1; the guest's AF_INET6 socket reaches it (1 MiB each way, checked).
        P=$(free_port 5)
        "$GNET" listen inet6 ::1 "$P" 1048576 >"$V/host.out" 2>&1 &
        hpid=$!
        wait_for "$V/host.out" LISTENING 30
        guarded 300 "$VMT" --root "$R" -- /bin/guest-net connect inet6 ::1 "$P" 1048576 </dev/null
        watch $hpid 30
        hst=$?
        if [ "$st" = 0 ] && [ "$hst" = 0 ] && grep -q "^ok 1 connections" "$T/out"; then
            ok tsi-tcp-out-ipv6
        else
            bad tsi-tcp-out-ipv6 "guest status $st, host status $hst: $(cat "$V/host.out")"
        fi
    fi
fi

if want tsi-tcp-in; then
    if ! tsi_ready; then
        bad tsi-tcp-in-port-map "$no_tsi"
    else
        # krun-chroot --port HOST:80 (krun_set_port_map); the guest's busybox
        # httpd listens on 80, the host fetches a page from HOST.
        P=$(free_port 2)
        mkdir -p "$R/www"
        echo "served-by-the-guest" >"$R/www/index.html"
        rm -f "$R/work/httpd-done"
        "$KC" --port "$P:80" "$R" /bin/sh -c \
            'httpd -p 80 -h /www && echo LISTENING; while [ ! -e /work/httpd-done ]; do sleep 0.2; done' \
            </dev/null >"$T/out" 2>"$T/err" &
        vpid=$!
        got=
        if wait_for "$T/out" LISTENING 120 $vpid; then
            # (not wget -T: busybox 1.35 crashes with it on the KVM host)
            for _try in 1 2 3 4 5; do
                got=$(timeout 20 busybox wget -q -O - "http://127.0.0.1:$P/index.html" 2>"$V/host.out") && break
                sleep 1
            done
        fi
        touch "$R/work/httpd-done"
        watch $vpid 120
        st=$?
        if [ "$st" = 0 ] && [ "$got" = "served-by-the-guest" ]; then
            ok tsi-tcp-in-port-map
        else
            bad tsi-tcp-in-port-map "guest status $st, page '$got': $(cat "$V/host.out" "$T/err")"
        fi
        rm -rf "$R/www" "$R/work/httpd-done"
    fi
fi

if want tsi-listen-port0; then
    if ! tsi_ready; then
        bad tsi-listen-port0 "$no_tsi"
    else
        # bind(port 0) + listen(): the host listens on the port the guest's
        # getsockname() reports (libkrun#818: it listened on another one).
        "$VMT" --root "$R" -- /bin/guest-net listen inet 0.0.0.0 0 1048576 \
            </dev/null >"$T/out" 2>"$T/err" &
        vpid=$!
        gport=
        hst=timeout
        if wait_for "$T/out" "LISTENING port" 120 $vpid; then
            gport=$(sed -n 's/^LISTENING port //p' "$T/out")
            "$GNET" connect inet 127.0.0.1 "$gport" 1048576 >"$V/host.out" 2>&1
            hst=$?
        fi
        watch $vpid 120
        st=$?
        if [ "$st" = 0 ] && [ "$hst" = 0 ] && [ "${gport:-0}" != 0 ] &&
            grep -q "^ok 1 connections" "$T/out"; then
            ok tsi-listen-port0
        else
            bad tsi-listen-port0 "guest status $st, host status $hst, port '$gport': $(cat "$V/host.out")"
        fi
    fi
fi

if want tsi-udp; then
    if ! tsi_ready; then
        bad tsi-udp "$no_tsi"
    else
        P=$(free_port 3)
        "$GNET" udp-echo 127.0.0.1 "$P" 1 >"$V/host.out" 2>&1 &
        hpid=$!
        wait_for "$V/host.out" LISTENING 30
        guarded 120 "$VMT" --root "$R" -- /bin/guest-net udp-ping 127.0.0.1 "$P" hello </dev/null
        watch $hpid 30
        expect tsi-udp 0 "^ok answer: echo:hello"
    fi
fi

if want tsi-unix; then
    if ! tsi_ready; then
        bad tsi-unix "$no_tsi"
    else
        # krun_add_vsock(HIJACK_INET|HIJACK_UNIX): an absolute path names the host's socket.
        rm -f "$V/tsiu.sock"
        "$GNET" listen unix "$V/tsiu.sock" 0 1048576 >"$V/host.out" 2>&1 &
        hpid=$!
        wait_for "$V/host.out" LISTENING 30
        guarded 120 "$VMT" --root "$R" --vsock 3 -- /bin/sh -c \
            "grep -o 'tsi_hijack tsi_hijack_unix' /proc/cmdline; guest-net connect unix $V/tsiu.sock 0 1048576" </dev/null
        watch $hpid 30
        hst=$?
        if [ "$st" = 0 ] && [ "$hst" = 0 ] && grep -q "^ok 1 connections" "$T/out"; then
            ok tsi-unix
        else
            bad tsi-unix "guest status $st, host status $hst"
        fi
        # Without HIJACK_UNIX the path stays the guest's: nothing there.
        guarded 120 "$VMT" --root "$R" -- /bin/guest-net refused unix "$V/tsiu.sock" 0 </dev/null
        if [ "$st" != 0 ] && grep -q "No such file" "$T/out" "$T/err"; then
            ok tsi-unix-needs-flag
        else
            bad tsi-unix-needs-flag "status $st"
        fi
    fi
fi

if want tsi-crun; then
    if ! tsi_ready; then
        bad tsi-crun "$no_tsi"
    else
        # crun's sequence: a root, no krun_set_exec, the workload in /.krun_config.json.
        P=$(free_port 4)
        mkdir -p "$V/www"
        echo crun-has-network >"$V/www/hello"
        busybox httpd -f -p "127.0.0.1:$P" -h "$V/www" &
        wpid=$!
        sleep 0.5
        printf '{"process":{"args":["/bin/wget","-q","-O","-","http://127.0.0.1:%s/hello"],"env":["PATH=/bin"],"cwd":"/"}}\n' \
            "$P" >"$R/.krun_config.json"
        guarded 120 "$VMT" --root "$R" --no-workload </dev/null
        rm -f "$R/.krun_config.json"
        kill $wpid 2>/dev/null
        wait $wpid 2>/dev/null
        expect tsi-crun 0 "^crun-has-network"
    fi
fi
