#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# make check-vm: run tests/vm/run-tests.sh in the KVM host, and get past the
# two faults of the emulated test host that are not ours (testhost/README.md,
# "Known flakes"), saying so each time:
# - L1's kernel dies under the suite (with-kvm exits 125): a new KVM host
#   runs the gates that had not all passed yet (at most twice);
# - a guest triple-faults, or its kernel oopses on a stale int3, in the
#   nested KVM host: that gate runs once more.
# Any other failure is final. Every result is in $B/vm-results.
set -u
B=${B:-build}
WITH_KVM=${WITH_KVM:-testhost/with-kvm}
R=$B/vm-results
: >"$R"

suite() {
    rc=0
    $WITH_KVM --timeout 3000 env B="$B" VM_RESULTS="$R" VM_SKIP="$1" VM_ONLY="$2" \
        tests/vm/run-tests.sh || rc=$?
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

suite "" ""
restarts=0
while [ $rc = 125 ] && [ $restarts -lt 2 ] && [ -s "$R" ]; do
    restarts=$((restarts + 1))
    skip=$(done_gates)
    echo "check-vm: the KVM host went down (with-kvm exit 125); a new one runs" \
        "the gates after the $(echo $skip | wc -w) that had run"
    suite "$skip" ""
done

retry=$(final | awk '$1 == "FAIL" && $4 == "nested-emulation" { print $2 }' | sort -u | tr '\n' ' ')
others=$(final | awk '$1 == "FAIL" && $4 != "nested-emulation"' | wc -l)
if [ -n "$retry" ] && [ "$others" = 0 ] && [ $rc != 124 ] && [ $rc != 125 ]; then
    echo "check-vm: a guest triple-faulted or oopsed on int3 in the nested KVM host (gates: $retry); once more"
    suite "" "$retry"
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
