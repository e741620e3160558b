#!/bin/sh
# The config's `exit` (include/nethv/config.h): what nethv does once every
# VM has stopped, without the command line's exit=poweroff.  One test VM
# (guest/tests/cpuid.c: prints its PASS line and exits) per case, QEMU TCG
# with -no-reboot, so that a reset ends QEMU too:
#   reboot      "nethv: reboot" and QEMU ends by itself (the reset), status 0
#   debug-exit  "nethv: debug exit" and QEMU's isa-debug-exit status 1
#   halt        "nethv: halted" and QEMU still running 10 s later (stopped here)
TEST=qemu-exit
. "$(dirname "$0")/lib.sh"
G=$BUILD/guest/cpuid.elf
[ -f "$G" ] || { echo "FAIL: $TEST: no $G (make guests)"; exit 1; }
st=0
for how in reboot debug-exit halt; do
    (
    TEST=qemu-exit/$how
    LOG=$LOGDIR/qemu-exit-$how.log
    dts=$LOGDIR/qemu-exit-$how.dts
    cat > "$dts" <<EOF
/dts-v1/;
/ {
	compatible = "nethv,config-1";
	nethv { exit = "$how"; };
	vms { cpuid { type = "test"; memory = <0x0 0x400000>; vcpus = <1>; cpus = <0>; kernel = "cpuid.elf"; }; };
};
EOF
    dtc -q -I dts -O dtb -o "${dts%.dts}.dtb" "$dts" || fail "dtc"
    iso=$LOGDIR/qemu-exit-$how.iso
    scripts/mkiso.sh "$iso" "$BUILD/nethv.elf" "$VM_CMDLINE" "${dts%.dts}.dtb:config.dtb" "$G" || fail "mkiso"
    # halt never ends by itself: 10 s after "halted" is proof enough
    limit=60
    timeout $limit "$QEMU" -accel tcg -cpu max -smp $VM_SMP -m 256M -no-reboot -display none \
        -monitor none -serial "file:$LOG" -device isa-debug-exit,iobase=0xf4,iosize=4 \
        -cdrom "$iso" -boot d 2>"$LOG.stderr" &
    qpid=$!
    if [ "$how" = halt ]; then
        i=0
        while [ $i -lt 50 ] && ! grep -q "^nethv: halted" "$LOG" 2>/dev/null; do sleep 1; i=$((i + 1)); done
        sleep 10
        kill -0 $qpid 2>/dev/null && alive=yes || alive=no
        kill $qpid 2>/dev/null
    fi
    wait $qpid
    rc=$?
    grep -q "^\[cpuid\] PASS" "$LOG" || fail "the guest did not run: $(tail -n 3 "$LOG" | tr '\n' '|')"
    case $how in
    reboot)
        grep -q '^nethv: reboot (config: exit = "reboot")' "$LOG" || fail "no reboot line"
        ! grep -q "^nethv: reboot failed" "$LOG" || fail "the reset did not happen"
        [ $rc -eq 0 ] || fail "QEMU exit status $rc, want 0 (a reset under -no-reboot)" ;;
    debug-exit)
        grep -q '^nethv: debug exit (config: exit = "debug-exit")' "$LOG" || fail "no debug-exit line"
        [ $rc -eq 1 ] || fail "QEMU exit status $rc, want 1 (isa-debug-exit with 0)" ;;
    halt)
        grep -q '^nethv: halted (config: exit = "halt")' "$LOG" || fail "no halted line"
        [ "$alive" = yes ] || fail "QEMU ended by itself after the halt (status $rc)" ;;
    esac
    case $how in
    halt) echo "PASS: $TEST (halted; QEMU still running 10 s later, stopped here)" ;;
    *) echo "PASS: $TEST (QEMU ended by itself, status $rc)" ;;
    esac
    ) || st=1
done
exit $st
