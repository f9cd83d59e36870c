#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# mkrootfs.sh DIR: a minimal root filesystem in DIR (created) with Debian's
# static busybox as the userland, for VM tests and the README's example.
set -eu
dir=$1
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "mkrootfs: $busybox missing (apt install busybox-static)" >&2; exit 1; }
if readelf -l "$busybox" | grep -q INTERP; then
    echo "mkrootfs: $busybox is not statically linked (install busybox-static)" >&2
    exit 1
fi
mkdir -p "$dir/bin" "$dir/sbin" "$dir/usr/bin" "$dir/dev" "$dir/proc" "$dir/sys" "$dir/tmp" \
    "$dir/run" "$dir/root" "$dir/etc" "$dir/mnt"
chmod 1777 "$dir/tmp"
cp "$busybox" "$dir/bin/busybox"
for applet in $("$busybox" --list); do
    [ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$dir/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$dir/etc/group"
