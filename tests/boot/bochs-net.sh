#!/bin/sh
# The network datapath under Bochs corei7_skylake_x (VMX: EPT, VPID,
# unrestricted guest, virtual-interrupt delivery), 2 host CPUs:
# config/net-bochs.dts boots two small Linux VMs on the kernel's switch;
# each pings the other through its virtio-net device (the kernel's RX fill
# and TX drain), then both power off; beside them three test VMs whose
# monitors (at CPL 3, on KPTI user views: corei7_skylake_x is
# Meltdown-affected) fail on purpose at their first exit.
#   bochs-net/ping         both guests: "ping PEER: 5/5 received"
#   bochs-net/kernel-only  per-port counters printed at VM stop show frames
#                          and kernel-handled notifies; no notify reached a
#                          monitor
#   bochs-net/monitor-faults  only the three stop, each with its monitor's
#                          fault named (a #PF, the watchdog, a bad reply
#                          after wild system calls): VMX's side of monitor.sh
#   bochs-net/poweroff     both VMs power off through ACPI, then the hypervisor
# Slow: Bochs runs both VMs' CPUs in one host thread; bounded at 1200 s.
TEST=bochs-net
. "$(dirname "$0")/lib.sh"
LOG=$LOGDIR/bochs-net.log
last() { tail -n 3 "$clean" | tr '\n' '|'; }
[ -f "$BUILD/guest/io.elf" ] || { echo "FAIL: $TEST: no $BUILD/guest/io.elf (make guests)"; exit 1; }
# (the test image: monitor-fault is a test-only property)
KERNEL_ELF=$BUILD/nethv-test.elf bochs_linux bochs-net net-bochs 1200 "$BUILD/guest/io.elf"

st=0
(
    TEST=bochs-net/ping
    for p in "a 10.0.0.2" "b 10.0.0.1"; do
        vm=${p% *}; peer=${p#* }
        grep -q "^\[$vm\] nethv-guest: ping $peer: 5/5 received" "$clean" ||
            fail "VM $vm: $(grep -m1 "^\[$vm\] nethv-guest: \(ping\|no eth0\|eth0:\)" "$clean" || echo "no ping line; last lines: $(last)")"
    done
    pass
) || st=1
(
    TEST=bochs-net/kernel-only
    for vm in a b; do
        line=$(grep -m1 "^vnet ${vm}0: vm $vm: rx " "$clean") || fail "no vnet line for VM $vm"
        echo "$line" | grep -Eq "rx [1-9][0-9]* frames .* tx [1-9][0-9]* frames .* kernel notifies [1-9]" ||
            fail "VM $vm: no frames or no kernel notifies: $line"
    done
    grep -q "notify reached the monitor" "$clean" && fail "$(grep -m1 "notify reached the monitor" "$clean")"
    pass
) || st=1
(
    TEST=bochs-net/monitor-faults
    grep -q "^spec: code at CPL 3: on page tables of its own (KPTI: Meltdown" "$clean" ||
        fail "the monitors are not on KPTI user views: $(grep -m1 '^spec: code at CPL 3' "$clean")"
    monitor_faults
    echo "PASS: $TEST (mnull #PF, mloop watchdog, mwild refused $bad bad arguments and a bad reply; a and b pinged 5/5)"
) || st=1
(
    TEST=bochs-net/poweroff
    expect_poweroff a b
    pass
) || st=1
exit $st
