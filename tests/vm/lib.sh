# Helpers for the VM test suites (sourced by run-tests.sh).

ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() {
    echo "FAIL $1: $2"
    for f in "$T/out" "$T/err"; do
        [ -s "$f" ] && { echo "---- $(basename "$f"):"; tail -n 20 "$f"; }
    done
    fail=$((fail + 1))
    failed="$failed $1"
}
want() { case "$1" in *"$pattern"*) return 0 ;; esac; return 1; }

# vm ARGS...: run vmtest on the ELF kernel and test initramfs; sets $st.
vm() {
    timeout 120 "$VMT" --kernel "$K" --initrd "$RD" --cmdline "$CMD" "$@" >"$T/out" 2>"$T/err"
    st=$?
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

