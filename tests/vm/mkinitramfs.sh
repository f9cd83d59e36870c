#!/bin/sh
# mkinitramfs.sh INIT OUT: a test initramfs (gzip'ed newc cpio) with the
# given init as /init and Debian's static busybox as the userland.
set -eu
init=$1
out=$2
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "mkinitramfs: $busybox missing (apt install busybox-static)" >&2; exit 1; }
if readelf -l "$busybox" | grep -q INTERP; then
    echo "mkinitramfs: $busybox is not statically linked (install busybox-static)" >&2
    exit 1
fi
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/sbin" "$stage/dev" "$stage/proc" "$stage/sys" "$stage/tmp" \
    "$stage/run" "$stage/root" "$stage/etc"
cp "$busybox" "$stage/bin/busybox"
for applet in $("$busybox" --list); do
    [ -e "$stage/bin/$applet" ] || ln -s busybox "$stage/bin/$applet"
done
cp "$init" "$stage/init"
chmod 0755 "$stage/init"
echo "root:x:0:0:root:/root:/bin/sh" > "$stage/etc/passwd"
(cd "$stage" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
