#!/bin/sh
# boot-time.sh: how long a stock Linux guest takes to boot to its /init under
# nethv, next to QEMU booting it directly and to the peer, measured in one
# invocation by the host's wall clock (`make bench`).
#
# The guest, the same for all three: Debian's 6.1 bzImage and the busybox
# initramfs of guest/build-linux-image.sh ($BUILD/images), 256 MiB, 1 vCPU,
# command line "console=ttyS0 quiet no_timer_check nethv.nomodules
# nethv.poweroff" (BENCH_BOOT_ARGS replaces it).  no_timer_check: nethv's PC
# model needed it when this was written (its PIT raised no IRQ 0); all three
# get it so that they run the same kernel code.  quiet as in the peer's
# reference figures: every console byte is an exit, and under the nested peer
# its L2 kernel also prints an XSAVE-size WARN with a register dump that costs
# it seconds.
#   nethv   nethv.elf from a GRUB ISO, config/linux1.dts with the command line
#           above (one Linux VM on CPU 0)
#   direct  QEMU itself booting the bzImage (-kernel/-initrd/-append)
#   peer    Linux KVM as the L1 hypervisor: Debian's 6.1 kernel booted inside
#           the same emulator with kvm_amd (QEMU TCG -cpu max) or kvm_intel
#           (Bochs corei7_skylake_x), and Debian's QEMU (the host's
#           qemu-system-x86_64 with the shared libraries ldd lists, and its
#           firmware, in the L1 initramfs) running the guest with -accel kvm
#           (guest/kvmbench/l2boot.sh)
#
# All three run in the same emulator; every console line is stamped by the
# host's clock as it arrives (tests/bench/line-times.py; guest clocks are never
# used).  Figures, per side:
#   start -> init     from the guest's start to its "nethv-guest: init" line.
#                     Guest start: nethv: its "nethv: boot complete" line
#                     (hypervisor up; next it creates the VM: RAM, loading the
#                     kernel, boot_params); direct: QEMU's process start
#                     (QEMU set-up, SeaBIOS, the fw_cfg kernel load); peer: the
#                     L1 hook's "l2boot: start" line, printed right before L1
#                     runs qemu-system-x86_64 (QEMU start-up in L1, SeaBIOS ...;
#                     the run's line shows how long a bare `qemu-system-x86_64
#                     -version` takes in L1, i.e. loading QEMU and its libraries)
# With BENCH_BOOT_VERBOSE=1 the command line has loglevel=6 instead of quiet
# (KERN_NOTICE and worse reach the console, "Linux version" among them) and two
# more rows split that time (console output then weighs in, see above):
#   kernel -> init    from the guest kernel's first console line ("Linux
#                     version", printed when its serial console registers,
#                     after decompression and early set-up) to init
#   start -> kernel   the rest: loader, firmware, decompression, early set-up
# The ratios are of times: nethv/direct and nethv/peer, < 1 = nethv faster.
# Each side runs BENCH_BOOT_REPEAT times (interleaved), the fastest run counts;
# the emulator is stopped once init is seen (power-off is not measured).
# Benchmarks never fail on a number: the exit status is non-zero only if a
# side could not run, and says which.
#
# Env: BUILD (default build); BENCH_BOOT_REPEAT (default 2 under QEMU, 1
#      under Bochs); BENCH_BOOT_SIDES (default "nethv direct peer");
#      BENCH_BOCHS=1 also runs the three under Bochs (slow: about 10 minutes
#      on a quiet machine, 25 on a busy one), all on cpu model
#      corei7_skylake_x (VMX; the model tests/boot/bochs-linux.sh boots Linux
#      on): nethv from the same ISO; direct: GRUB `linux`/`initrd` (its start
#      is GRUB's "Booting" line, so GRUB's BIOS-disk loading of the kernel and
#      initramfs counts); peer: the L1 Linux boots through
#      guest/kvmbench/pvhboot.c from GRUB (skips its XZ decompression), the
#      guest itself is always the bzImage; BENCH_BOOT_EMULATORS ("qemu",
#      "bochs" or both) overrides BENCH_BOCHS; BENCH_BOOT_VERBOSE=1 and
#      BENCH_BOOT_ARGS: see above.  (Run from anywhere: a relative BUILD is
#      taken from the repository's top directory.)
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
SIDES=${BENCH_BOOT_SIDES:-nethv direct peer}
EMULATORS=qemu
[ "${BENCH_BOCHS:-0}" = 1 ] && EMULATORS="qemu bochs"
EMULATORS=${BENCH_BOOT_EMULATORS:-$EMULATORS}
REPEAT_qemu=${BENCH_BOOT_REPEAT:-2}
REPEAT_bochs=${BENCH_BOOT_REPEAT:-1}
HERE=$(cd "$(dirname "$0")" && pwd)
LT="python3 $HERE/line-times.py"
OUT=$BUILD/bench/boot
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
IMG=$BUILD/images
VERBOSE=${BENCH_BOOT_VERBOSE:-0}
GUEST_CMDLINE="console=ttyS0 quiet no_timer_check nethv.nomodules nethv.poweroff"
[ "$VERBOSE" = 1 ] && GUEST_CMDLINE="console=ttyS0 loglevel=6 no_timer_check nethv.nomodules nethv.poweroff"
GUEST_CMDLINE=${BENCH_BOOT_ARGS:-$GUEST_CMDLINE}
GUEST_MIB=256
BENCH=boot-time
. "$HERE/lib.sh"           # problem, loadavg, put, build_l1_image

# ---- inputs -------------------------------------------------------------------------
# The guest's initramfs goes to every side uncompressed ($OUT/initrd.cpio):
# GRUB's module2 unpacks gzip'd modules, so nethv's VM gets the plain cpio;
# direct and peer get the same bytes.
build_guest() {
    guest/build-linux-image.sh "$IMG" > "$OUT/images.log" 2>&1 ||
        { problem "guest/build-linux-image.sh $IMG failed (log: $OUT/images.log)"; return 1; }
    [ "$OUT/initrd.cpio" -nt "$IMG/initrd.img" ] && return 0
    gzip -dc "$IMG/initrd.img" > "$OUT/initrd.cpio.tmp" && mv "$OUT/initrd.cpio.tmp" "$OUT/initrd.cpio" ||
        { problem "gunzip $IMG/initrd.img failed"; return 1; }
}

# nethv_iso: config/linux1.dts with the guest command line above, on a GRUB
# ISO with nethv.elf and the guest images (used under both emulators)
nethv_iso() {
    [ -f "$BUILD/nethv.elf" ] || { problem "nethv: $BUILD/nethv.elf missing (make all)"; return 1; }
    dts=config/linux1.dts
    sed "s|bootargs = \"[^\"]*\"|bootargs = \"$GUEST_CMDLINE\"|" "$dts" |
        dtc -q -I dts -O dtb -o "$OUT/linux1-boot.dtb" - || { problem "nethv: dtc $dts failed"; return 1; }
    scripts/mkiso.sh "$OUT/nethv-boot.iso" "$BUILD/nethv.elf" "exit=poweroff" \
        "$OUT/linux1-boot.dtb:config.dtb" "$IMG/vmlinuz" "$IMG/initrd.img" > "$OUT/mkiso.log" 2>&1 ||
        { problem "nethv: mkiso failed (log: $OUT/mkiso.log)"; return 1; }
}

# The peer's L1 image ($IMG/l2boot, tests/bench/lib.sh) with its
# vmlinux (for pvhboot), the hook guest/kvmbench/l2boot.sh and the guest
# (kernel, initramfs, command line, memory) under /l2; L1 itself boots with
# "console=ttyS0 quiet nethv.nomodules" on 1 GiB.
build_peer() {
    put "$OUT/l2-cmdline" "$GUEST_CMDLINE"
    put "$OUT/l2-memory" "$GUEST_MIB"
    build_l1_image "$IMG/l2boot" "$OUT/peer-image.log" --vmlinux \
        --file guest/kvmbench/l2boot.sh:/etc/nethv.d/50-l2boot.sh \
        --file "$IMG/vmlinuz:/l2/vmlinuz" --file "$OUT/initrd.cpio:/l2/initrd.img" \
        --file "$OUT/l2-cmdline:/l2/cmdline" --file "$OUT/l2-memory:/l2/memory"
}

# pvhboot.elf: the Multiboot1 loader of the peer's L1 kernel under Bochs
# (built like cpu-exits.sh does)
build_pvhboot() {
    [ -f "$OUT/pvhboot.elf" ] && [ "$OUT/pvhboot.elf" -nt guest/kvmbench/pvhboot.c ] &&
        [ "$OUT/pvhboot.elf" -nt guest/lib/lib.c ] && return 0
    gcc -m32 -std=gnu11 -O2 -g -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
        -mno-sse -mgeneral-regs-only -fno-asynchronous-unwind-tables -Wall -Wextra -Werror \
        -nostdlib -static -no-pie -Wl,-T,guest/lib/guest.ld -Wl,--build-id=none \
        -z noexecstack -Wl,--no-warn-rwx-segments -o "$OUT/pvhboot.elf" \
        guest/lib/start.S guest/lib/lib.c guest/kvmbench/pvhboot.c ||
        { problem "peer: building pvhboot.elf failed"; return 1; }
}

# grub_iso OUT.iso ENTRY...: a GRUB BIOS ISO (serial console) whose boot entry
# is ENTRY (lines); the files to put in /boot come in $iso_files
grub_iso() {
    iso=$1; shift
    d=$(mktemp -d)
    mkdir -p "$d/boot/grub"
    for f in $iso_files; do cp "$f" "$d/boot/" || { rm -rf "$d"; return 1; }; done
    {
        echo "set timeout=0"
        echo "set default=0"
        echo "serial --unit=0 --speed=115200"
        echo "terminal_output serial console"
        echo "menuentry boot {"
        for l in "$@"; do echo "    $l"; done
        echo "}"
    } > "$d/boot/grub/grub.cfg"
    grub-mkrescue -o "$iso" "$d" > "$iso.log" 2>&1
    rc=$?
    rm -rf "$d"
    [ $rc -eq 0 ] || problem "grub-mkrescue $iso failed (log: $iso.log)"
    return $rc
}

# ---- runs ---------------------------------------------------------------------------
# Each run: $OUT/NAME.log (raw console), NAME.lines (stamped lines), NAME.marks
# (line-times.py's MARK/STATUS lines).  The marks: start (absent = the
# emulator's start, t = 0), kernel (optional: only a verbose console prints
# it), init; and for the run's line only: created (nethv's VM set up), probe
# and probed (the peer's `qemu-system-x86_64 -version` in L1).
# timed NAME TIMEOUT [line-times options] -- COMMAND...
timed() {
    name=$1; to=$2; shift 2
    $LT --log "$OUT/$name.log" --lines "$OUT/$name.lines" --until init --timeout "$to" "$@" \
        > "$OUT/$name.marks" 2> "$OUT/$name.stderr"
    summary "$name"
}
mark() { awk -v m="$2" '$1 == "MARK" && $2 == m { print $3 }' "$OUT/$1.marks" 2>/dev/null; }
summary() {
    ms=$(mark "$1" start); [ -n "$ms" ] || ms=0
    awk -v n="$1" -v s="$ms" -v k="$(mark "$1" kernel)" -v i="$(mark "$1" init)" -v c="$(mark "$1" created)" \
        -v p="$(mark "$1" probe)" -v q="$(mark "$1" probed)" \
        -v st="$(awk '$1 == "STATUS" { print $2 }' "$OUT/$1.marks")" 'BEGIN {
        if (s == "-" || i == "-" || i == "") { printf "  %s: init not reached (start %s, init %s; status %s)\n", n, s, i, st; exit }
        printf "  %s: start -> init %.2f s", n, i - s
        if (c != "" && c != "-") printf " (VM created after %.2f s)", c - s
        if (p != "" && p != "-" && q != "" && q != "-") printf " (qemu-system-x86_64 -version in L1: %.2f s)", q - p
        if (k != "" && k != "-") printf " (start -> kernel %.2f s, kernel -> init %.2f s)", k - s, i - k
        printf "; start at +%.1f s\n", s }'
}

# why NAME: the first sign of trouble in a run's log
why() {
    clean=$(tr -d '\r' < "$OUT/$1.log" 2>/dev/null)
    w=$(echo "$clean" | grep -a -m1 -A1 'PANIC' | tr '\n' ' ')
    [ -n "$w" ] || w=$(echo "$clean" | grep -a -m1 -E 'l2boot: error|Kernel panic|^vm a: (stopped|not started)|qemu-system-x86_64: ')
    [ -n "$w" ] || { grep -q '^STATUS timeout' "$OUT/$1.marks" 2>/dev/null && w="timed out"; }
    [ -n "$w" ] || w="last line: $(echo "$clean" | grep -v '^$' | tail -1)"
    echo "$w"
}
check() {   # check NAME: a problem unless the run reached init
    [ -n "$(mark "$1" init)" ] && [ "$(mark "$1" init)" != - ] && return 0
    problem "$1: did not reach the guest's init: $(why "$1") (log: $OUT/$1.log)"
}

run_qemu_nethv() {
    name=qemu-nethv-$1
    echo "boot-time: $name: nethv under QEMU TCG -cpu max (SVM) (load $(loadavg))"
    timed "$name" 300 --mark 'start=^nethv: boot complete' --mark 'created?=^vm a: created' \
        --mark 'kernel?=^\[a\] .*Linux version' --mark 'init=^\[a\] nethv-guest: init' -- \
        qemu-system-x86_64 -accel tcg -cpu max -smp 1 -m 1G -no-reboot \
        -display none -monitor none -serial stdio \
        -device isa-debug-exit,iobase=0xf4,iosize=4 -cdrom "$OUT/nethv-boot.iso" -boot d
    check "$name"
}

run_qemu_direct() {
    name=qemu-direct-$1
    echo "boot-time: $name: QEMU TCG -cpu max booting the guest itself (load $(loadavg))"
    timed "$name" 300 --mark 'kernel?=Linux version' --mark 'init=nethv-guest: init' -- \
        qemu-system-x86_64 -accel tcg -cpu max -smp 1 -m ${GUEST_MIB}M -no-reboot \
        -display none -monitor none -nic none -serial stdio \
        -kernel "$IMG/vmlinuz" -initrd "$OUT/initrd.cpio" -append "$GUEST_CMDLINE"
    check "$name"
}

run_qemu_peer() {
    name=qemu-peer-$1
    echo "boot-time: $name: Linux KVM (kvm_amd) + Debian's QEMU in L1 under QEMU TCG -cpu max (load $(loadavg))"
    timed "$name" 400 --mark 'probe?=^l2boot: probe$' --mark 'probed?=^l2boot: probed' \
        --mark 'start=^l2boot: start' --mark 'kernel?=Linux version' \
        --mark 'init=nethv-guest: init' -- \
        qemu-system-x86_64 -accel tcg -cpu max -smp 1 -m 1G -no-reboot \
        -display none -monitor none -nic none -serial stdio \
        -kernel "$IMG/l2boot/vmlinuz" -initrd "$IMG/l2boot/initrd.img" \
        -append "console=ttyS0 quiet nethv.nomodules"
    check "$name"
}

# bochsrc NAME MODEL MIB ISO COM1: COM1 to the file COM1 (nethv, which echoes
# its console to port 0xE9, i.e. Bochs' stdout) or to stdout (Linux, GRUB)
bochsrc() {
    cat > "$OUT/$1.bochsrc" <<EOF
cpu: model=$2, count=1, ips=100000000, reset_on_triple_fault=0
memory: guest=$3, host=$3
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
ata0-master: type=cdrom, path=$4, status=inserted
boot: cdrom
display_library: sdl2
plugin_ctrl: speaker=0, sb16=0, es1370=0
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
port_e9_hack: enabled=1
com1: enabled=1, mode=file, dev=$5
clock: sync=none
log: $OUT/$1.bochslog
panic: action=fatal
error: action=report
EOF
}
bochs_timed() {  # bochs_timed NAME TIMEOUT MARKS...
    n=$1; t=$2; shift 2
    export SDL_VIDEODRIVER=dummy
    timed "$n" "$t" --stdin c "$@" -- bochs -q -f "$OUT/$n.bochsrc"
}

run_bochs_nethv() {
    name=bochs-nethv-$1
    bochsrc "$name" corei7_skylake_x 512 "$OUT/nethv-boot.iso" "$OUT/$name.com1"
    echo "boot-time: $name: nethv under Bochs corei7_skylake_x (VMX) (load $(loadavg); a few minutes)"
    bochs_timed "$name" 900 --mark 'start=^nethv: boot complete' --mark 'created?=^vm a: created' \
        --mark 'kernel?=^\[a\] .*Linux version' --mark 'init=^\[a\] nethv-guest: init'
    check "$name"
}

run_bochs_direct() {
    name=bochs-direct-$1
    bochsrc "$name" corei7_skylake_x 512 "$OUT/direct-boot.iso" /dev/stdout
    echo "boot-time: $name: Bochs corei7_skylake_x booting the guest itself (GRUB linux/initrd) (load $(loadavg))"
    bochs_timed "$name" 600 --mark 'start=Booting .boot' --mark 'kernel?=Linux version' \
        --mark 'init=nethv-guest: init'
    check "$name"
}

run_bochs_peer() {
    name=bochs-peer-$1
    bochsrc "$name" corei7_skylake_x 1024 "$OUT/peer-boot.iso" /dev/stdout
    echo "boot-time: $name: Linux KVM (kvm_intel) + Debian's QEMU in L1 under Bochs corei7_skylake_x (load $(loadavg); several minutes)"
    bochs_timed "$name" 1500 --mark 'probe?=^l2boot: probe$' --mark 'probed?=^l2boot: probed' \
        --mark 'start=^l2boot: start' --mark 'kernel?=Linux version' \
        --mark 'init=nethv-guest: init'
    check "$name"
}

# ---- table ---------------------------------------------------------------------------
# best EMULATOR SIDE FIGURE: the smallest value of FIGURE over the runs
best() {
    for f in "$OUT/$1-$2"-[0-9]*.marks; do
        [ -f "$f" ] || continue
        r=$(basename "$f" .marks)
        ms=$(mark "$r" start); [ -n "$ms" ] || ms=0
        mk=$(mark "$r" kernel); [ -n "$mk" ] || mk=-
        echo "$ms $mk $(mark "$r" init)"
    done | awk -v f="$3" 'NF == 3 && $1 != "-" && $3 != "-" && (f == "total" || $2 != "-") {
        v = f == "total" ? $3 - $1 : f == "kernel" ? $3 - $2 : $2 - $1
        if (b == "" || v < b) b = v }
        END { if (b != "") printf "%.2f", b }'
}
row() {  # row LABEL EMULATOR FIGURE
    nv=$(best "$2" nethv "$3"); dv=$(best "$2" direct "$3"); pv=$(best "$2" peer "$3")
    printf '  %-22s %9s %9s %9s %13s %11s\n' "$1" "${nv:--}" "${dv:--}" "${pv:--}" \
        "$(ratio "$nv" "$dv")" "$(ratio "$nv" "$pv")"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "" && b > 0) printf "%.2fx", a / b; else print "-" }'; }
table() {  # table EMULATOR TITLE
    eval "repeat=\$REPEAT_$1"
    echo
    echo "== $2 =="
    [ "$repeat" -le 1 ] || echo "   (fastest of $repeat interleaved runs per side)"
    printf '  %-22s %9s %9s %9s %13s %11s\n' "seconds, wall" "nethv" "direct" "peer" "nethv/direct" "nethv/peer"
    row "start -> init" "$1" total
    if [ "$VERBOSE" = 1 ]; then
        row "  start -> kernel" "$1" early
        row "  kernel -> init" "$1" kernel
    fi
}

# ---- main ----------------------------------------------------------------------------
ok_nethv=0; ok_direct=0; ok_peer=0
build_guest && {
    case " $SIDES " in *" nethv "*) nethv_iso && ok_nethv=1 ;; esac
    case " $SIDES " in *" direct "*) ok_direct=1 ;; esac
    case " $SIDES " in *" peer "*) build_peer && ok_peer=1 ;; esac
}
case " $EMULATORS " in *" bochs "*)
    if [ $ok_direct = 1 ]; then
        iso_files="$IMG/vmlinuz $OUT/initrd.cpio" grub_iso "$OUT/direct-boot.iso" \
            "linux /boot/vmlinuz $GUEST_CMDLINE" "initrd /boot/initrd.cpio" || ok_direct=0
    fi
    if [ $ok_peer = 1 ]; then
        build_pvhboot && iso_files="$OUT/pvhboot.elf $IMG/l2boot/vmlinux $IMG/l2boot/initrd.img" \
            grub_iso "$OUT/peer-boot.iso" "multiboot /boot/pvhboot.elf console=ttyS0 quiet nethv.nomodules" \
            "module --nounzip /boot/vmlinux" "module --nounzip /boot/initrd.img" || ok_peer=0
    fi ;;
esac
for e in $EMULATORS; do
    rm -f "$OUT/$e"-*.marks
    eval "repeat=\$REPEAT_$e"
    k=1
    while [ $k -le "$repeat" ]; do
        [ $ok_nethv = 1 ] && run_${e}_nethv $k
        [ $ok_direct = 1 ] && run_${e}_direct $k
        [ $ok_peer = 1 ] && run_${e}_peer $k
        k=$((k + 1))
    done
done
for e in $EMULATORS; do
    case $e in
    qemu)  table qemu "Linux guest boot, QEMU 7.2 TCG -cpu max: nethv (SVM) vs QEMU direct vs Linux 6.1 KVM (kvm_amd) + QEMU 7.2 in L1" ;;
    bochs) table bochs "Linux guest boot, Bochs 2.7 corei7_skylake_x: nethv (VMX) vs Bochs direct vs Linux 6.1 KVM (kvm_intel) + QEMU 7.2 in L1" ;;
    esac
done
echo
echo "(host wall clock between console lines; start: nethv \"nethv: boot complete\", direct the"
echo " emulator's start (Bochs: GRUB's \"Booting\"), peer L1's \"l2boot: start\" before it runs QEMU;"
[ "$VERBOSE" = 1 ] && echo " kernel: the guest's \"Linux version\" line;"
echo " init: the guest's \"nethv-guest: init\"; guest command line \"$GUEST_CMDLINE\";"
echo " ratios < 1: nethv faster; logs in $OUT/)"
if [ -n "$problems" ]; then
    echo "boot-time: could not run:$problems"
    exit 1
fi
exit 0
