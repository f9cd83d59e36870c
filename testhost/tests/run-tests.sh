#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Tests of testhost/with-kvm: exit statuses, separate streams, binary data,
# cwd/env/stdin, streaming, timeouts, sessions and concurrency, the probe
# inside and outside, loud failures, a repository under /tmp, user namespaces,
# the default route and passt inside. Boots the KVM host VM about five times.
#
# Usage: sh testhost/tests/run-tests.sh      (or: make check-with-kvm)
# KVM_PROBE: a built kvm-probe (default: built here with cc).
set -eu

cd "$(dirname "$0")/../.."
REPO=$(pwd -P)
WK=$REPO/testhost/with-kvm
T=$REPO/build/with-kvm-tests
rm -rf "$T"
mkdir -p "$T"
unset WITH_KVM_SESSION WITH_KVM_MODE WITH_KVM_QEMU WITH_KVM_KERNEL_PKG WITH_KVM_CPU WITH_KVM_BOOT_TIMEOUT || true

pass=0
fail=0
ok() {
    pass=$((pass + 1))
    echo "ok - $1"
}
not_ok() {
    fail=$((fail + 1))
    echo "not ok - $1"
    if [ $# -ge 2 ]; then printf '%s\n' "$2" | head -n 30 | sed 's/^/#   /'; fi
}
# expect NAME WANTED_STATUS GOT_STATUS [DETAILS]
expect_rc() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (status $3, wanted $2)" "${4:-}"; fi
}
ms() {
    t=$(date +%s%N)
    echo $((t / 1000000))
}

PROBE=${KVM_PROBE:-}
if [ -z "$PROBE" ]; then
    PROBE=$T/kvm-probe
    cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static -o "$PROBE" testhost/kvm-probe.c
fi
case $PROBE in /*) ;; *) PROBE=$REPO/$PROBE ;; esac

# ---- the probe on this machine's /dev/kvm
pvm=no
if [ -d /sys/module/kvm_pvm ] || dmesg 2>/dev/null | grep -q 'kvm-pvm: loaded'; then pvm=yes; fi
rc=0
out=$("$PROBE" 2>&1) || rc=$?
echo "# host /dev/kvm: $out"
if [ $pvm = yes ]; then
    expect_rc "probe fails on this machine's /dev/kvm (kvm-pvm)" 1 $rc "$out"
    case $out in
    "kvm-probe: FAIL: "*) [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && ok "probe failure is one line with a reason" ||
        not_ok "probe failure is one line with a reason" "$out" ;;
    *) not_ok "probe failure is one line with a reason" "$out" ;;
    esac
else
    case $rc in 0 | 1) ok "probe runs on this machine's /dev/kvm (status $rc)" ;; *) not_ok "probe status $rc" "$out" ;; esac
fi
host_real=no
[ $rc = 0 ] && host_real=yes

# ---- loud failures: distinctive status, a reason, and the command never runs
loud() {
    name=$1
    pattern=$2
    shift 2
    rm -f "$T/ran"
    rc=0
    env "$@" "$WK" --nested touch "$T/ran" >"$T/loud.out" 2>"$T/loud.err" || rc=$?
    if [ $rc = 125 ] && grep -q "$pattern" "$T/loud.err" && [ ! -e "$T/ran" ]; then
        ok "fails loudly: $name"
    else
        not_ok "fails loudly: $name (status $rc)" "$(cat "$T/loud.err")"
    fi
}
loud "QEMU binary missing" "QEMU not found" WITH_KVM_QEMU=/nonexistent/qemu-system-x86_64
loud "QEMU refuses to start" "QEMU failed to start" WITH_KVM_MEM=bogus
loud "kernel package cannot be fetched" "cannot fetch the kernel package" \
    WITH_KVM_KERNEL_PKG=linux-image-0.0.0-nonexistent-amd64-unsigned
loud "agent not up before the deadline" "did not come up within 1 s" WITH_KVM_BOOT_TIMEOUT=1
loud "kvm_amd cannot load (CPU without SVM)" "cannot load module kvm-amd" "WITH_KVM_CPU=qemu64,-svm"
# a KVM host kernel that crashes while booting is booted again: this QEMU
# wrapper makes the first boot look like an oops, then behaves
cat >"$T/flaky-qemu" <<EOF
#!/bin/sh
real=\$(command -v qemu-system-x86_64)
"\$real" "\$@" || exit
[ -e "$T/flaky-crashed" ] && exit 0
touch "$T/flaky-crashed"
# a second in, well before the agent is up (a boot takes seconds)
(sleep 1; kill -9 "\$(cat qemu.pid)"; echo "Oops: injected by the test" >>console.log) >/dev/null 2>&1 &
EOF
chmod +x "$T/flaky-qemu"
rm -f "$T/flaky-crashed"
rc=0
WITH_KVM_QEMU=$T/flaky-qemu "$WK" --nested echo booted >"$T/o" 2>"$T/e" || rc=$?
if [ $rc = 0 ] && [ "$(cat "$T/o")" = booted ] && [ -e "$T/flaky-crashed" ] &&
    grep -q 'crashed while booting (Oops: injected by the test); booting it again' "$T/e"; then
    ok "a KVM host kernel crash while booting is retried, and said so"
else
    not_ok "a KVM host kernel crash while booting is retried, and said so (status $rc)" "$(cat "$T/o" "$T/e")"
fi
if ls "$REPO"/build/with-kvm/oneshot.* >/dev/null 2>&1; then
    not_ok "failed boots leave no session directory behind" "$(ls -d "$REPO"/build/with-kvm/oneshot.*)"
else
    ok "failed boots leave no session directory behind"
fi

# ---- one-shot (no session); in auto mode unless this machine has real KVM
rc=0
t0=$(ms)
if [ $host_real = yes ]; then
    "$WK" --nested sh -c 'echo oneshot; grep -o "WKV_SESSION=[^ ]*" /proc/cmdline >&2; exit 7' >"$T/o" 2>"$T/e" || rc=$?
else
    "$WK" sh -c 'echo oneshot; grep -o "WKV_SESSION=[^ ]*" /proc/cmdline >&2; exit 7' >"$T/o" 2>"$T/e" || rc=$?
fi
t1=$(ms)
echo "# one-shot call (boot, command, shutdown): $((t1 - t0)) ms"
expect_rc "one-shot: exit status" 7 $rc "$(cat "$T/e")"
if [ "$(cat "$T/o")" = oneshot ] && grep -q '^WKV_SESSION=' "$T/e"; then
    ok "one-shot: ran inside the KVM host"
else
    not_ok "one-shot: ran inside the KVM host" "$(cat "$T/o" "$T/e")"
fi
if ls "$REPO"/build/with-kvm/oneshot.* >/dev/null 2>&1; then
    not_ok "one-shot: torn down" "$(ls -d "$REPO"/build/with-kvm/oneshot.*)"
else
    ok "one-shot: torn down"
fi

# ---- a repository under /tmp (where CI clones may live), which the KVM
# host's fresh tmpfs on /tmp must not hide
TR=$(mktemp -d /tmp/with-kvm-repo.XXXXXX)
mkdir -p "$TR/testhost"
cp testhost/with-kvm testhost/kvm-agent.c testhost/kvm-probe.c "$TR/testhost/"
rc=0
(cd "$TR" && testhost/with-kvm --nested sh -c 'cat testhost/kvm-probe.c >/dev/null && pwd') >"$T/o" 2>"$T/e" || rc=$?
expect_rc "repository under /tmp: runs" 0 $rc "$(cat "$T/e")"
if [ "$(cat "$T/o")" = "$TR" ]; then ok "repository under /tmp: cwd inside it"; else not_ok "repository under /tmp: cwd inside it" "$(cat "$T/o" "$T/e")"; fi
rm -rf "$TR"

# ---- a session
t0=$(ms)
rc=0
S=$("$WK" --nested --start 2>"$T/start.err") || rc=$?
t1=$(ms)
expect_rc "session: --start" 0 $rc "$(cat "$T/start.err")"
if [ $rc != 0 ] || [ ! -d "$S" ]; then
    echo "# cannot go on without a session"
    echo "$pass passed, $((fail + 1)) failed"
    exit 1
fi
echo "# session boot: $((t1 - t0)) ms ($S)"
WITH_KVM_SESSION=$S
export WITH_KVM_SESSION
trap '"$WK" --stop >/dev/null 2>&1 || true' EXIT
"$WK" --status >/dev/null && ok "session: --status says up" || not_ok "session: --status says up"

t0=$(ms)
for i in 1 2 3 4 5; do "$WK" true; done
t1=$(ms)
echo "# per-command overhead in a session: $(((t1 - t0) / 5)) ms (mean of 5 x true)"

for st in 0 1 3 42 255; do
    rc=0
    "$WK" sh -c "exit $st" || rc=$?
    expect_rc "exit status $st" $st $rc
done
rc=0
"$WK" sh -c 'kill -TERM $$' || rc=$?
expect_rc "killed by SIGTERM gives 143" 143 $rc
rc=0
"$WK" sh -c 'kill -KILL $$' || rc=$?
expect_rc "killed by SIGKILL gives 137" 137 $rc
rc=0
"$WK" /nonexistent/command 2>"$T/e" || rc=$?
expect_rc "command not found gives 127" 127 $rc "$(cat "$T/e")"

rc=0
"$WK" sh -c 'echo to-out; echo to-err >&2; echo more-out' >"$T/o" 2>"$T/e" || rc=$?
if [ $rc = 0 ] && [ "$(cat "$T/o")" = "to-out
more-out" ] && [ "$(cat "$T/e")" = to-err ]; then
    ok "stdout and stderr come back separately"
else
    not_ok "stdout and stderr come back separately" "rc=$rc out=$(cat "$T/o") err=$(cat "$T/e")"
fi

head -c 1048576 /dev/urandom >"$T/blob"
rc=0
"$WK" cat "$T/blob" >"$T/blob.out" 2>"$T/e" || rc=$?
if [ $rc = 0 ] && cmp -s "$T/blob" "$T/blob.out" && [ ! -s "$T/e" ]; then
    ok "1 MiB of binary stdout intact"
else
    not_ok "1 MiB of binary stdout intact" "rc=$rc $(cat "$T/e")"
fi
rc=0
"$WK" sh -c 'cat "$1" >&2' sh "$T/blob" >"$T/o" 2>"$T/blob.err" || rc=$?
if [ $rc = 0 ] && cmp -s "$T/blob" "$T/blob.err" && [ ! -s "$T/o" ]; then
    ok "1 MiB of binary stderr intact"
else
    not_ok "1 MiB of binary stderr intact" "rc=$rc"
fi
rc=0
"$WK" cat <"$T/blob" >"$T/blob.in" || rc=$?
if [ $rc = 0 ] && cmp -s "$T/blob" "$T/blob.in"; then
    ok "1 MiB of binary stdin passed through"
else
    not_ok "1 MiB of binary stdin passed through" "rc=$rc"
fi
out=$(printf 'line1\nline2\n' | "$WK" -n cat)
[ -z "$out" ] && ok "-n gives /dev/null as stdin" || not_ok "-n gives /dev/null as stdin" "$out"
out=$(printf 'abc\n' | "$WK" sh -c 'read x; echo "got $x"')
[ "$out" = "got abc" ] && ok "stdin reaches the command" || not_ok "stdin reaches the command" "$out"

mkdir -p "$T/sub dir"
out=$(cd "$T/sub dir" && "$WK" pwd)
[ "$out" = "$T/sub dir" ] && ok "runs in the caller's directory" || not_ok "runs in the caller's directory" "$out"
weird='spaces  and
newline $dollar "quotes" \back'
out=$(WK_TEST_VAR=$weird "$WK" sh -c 'printf %s "$WK_TEST_VAR"')
[ "$out" = "$weird" ] && ok "environment variable arrives intact" || not_ok "environment variable arrives intact" "$out"
out=$("$WK" sh -c 'echo "$PATH"')
[ "$out" = "$PATH" ] && ok "PATH arrives" || not_ok "PATH arrives" "$out"
rc=0
(cd /proc && "$WK" true) 2>"$T/e" || rc=$?
[ $rc = 0 ] && ok "cwd on the shared root (/proc, mounted there too)" || not_ok "cwd /proc" "$(cat "$T/e")"
d=$(mktemp -d /tmp/with-kvm-test.XXXXXX)
rc=0
(cd "$d" && "$WK" true) 2>"$T/e" || rc=$?
rmdir "$d"
if [ $rc = 125 ] && grep -q 'cannot change to' "$T/e"; then
    ok "a cwd missing inside (host /tmp) fails loudly"
else
    not_ok "a cwd missing inside (host /tmp) fails loudly (status $rc)" "$(cat "$T/e")"
fi

# streaming: the first line must arrive long before the command ends
"$WK" sh -c 'echo first; sleep 3; echo second' | {
    read -r l1
    a=$(ms)
    read -r l2
    b=$(ms)
    if [ "$l1 $l2" = "first second" ] && [ $((b - a)) -ge 2000 ]; then
        echo "ok - output is streamed ($((b - a)) ms between lines)"
    else
        echo "not ok - output is streamed ($l1 $l2, $((b - a)) ms)"
    fi
} >"$T/stream"
cat "$T/stream"
if grep -q '^ok' "$T/stream"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi

t0=$(ms)
rc=0
"$WK" -t 2 sleep 60 2>"$T/e" || rc=$?
t1=$(ms)
if [ $rc = 124 ] && grep -q timeout "$T/e" && [ $((t1 - t0)) -lt 20000 ]; then
    ok "timeout kills the command, says so, exits 124"
else
    not_ok "timeout (status $rc after $((t1 - t0)) ms)" "$(cat "$T/e")"
fi
rc=0
WITH_KVM_TIMEOUT=1 "$WK" sleep 60 2>/dev/null || rc=$?
expect_rc "WITH_KVM_TIMEOUT works too" 124 $rc
out=$("$WK" sh -c 'pgrep -x sleep || echo none')
[ "$out" = none ] && ok "timed-out commands leave nothing running" || not_ok "timed-out commands leave nothing running" "$out"

# the probe and the host layout inside
rc=0
out=$("$WK" "$PROBE" 2>&1) || rc=$?
echo "# inside: $out"
expect_rc "probe passes inside the KVM host" 0 $rc "$out"
rc=0
"$WK" sh -c '
    set -e
    test -c /dev/kvm -a -r /dev/kvm -a -w /dev/kvm
    test "$(id -u)" = 0
    for m in /dev /proc /sys /tmp /run; do grep -q " $m " /proc/mounts; done
    # empty but for the way to the repository, when that lives under /tmp
    case $1 in /tmp/*) top=${1#/tmp/}; test "$(ls -A /tmp)" = "${top%%/*}" ;; *) test -z "$(ls -A /tmp)" ;; esac
    echo x >/tmp/x && echo x >/run/x && echo x >/dev/shm/x
    ! touch /usr/.with-kvm-test 2>/dev/null
    test -e /dev/fd/0 -a -e /dev/null
' sh "$REPO" 2>"$T/e" || rc=$?
expect_rc "inside: root, /dev/kvm, fresh /tmp and /run, read-only root" 0 $rc "$(cat "$T/e")"

# the root is entered as switch_root does, not chrooted: the kernel refuses a
# chrooted process a user namespace, and passt's sandbox needs one
rc=0
"$WK" unshare -U -r sh -c 'test "$(id -u)" = 0' 2>"$T/e" || rc=$?
expect_rc "inside: a user namespace can be created (unshare -U -r)" 0 $rc "$(cat "$T/e")"

# passt takes its addresses from the default route's interface
rc=0
out=$("$WK" sh -c 'ip -4 -o addr show dev eth0 && ip -4 route show default' 2>&1) || rc=$?
case $rc:$out in
0:*"inet 10.0.2.15/24 "*"default via 10.0.2.2 dev eth0"*) ok "inside: eth0 has 10.0.2.15/24 and the default route is via 10.0.2.2" ;;
*) not_ok "inside: eth0 has 10.0.2.15/24 and the default route is via 10.0.2.2 (status $rc)" "$out" ;;
esac
# restrict=on still holds: QEMU's gateway would pass 10.0.2.2:PORT on to this
# machine's 127.0.0.1:PORT, where QEMU itself listens (the agent's forward)
rc=0
out=$("$WK" python3 -c '
import socket, sys
s = socket.create_connection(("10.0.2.2", int(sys.argv[1])), timeout=10)
print("connected to the host through the gateway")
' "$(cat "$S/port")" 2>&1) || rc=$?
case $rc:$out in
1:*ConnectionRefusedError*) ok "inside: the gateway leads nowhere (restrict=on)" ;;
*) not_ok "inside: the gateway leads nowhere (restrict=on) (status $rc)" "$out" ;;
esac

# passt, which the virtio-net tests run inside: it must start, sandbox itself
# (user namespace, pivot_root), listen on its socket, take one client and, as
# -1 asks, exit 0 when that client hangs up. No passt is a failure, not a skip.
rc=0
"$WK" -t 120 sh -c '
    command -v passt >/dev/null || { echo "passt is not installed (tools/install-deps installs it)"; exit 1; }
    sock=/tmp/with-kvm-test-passt.sock
    log=/tmp/with-kvm-test-passt.log
    passt -f -e -1 -s "$sock" >"$log" 2>&1 &
    pid=$!
    i=0
    while [ ! -S "$sock" ] && kill -0 $pid 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
    if [ ! -S "$sock" ]; then
        echo "passt did not listen on $sock:"
        kill $pid 2>/dev/null
        grep -v "to syslog" "$log"
        exit 1
    fi
    python3 -c "import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])" "$sock" ||
        { echo "cannot connect to passt"; kill $pid; exit 1; }
    i=0
    while kill -0 $pid 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    kill $pid 2>/dev/null && { echo "passt did not exit after its one client"; exit 1; }
    st=0
    wait $pid || st=$?
    rm -f "$sock"
    [ $st = 0 ] || { echo "passt exited with $st:"; grep -v "to syslog" "$log"; exit 1; }
    rm -f "$log"
' >"$T/o" 2>&1 || rc=$?
expect_rc "inside: passt starts in its sandbox, listens and serves a client" 0 $rc "$(cat "$T/o")"

# with-kvm called inside the KVM host runs directly (its /dev/kvm is real)
out=$("$WK" sh -c 'echo "session=${WITH_KVM_SESSION:-unset}"; "$1" sh -c "echo nested; exit 6"; echo "rc=$?"' sh "$WK" 2>&1)
if [ "$out" = "session=unset
nested
rc=6" ]; then
    ok "with-kvm inside the KVM host runs the command directly"
else
    not_ok "with-kvm inside the KVM host runs the command directly" "$out"
fi

# the repository share: writable, coherent both ways, right owner
echo "from-host" >"$T/late"
out=$("$WK" cat "$T/late")
[ "$out" = from-host ] && ok "file written on the host after boot is visible inside" || not_ok "host -> inside" "$out"
echo "changed" >"$T/late"
out=$("$WK" cat "$T/late")
[ "$out" = changed ] && ok "file changed on the host is seen changed inside" || not_ok "host change -> inside" "$out"
rc=0
"$WK" sh -c 'echo from-inside >"$1"; chmod 640 "$1"' sh "$T/inside" || rc=$?
if [ $rc = 0 ] && [ "$(cat "$T/inside" 2>/dev/null)" = from-inside ] &&
    [ "$(stat -c '%a %u' "$T/inside")" = "640 $(id -u)" ]; then
    ok "file written inside is on the host with its mode and owner"
else
    not_ok "inside -> host" "$(ls -l "$T/inside" 2>&1)"
fi

# concurrency: each command waits until the other one has started
rm -f "$T/a.started" "$T/b.started"
waiter='touch "$1"; i=0; while [ ! -e "$2" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done; test -e "$2"'
rca=0
rcb=0
"$WK" sh -c "$waiter" sh "$T/a.started" "$T/b.started" >"$T/a.out" 2>&1 &
pa=$!
"$WK" sh -c "$waiter" sh "$T/b.started" "$T/a.started" >"$T/b.out" 2>&1 &
pb=$!
wait $pa || rca=$?
wait $pb || rcb=$?
if [ $rca = 0 ] && [ $rcb = 0 ]; then
    ok "two commands run concurrently in one session"
else
    not_ok "two commands run concurrently ($rca $rcb)" "$(cat "$T/a.out" "$T/b.out")"
fi
i=0
pids=
while [ $i -lt 6 ]; do
    "$WK" sh -c 'head -c 200000 "$1"' sh "$T/blob" >"$T/par.$i" &
    pids="$pids $!"
    i=$((i + 1))
done
bad=0
for p in $pids; do wait "$p" || bad=1; done
head -c 200000 "$T/blob" >"$T/par.want"
for i in 0 1 2 3 4 5; do cmp -s "$T/par.want" "$T/par.$i" || bad=1; done
[ $bad = 0 ] && ok "six parallel commands with output intact" || not_ok "six parallel commands"

# the KVM host dies under a running command, as a triple fault of its CPU does
# (QEMU logs it, then exits for -no-reboot): the command fails loudly with why
rc=0
(sleep 3; echo "Triple fault" >>"$S/qemu-debug.log"; kill -9 "$(cat "$S/qemu.pid")") &
"$WK" sleep 60 2>"$T/e" || rc=$?
wait
if [ $rc = 125 ] && grep -q 'the KVM host went down' "$T/e" && grep -q 'triple-faulted' "$T/e"; then
    ok "a KVM host that dies under a command: 125, with the triple fault named"
else
    not_ok "a KVM host that dies under a command (status $rc)" "$(cat "$T/e")"
fi

# stop
"$WK" --stop && ok "session: --stop" || not_ok "session: --stop"
rc=0
"$WK" --status >/dev/null 2>&1 || rc=$?
expect_rc "session: --status says down after --stop" 1 $rc
rc=0
"$WK" true 2>"$T/e" || rc=$?
expect_rc "a stopped session fails loudly" 125 $rc "$(cat "$T/e")"
trap - EXIT

echo "$pass passed, $fail failed"
[ $fail = 0 ]
