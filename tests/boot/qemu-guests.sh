#!/bin/sh
# The bare-metal test guests under nethv on QEMU TCG (SVM with NPT, no NRIP-save).
TEST=qemu-guests
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guests.sh"
LOG=$LOGDIR/$TEST.log
iso=$LOGDIR/$TEST.iso
guests_iso "$iso" "$VM_CMDLINE"
timeout 120 "$QEMU" -accel tcg -cpu max -smp $VM_SMP -m 1G -no-reboot \
    -display none -monitor none -serial "file:$LOG" \
    -device isa-debug-exit,iobase=0xf4,iosize=4 -cdrom "$iso" -boot d 2>"$LOG.stderr"
[ $? -ne 124 ] || { echo "FAIL: $TEST: QEMU still running after 120 s (log: $LOG)"; exit 1; }
check_guests "$LOG"
