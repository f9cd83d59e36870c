#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# mkinitramfs.sh INIT OUT: a test initramfs (gzip'ed newc cpio) with the
# given init as /init and Debian's static busybox as the userland.
set -eu
init=$1
out=$2
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
"$(dirname "$0")/mkrootfs.sh" "$stage"
cp "$init" "$stage/init"
chmod 0755 "$stage/init"
(cd "$stage" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
