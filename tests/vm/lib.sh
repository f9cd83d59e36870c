# SPDX-License-Identifier: Apache-2.0
# Helpers for the VM test suites (sourced by run-tests.sh).

# Each result also goes to $VM_RESULTS, as "ok GATE NAME" or "FAIL GATE NAME
# CLASS" (GATE: the name the last want call let through), for
# tests/vm/check-vm.sh, which resumes or retries gates from it.
_gate=-
record() { [ -z "${VM_RESULTS:-}" ] || echo "$1 $_gate $2${3:+ $3}" >>"$VM_RESULTS"; }

ok() {
    echo "ok   $1"
    pass=$((pass + 1))
    record ok "$1"
}
bad() {
    echo "FAIL $1: $2"
    for f in "$T/out" "$T/err"; do
        [ -s "$f" ] && { echo "---- $(basename "$f"):"; tail -n 20 "$f"; }
    done
    fail=$((fail + 1))
    failed="$failed $1"
    # Inside the emulated KVM host (/run/with-kvm is there) a guest triple
    # fault, or a guest kernel panic (the oops on an int3 left by text
    # patching; its console line is often cut off by the panic), is the one
    # kind of failure check-vm.sh retries once: see testhost/README.md.
    _bc=other
    if [ -d /run/with-kvm ] &&
        grep -q 'the guest triple-faulted\|Oops: int3\|the guest kernel panicked' "$T/err" 2>/dev/null; then
        _bc=nested-emulation
    fi
    record FAIL "$1" "$_bc"
}

# want GATE: run the test(s) behind this gate? It matches the pattern, is not
# in $VM_SKIP and, when $VM_ONLY is set, is in it (space-separated gates).
want() {
    case " ${VM_SKIP:-} " in *" $1 "*) return 1 ;; esac
    if [ -n "${VM_ONLY:-}" ]; then
        case " $VM_ONLY " in *" $1 "*) ;; *) return 1 ;; esac
    fi
    case "$1" in *"$pattern"*) _gate=$1 && return 0 ;; esac
    return 1
}

# diagnose PID: what every thread of a stuck VMM process is doing (to stderr).
diagnose() {
    echo "---- stuck process $1: $(tr '\0' ' ' </proc/"$1"/cmdline 2>/dev/null)" >&2
    for _dt in /proc/"$1"/task/*; do
        echo "thread ${_dt##*/} $(cat "$_dt/comm" 2>/dev/null) state=$(awk '/^State/ {print $2}' "$_dt/status" 2>/dev/null) wchan=$(cat "$_dt/wchan" 2>/dev/null)" >&2
        sed 's/^/    /' "$_dt/stack" 2>/dev/null | head -8 >&2
    done
}

# descendants PID: the process ids under PID, children first (by parent
# id, never by name: other programs of the same name are not ours).
descendants() {
    for _dc in $(pgrep -P "$1"); do
        echo "$_dc"
        descendants "$_dc"
    done
}

# watch PID SECONDS: wait for a background command; past the deadline,
# diagnose it and every process under it, kill them and return 124.
# (Helpers use _-prefixed names: shell variables are global.)
watch() {
    _wn=0
    while kill -0 "$1" 2>/dev/null; do
        if [ "$_wn" -ge $(($2 * 10)) ]; then
            _wall="$1 $(descendants "$1")"
            for _wp in $_wall; do diagnose "$_wp"; done
            kill -KILL $_wall 2>/dev/null
            wait "$1" 2>/dev/null
            return 124
        fi
        sleep 0.1
        _wn=$((_wn + 1))
    done
    wait "$1"
}

# guarded SECONDS CMD...: run CMD (output in $T/out, $T/err) under watch; sets $st.
# (A background command would get /dev/null as stdin: pass ours through fd 9.)
guarded() {
    _gsecs=$1
    shift
    exec 9<&0
    "$@" <&9 >"$T/out" 2>"$T/err" &
    exec 9<&-
    watch $! "$_gsecs"
    st=$?
}

# vm ARGS...: run vmtest on the ELF kernel and test initramfs; sets $st.
vm() {
    guarded 120 "$VMT" --kernel "$K" --initrd "$RD" --cmdline "$CMD" "$@"
}

# expect NAME STATUS [GREP-PATTERN]: check $st and that stdout matches.
expect() {
    if [ "$st" != "$2" ]; then
        bad "$1" "exit status $st, expected $2"
    elif [ -n "${3:-}" ] && ! grep -q -- "$3" "$T/out"; then
        bad "$1" "stdout lacks '$3'"
    else
        ok "$1"
    fi
}

