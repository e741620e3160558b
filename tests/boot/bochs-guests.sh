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
    echo c | SDL_VIDEODRIVER=dummy timeout 300 bochs -q -f "$rc" > "$LOG" 2>"$LOG.stderr"
    [ $? -ne 124 ] || { echo "FAIL: $TEST: Bochs still running after 300 s (log: $LOG)"; bad=1; continue; }
    check_guests "$LOG" || bad=1
done
exit $bad
