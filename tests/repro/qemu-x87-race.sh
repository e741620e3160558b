#!/bin/sh
# The standalone reproducer of the QEMU TCG hflags2 race (arch/x86_64/fpu.c):
# nethv's SVM self-test only -- no VM, no monitor, no scheduler -- with CPU 0
# in a loop of VMRUN/VMMCALL/#VMEXIT under nested paging and CPU 1 loading
# FPU state in a loop (kernel command line svm-x87race=MODE).
#   fxrstor     FXRSTOR              -> under QEMU TCG: faults within seconds
#   xrstor-x87  XRSTOR incl. x87     -> likewise
#   nethv       nethv's loads now    -> no fault
# Under Bochs model=ryzen the fxrstor mode passes (tests/boot/selftest.sh).
# Usage: tests/repro/qemu-x87-race.sh [RUNS] (default 3 per mode); QEMU= the
# emulator binary.  Prints one line per run and a summary per mode; exits 0.
cd "$(dirname "$0")/../.." || exit 1
. tests/boot/lib.sh         # BUILD, QEMU, vmrun_fault
RUNS=${1:-3}
OUT=$BUILD/repro
mkdir -p "$OUT"
for mode in fxrstor xrstor-x87 nethv; do
    iso=$OUT/x87race-$mode.iso
    scripts/mkiso.sh "$iso" "$BUILD/nethv-test.elf" "selftest=svm svm-x87race=$mode exit=poweroff" \
        "$BUILD/config/selftest.dtb:config.dtb" "$BUILD/guest/vmcall.elf" || exit 1
    faults=0
    for i in $(seq 1 "$RUNS"); do
        log=$OUT/x87race-$mode.$i
        timeout 180 "$QEMU" -accel tcg -cpu max -smp 2 -m 512M -no-reboot -d int,cpu_reset -D "$log.qemu" \
            -display none -monitor none -serial "file:$log" \
            -device isa-debug-exit,iobase=0xf4,iosize=4 -cdrom "$iso" -boot d 2>/dev/null
        rc=$?
        tail -n 200 "$log.qemu" > "$log.qemu.tail"; rm -f "$log.qemu"
        c=$(tr -d '\r' < "$log")
        if grep -q "^Triple fault" "$log.qemu.tail"; then
            v="host triple fault"
            vmrun_fault "$log.qemu.tail" && v="$v (#PF fetching the instruction after VMRUN, $vmrun_next)"
        elif echo "$c" | grep -q "^svm-selftest: PASS"; then
            v="pass: $(echo "$c" | sed -n 's/^svm-selftest: x87 race: CPU 1 made \([0-9]*\) loads.*/\1 loads on CPU 1/p')"
        elif echo "$c" | grep -q "svm-selftest: FAIL"; then
            v="guest fault, the round trips saw: $(echo "$c" | grep 'svm-selftest: vCPU 0 exit' | tail -1 | cut -c15-140)"
        else
            v="no result (rc $rc)"
        fi
        case $v in pass*) ;; *) faults=$((faults + 1)) ;; esac
        echo "x87race $mode run $i: $v"
    done
    echo "x87race $mode: $faults of $RUNS runs faulted ($QEMU)"
done
exit 0
