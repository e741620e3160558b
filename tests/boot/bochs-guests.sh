#!/bin/sh
# The bare-metal test guests under nethv on Bochs tigerlake (VMX: EPT, VPID,
# unrestricted guest) and ryzen (SVM with NRIP-save and flush-by-ASID).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guests.sh"
# check_vid LOG MODEL: the "vid" guest passed; on tigerlake (virtual-interrupt
# delivery, x2APIC virtualization) its interrupts took no irq-window exits and
# its 1000 x2APIC self-IPIs + EOIs (2000 WRMSRs) made next to no WRMSR exits,
# and its xAPIC part went through the APIC-access page (xapic_hw).
check_vid() {
    clean="$1.txt"
    if ! grep -q '^\[vid\] PASS: vid' "$clean" ||
       ! grep -Eq '^vm vid: stopped: guest requested exit \(code 0\)' "$clean"; then
        echo "FAIL: $TEST/vid: self-IPIs through the virtual LAPIC (log: $1)"
        return 1
    fi
    echo "PASS: $TEST/vid"
    [ "$2" = tigerlake ] || return 0
    k=$(grep '^vm vid: exits by kernel:' "$clean")
    m=$(grep '^vm vid: exits by monitor:' "$clean")
    wrmsr=$(echo "$m" | sed -n 's/.* wrmsr=\([0-9]*\).*/\1/p')
    if ! grep -q '^vmx: cpu 1: interrupts by virtual-interrupt delivery' "$clean" ||
       echo "$k" | grep -q 'irq-window=' || [ "${wrmsr:-0}" -ge 100 ]; then
        echo "FAIL: $TEST/vid_hw: interrupts not by virtual-interrupt delivery ($k; $m; log: $1)"
        return 1
    fi
    echo "PASS: $TEST/vid_hw (${wrmsr:-0} WRMSR exits for 2000 x2APIC writes, no irq-window exits)"
    # xAPIC mode through the APIC-access page: the 500 self-IPIs (ICR writes,
    # self-IPI virtualization, SDM 3C 29.1.5) and their EOIs (EOI
    # virtualization) never exit, and register reads come from the
    # virtual-APIC page; before, each IPI cost an MMIO exit to the monitor
    # and each EOI one to the kernel.  Other ICR writes would be APIC-write
    # exits (trap-like, to the monitor; host-tested in test_vlapic).
    aw=$(echo "$m" | sed -n 's/.* apic-write=\([0-9]*\).*/\1/p')
    mmio=$(echo "$m" | sed -n 's/.* mmio=\([0-9]*\).*/\1/p')
    eoi=$(echo "$k" | sed -n 's/.*fast paths: eoi=\([0-9]*\).*/\1/p')
    if ! grep -q '^vmx: cpu 1: interrupts by virtual-interrupt delivery.*xAPIC page virtualized' "$clean" ||
       [ "${mmio:-0}" -ge 50 ] || [ "${eoi:-0}" -ge 50 ]; then
        echo "FAIL: $TEST/xapic_hw: xAPIC accesses not virtualized (apic-write=${aw:-0} mmio=${mmio:-0} eoi fast path=${eoi:-0}; $k; $m; log: $1)"
        return 1
    fi
    echo "PASS: $TEST/xapic_hw (500 xAPIC self-IPIs + EOIs and the register checks: ${mmio:-0} MMIO, ${aw:-0} APIC-write and ${eoi:-0} kernel EOI exits)"
}

failed=0    # not "bad": check_guests (guests.sh) resets that one at each call
for model in tigerlake ryzen; do
    TEST=bochs-guests-$model
    LOG=$LOGDIR/$TEST.log
    iso=$LOGDIR/$TEST.iso
    rc=$LOGDIR/$TEST.bochsrc
    # tigerlake: the L1D flush at every entry, forced (Bochs' ARCH_CAP says
    # RDCL_NO), so that the path runs under the guests
    guests_iso "$iso" "$([ $model = tigerlake ] && echo spec=l1d-flush)"
    bochs_rc_iso "$rc" $model 2 256 "$iso"
    # Bochs 2.7's SVM model raises a PANIC on a guest triple fault before it
    # takes the (intercepted) SHUTDOWN exit: report it and continue, so the
    # hypervisor sees the exit as on hardware.
    [ $model = ryzen ] && sed -i 's/^panic: action=fatal/panic: action=report/' "$rc"
    printf 'c\nc\nc\nc\n' | SDL_VIDEODRIVER=dummy timeout 300 bochs -q -f "$rc" > "$LOG" 2>"$LOG.stderr"
    [ $? -ne 124 ] || { echo "FAIL: $TEST: Bochs still running after 300 s (log: $LOG)"; failed=1; continue; }
    check_guests "$LOG" || failed=1
    check_vid "$LOG" $model || failed=1
    if [ $model = tigerlake ]; then
        if grep -q "^spec: host: .*entry: L1D flush (forced: spec=l1d-flush)" "$LOG.txt"; then
            echo "PASS: $TEST/l1d_flush (every guest above ran with an L1D flush at each entry)"
        else
            echo "FAIL: $TEST/l1d_flush: the forced L1D flush is not in effect: $(grep -m1 '^spec: host' "$LOG.txt") (log: $LOG)"
            failed=1
        fi
    fi
done
exit $failed
