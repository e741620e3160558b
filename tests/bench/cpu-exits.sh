#!/bin/sh
# cpu-exits.sh: exit-handling rates of nethv and of its peer, side by side,
# measured in one invocation by the host's wall clock (`make bench`).
#
#   peer   Debian's Linux 6.1 booted inside the same emulator, Linux KVM as the
#          L1 hypervisor (kvm_amd on QEMU TCG -cpu max, kvm_intel on Bochs
#          corei7_skylake_x), running guest/kvmbench/kvmbench.c: port-I/O exits
#          and MMIO exits (stores to a GPA no memory slot covers) handled in
#          its user space, and hypercalls KVM answers in the kernel.
#   nethv  nethv-test.elf (nethv.elf and its self-tests) with config/bench.dts: one test VM running
#          guest/tests/bench.c: null hypercalls (the kernel's fast path),
#          port-I/O exits to an unclaimed port and MMIO exits (stores to an
#          unclaimed GPA) handled by the per-VM monitor.
#          The monitor runs at CPL 3 (issue 14).  The same boot runs the
#          CPL-3 self-test (selftest=user), whose 20,000 null calls into
#          CPL 3 and back give what one ring-3 round trip costs, in ns and
#          as a share of a monitor exit.
#
# Both sides bracket each loop with BENCH-START/BENCH-END console lines that
# tests/bench/timestamp-lines.py timestamps as they arrive.  One table per
# emulator: nethv rate, peer rate, ratio.  Benchmarks never fail on a number:
# the exit status is non-zero only if a side could not run, and says which.
# The loops: "hypercall", "io" and "mmio", N round trips each.
#
# Env: BUILD (default build); BENCH_EMULATORS (default "qemu bochs");
#      BENCH_SIDES (default "peer nethv");
#      BENCH_PEER_N_QEMU (default 100000) and BENCH_PEER_N_BOCHS (default
#      50000): kvmbench loop sizes; BENCH_NETHV_N (default: the n= of
#      config/bench.dts bootargs) for nethv's guest; BENCH_REPEAT_QEMU (default
#      3) and BENCH_REPEAT_BOCHS (default 1), or BENCH_REPEAT for both: runs
#      per side, interleaved, the best rate counts (shared machines are noisy:
#      compare only figures taken in the same run); BENCH_BOCHS_BOOT (default
#      pvh): how the peer boots under Bochs: "pvh" = GRUB multiboot of
#      guest/kvmbench/pvhboot.c with the uncompressed vmlinux (skips the XZ
#      decompression, about 45 s), "bzimage" = GRUB `linux` with the bzImage.
#      (Run from anywhere: it works in the repository's top directory, and a
#      relative BUILD is taken from there.)
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
EMULATORS=${BENCH_EMULATORS:-qemu bochs}
SIDES=${BENCH_SIDES:-peer nethv}
PEER_N_QEMU=${BENCH_PEER_N_QEMU:-100000}
PEER_N_BOCHS=${BENCH_PEER_N_BOCHS:-50000}
NETHV_N=${BENCH_NETHV_N:-}
REPEAT_qemu=${BENCH_REPEAT_QEMU:-${BENCH_REPEAT:-3}}
REPEAT_bochs=${BENCH_REPEAT_BOCHS:-${BENCH_REPEAT:-1}}
BOCHS_BOOT=${BENCH_BOCHS_BOOT:-pvh}
HERE=$(cd "$(dirname "$0")" && pwd)
TS="python3 $HERE/timestamp-lines.py"
OUT=$BUILD/bench
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
problems=""
problem() { problems="$problems
  - $*"; echo "cpu-exits: $*" >&2; }
now() { date +%s; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# ---- inputs -----------------------------------------------------------------------
build_peer() {
    echo "cpu-exits: building the peer (kvmbench + Linux initramfs)"
    if [ ! -x "$OUT/kvmbench" ] || [ guest/kvmbench/kvmbench.c -nt "$OUT/kvmbench" ]; then
        gcc -static -O2 -Wall -Wextra -o "$OUT/kvmbench" guest/kvmbench/kvmbench.c ||
            { problem "peer: gcc -static kvmbench.c failed"; return 1; }
    fi
    # pvhboot: a Multiboot1 ELF built like the test guests (guest/guest.mk)
    if [ ! -f "$OUT/pvhboot.elf" ] || [ guest/kvmbench/pvhboot.c -nt "$OUT/pvhboot.elf" ] ||
       [ guest/lib/lib.c -nt "$OUT/pvhboot.elf" ]; then
        gcc -m32 -std=gnu11 -O2 -g -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
            -mno-sse -mgeneral-regs-only -fno-asynchronous-unwind-tables -Wall -Wextra -Werror \
            -nostdlib -static -no-pie -Wl,-T,guest/lib/guest.ld -Wl,--build-id=none \
            -z noexecstack -Wl,--no-warn-rwx-segments -o "$OUT/pvhboot.elf" \
            guest/lib/start.S guest/lib/lib.c guest/kvmbench/pvhboot.c ||
            { problem "peer: building pvhboot.elf failed"; return 1; }
    fi
    guest/build-linux-image.sh --vmlinux --module kvm_amd --module kvm_intel \
        --file "$OUT/kvmbench:/bin/kvmbench" \
        --file guest/kvmbench/hook.sh:/etc/nethv.d/50-kvmbench.sh \
        "$BUILD/images/kvmbench" ||
        { problem "peer: guest/build-linux-image.sh failed"; return 1; }
}

# peer_iso OUT.iso CMDLINE: GRUB ISO booting the kvmbench kernel+initrd (Bochs)
peer_iso() {
    d=$(mktemp -d)
    mkdir -p "$d/boot/grub"
    img=$BUILD/images/kvmbench
    if [ "$BOCHS_BOOT" = pvh ]; then
        cp "$OUT/pvhboot.elf" "$img/vmlinux" "$img/initrd.img" "$d/boot/"
        boot="multiboot /boot/pvhboot.elf $2
    module --nounzip /boot/vmlinux
    module --nounzip /boot/initrd.img"
    else
        cp "$img/vmlinuz" "$img/initrd.img" "$d/boot/"
        boot="linux /boot/vmlinuz $2
    initrd /boot/initrd.img"
    fi
    cat > "$d/boot/grub/grub.cfg" <<EOF
set timeout=0
set default=0
serial --unit=0 --speed=115200
terminal_output serial console
menuentry "kvmbench" {
    $boot
}
EOF
    grub-mkrescue -o "$1" "$d" > "$1.log" 2>&1
    rc=$?
    rm -rf "$d"
    [ $rc -eq 0 ] || { problem "peer: grub-mkrescue failed (log: $1.log)"; return 1; }
}

nethv_iso() {
    [ -f "$BUILD/nethv-test.elf" ] || { problem "nethv: $BUILD/nethv-test.elf missing (make all)"; return 1; }
    [ -f "$BUILD/guest/bench.elf" ] || { problem "nethv: $BUILD/guest/bench.elf missing (make guests)"; return 1; }
    dtb=$BUILD/config/bench.dtb
    if [ -n "$NETHV_N" ]; then
        dtb=$OUT/bench-n$NETHV_N.dtb
        sed "s/bootargs = \"n=[0-9]*\"/bootargs = \"n=$NETHV_N\"/" config/bench.dts |
            dtc -q -I dts -O dtb -o "$dtb" - || { problem "nethv: dtc failed"; return 1; }
    fi
    [ -f "$dtb" ] || { problem "nethv: $dtb missing (make configs)"; return 1; }
    scripts/mkiso.sh "$OUT/nethv-bench.iso" "$BUILD/nethv-test.elf" "exit=poweroff selftest=user" \
        "$dtb:config.dtb" "$BUILD/guest/bench.elf" || { problem "nethv: mkiso failed"; return 1; }
}

# ---- runs ---------------------------------------------------------------------------
# Each run: CONSOLE-STREAM | timestamp-lines.py > $OUT/NAME.ts, raw log in
# $OUT/NAME.log, the emulator's status in $OUT/NAME.rc.
# result NAME BENCH: the best rate of BENCH in the runs NAME[-k] ("" if none)
result() {
    cat "$OUT/$1".ts "$OUT/$1"-[0-9]*.ts 2>/dev/null |
        awk -v b="$2" '$1 == "RESULT" && $2 == b && (best == "" || $5 + 0 > best + 0) { best = $5 } END { print best }'
}

run_qemu_peer() {
    name=qemu-peer-$1
    args="console=ttyS0 quiet nethv.poweroff nethv.nomodules kvmbench.io=$PEER_N_QEMU kvmbench.hc=$PEER_N_QEMU kvmbench.mmio=$PEER_N_QEMU"
    echo "cpu-exits: $name: Linux KVM (kvm_amd) under QEMU TCG -cpu max, N=$PEER_N_QEMU (load $(loadavg))"
    t=$(now)
    { timeout 300 qemu-system-x86_64 -accel tcg -cpu max -smp 1 -m 1G -no-reboot \
          -display none -monitor none -nic none -serial stdio \
          -kernel "$BUILD/images/kvmbench/vmlinuz" -initrd "$BUILD/images/kvmbench/initrd.img" \
          -append "$args" < /dev/null 2> "$OUT/$name.stderr"
      echo $? > "$OUT/$name.rc"; } |
        $TS --log "$OUT/$name.log" --label "  $name: " --expect io,hypercall,mmio > "$OUT/$name.ts"
    grep -v '^RESULT' "$OUT/$name.ts"
    grep -a '^kvmbench: \(io\|hypercall\|mmio\) ' "$OUT/$name.log" | tr -d '\r' | sed 's/^/  guest clock: /'
    echo "  ($(( $(now) - t )) s)"
    check_peer "$name" "${name%-*}"
}

run_bochs_peer() {
    name=bochs-peer-$1
    args="console=ttyS0 quiet nethv.poweroff nethv.nomodules kvmbench.io=$PEER_N_BOCHS kvmbench.hc=$PEER_N_BOCHS kvmbench.mmio=$PEER_N_BOCHS"
    peer_iso "$OUT/$name.iso" "$args" || return 1
    cat > "$OUT/$name.bochsrc" <<EOF
cpu: model=corei7_skylake_x, count=1, ips=100000000, reset_on_triple_fault=0
memory: guest=512, host=512
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
ata0-master: type=cdrom, path=$OUT/$name.iso, status=inserted
boot: cdrom
display_library: sdl2
plugin_ctrl: speaker=0, sb16=0, es1370=0
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
port_e9_hack: enabled=1
com1: enabled=1, mode=file, dev=/dev/stdout
clock: sync=none
log: $OUT/$name.bochslog
panic: action=fatal
error: action=report
EOF
    echo "cpu-exits: $name: Linux KVM (kvm_intel) under Bochs corei7_skylake_x, N=$PEER_N_BOCHS (load $(loadavg); $BOCHS_BOOT boot, about 1-1.5 min)"
    t=$(now)
    { echo c | SDL_VIDEODRIVER=dummy timeout 420 bochs -q -f "$OUT/$name.bochsrc" 2> "$OUT/$name.stderr"
      echo $? > "$OUT/$name.rc"; } |
        $TS --log "$OUT/$name.log" --label "  $name: " --expect io,hypercall,mmio > "$OUT/$name.ts"
    grep -v '^RESULT' "$OUT/$name.ts"
    echo "  ($(( $(now) - t )) s; guest clocks do not follow wall time under Bochs)"
    check_peer "$name" "${name%-*}"
}

check_peer() {   # check_peer RUN SIDE
    [ -n "$(result "$2" io)" ] && [ -n "$(result "$2" hypercall)" ] &&
        [ -n "$(result "$2" mmio)" ] && return 0
    rc=$(cat "$OUT/$1.rc" 2>/dev/null)
    why=$(grep -a -m1 'kvmbench: error' "$OUT/$1.log" | tr -d '\r')
    [ -n "$why" ] || { [ "$rc" = 124 ] && why="timed out"; }
    [ -n "$why" ] || why="no result; last line: $(tr -d '\r' < "$OUT/$1.log" | grep -v '^$' | tail -1)"
    problem "$1: $why (log: $OUT/$1.log)"
}

run_qemu_nethv() {   # run_qemu_nethv K
    side=nethv
    name=qemu-$side-$1
    echo "cpu-exits: $name: nethv under QEMU TCG -cpu max (SVM), one CPU (load $(loadavg))"
    t=$(now)
    { timeout 180 qemu-system-x86_64 -accel tcg -cpu max -smp 1 -m 1G -no-reboot \
          -display none -monitor none -serial stdio \
          -device isa-debug-exit,iobase=0xf4,iosize=4 -cdrom "$OUT/$side-bench.iso" -boot d \
          < /dev/null 2> "$OUT/$name.stderr"
      echo $? > "$OUT/$name.rc"; } |
        $TS --log "$OUT/$name.log" --label "  $name: " --expect hypercall,io,mmio > "$OUT/$name.ts"
    grep -v '^RESULT' "$OUT/$name.ts"
    echo "  ($(( $(now) - t )) s)"
    check_nethv "$name" "${name%-*}"
}

run_bochs_nethv() {   # run_bochs_nethv K
    side=nethv
    name=bochs-$side-$1
    cat > "$OUT/$name.bochsrc" <<EOF
cpu: model=tigerlake, count=1, ips=100000000, reset_on_triple_fault=0
memory: guest=256, host=256
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
ata0-master: type=cdrom, path=$OUT/$side-bench.iso, status=inserted
boot: cdrom
display_library: sdl2
plugin_ctrl: speaker=0, sb16=0, es1370=0
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
port_e9_hack: enabled=1
com1: enabled=1, mode=file, dev=$OUT/$name.com1
clock: sync=none
log: $OUT/$name.bochslog
panic: action=fatal
error: action=report
EOF
    echo "cpu-exits: $name: nethv under Bochs tigerlake (VMX), one CPU (load $(loadavg))"
    t=$(now)
    { echo c | SDL_VIDEODRIVER=dummy timeout 300 bochs -q -f "$OUT/$name.bochsrc" 2> "$OUT/$name.stderr"
      echo $? > "$OUT/$name.rc"; } |
        $TS --log "$OUT/$name.log" --label "  $name: " --expect hypercall,io,mmio > "$OUT/$name.ts"
    grep -v '^RESULT' "$OUT/$name.ts"
    echo "  ($(( $(now) - t )) s)"
    check_nethv "$name" "${name%-*}"
}

check_nethv() {  # check_nethv RUN SIDE
    [ -n "$(result "$2" io)" ] && [ -n "$(result "$2" hypercall)" ] &&
        [ -n "$(result "$2" mmio)" ] && return 0
    clean=$(tr -d '\r' < "$OUT/$1.log")
    rc=$(cat "$OUT/$1.rc" 2>/dev/null)
    why=$(echo "$clean" | grep -a -m1 -A1 'PANIC' | tr '\n' ' ')
    [ -n "$why" ] || why=$(echo "$clean" | grep -a -m1 -E '^vm bench: stopped|FAIL|^vcpu: .*backend none')
    [ -n "$why" ] || { [ "$rc" = 124 ] && why="timed out"; }
    [ -n "$why" ] || why="no result; last line: $(echo "$clean" | grep -v '^$' | tail -1)"
    problem "$1: $why (log: $OUT/$1.log)"
}

# ---- table ---------------------------------------------------------------------------
table() {   # table EMULATOR TITLE
    e=$1
    eval "repeat=\$REPEAT_$e"
    echo
    echo "== $2 =="
    [ "$repeat" -le 1 ] || echo "   (best of $repeat interleaved runs per side)"
    printf '  %-38s %14s %14s %10s\n' "exit round trip" "nethv /s" "peer /s" "nethv/peer"
    row "null hypercall (peer: in-kernel)" "$(result "$e-nethv" hypercall)" "$(result "$e-peer" hypercall)"
    row "port-I/O exit (peer: to user space)" "$(result "$e-nethv" io)" "$(result "$e-peer" io)"
    row "MMIO exit (peer: to user space)" "$(result "$e-nethv" mmio)" "$(result "$e-peer" mmio)"
    # the fastest average of the self-test's null round trips in these runs
    rt=$(cat "$OUT/$e"-nethv-[0-9]*.log 2>/dev/null | tr -d '\r' |
         sed -n 's/^user-selftest: [0-9]* round trips into CPL 3 and back: \([0-9]*\) ns each.*/\1/p' | sort -n | head -1)
    awk -v rt="$rt" -v u="$(result "$e-nethv" io)" 'BEGIN {
        if (rt > 0 && u > 0)
            printf "  one ring-3 round trip (a null call into the monitor and back): %.0f ns, %.0f%% of a monitor exit (%.0f ns)\n",
                rt, rt * 100 / (1e9 / u), 1e9 / u
        else
            print "  one ring-3 round trip: no figure (no user-selftest line)" }'
    # guest memory from CPL 3, both ways (the self-test), and the monitor's memory
    cat "$OUT/$e"-nethv-[0-9]*.log 2>/dev/null | tr -d '\r' |
        sed -n 's/^user-selftest: \([0-9]* reads of 64 bytes of guest memory from CPL 3: .*\)/  \1/p' | head -1
    cat "$OUT/$e"-nethv-[0-9]*.log 2>/dev/null | tr -d '\r' |
        sed -n 's/^vm bench: monitor at CPL 3: \(.*\)/  monitor memory per VM: \1/p' | head -1
}
row() {
    printf '  %-38s %14s %14s %10s\n' "$1" "${2:--}" "${3:--}" \
        "$(awk -v a="$2" -v b="$3" 'BEGIN { if (a != "" && b != "" && b > 0) printf "%.2fx", a / b; else print "-" }')"
}

# ---- main ----------------------------------------------------------------------------
for e in $EMULATORS; do
    case $e in qemu|bochs) ;; *) echo "cpu-exits: unknown emulator $e (qemu, bochs)" >&2; exit 2 ;; esac
done
peer_ok=0; nethv_ok=0
case " $SIDES " in *" peer "*) build_peer && peer_ok=1 ;; esac
case " $SIDES " in *" nethv "*) nethv_iso && nethv_ok=1 ;; esac
for e in $EMULATORS; do
    rm -f "$OUT/$e"-peer*.ts "$OUT/$e"-nethv*.ts
    k=1
    eval "repeat=\$REPEAT_$e"
    while [ $k -le "$repeat" ]; do
        [ $peer_ok = 1 ] && run_${e}_peer $k
        [ $nethv_ok = 1 ] && run_${e}_nethv $k
        k=$((k + 1))
    done
done
for e in $EMULATORS; do
    case $e in
    qemu)  table qemu "QEMU 7.2 TCG -cpu max (SVM with NPT): nethv vs Linux 6.1 KVM (kvm_amd)" ;;
    bochs) table bochs "Bochs 2.7 (VMX with EPT): nethv on tigerlake vs Linux 6.1 KVM (kvm_intel) on corei7_skylake_x" ;;
    esac
done
echo
echo "(rates by the host's wall clock between console markers; logs in $OUT/)"
if [ -n "$problems" ]; then
    echo "cpu-exits: could not run:$problems"
    exit 1
fi
exit 0
