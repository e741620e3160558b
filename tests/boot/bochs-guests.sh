#!/bin/sh
# The bare-metal test guests under nethv on Bochs tigerlake (VMX: EPT, VPID,
# unrestricted guest) and ryzen (SVM with NRIP-save and flush-by-ASID).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guests.sh"
bad=0
for model in tigerlake ryzen; do
    TEST=bochs-guests-$model
    LOG=$LOGDIR/$TEST.log
    iso=$LOGDIR/$TEST.iso
    rc=$LOGDIR/$TEST.bochsrc
    guests_iso "$iso"
    bochs_rc_iso "$rc" $model 2 256 "$iso"
    # Bochs 2.7's SVM model raises a PANIC on a guest triple fault before it
    # takes the (intercepted) SHUTDOWN exit: report it and continue, so the
    # hypervisor sees the exit as on hardware.
    [ $model = ryzen ] && sed -i 's/^panic: action=fatal/panic: action=report/' "$rc"
    printf 'c\nc\nc\nc\n' | SDL_VIDEODRIVER=dummy timeout 300 bochs -q -f "$rc" > "$LOG" 2>"$LOG.stderr"
    [ $? -ne 124 ] || { echo "FAIL: $TEST: Bochs still running after 300 s (log: $LOG)"; bad=1; continue; }
    check_guests "$LOG" || bad=1
done
exit $bad
