#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# mkrawkernel.sh PARAMS.h BLOB OUT: a KRUN_KERNEL_FORMAT_RAW kernel for the
# VM tests, from the bundle's blob (the vmlinux laid out as in memory) and
# its header (load address, entry). Upstream starts a RAW kernel at its
# first byte, in 64-bit mode; our vmlinux starts with its 32-bit PVH entry
# and has its 64-bit entry (startup_64) further in, so the first five bytes
# become a relative jump there (the PVH entry is not used by a RAW boot).
set -eu
params=$1
blob=$2
out=$3
load=$(sed -n 's/^#define KRUNFW_LOAD_ADDR //p' "$params")
entry=$(sed -n 's/^#define KRUNFW_ENTRY_ADDR //p' "$params")
[ -n "$load" ] && [ -n "$entry" ] || { echo "mkrawkernel: no addresses in $params" >&2; exit 1; }
off=$((entry - load))
cp "$blob" "$out.tmp"
if [ "$off" != 0 ]; then
    [ "$off" -ge 5 ] && [ "$off" -lt 4096 ] || { echo "mkrawkernel: entry at offset $off" >&2; exit 1; }
    rel=$((off - 5))
    # jmp rel32: e9, then the displacement little-endian.
    # shellcheck disable=SC2059
    printf "$(printf '\\351\\%03o\\%03o\\%03o\\%03o' $((rel & 255)) $((rel >> 8 & 255)) \
        $((rel >> 16 & 255)) $((rel >> 24 & 255)))" |
        dd of="$out.tmp" conv=notrunc status=none
fi
mv "$out.tmp" "$out"
