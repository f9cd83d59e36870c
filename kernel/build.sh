#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Build the guest kernel (vmlinux and bzImage) from Debian's linux-source-6.12
# with kernel/config and kernel/patches/*.patch, through a content-addressed
# cache.
#
# usage: kernel/build.sh OUTDIR
#
# Writes OUTDIR/vmlinux, OUTDIR/bzImage, OUTDIR/kernel.config and
# OUTDIR/kernel.key; the files are only rewritten when the key changes, so
# make sees new timestamps only for a different kernel.
#
# Cache: ${KRUN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/libkrun-c}/kernel/KEY/
# where KEY hashes the linux-source package version (dpkg-query), the config
# fragment, every patch and this script. A miss builds in a scratch directory
# next to the cache entry and renames the result into place.
#
# Environment:
#   KRUN_CACHE_DIR         cache root (see above)
#   KRUN_LINUX_TARBALL     source tarball (default /usr/src/linux-source-6.12.tar.xz)
#   KRUN_KERNEL_JOBS       parallel jobs (default: nproc)
#   KRUN_KEEP_KERNEL_TREE  set to 1 to keep the scratch tree after a build
set -eu

die() {
    echo "kernel/build.sh: $*" >&2
    exit 1
}

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
out=$1
here=$(cd "$(dirname "$0")" && pwd)
self=$here/build.sh
fragment=$here/config
patchdir=$here/patches

pkg=linux-source-6.12
default_tarball=/usr/src/$pkg.tar.xz
tarball=${KRUN_LINUX_TARBALL:-$default_tarball}
[ -f "$tarball" ] || die "$tarball not found (apt-get install $pkg)"

# Fixed identity for reproducible builds (version string, initramfs times).
build_timestamp='Thu Jan  1 00:00:00 UTC 2026'
build_user=root
build_host=libkrun-c
karch=x86_64

# The make that runs us may pass its own command-line variables and jobserver
# through the environment; none of that belongs in the kernel build, and
# nothing that is not part of the cache key may change the result.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS || true
unset KBUILD_OUTPUT KBUILD_EXTMOD KCFLAGS KCPPFLAGS KAFLAGS LOCALVERSION || true
unset CROSS_COMPILE ARCH SRCARCH O || true
export LC_ALL=C

# --- the cache key --------------------------------------------------------
# Patches are applied (and hashed) in glob order, which is sorted (LC_ALL=C).

if [ "$tarball" = "$default_tarball" ] &&
    src_version=$(dpkg-query -W -f '${Version}' "$pkg" 2>/dev/null) &&
    [ -n "$src_version" ]; then
    src_id="$pkg $src_version"
else
    src_id="tarball sha256 $(sha256sum <"$tarball" | cut -d' ' -f1)"
fi

key_input() {
    echo "source: $src_id"
    for f in "$fragment" "$self" "$patchdir"/*.patch; do
        [ -f "$f" ] || continue
        printf '%s %s %s\n' "${f#"$here"/}" "$(wc -c <"$f")" \
            "$(sha256sum <"$f" | cut -d' ' -f1)"
    done
}
key=$(key_input | sha256sum | cut -c1-24)

cache_root=${KRUN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/libkrun-c}
cache_dir=$cache_root/kernel
entry=$cache_dir/$key

mkdir -p "$out"

# Up to date already?
if [ -f "$out/kernel.key" ] && [ "$(cat "$out/kernel.key")" = "$key" ] &&
    [ -f "$out/vmlinux" ] && [ -f "$out/bzImage" ]; then
    exit 0
fi

# --- build on a cache miss --------------------------------------------------
scratch=
cleanup() {
    if [ -n "$scratch" ] && [ -d "$scratch" ]; then
        if [ "${KRUN_KEEP_KERNEL_TREE:-0}" = 1 ]; then
            echo "kernel: scratch tree kept in $scratch" >&2
        else
            rm -rf "$scratch"
        fi
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Check, after allnoconfig, that every fragment line made it into .config.
# "CONFIG_X=n" (or "# CONFIG_X is not set") is satisfied when .config has
# X unset or absent; anything else must appear verbatim.
verify_config() {
    frag=$1
    dotconfig=$2
    missing=
    while IFS= read -r line; do
        case $line in
        CONFIG_*=n | "# CONFIG_"*" is not set")
            sym=${line#"# "}
            sym=${sym%" is not set"}
            sym=${sym%%=*}
            if grep -q "^$sym=" "$dotconfig"; then
                missing="$missing
  $line (got: $(grep "^$sym=" "$dotconfig"))"
            fi
            ;;
        CONFIG_*=*)
            if ! grep -qxF "$line" "$dotconfig"; then
                sym=${line%%=*}
                got=$(grep -E "^($sym=|# $sym is not set)" "$dotconfig" || echo absent)
                missing="$missing
  $line (got: $got)"
            fi
            ;;
        '' | '#'*) ;;
        *) die "kernel/config: cannot parse line: $line" ;;
        esac
    done <"$frag"
    if [ -n "$missing" ]; then
        echo "kernel/build.sh: these kernel/config lines did not survive allnoconfig:$missing" >&2
        return 1
    fi
}

build_kernel() {
    tree=$scratch/linux
    mkdir -p "$tree"
    echo "== unpack $tarball"
    tar -xf "$tarball" -C "$tree" --strip-components=1
    for p in "$patchdir"/*.patch; do
        [ -f "$p" ] || continue
        echo "== patch $(basename "$p")"
        # No fuzz: a patch that no longer fits the source must fail here.
        (cd "$tree" && patch -p1 --batch --forward --fuzz=0) <"$p"
    done
    echo "== allnoconfig with $fragment"
    make -C "$tree" ARCH=$karch KCONFIG_ALLCONFIG="$fragment" allnoconfig
    verify_config "$fragment" "$tree/.config"
    echo "== build vmlinux bzImage with $jobs jobs"
    rm -f "$tree/.version"
    make -C "$tree" ARCH=$karch -j"$jobs" \
        KBUILD_BUILD_TIMESTAMP="$build_timestamp" \
        KBUILD_BUILD_USER=$build_user KBUILD_BUILD_HOST=$build_host \
        KBUILD_BUILD_VERSION=1 \
        vmlinux bzImage
    stage=$scratch/result
    mkdir -p "$stage"
    cp "$tree/vmlinux" "$stage/vmlinux"
    cp "$tree/arch/x86/boot/bzImage" "$stage/bzImage"
    cp "$tree/.config" "$stage/config"
    cp "$tree/System.map" "$stage/System.map"
    key_input >"$stage/key-input"
}

have_entry() {
    [ -f "$entry/vmlinux" ] && [ -f "$entry/bzImage" ]
}

if ! have_entry; then
    mkdir -p "$cache_dir"
    # One build per key at a time (another clone or make may be building the
    # same kernel right now): wait for it and use its result.
    exec 9>"$cache_dir/.lock-$key"
    if ! flock -n 9; then
        echo "kernel: waiting for another build of $key to finish" >&2
        flock 9
    fi
fi

if ! have_entry; then
    # Scratch trees of builds that were killed outright (a build takes
    # minutes; anything a day old is abandoned).
    find "$cache_dir" -mindepth 1 -maxdepth 1 -name '.build-*' -mmin +1440 \
        -exec rm -rf {} + 2>/dev/null || true
    scratch=$(mktemp -d "$cache_dir/.build-$key.XXXXXX")
    jobs=${KRUN_KERNEL_JOBS:-$(nproc)}
    log=$scratch/build.log
    echo "kernel: cache miss for $key, building $pkg (4-6 min on 2 idle cores)" >&2
    echo "kernel: log in $out/kernel-build.log" >&2
    start=$(date +%s)
    # errexit is ignored inside an "if" condition, so run the build in a
    # subshell that re-enables it and test its status afterwards.
    set +e
    (
        set -e
        build_kernel
    ) >"$log" 2>&1
    rc=$?
    set -e
    if [ $rc -ne 0 ]; then
        cp "$log" "$out/kernel-build.log"
        echo "kernel: BUILD FAILED; last lines of $out/kernel-build.log:" >&2
        tail -n 40 "$log" >&2
        exit 1
    fi
    end=$(date +%s)
    echo "== built in $((end - start)) s" >>"$log"
    cp "$log" "$scratch/result/build.log"
    cp "$log" "$out/kernel-build.log"
    # Atomic publish: rename fails if a concurrent build got there first,
    # in which case its (identical) result is used.
    if ! mv -T "$scratch/result" "$entry" 2>/dev/null; then
        have_entry || die "cannot move the build into $entry"
    fi
    echo "kernel: built in $((end - start)) s, cached in $entry" >&2
fi
exec 9>&-

# --- copy into OUTDIR: vmlinux before bzImage, key last -----------------------
rm -f "$out/kernel.key"
# Temporary names of our own: two makes may copy into one OUTDIR at once.
for f in vmlinux bzImage; do
    cp "$entry/$f" "$out/.$f.tmp.$$"
    mv -f "$out/.$f.tmp.$$" "$out/$f"
done
cp "$entry/config" "$out/kernel.config"
echo "$key" >"$out/kernel.key"
