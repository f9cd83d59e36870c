#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The include arrows point one way: a file under src/ may include headers
# of its own folder and of the layers below it, never of a layer above or
# beside it; the guest init may include only the guest ABI from src/.
#
#   abi (the guest ABI)  <  util  <  arch, loader  <  vmm (the machine)
#   <  devices, virtio  <  vm (the builder and runner)  <  api (krun_*)
#
# include/libkrun.h (the public constants) may be included anywhere.
# Usage: tests/lint/layers.sh        (make check-layers)
set -u
cd "$(dirname "$0")/../.."

rank() {
    case $1 in
    abi) echo 0 ;;
    util) echo 1 ;;
    arch | loader) echo 2 ;;
    vmm) echo 3 ;;
    devices | virtio) echo 4 ;;
    vm) echo 5 ;;
    api) echo 6 ;;
    *) echo ;;
    esac
}

fail=0
checked=0
for f in $(find src init -name '*.[ch]' | sort); do
    case $f in
    src/*) from=$(echo "$f" | cut -d/ -f2) ;;
    init/*) from=init ;;
    esac
    # Quoted includes only: "dir/file.h".
    for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
        checked=$((checked + 1))
        case $inc in
        libkrun.h) continue ;;
        */*) to=${inc%%/*} ;;
        *) continue ;; # a header next to the file
        esac
        if [ "$from" = init ]; then
            [ "$to" = abi ] && continue
            echo "FAIL $f includes $inc: the init may include only abi/ from src/"
            fail=1
            continue
        fi
        [ "$to" = "$from" ] && continue
        rf=$(rank "$from")
        rt=$(rank "$to")
        if [ -z "$rf" ] || [ -z "$rt" ]; then
            echo "FAIL $f includes $inc: src/$from or src/$to has no layer in tests/lint/layers.sh"
            fail=1
        elif [ "$rt" -ge "$rf" ]; then
            echo "FAIL $f includes $inc: $from may not depend on $to (same layer or above)"
            fail=1
        fi
    done
done
[ "$fail" = 0 ] && echo "ok   layers: $checked includes, every arrow points down"
exit $fail
