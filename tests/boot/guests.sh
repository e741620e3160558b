# Shared by the *-guests.sh tests (sourced after lib.sh): build the ISO with
# every test guest, and check what each guest and the hypervisor printed.


guests_iso() {
    mods="$BUILD/config/guest-tests.dtb:config.dtb"
    for g in "$BUILD"/guest/*.elf; do mods="$mods $g"; done
    mods="$mods guest/tests/mbinfo-module.txt"     # the "mbinfo" VM's Multiboot module
    # smp=late-sipi: the first AP's SIPI comes after its slot closed (smp.c);
    # selftest=user: the CPL-3 self-test (arch/x86_64/user_selftest.c)
    scripts/mkiso.sh "$1" "$BUILD/nethv-test.elf" "exit=poweroff smp=late-sipi selftest=user $2" $mods || fail "mkiso"
}

# check_guests LOG: one PASS/FAIL line per guest test; non-zero if any failed.
check_guests() {
    clean="$LOG.txt"
    tr -d '\r' < "$1" > "$clean"
    bad=0
    t() {   # t NAME CONDITION-DESCRIPTION GREP-PATTERN...
        n=$1; shift; d=$1; shift
        for pat in "$@"; do
            if ! grep -Eq "$pat" "$clean"; then
                echo "FAIL: $TEST/$n: $d (no line matching '$pat'; log: $LOG)"
                bad=1
                return
            fi
        done
        echo "PASS: $TEST/$n"
    }
    for vt in cpuid:cpuid io:io mmio:mmio vmcall:vmcall exc:exception; do
        vm=${vt%%:*}; g=${vt#*:}
        t "$g" "guest result" "^\[$vm\] PASS: $g" "^vm $vm: stopped: guest requested exit \(code 0\)"
    done
    t hlt_timer "HLT + injected timer" "^\[hlt\] PASS: hlt_timer" "^vm hlt: stopped: guest requested exit \(code 0\)"
    t isolation "two VMs isolated" "^\[iso-a\] PASS: isolation" "^\[iso-b\] PASS: isolation" \
        "^vm iso-a: stopped: .*\(code 0\)" "^vm iso-b: stopped: .*\(code 0\)"
    t triple_fault "VM stopped with a dump, other VMs run on" "^vm crash: stopped: triple-fault" \
        "^\[survivor\] PASS: survivor" "^vm survivor: stopped: guest requested exit \(code 0\)"
    t flight_recorder "the crashed VM's flight recorder: its last exits, the triple fault newest" \
        "^vm crash: vCPU 0: flight recorder, the last [1-9][0-9]* of [1-9][0-9]* exits" \
        "^vm crash: vCPU 0:   #[0-9]+ t-0 cpu [0-9]+ triple-fault \((0x7f|0x2)\) rip 0x[0-9a-f]+ cr3 0x[0-9a-f]+ .* kernel$"
    t doorbell "cross-CPU interrupt posting" "^\[ping\] PASS: doorbell" "^\[pong\] PASS: doorbell"
    t lapic "virtual LAPIC: IPIs, TPR, timer modes, SIPI, PM timer; its TSC-deadline write and PM timer reads taken by the kernel" \
        "^\[lapic\] PASS: lapic" "^vm lapic: stopped: guest requested exit \(code 0\)" \
        "^vm lapic: exits by kernel: .*tsc-deadline=[1-9].* clock=[1-9]"
    t fpu "guest SSE state across exits" "^\[fpu\] PASS: fpu" "^vm fpu: stopped: guest requested exit \(code 0\)"
    t mbinfo "Multiboot1 info: command line, one module" "^\[mbinfo\] cmdline: mbinfo-module.txt nethv multiboot module 42$" \
        "^\[mbinfo\] module mbinfo-module.txt: nethv multiboot module 42$" "^\[mbinfo\] PASS: mbinfo" \
        "^vm mbinfo: stopped: guest requested exit \(code 0\)"
    t exit_counters "kernel/monitor exit counters" "^vm vmcall: exits by kernel: .*hypercall=1000[3-9]" \
        "^vm io: exits by monitor: .*io=10[0-9][0-9]"
    t ap_late_sipi "an AP woken after its slot closed parks; INIT-SIPI then starts it" \
        "^smp: late-sipi test: the CPU with APIC id [0-9]+ parked \(its slot closed\)$" \
        "^smp: ([0-9]+) of \1 CPUs online$"
    t user_selftest "code at CPL 3: calls, system calls, nine faults contained, the watchdog" \
        "^user-selftest: a program that never replies was stopped by the watchdog after [0-9]+ ms" \
        "^user-selftest: [0-9]+ round trips into CPL 3 and back: [0-9]+ ns each" "^user-selftest: PASS$"
    case " ${NETHV_CMDLINE_EXTRA:-} " in *" kpti=on "*)
        t kpti "the CPL-3 self-test on a user view of its own (KPTI, kpti=on)" \
            "^spec: code at CPL 3: on page tables of its own \(KPTI" \
            "^user-selftest: KPTI: the program runs on its user view, which maps [0-9]+ pages" ;;
    esac
    t all_stopped "hypervisor survives and powers off" "^nethv: all VMs stopped" "^nethv: power off \(code 0\)"
    if grep -q "PANIC" "$clean"; then echo "FAIL: $TEST/host: hypervisor panic"; bad=1; fi
    return $bad
}
