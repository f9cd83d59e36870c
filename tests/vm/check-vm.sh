#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# make check-vm: run tests/vm/run-tests.sh in the KVM host, and get past the
# two faults of the emulated test host that are not ours (testhost/README.md,
# "Known flakes"), saying so each time:
# - L1's kernel dies under the suite (with-kvm exits 125), or hangs (it stops
#   answering; the watchdog then kills it): a new KVM host runs the gates
#   that had not run to the end (at most three times);
# - a guest triple-faults, or its kernel panics (the oops on a stale int3),
#   in the nested KVM host: that gate runs once more.
# Any other failure is final. Every result is in $B/vm-results. VM_PATTERN
# narrows the suite as run-tests.sh's argument does; VM_ONLY (the gates to
# run) and VM_SKIP (gates not to run), space-separated, narrow it too.
set -u
B=${B:-build}
WITH_KVM=${WITH_KVM:-testhost/with-kvm}
R=$B/vm-results
: >"$R"
ONLY=${VM_ONLY:-}
SKIP=${VM_SKIP:-}

# watchdog PID: while the suite (PID) runs, ask its KVM host every half
# minute whether it still answers (a hung host's agent never replies, and
# with-kvm waits out TERM: KILL after 30 s). L1 can hang for good when its vCPUs lose their
# timer interrupt (testhost/README.md); after three silent minutes in a row
# (about three minutes) its QEMU is killed, with-kvm reports the host gone (125) and the suite
# resumes on a new one.
watchdog() {
    _misses=0
    while kill -0 "$1" 2>/dev/null; do
        sleep 30 &
        wait $! # (a plain sleep would hold up the kill that ends the watchdog)
        _s=$(ls -td "${WITH_KVM_STATE_DIR:-build/with-kvm}"/oneshot.* 2>/dev/null | head -n 1)
        [ -n "$_s" ] && [ -f "$_s/port" ] && [ -f "$_s/qemu.pid" ] || continue
        if WITH_KVM_SESSION=$(cd "$_s" && pwd) timeout -s KILL 30 $WITH_KVM -n true >/dev/null 2>&1; then
            _misses=0
        else
            _misses=$((_misses + 1))
        fi
        if [ $_misses -ge 3 ]; then
            echo "check-vm: the KVM host has not answered for 3 minutes (hung); stopping it"
            kill -9 "$(cat "$_s/qemu.pid")" 2>/dev/null
            _misses=0
        fi
    done
}

suite() {
    rc=0
    $WITH_KVM --timeout 3000 env B="$B" VM_RESULTS="$R" VM_SKIP="$1" VM_ONLY="$2" \
        tests/vm/run-tests.sh ${VM_PATTERN:-} &
    _spid=$!
    watchdog $_spid &
    _wpid=$!
    wait $_spid || rc=$?
    kill $_wpid 2>/dev/null
    wait $_wpid 2>/dev/null
}

# The result of every test, one "STATUS GATE NAME [CLASS]" line each: its
# last, except that a failure not of the retried kind is never undone.
final() {
    awk '!($3 in keep) { last[$3] = $0 }
        $1 == "FAIL" && $4 != "nested-emulation" { keep[$3] = 1 }
        END { for (n in last) print last[n] }' "$R"
}

# Gates that ran to the end: all with a result but the last (it may have
# been cut short).
done_gates() {
    awk '{ if (g != "" && g != $2) seen[g] = 1; g = $2 }
        END { for (x in seen) if (x != g) print x }' "$R" | tr '\n' ' '
}

suite "$SKIP" "$ONLY"
restarts=0
while [ $rc = 125 ] && [ $restarts -lt 3 ] && [ -s "$R" ]; do
    restarts=$((restarts + 1))
    skip=$(done_gates)
    echo "check-vm: the KVM host went down (with-kvm exit 125); a new one runs" \
        "the gates after the $(echo $skip | wc -w) that had run"
    suite "$SKIP $skip" "$ONLY"
done

retry=$(final | awk '$1 == "FAIL" && $4 == "nested-emulation" { print $2 }' | sort -u | tr '\n' ' ')
others=$(final | awk '$1 == "FAIL" && $4 != "nested-emulation"' | wc -l)
if [ -n "$retry" ] && [ "$others" = 0 ] && [ $rc != 124 ] && [ $rc != 125 ]; then
    echo "check-vm: a guest triple-faulted or its kernel panicked in the nested KVM host (gates: $retry); once more"
    suite "$SKIP" "$retry"
fi

npass=$(final | grep -c '^ok ')
nfail=$(final | grep -c '^FAIL ')
echo "check-vm: $npass passed, $nfail failed in all (results: $R)"
final | awk '$1 == "FAIL" { print "check-vm: FAIL " $3 " (" $4 ")" }'
retried=$(awk '$1 == "FAIL" { print $3 }' "$R" | sort -u | tr '\n' ' ')
[ -z "$retried" ] || [ "$nfail" != 0 ] ||
    echo "check-vm: passed on a second run: $retried"
[ "$nfail" = 0 ] || exit 1
exit $rc
