#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# bench/iperf-root.sh ROOT: a guest root for the network benchmarks,
# tests/vm/mkrootfs.sh's busybox plus the host's iperf3 with its libraries.
set -eu
ROOT=$1
IPERF=$(command -v iperf3) || { echo "iperf-root: iperf3 missing (tools/install-deps)" >&2; exit 1; }
"$(dirname "$0")/../tests/vm/mkrootfs.sh" "$ROOT"
mkdir -p "$ROOT/usr/bin"
cp "$IPERF" "$ROOT/usr/bin/iperf3"
for lib in $(ldd "$IPERF" | awk '/=> \// {print $3} /^\t\/lib/ {print $1}'); do
    mkdir -p "$ROOT$(dirname "$lib")"
    cp -L "$lib" "$ROOT$lib"
done
