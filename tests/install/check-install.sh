#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `make install` into a scratch DESTDIR for the library directories of
# Debian (multiarch) and Fedora (lib64): every file lands under LIBDIR,
# libkrun.pc names that LIBDIR and validates, and a caller of the display
# and input calls builds from the installed headers with the installed
# libkrun.pc (its static flags bring liburing), links and runs.
# Usage: tests/install/check-install.sh BUILD-DIR   (make check-install)
set -eu
B=$1
here=$(cd "$(dirname "$0")" && pwd)
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
fail() {
    echo "FAIL check-install ($libdir): $*"
    exit 1
}
for libdir in /usr/lib/x86_64-linux-gnu /usr/lib64; do
    dest=$d/${libdir##*/}
    make --no-print-directory -s install B="$B" DESTDIR="$dest" PREFIX=/usr LIBDIR="$libdir" \
        >"$d/log" 2>&1 || { cat "$d/log"; fail "make install failed"; }
    for f in libkrun.so.1 libkrun.so libkrunfw.so.5 pkgconfig/libkrun.pc; do
        [ -e "$dest$libdir/$f" ] || fail "$libdir/$f is missing"
    done
    for h in libkrun.h libkrun_display.h libkrun_input.h; do
        [ -f "$dest/usr/include/$h" ] || fail "/usr/include/$h is missing"
    done
    [ -x "$dest/usr/bin/krun-chroot" ] || fail "/usr/bin/krun-chroot is missing"
    pc=$dest$libdir/pkgconfig/libkrun.pc
    grep -qx "libdir=$libdir" "$pc" || fail "libkrun.pc says $(grep '^libdir=' "$pc")"
    export PKG_CONFIG_PATH=$dest$libdir/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
    pkg-config --validate libkrun || fail "libkrun.pc does not validate"
    pkg-config --static --libs libkrun | grep -q -- -luring || fail "no liburing in the static flags"
    # shellcheck disable=SC2046 # the flags are words
    ${CC:-cc} -std=c11 -Wall -Wextra -Werror "$here/caller.c" -o "$d/caller" \
        $(pkg-config --cflags --libs libkrun) || fail "the caller does not build"
    unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
    LD_LIBRARY_PATH=$dest$libdir "$d/caller" || fail "the caller failed"
    echo "ok   check-install $libdir"
done
