# SPDX-License-Identifier: Apache-2.0
# krun-chroot and virtio-fs tests (issue 4): a busybox root shared with
# virtio-fs, the guest init, the exec contract. Sourced by run-tests.sh.

R=$T/root
"$here/mkrootfs.sh" "$R"
cp "$FSOPS" "$R/bin/guest-fsops"
mkdir -p "$R/work"

# kc ARGS...: run krun-chroot; sets $st, output in $T/out and $T/err.
kc() {
    guarded 180 "$KC" "$@"
}

# vmr ARGS...: vmtest on the bundled kernel with root $R; sets $st.
vmr() {
    guarded 120 "$VMT" --root "$R" "$@" </dev/null
}

# same NAME EXPECTED-FILE: stdout must equal the file exactly.
same() {
    if [ "$st" = 0 ] && cmp -s "$2" "$T/out"; then ok "$1"; else bad "$1" "status $st, output differs"; fi
}

if want chroot-output; then
    kc "$R" /bin/echo hello world </dev/null
    printf 'hello world\n' >"$T/want"
    same chroot-output "$T/want"
fi

if want chroot-exit-codes; then
    good=1
    for c in 0 1 42 255; do
        kc "$R" /bin/sh -c "exit $c" </dev/null
        [ "$st" = "$c" ] || { bad chroot-exit-codes "exit $c gave $st"; good=0; }
    done
    [ "$good" = 1 ] && ok chroot-exit-codes
fi

if want fs-durability; then
    # fsync on a virtio-fs file, then the VMM dies at once: the data is on the host.
    rm -f "$R/work/dur"
    "$KC" "$R" /bin/sh -c '
        echo -n DURABLE-FS | dd of=/work/dur conv=fsync 2>/dev/null
        echo SYNCED; sleep 300' </dev/null >"$T/out" 2>"$T/err" &
    pid=$!
    i=0
    while ! grep -q SYNCED "$T/out" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$pid"
    watch "$pid" 30
    got=$(cat "$R/work/dur" 2>/dev/null)
    if [ "$got" = DURABLE-FS ]; then ok fs-durability; else bad fs-durability "the host file has '$got'"; fi
    rm -f "$R/work/dur"
fi

if want console-flood-unread; then
    # The workload floods its stdout, a pipe that nobody reads: neither a vCPU
    # nor a device thread may block on it. The shutdown eventfd (after 30 s:
    # boot under emulation takes a while, then 10 s make the reader stalled)
    # still ends the VM, and the output that could not be written is dropped
    # and reported.
    rm -f "$T/unread"
    mkfifo "$T/unread"
    sleep 300 <"$T/unread" &
    reader=$!
    start=$(date +%s)
    "$VMT" --root "$R" --log-level 2 --shutdown-after 30 -- /bin/cat /dev/zero \
        </dev/null >"$T/unread" 2>"$T/err" &
    watch $! 120
    st=$?
    took=$(($(date +%s) - start))
    kill "$reader" 2>/dev/null
    wait "$reader" 2>/dev/null
    rm -f "$T/unread"
    if [ "$st" = 143 ] && [ "$took" -lt 100 ] && grep -q "bytes of output were dropped" "$T/err"; then
        ok console-flood-unread
    else
        bad console-flood-unread "status $st after ${took}s: $(tail -n 3 "$T/err")"
    fi
fi

if want chroot-killed; then
    kc "$R" /bin/sh -c 'kill -KILL $$' </dev/null
    expect chroot-killed 137
fi

if want chroot-init-statuses; then
    # 127 and 126 come from the guest init (krun-chroot's own check is bypassed by vmtest).
    printf 'echo hi\n' >"$R/notexec"
    chmod 0644 "$R/notexec"
    vmr -- /no/such/program
    st127=$st
    vmr -- /notexec
    st126=$st
    if [ "$st127" = 127 ] && [ "$st126" = 126 ]; then ok chroot-init-statuses; else bad chroot-init-statuses "got $st127 and $st126"; fi
    rm -f "$R/notexec"
fi

# Signals sent to the VMM process reach the workload.
for sig in TERM HUP INT; do
    want "chroot-signal-$sig" || continue
    "$KC" "$R" /bin/sh -c "trap 'echo GOT-$sig; exit 7' $sig; echo READY; while :; do sleep 1; done" \
        </dev/null >"$T/out" 2>"$T/err" &
    pid=$!
    i=0
    while ! grep -q READY "$T/out" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
    kill -"$sig" "$pid"
    watch "$pid" 120
    st=$?
    expect "chroot-signal-$sig" 7 "GOT-$sig"
done

if want chroot-env; then
    set --
    i=0
    while [ $i -lt 100 ]; do set -- "$@" --env "VAR$i=value $i with spaces"; i=$((i + 1)); done
    kc "$@" --env 'QUOTED=say "hi" & '\''bye'\''' --env 'UTF8=ünïcødé 日本' "$R" /bin/sh -c \
        'env | grep -c "^VAR"; echo "$VAR42"; echo "$QUOTED"; echo "$UTF8"' </dev/null
    printf '100\nvalue 42 with spaces\nsay "hi" & '\''bye'\''\nünïcødé 日本\n' >"$T/want"
    same chroot-env "$T/want"
fi

if want chroot-args; then
    kc "$R" /bin/sh -c 'for a in "$@"; do echo "[$a]"; done' argv0 plain "with space" 'dq"uote' \
        "sq'uote" "ünïcødé" "" '$HOME *' </dev/null
    printf '[plain]\n[with space]\n[dq"uote]\n[sq'\''uote]\n[ünïcødé]\n[]\n[$HOME *]\n' >"$T/want"
    same chroot-args "$T/want"
fi

if want chroot-many-args; then
    kc "$R" /bin/sh -c 'echo $#' x $(seq 1 1000) </dev/null
    expect chroot-many-args 0 "^1000$"
fi

if want chroot-workdir; then
    kc --workdir /work "$R" /bin/pwd </dev/null
    expect chroot-workdir 0 "^/work$"
fi

if want chroot-rlimits; then
    guarded 120 "$VMT" --root "$R" --rlimit 7=123:456 -- /bin/sh -c 'ulimit -n; ulimit -Hn' </dev/null
    printf '123\n456\n' >"$T/want"
    same chroot-rlimits "$T/want"
fi

if want chroot-uid; then
    printf '{"process":{"args":["/bin/false"],"cwd":"/","user":{"uid":65534,"gid":65534}}}\n' >"$R/.krun_config.json"
    kc "$R" /bin/sh -c 'id -u; id -g' </dev/null
    rm -f "$R/.krun_config.json"
    printf '65534\n65534\n' >"$T/want"
    same chroot-uid "$T/want"
fi

if want chroot-pipes; then
    printf 'cherry\napple\nbanana\n' >"$T/fruit"
    guarded 180 "$KC" "$R" /bin/sort <"$T/fruit"
    printf 'apple\nbanana\ncherry\n' >"$T/want"
    same chroot-pipe-in "$T/want"
    head -c 1048576 /dev/urandom >"$T/big"
    kc "$R" /bin/cat <"$T/big"
    same chroot-pipe-binary-1MiB "$T/big"
    kc "$R" /bin/sh -c 'echo OUT; echo ERR >&2; echo OUT2' </dev/null
    if [ "$st" = 0 ] && [ "$(cat "$T/out")" = "$(printf 'OUT\nOUT2')" ] && grep -qx ERR "$T/err"; then
        ok chroot-streams-apart
    else
        bad chroot-streams-apart "status $st"
    fi
    kc "$R" /bin/sh -c 'cat >/dev/null; echo EOF-SEEN' </dev/null
    expect chroot-stdin-eof 0 EOF-SEEN
fi

if want chroot-tty; then
    guarded 180 "$PTY" --wait-for READY --input "$(printf '\003')" -- "$KC" "$R" /bin/sh -c \
        'trap "echo GOT-INT; exit 9" INT; test -t 0 && test -t 1 && echo ON-A-TTY; echo READY; sleep 60'
    if [ "$st" = 9 ] && grep -q GOT-INT "$T/out" && grep -q ON-A-TTY "$T/out"; then
        ok chroot-tty-ctrl-c
    else
        bad chroot-tty-ctrl-c "status $st"
    fi
fi

if want chroot-console-output; then
    vmr --console-output "$T/console" -- /bin/echo TO-FILE
    if [ "$st" = 0 ] && grep -q TO-FILE "$T/console" && ! grep -q TO-FILE "$T/out"; then
        ok chroot-console-output
    else
        bad chroot-console-output "status $st"
    fi
fi

if want chroot-guest-to-host; then
    W=$R/work/g2h
    rm -rf "$W"
    mkdir -p "$W"
    kc "$R" /bin/sh -ec '
        cd /work/g2h
        echo hello > created
        echo a > app; echo b >> app
        printf 1234567890 > tr; truncate -s 4 tr
        echo r > old; mv old new
        echo l > lsrc; ln lsrc lhard
        ln -s some/target slink
        echo m > cm; chmod 640 cm
        echo o > co; chown 1234:5678 co
        mkdir d1; mkdir d2; rmdir d2
        echo u > un; rm un
        echo x > xa; guest-fsops xattr-set xa user.color blue
        touch fa; guest-fsops falloc fa 1048576
        head -c 65536 /dev/zero | tr "\0" "z" > ph; guest-fsops punch ph 4096 32768
        guest-fsops mmap-write mm 5000 MMAPDATA
        mkdir rd; guest-fsops readdir-check rd 200
        echo DONE' </dev/null
    problems=""
    [ "$st" = 0 ] || problems="$problems status=$st"
    [ "$(cat "$W/created")" = hello ] || problems="$problems create"
    [ "$(cat "$W/app")" = "$(printf 'a\nb')" ] || problems="$problems append"
    [ "$(cat "$W/tr")" = 1234 ] || problems="$problems truncate"
    [ -e "$W/new" ] && [ ! -e "$W/old" ] || problems="$problems rename"
    [ "$(stat -c %i "$W/lsrc")" = "$(stat -c %i "$W/lhard")" ] || problems="$problems link"
    [ "$(readlink "$W/slink")" = some/target ] || problems="$problems symlink"
    [ "$(stat -c %a "$W/cm")" = 640 ] || problems="$problems chmod"
    [ "$(stat -c %u:%g "$W/co")" = 1234:5678 ] || problems="$problems chown"
    [ -d "$W/d1" ] && [ ! -e "$W/d2" ] || problems="$problems mkdir/rmdir"
    [ ! -e "$W/un" ] || problems="$problems unlink"
    [ "$("$FSOPS" xattr-get "$W/xa" user.color)" = blue ] || problems="$problems xattr"
    [ "$(stat -c %s "$W/fa")" = 1048576 ] || problems="$problems fallocate"
    # The punched range reads as zeros and no longer takes space.
    [ "$(dd if="$W/ph" bs=4096 skip=1 count=8 2>/dev/null | tr -d '\0' | wc -c)" = 0 ] &&
        [ "$(dd if="$W/ph" bs=4096 count=1 2>/dev/null | tr -d z | wc -c)" = 0 ] || problems="$problems punch-hole"
    [ "$(dd if="$W/mm" bs=1 skip=5000 count=8 2>/dev/null)" = MMAPDATA ] || problems="$problems mmap"
    grep -q "consistent" "$T/out" || problems="$problems readdir"
    if [ -z "$problems" ]; then ok chroot-guest-to-host; else bad chroot-guest-to-host "wrong:$problems"; fi
fi

if want chroot-host-to-guest; then
    W=$R/work/h2g
    rm -rf "$W"
    mkdir -p "$W"
    echo before >"$W/edit"
    echo 1 >"$W/gone"
    "$KC" "$R" /bin/sh -c '
        cd /work/h2g
        cat edit; touch ready
        n=0; while [ ! -e fromhost ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n+1)); done
        cat fromhost
        n=0; while [ -e gone ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n+1)); done
        [ -e gone ] || echo GONE-SEEN
        n=0; while [ "$(cat edit)" != after ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n+1)); done
        cat edit
        ls renamed-on-host' </dev/null >"$T/out" 2>"$T/err" &
    pid=$!
    i=0
    while [ ! -e "$W/ready" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
    echo from-host >"$W/fromhost"
    rm "$W/gone"
    echo after >"$W/edit"
    mkdir "$W/dir" && mv "$W/dir" "$W/renamed-on-host"
    watch "$pid" 180
    st=$?
    printf 'before\nfrom-host\nGONE-SEEN\nafter\n' >"$T/want"
    if [ "$st" = 0 ] && cmp -s "$T/want" "$T/out"; then ok chroot-host-to-guest; else bad chroot-host-to-guest "status $st"; fi
fi

if want chroot-device-nodes; then
    # A device node the guest makes is an empty regular file on the host that carries
    # a user.krun.dev record (docs/virtio-fs.md, "Device nodes"); the guest sees the
    # node, and opening it reaches the guest kernel's own driver (1:3 is its null).
    W=$R/work/devnodes
    rm -rf "$W"
    mkdir -p "$W"
    kc "$R" /bin/sh -ec '
        cd /work/devnodes
        mknod cdev c 1 3
        mknod bdev b 7 0
        stat -c "%n %F %t:%T" cdev bdev
        ls -ln cdev bdev
        chmod 640 cdev
        stat -c "%n %a" cdev
        echo into-the-guest-null > cdev
        echo "read $(cat cdev | wc -c | tr -d " ")"
        ln cdev clink
        mv bdev bdev2
        stat -c "%n %F %t:%T" clink bdev2
        echo "xattrs:$(guest-fsops xattr-list clink)"
        touch plain
        guest-fsops xattr-set plain trusted.overlay.opaque y 2>/dev/null || echo TRUSTED-REFUSED
        echo DONE' </dev/null
    problems=""
    [ "$st" = 0 ] || problems="$problems status=$st"
    for line in "cdev character special file 1:3" "bdev block special file 7:0" "cdev 640" \
        "read 0" "clink character special file 1:3" "bdev2 block special file 7:0" "xattrs:" \
        TRUSTED-REFUSED DONE; do
        grep -qx "$line" "$T/out" || problems="$problems [$line]"
    done
    grep -q '^c.* 1, *3 .*cdev$' "$T/out" || problems="$problems ls-cdev"
    grep -q '^b.* 7, *0 .*bdev$' "$T/out" || problems="$problems ls-bdev"
    # On the host: empty regular 0600 files, no device anywhere.
    for f in cdev clink bdev2; do
        if [ ! -f "$W/$f" ] || [ -c "$W/$f" ] || [ -b "$W/$f" ] || [ -s "$W/$f" ]; then
            problems="$problems host-$f-not-an-empty-file"
        fi
    done
    [ "$(stat -c %a "$W/cdev" 2>/dev/null)" = 600 ] || problems="$problems host-mode"
    [ "$(stat -c %i "$W/cdev" 2>/dev/null)" = "$(stat -c %i "$W/clink" 2>/dev/null)" ] || problems="$problems host-link"
    [ "$("$FSOPS" xattr-get "$W/cdev" user.krun.dev 2>/dev/null)" = "c 0640 1:3" ] || problems="$problems host-record-c"
    case "$("$FSOPS" xattr-get "$W/bdev2" user.krun.dev 2>/dev/null)" in
    "b 0"???" 7:0") ;;
    *) problems="$problems host-record-b" ;;
    esac
    "$FSOPS" xattr-get "$W/plain" trusted.overlay.opaque >/dev/null 2>&1 && problems="$problems host-trusted"
    if [ -z "$problems" ]; then ok chroot-device-nodes; else bad chroot-device-nodes "wrong:$problems"; fi
fi

if want chroot-read-only; then
    mkdir -p "$R/work/ro/dir"
    echo keep >"$R/work/ro/file"
    before=$(cd "$R" && find . -exec stat -c '%n %s %a %u %Y' {} + | sort | md5sum)
    kc --ro "$R" /bin/guest-fsops ro-check /work/ro </dev/null
    after=$(cd "$R" && find . -exec stat -c '%n %s %a %u %Y' {} + | sort | md5sum)
    if [ "$st" = 0 ] && grep -q "all refused" "$T/out" && [ "$before" = "$after" ]; then
        ok chroot-read-only
    else
        bad chroot-read-only "status $st, tree changed: $([ "$before" = "$after" ] && echo no || echo yes)"
    fi
fi

if want chroot-confinement; then
    echo SECRET >"$T/secret"
    ln -sfn "$T/secret" "$R/work/leak"
    ln -sfn ../../../../../.. "$R/work/up"
    kc "$R" /bin/sh -c 'cat /work/leak 2>/dev/null || echo NO-LEAK; ls /work/up/ | head -50' </dev/null
    if [ "$st" = 0 ] && grep -q NO-LEAK "$T/out" && ! grep -q SECRET "$T/out" && grep -qx work "$T/out"; then
        ok chroot-confinement
    else
        bad chroot-confinement "status $st"
    fi
    rm -f "$R/work/leak" "$R/work/up"
fi

if want chroot-krun-config-oci; then
    R2=$T/root-oci
    "$here/mkrootfs.sh" "$R2"
    cat >"$R2/.krun_config.json" <<'JSON'
{"ociVersion":"1.0.2","process":{"terminal":false,"user":{"uid":0,"gid":0},
 "args":["/bin/sh","-c","echo OCI-OK A=$A; pwd; exit 4"],
 "env":["PATH=/bin:/sbin","A=from-oci"],"cwd":"/tmp"},"hostname":"ocihost"}
JSON
    guarded 120 "$VMT" --root "$R2" --no-workload </dev/null
    if [ "$st" = 4 ] && grep -qx "OCI-OK A=from-oci" "$T/out" && grep -qx /tmp "$T/out"; then
        ok chroot-krun-config-oci
    else
        bad chroot-krun-config-oci "status $st"
    fi
fi

if want chroot-krun-config-docker; then
    R3=$T/root-docker
    "$here/mkrootfs.sh" "$R3"
    cat >"$R3/muvm.json" <<'JSON'
{"Config":{"Entrypoint":["/bin/sh","-c"],"Cmd":["echo DOCKER-OK B=$B; pwd; exit 5"],
 "Env":["B=from-docker"],"WorkingDir":"/etc"}}
JSON
    guarded 120 "$VMT" --root "$R3" --env KRUN_CONFIG=/muvm.json </dev/null
    if [ "$st" = 5 ] && grep -qx "DOCKER-OK B=from-docker" "$T/out" && grep -qx /etc "$T/out"; then
        ok chroot-krun-config-docker
    else
        bad chroot-krun-config-docker "status $st"
    fi
fi

if want chroot-errors; then
    kc /nonexistent/root /bin/true </dev/null
    if [ "$st" = 125 ] && grep -q /nonexistent/root "$T/err"; then ok chroot-missing-root; else bad chroot-missing-root "status $st"; fi
    kc "$R" /no/such/command </dev/null
    if [ "$st" = 127 ] && grep -q /no/such/command "$T/err"; then ok chroot-missing-command; else bad chroot-missing-command "status $st"; fi
    unshare -m sh -c "mount -t tmpfs none /dev && exec $KC $R /bin/true" </dev/null >"$T/out" 2>"$T/err"
    st=$?
    if [ "$st" = 125 ] && grep -q /dev/kvm "$T/err"; then ok chroot-no-kvm; else bad chroot-no-kvm "status $st"; fi
    kc --help </dev/null
    expect chroot-help 0 "Usage: krun-chroot"
fi

# --- The rest of the API through real guests -----------------------------


if want api-volume; then
    mkdir -p "$T/vol" "$T/volro"
    echo from-host >"$T/vol/file"
    echo ro-file >"$T/volro/file"
    kc --volume "$T/vol:data" --volume "$T/volro:rodata:ro" "$R" /bin/sh -c '
        mkdir -p /mnt/v /mnt/r
        mount -t virtiofs data /mnt/v && mount -t virtiofs rodata /mnt/r
        cat /mnt/v/file /mnt/r/file
        echo from-guest > /mnt/v/new
        echo x > /mnt/r/new 2>/dev/null || echo RO-REFUSED' </dev/null
    if [ "$st" = 0 ] && grep -qx from-host "$T/out" && grep -qx ro-file "$T/out" &&
        grep -qx RO-REFUSED "$T/out" && [ "$(cat "$T/vol/new")" = from-guest ] && [ ! -e "$T/volro/new" ]; then
        ok api-volume
    else
        bad api-volume "status $st"
    fi
fi

if want api-own-init; then
    # krun_disable_implicit_init + krun_get_default_init + overlay file and directory.
    vmr --own-init -- /bin/sh -c '[ -d /overlay-dir ] && echo OVERLAY-DIR; [ -e /init.krun ] || echo ONE-SHOT-GONE'
    if [ "$st" = 0 ] && grep -qx OVERLAY-DIR "$T/out" && grep -qx ONE-SHOT-GONE "$T/out"; then
        ok api-own-init
    else
        bad api-own-init "status $st"
    fi
fi

if want api-no-implicit-console; then
    # No console at all: the status still arrives, through the virtio-fs ioctl (upstream's channel).
    vmr --no-implicit-console -- /bin/sh -c 'exit 6'
    expect api-no-implicit-console 6
fi

if want api-console-default; then
    vmr --no-implicit-console --console-default "$T/console2" -- /bin/sh -c 'echo VIA-CONSOLE-DEFAULT'
    if [ "$st" = 0 ] && grep -q VIA-CONSOLE-DEFAULT "$T/console2"; then ok api-console-default; else bad api-console-default "status $st"; fi
fi

if want api-multiport; then
    vmr --port myport="$T/port" -- /bin/sh -c '
        for p in /sys/class/virtio-ports/*; do
            [ "$(cat $p/name)" = myport ] && echo PORT-DATA > /dev/${p##*/}
        done; echo DONE'
    if [ "$st" = 0 ] && grep -qx PORT-DATA "$T/port"; then ok api-multiport; else bad api-multiport "status $st"; fi
fi

if want api-serial-kernel-console; then
    vmr --serial --kernel-console ttyS0 -- /bin/sh -c 'cat /proc/cmdline; echo SERIAL-OUT > /dev/ttyS0'
    if [ "$st" = 0 ] && grep -q "console=ttyS0" "$T/out" && ! grep -q "console=hvc0" "$T/out" &&
        grep -q SERIAL-OUT "$T/err"; then
        ok api-serial-kernel-console
    else
        bad api-serial-kernel-console "status $st"
    fi
fi

if want api-nested-virt; then
    vmr --nested -- /bin/sh -c 'grep -c -w "svm\|vmx" /proc/cpuinfo'
    with=$(head -1 "$T/out")
    vmr -- /bin/sh -c 'grep -c -w "svm\|vmx" /proc/cpuinfo'
    without=$(head -1 "$T/out")
    nested=$(cat /sys/module/kvm_amd/parameters/nested /sys/module/kvm_intel/parameters/nested 2>/dev/null | head -1)
    case "$nested" in 1 | Y) ;; *) with=skip ;; esac
    if [ "$without" = 0 ] && { [ "$with" = skip ] || [ "${with:-0}" -ge 1 ]; }; then
        ok "api-nested-virt (host nested=$nested, guest cpus with svm/vmx: $with)"
    else
        bad api-nested-virt "with $with, without $without"
    fi
fi

if want api-setuid; then
    # As upstream, the VMM drops to uid/gid 65534 once the disk images are
    # open and before the rest of the VM is built: the image (root's, mode
    # 0600) is still served, while /dev/kvm and the shared root must be open
    # to the user (the kvm group makes /dev/kvm so on a distribution), and
    # without CAP_SETUID the files the guest creates belong to that user.
    chmod 0777 "$R/work"
    chmod 0755 "$T"
    printf 'opened-before-the-drop' | dd of="$T/setuid.img" bs=1M count=1 conv=sync 2>/dev/null
    chmod 0600 "$T/setuid.img"
    kvm_mode=$(stat -c %a /dev/kvm)
    chmod 0666 /dev/kvm
    vmr --uid 65534 --gid 65534 --disk "$T/setuid.img" -- \
        /bin/sh -c 'touch /work/made-by-guest; head -c 22 /dev/vda; echo; echo DONE'
    chmod "$kvm_mode" /dev/kvm
    chmod 0700 "$T"
    owner=$(stat -c %u:%g "$R/work/made-by-guest" 2>/dev/null)
    rm -f "$R/work/made-by-guest" "$T/setuid.img"
    chmod 0755 "$R/work"
    if [ "$st" = 0 ] && [ "$owner" = 65534:65534 ] && grep -q '^opened-before-the-drop$' "$T/out"; then
        ok api-setuid
    else
        bad api-setuid "status $st, owner $owner"
    fi
fi

if want api-setuid-no-kvm-access; then
    # Upstream's order has a consequence we keep: /dev/kvm is opened after
    # the drop, so a user who may not open it gets a clear error, not a VM.
    kvm_mode=$(stat -c %a /dev/kvm)
    chmod 0600 /dev/kvm
    vmr --uid 65534 --gid 65534 -- /bin/true
    chmod "$kvm_mode" /dev/kvm
    if [ "$st" != 0 ] && grep -q '/dev/kvm' "$T/err"; then
        ok api-setuid-no-kvm-access
    else
        bad api-setuid-no-kvm-access "status $st"
    fi
fi

if want api-bundle-after-chroot; then
    # crun before 1.21 creates its context inside the container, where there
    # is no libkrunfw.so.5: the library opened the bundle when it was loaded.
    R5=$T/root-container
    "$here/mkrootfs.sh" "$R5"
    mkdir -p "$R5/dev" "$R5/proc"
    mknod "$R5/dev/kvm" c 10 232
    mknod "$R5/dev/null" c 1 3
    mount -t proc proc "$R5/proc"
    guarded 120 "$B/chroot-after-load" "$B/libkrun.so.1" "$R5" </dev/null
    umount "$R5/proc"
    if [ "$st" = 7 ] && [ ! -e "$R5/lib/libkrunfw.so.5" ]; then
        ok api-bundle-after-chroot
    else
        bad api-bundle-after-chroot "status $st, expected the workload's 7"
    fi
fi
