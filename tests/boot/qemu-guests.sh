#!/bin/sh
# The bare-metal test guests under nethv on QEMU TCG (SVM with NPT, no NRIP-save).
# A run that does not end within 100 s gets Ctrl-T f (every vCPU's flight
# recorder) and Ctrl-T s typed on its console before QEMU is stopped at
# 120 s, so that a hang leaves its evidence in the log.
TEST=qemu-guests
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guests.sh"
LOG=$LOGDIR/$TEST.log
iso=$LOGDIR/$TEST.iso
guests_iso "$iso" "$VM_CMDLINE"
fifo=$LOG.serial
serial_fifo_open "$fifo" "$LOG" || { echo "FAIL: $TEST: mkfifo"; exit 1; }
timeout 120 "$QEMU" -accel tcg -cpu max -smp $VM_SMP -m 1G -no-reboot \
    -display none -monitor none -serial "pipe:$fifo" \
    -device isa-debug-exit,iobase=0xf4,iosize=4 -cdrom "$iso" -boot d 2>"$LOG.stderr" &
qpid=$!
( i=0
  while [ $i -lt 100 ] && kill -0 $qpid 2>/dev/null; do sleep 1; i=$((i + 1)); done
  kill -0 $qpid 2>/dev/null && timeout 5 sh -c 'printf "\024f\024s" > "$1"' sh "$fifo.in" ) &
dumper=$!
wait $qpid
rc=$?
kill $dumper 2>/dev/null
serial_fifo_close "$fifo"
[ $rc -ne 124 ] || { echo "FAIL: $TEST: QEMU still running after 120 s; the flight recorders are in the log (log: $LOG)"; exit 1; }
check_guests "$LOG"
