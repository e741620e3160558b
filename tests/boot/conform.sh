#!/bin/sh
# CPU conformance: guest/tests/conform.c prints one "conf: NAME: ok|FAIL|
# skipped" line per check.  It runs directly under QEMU TCG (-cpu max, the
# reference) and as a nethv VM (config/conform.dts) under QEMU TCG (SVM) and
# Bochs tigerlake (VMX).  One result per check and platform:
#   conform-qemu-svm/NAME, conform-bochs-vmx/NAME
# PASS when the check passes under nethv; FAIL when it passes directly but
# not under nethv.  A check the reference itself fails is printed as
# "conform: NAME: reference fails (...)" and not compared; one that nethv's
# CPUID policy skips (a feature it does not give guests, e.g. XSAVE) as
# "conform-PLATFORM/NAME: skipped under nethv (...)", not counted either.
TEST=conform
. "$(dirname "$0")/lib.sh"
ELF=$BUILD/guest/conform.elf
DTB=$BUILD/config/conform.dtb
[ -f "$ELF" ] && [ -f "$DTB" ] || { echo "FAIL: $TEST: no $ELF or $DTB (make guests configs)"; exit 1; }

REF=$LOGDIR/conform-ref.log
timeout 60 "$QEMU" -accel tcg -cpu max -m 64M -no-reboot -display none -monitor none -serial none \
    -debugcon "file:$REF" -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$ELF" 2>"$REF.stderr"
rc=$?
# isa-debug-exit: status (code << 1) | 1, so the guest's exit 0 is 1
if [ $rc -ne 1 ] || ! grep -q "^conf: done" "$REF"; then
    echo "FAIL: $TEST/reference: the guest did not finish directly under QEMU (status $rc; log: $REF)"
    exit 1
fi
grep "^conf: [^:]*: FAIL" "$REF" | sed 's/^conf: \([^:]*\): FAIL \(.*\)/conform: \1: reference fails (\2); not compared/'

# compare PLATFORM LOG: LOG has nethv's console ("[conf] conf: ..." lines)
compare() {
    plat=$1 log=$2
    grep -q "^\[conf\] conf: done" "$log" || {
        echo "FAIL: conform-$plat/run: the guest did not finish under nethv; last lines: $(tail -n 3 "$log" | tr '\n' '|') (log: $log)"
        return 1
    }
    st=0
    for name in $(sed -n 's/^conf: \([^:]*\): ok$/\1/p' "$REF"); do
        if grep -q "^\[conf\] conf: $name: ok$" "$log"; then
            echo "PASS: conform-$plat/$name"
        elif grep -q "^\[conf\] conf: $name: skipped" "$log"; then
            echo "conform-$plat/$name: skipped under nethv ($(grep -m1 "^\[conf\] conf: $name: skipped" "$log" | sed 's/.*skipped (\(.*\))$/\1/'))"
        else
            echo "FAIL: conform-$plat/$name: passes directly, under nethv: $(grep -m1 "^\[conf\] conf: $name:" "$log" | sed 's/^\[conf\] conf: [^:]*: //' || echo 'no line') (log: $log)"
            st=1
        fi
    done
    return $st
}

iso=$LOGDIR/conform.iso
scripts/mkiso.sh "$iso" "$BUILD/nethv.elf" "exit=poweroff" "$DTB:config.dtb" "$ELF" ||
    { echo "FAIL: $TEST: mkiso"; exit 1; }
st=0

LOG=$LOGDIR/conform-qemu.log
timeout 120 "$QEMU" -accel tcg -cpu max -smp 2 -m 512M -no-reboot -display none -monitor none \
    -serial "file:$LOG" -device isa-debug-exit,iobase=0xf4,iosize=4 -cdrom "$iso" -boot d 2>"$LOG.stderr"
tr -d '\r' < "$LOG" > "$LOG.txt"
compare qemu-svm "$LOG.txt" || st=1

LOG=$LOGDIR/conform-bochs.log
rc=$LOGDIR/conform-bochs.bochsrc
bochs_rc_iso "$rc" tigerlake 2 256 "$iso"
echo c | SDL_VIDEODRIVER=dummy timeout 300 bochs -q -f "$rc" > "$LOG" 2>"$LOG.stderr"
tr -d '\r' < "$LOG" > "$LOG.txt"
compare bochs-vmx "$LOG.txt" || st=1
exit $st
