#!/bin/sh
# CPU conformance: guest/tests/conform.c prints one "conf: NAME: ok|FAIL|
# skipped" line per check.  It runs directly on each emulator (the
# references: QEMU TCG -cpu max, Bochs tigerlake) and as a nethv VM
# (config/conform.dts) under QEMU TCG (SVM) and Bochs tigerlake (VMX); each
# platform is compared with its own emulator's bare run.  One result per
# check and platform: conform-qemu-svm/NAME, conform-bochs-vmx/NAME.
# PASS when the check passes under nethv; FAIL when it passes directly but
# not under nethv.  A check a reference itself fails is printed as
# "conform-EMULATOR: NAME: reference fails (...)" and not compared; one that nethv's
# CPUID policy skips (a feature it does not give guests, e.g. PKU) as
# "conform-PLATFORM/NAME: skipped under nethv (...)", not counted either.
# Checks named policy.* test what nethv promises beyond the bare CPU (CR4
# bits its CPUID does not grant #GP): they run under nethv only and must pass.
TEST=conform
. "$(dirname "$0")/lib.sh"
ELF=$BUILD/guest/conform.elf
DTB=$BUILD/config/conform.dtb
[ -f "$ELF" ] && [ -f "$DTB" ] || { echo "FAIL: $TEST: no $ELF or $DTB (make guests configs)"; exit 1; }

# reference NAME LOG: the bare run's lines; fails if it did not finish
reference() {
    grep -q "^conf: done" "$2" || {
        echo "FAIL: $TEST/reference-$1: the guest did not finish directly on the emulator; last lines: $(tail -n 3 "$2" | tr '\n' '|') (log: $2)"
        return 1
    }
    grep "^conf: [^:]*: FAIL" "$2" |
        sed "s/^conf: \([^:]*\): FAIL \(.*\)/conform-$1: \1: reference fails (\2); not compared/"
}

# QEMU TCG -cpu max, bare: the guest straight from -kernel (Multiboot1)
REF_QEMU=$LOGDIR/conform-ref-qemu.log
timeout 60 "$QEMU" -accel tcg -cpu max -smp 2 -m 64M -no-reboot -display none -monitor none -serial null \
    -debugcon "file:$REF_QEMU" -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$ELF" 2>"$REF_QEMU.stderr"
reference qemu "$REF_QEMU" || exit 1

# Bochs tigerlake, bare: GRUB boots the guest with Multiboot1; port 0xE9 to
# stdout; the guest ends the run through Bochs' shutdown port
REF_BOCHS=$LOGDIR/conform-ref-bochs.log
LOG=$REF_BOCHS
MKISO_MULTIBOOT=1 scripts/mkiso.sh "$LOGDIR/conform-bare.iso" "$ELF" "" ||
    { echo "FAIL: $TEST: mkiso (bare)"; exit 1; }
bochs_rc_iso "$LOGDIR/conform-bare.bochsrc" tigerlake 2 64 "$LOGDIR/conform-bare.iso"
echo c | SDL_VIDEODRIVER=dummy timeout 300 bochs -q -f "$LOGDIR/conform-bare.bochsrc" > "$REF_BOCHS" 2>"$REF_BOCHS.stderr"
reference bochs "$REF_BOCHS" || exit 1

# compare PLATFORM LOG REF: LOG has nethv's console ("[conf] conf: ..."
# lines), REF the same emulator's bare run
compare() {
    plat=$1 log=$2 ref=$3
    grep -q "^\[conf\] conf: done" "$log" || {
        echo "FAIL: conform-$plat/run: the guest did not finish under nethv; last lines: $(tail -n 3 "$log" | tr '\n' '|') (log: $log)"
        return 1
    }
    st=0
    for name in $(sed -n 's/^conf: \([^:]*\): ok$/\1/p' "$ref"); do
        if grep -q "^\[conf\] conf: $name: ok$" "$log"; then
            echo "PASS: conform-$plat/$name"
        elif grep -q "^\[conf\] conf: $name: skipped" "$log"; then
            echo "conform-$plat/$name: skipped under nethv ($(grep -m1 "^\[conf\] conf: $name: skipped" "$log" | sed 's/.*skipped (\(.*\))$/\1/'))"
        else
            echo "FAIL: conform-$plat/$name: passes directly, under nethv: $(grep -m1 "^\[conf\] conf: $name:" "$log" | sed 's/^\[conf\] conf: [^:]*: //' || echo 'no line') (log: $log)"
            st=1
        fi
    done
    # policy.*: what nethv promises its guests beyond the bare CPU (e.g. CR4
    # bits CPUID does not grant #GP); checked under nethv only
    for name in $(sed -n 's/^\[conf\] conf: \(policy\.[^:]*\): .*/\1/p' "$log"); do
        if grep -q "^\[conf\] conf: $name: ok$" "$log"; then
            echo "PASS: conform-$plat/$name"
        else
            echo "FAIL: conform-$plat/$name: $(grep -m1 "^\[conf\] conf: $name:" "$log" | sed 's/^\[conf\] conf: [^:]*: //') (log: $log)"
            st=1
        fi
    done
    # the neighbour VM on conform's CPU checks its own x87/SSE state
    if grep -q "^\[fpu\] PASS: fpu" "$log"; then
        echo "PASS: conform-$plat/neighbour.fpu"
    else
        echo "FAIL: conform-$plat/neighbour.fpu: $(grep -m1 "^\[fpu\] FAIL" "$log" || echo 'no PASS line') (log: $log)"
        st=1
    fi
    return $st
}

# QEMU: CPU 0 free of vCPUs (lib.sh, VM_SMP/VM_CMDLINE); Bochs: CPUs 0 and 1
mods="$DTB:config.dtb $ELF $BUILD/guest/fpu.elf"
iso=$LOGDIR/conform-qemu.iso
scripts/mkiso.sh "$iso" "$BUILD/nethv.elf" "exit=poweroff $VM_CMDLINE" $mods ||
    { echo "FAIL: $TEST: mkiso"; exit 1; }
st=0

LOG=$LOGDIR/conform-qemu.log
timeout 120 "$QEMU" -accel tcg -cpu max -smp $VM_SMP -m 512M -no-reboot -display none -monitor none \
    -serial "file:$LOG" -device isa-debug-exit,iobase=0xf4,iosize=4 -cdrom "$iso" -boot d 2>"$LOG.stderr"
tr -d '\r' < "$LOG" > "$LOG.txt"
compare qemu-svm "$LOG.txt" "$REF_QEMU" || st=1

iso=$LOGDIR/conform-bochs.iso
scripts/mkiso.sh "$iso" "$BUILD/nethv.elf" "exit=poweroff" $mods ||
    { echo "FAIL: $TEST: mkiso"; exit 1; }
LOG=$LOGDIR/conform-bochs.log
rc=$LOGDIR/conform-bochs.bochsrc
bochs_rc_iso "$rc" tigerlake 2 256 "$iso"
echo c | SDL_VIDEODRIVER=dummy timeout 300 bochs -q -f "$rc" > "$LOG" 2>"$LOG.stderr"
tr -d '\r' < "$LOG" > "$LOG.txt"
compare bochs-vmx "$LOG.txt" "$REF_BOCHS" || st=1
exit $st
