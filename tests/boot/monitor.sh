#!/bin/sh
# Each VM's monitor (issue 14; kernel/monitor.c), under QEMU TCG (SVM).  The
# monitors run at CPL 3 by default, so every other boot test runs them so
# (where the CPU allows: spec.c); this script adds
#   monitor/faults  config/monitor-fault.dts: three monitors that fail on
#       purpose at their VM's first exit -- a #PF, a loop (the watchdog),
#       wild system calls then a reply the kernel must not apply -- beside a
#       pinging Linux pair on the same CPUs: only those three VMs stop, each
#       with its monitor's fault named; a and b ping each other 5/5 and
#       power off; the kernel runs on and powers off;
# and runs the monitors on page tables of their own (kpti=on: KPTI, what
# Meltdown-affected CPUs get -- Bochs corei7_skylake_x in bochs-linux and
# bochs-net -- here on SVM):
#   monitor-kpti/qemu-guests/*     the bare-metal test guests (guests.sh,
#                                  with the CPL-3 self-test's KPTI checks)
#   monitor-kpti/qemu-linux/2vcpu  stock Linux, SMP
# Logs: $LOGDIR/monitor/.
TEST=monitor
. "$(dirname "$0")/lib.sh"
SUB=$LOGDIR/monitor
mkdir -p "$SUB"
st=0

# kpti SCRIPT [VAR=VALUE...]: a boot script with kpti=on, its result lines
# named monitor-kpti/...
kpti() {
    s=$1
    shift
    env NETHV_CMDLINE_EXTRA="${NETHV_CMDLINE_EXTRA:+$NETHV_CMDLINE_EXTRA }kpti=on" LOGDIR="$SUB" "$@" \
        sh "tests/boot/$s.sh" > "$SUB/$s.out" 2>&1
    rc=$?
    sed 's/^\(PASS\|FAIL\): /\1: monitor-kpti\//' "$SUB/$s.out"
    [ $rc -eq 0 ] || st=1
}

faults() (
    TEST=monitor/faults
    LOG=$SUB/faults.log
    clean=$LOG.txt
    iso=$SUB/faults.iso
    IMG=$BUILD/images
    guest/build-linux-image.sh "$IMG" >"$LOG.images" 2>&1 || fail "building the Linux images (see $LOG.images)"
    [ -f "$BUILD/config/monitor-fault.dtb" ] || fail "no $BUILD/config/monitor-fault.dtb (make configs)"
    scripts/mkiso.sh "$iso" "$BUILD/nethv-test.elf" "exit=poweroff $VM_CMDLINE" \
        "$BUILD/config/monitor-fault.dtb:config.dtb" "$IMG/vmlinuz" "$IMG/initrd.img" \
        "$BUILD/guest/io.elf" || fail "mkiso"
    timeout 300 "$QEMU" -accel tcg -cpu max -smp $VM_SMP -m 2G -no-reboot -d cpu_reset -D "$LOG.qemu" \
        -display none -monitor none -serial "file:$LOG" \
        -device isa-debug-exit,iobase=0xf4,iosize=4 -cdrom "$iso" -boot d 2>"$LOG.stderr"
    rc=$?
    tr -d '\r' < "$LOG" > "$clean"
    last() { tail -n 3 "$clean" | tr '\n' '|'; }
    [ $rc -ne 124 ] || fail "QEMU still running after 300 s; last lines: $(last)"
    grep -q "PANIC" "$clean" && fail "hypervisor panic: $(grep -m1 -A1 PANIC "$clean" | tail -1)"
    ! host_triple_fault "$LOG.qemu" || fail "$HOST_TF_MSG; last lines: $(last)"
    grep -q "^monitor: each VM's monitor at CPL 3" "$clean" || fail "the monitors are not at CPL 3: $(grep -m1 '^monitor:' "$clean")"
    monitor_faults
    for p in a:10.0.2.20 b:10.0.2.15; do
        grep -q "^\[${p%%:*}\] nethv-guest: ping ${p#*:}: 5/5 received" "$clean" ||
            fail "VM ${p%%:*}: $(grep -m1 "^\[${p%%:*}\] nethv-guest: ping" "$clean" || echo "no ping line")"
    done
    for vm in a b; do
        grep -Eq "^vm $vm: stopped: .*\(code 0\)" "$clean" || fail "no clean ACPI power-off of $vm: $(grep -m1 "^vm $vm: stopped" "$clean")"
    done
    grep -q "^nethv: power off (code 0)" "$clean" || fail "no hypervisor power-off; last lines: $(last)"
    echo "PASS: $TEST (mnull #PF, mloop watchdog, mwild refused $bad bad arguments and a bad reply; a and b pinged 5/5 and powered off)"
)
faults || st=1
kpti qemu-guests
kpti qemu-linux QEMU_LINUX_CASES=2vcpu
exit $st
