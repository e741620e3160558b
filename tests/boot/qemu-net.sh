#!/bin/sh
# The network datapath end to end under QEMU TCG.
#
# config/net-pair.dts: two stock Linux VMs "a" (10.0.0.1, CPU 0) and "b"
# (10.0.0.2, CPU 1) with one virtio-net port each on the kernel's switch.
# Each guest pings the other (guest/build-linux-image.sh's network hook),
# stays up nethv.wait seconds, prints its eth0 counters and powers off.
#   qemu-net/boot      both VMs reach /init and bring eth0 up
#   qemu-net/ping      both guests: "ping PEER: 5/5 received"
#   qemu-net/counters  the kernel's per-port counters ("vnet a0: ...", printed
#                      at VM stop) are non-zero and agree with the guests'
#                      eth0 counters and with each other (see check_counters)
#   qemu-net/kernel-only  every doorbell was taken by the kernel: no notify
#                      reached a monitor
#   qemu-net/poweroff  both VMs power off through ACPI, then the hypervisor
#
# config/net-uplink.dts: one VM behind the switch whose uplink is QEMU's NIC
# on the user network; the guest gets 10.0.2.15 by DHCP through the switch
# and pings the gateway 10.0.2.2, frames crossing NIC -> switch -> guest RX
# ring and back.  One result per NIC model:
#   qemu-net/uplink-e1000e (MSI), qemu-net/uplink-virtio-net (MSI-X),
#   qemu-net/uplink-e1000 (polled from the host timer tick: net_tick)
#
# qemu-net/default: `make run`'s scenario, see default_scenario below.
TEST=qemu-net
. "$(dirname "$0")/lib.sh"
LOG=$LOGDIR/qemu-net.log
IMG=$BUILD/images
guest/build-linux-image.sh "$IMG" >"$LOG.images" 2>&1 || fail "building the Linux images (see $LOG.images)"

# frames a guest may send or receive between printing its eth0 counters and
# its VM's stop line (IPv6 ND/MLD, ARP refreshes, the peer's last pings)
SLACK=12

# boot NAME DTB TIMEOUT [QEMU ARGS...]: boots nethv with the Linux images and
# config DTB under QEMU TCG; the log without CRs is left in $clean.
boot() {
    LOG=$LOGDIR/qemu-net-$1.log
    clean=$LOG.txt
    iso=$LOGDIR/qemu-net-$2.iso
    to=$3
    [ -f "$BUILD/config/$2.dtb" ] || fail "no $BUILD/config/$2.dtb (make configs)"
    [ -f "$iso" ] || scripts/mkiso.sh "$iso" "$BUILD/nethv.elf" "exit=poweroff" \
        "$BUILD/config/$2.dtb:config.dtb" "$IMG/vmlinuz" "$IMG/initrd.img" || fail "mkiso"
    shift 3
    timeout "$to" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 2G -no-reboot \
        -display none -monitor none -serial "file:$LOG" \
        -device isa-debug-exit,iobase=0xf4,iosize=4 -cdrom "$iso" -boot d "$@" 2>"$LOG.stderr"
    rc=$?
    tr -d '\r' < "$LOG" > "$clean"
    [ $rc -ne 124 ] || fail "QEMU still running after $to s; last lines: $(last)"
}
last() { tail -n 3 "$clean" | tr '\n' '|'; }

# field LINE WORDS...: the number that follows the words in the line
field() {
    line=$1; shift
    echo "$line" | sed -n "s/.*[ :,]$*[ =]\([0-9][0-9]*\).*/\1/p"
}
# vnet_line VM: the per-port line printed when VM stops
vnet_line() { grep -m1 "^vnet ${1}0: vm $1: " "$clean"; }
guest_line() { grep -m1 "^\[$1\] nethv-guest: eth0 rx_packets" "$clean"; }

check_pair_boot() (
    TEST=qemu-net/boot
    grep -q "PANIC" "$clean" && fail "hypervisor panic: $(grep -m1 -A1 PANIC "$clean" | tail -1)"
    for vm in a b; do
        grep -q "^vm $vm: created" "$clean" || fail "VM $vm not created: $(grep -m1 "^vm $vm:" "$clean")"
        grep -q "^net: port ${vm}0: VM $vm virtio-net 0" "$clean" || fail "no switch port ${vm}0"
        grep -q "^\[$vm\] nethv-guest: init" "$clean" ||
            fail "VM $vm did not reach /init; last line of $vm: $(grep "^\[$vm\] " "$clean" | tail -1)"
        grep -q "^\[$vm\] nethv-guest: eth0 up" "$clean" ||
            fail "VM $vm: no eth0: $(grep "^\[$vm\] nethv-guest: .*eth0" "$clean" | head -1)"
    done
    pass
)

check_ping() (
    TEST=qemu-net/ping
    for p in a:10.0.0.2 b:10.0.0.1; do
        vm=${p%%:*}
        grep -q "^\[$vm\] nethv-guest: ping ${p#*:}: 5/5 received" "$clean" ||
            fail "VM $vm: $(grep -m1 "^\[$vm\] nethv-guest: ping" "$clean" || echo "no ping line")"
    done
    pass
)

# Per VM: the kernel's counters (at VM stop) are non-zero and at least the
# guest's (printed just before it powers off), at most SLACK more.  Between
# the VMs, tx = rx + drops exactly: every frame the first VM to stop (S)
# sent reached the other (L) or was counted as dropped there (or at its own
# entry into the switch), and L's line, printed last, has them all.
check_counters() (
    TEST=qemu-net/counters
    for vm in a b; do
        v=$(vnet_line $vm); g=$(guest_line $vm)
        [ -n "$v" ] || fail "no 'vnet ${vm}0:' line at VM $vm's stop"
        [ -n "$g" ] || fail "VM $vm printed no eth0 counters"
        for d in rx tx; do
            k=$(field "$v" "$d"); n=$(field "$g" "${d}_packets")
            [ -n "$k" ] && [ -n "$n" ] || fail "cannot read $d counters: '$v' / '$g'"
            [ "$k" -gt 0 ] || fail "vnet ${vm}0: $d 0 frames"
            [ "$k" -ge "$n" ] && [ "$k" -le $((n + SLACK)) ] ||
                fail "VM $vm: the kernel counted $d $k frames, the guest $n (slack $SLACK)"
        done
    done
    first=$(grep -m1 -E "^vm [ab]: stopped" "$clean" | cut -d' ' -f2 | tr -d :)
    [ -n "$first" ] || fail "no VM stopped"
    other=b; [ "$first" = b ] && other=a
    s=$(vnet_line "$first"); l=$(vnet_line "$other")
    tx=$(field "$s" tx)
    rx=$(field "$l" rx)
    drops=0
    for c in no_buf malformed oversize down spoof no_dest; do
        n=$(field "$l" "$c"); [ -n "$n" ] || fail "no '$c' drop count: $l"
        drops=$((drops + n))
    done
    # frames the switch dropped at S's ingress (spoofed source, nowhere to go)
    ingress=$(( $(field "$s" spoof) + $(field "$s" no_dest) ))
    [ "$tx" -eq $((rx + drops + ingress)) ] ||
        fail "${first}0 sent $tx frames, ${other}0 took $rx and dropped $drops, $ingress dropped on entry"
    pass
)

check_kernel_only() (
    TEST=qemu-net/kernel-only
    grep -q "notify reached the monitor" "$clean" &&
        fail "$(grep -m1 "notify reached the monitor" "$clean")"
    grep -Eq "notify_in_monitor[ =:]+[1-9]" "$clean" && fail "$(grep -m1 notify_in_monitor "$clean")"
    for vm in a b; do
        n=$(field "$(vnet_line $vm)" "kernel notifies")
        [ -n "$n" ] && [ "$n" -gt 0 ] || fail "vnet ${vm}0: no doorbell taken by the kernel"
    done
    pass
)

check_poweroff() (
    TEST=qemu-net/poweroff
    expect_poweroff a b
    pass
)

# uplink NAME DEVICE: the guest behind the switch reaches QEMU's user-network
# gateway through the host NIC DEVICE.
uplink() (
    TEST=qemu-net/uplink-$1
    boot "uplink-$1" net-uplink 240 -nodefaults -netdev user,id=n0 -device "$2,netdev=n0,romfile="
    grep -q "PANIC" "$clean" && fail "hypervisor panic: $(grep -m1 -A1 PANIC "$clean" | tail -1)"
    grep -q "^net: port uplink: .* is the switch's uplink" "$clean" ||
        fail "no uplink port: $(grep -m1 '^net: ' "$clean")"
    grep -q "^\[a\] nethv-guest: eth0 up, 10\.0\.2\.15/" "$clean" ||
        fail "no DHCP lease through the switch: $(grep -m1 "^\[a\] nethv-guest: .*eth0" "$clean")"
    grep -q "^\[a\] nethv-guest: ping 10\.0\.2\.2: 5/5 received" "$clean" ||
        fail "$(grep -m1 '^\[a\] nethv-guest: ping' "$clean" || echo "no ping line")"
    grep -q "notify reached the monitor" "$clean" && fail "$(grep -m1 "notify reached the monitor" "$clean")"
    grep -Eq "^vm a: stopped: .*\(code 0\)" "$clean" || fail "no clean ACPI power-off; last lines: $(last)"
    pass
)

# default_scenario: `make run`'s config/default.dts with QEMU's user network
# behind an e1000e uplink: VM a gets 10.0.2.15 by DHCP through the switch and
# the NIC, b is static 10.0.2.20; each pings the gateway and the other, then
# both sit at their shell (no power-off: QEMU is stopped once all four ping
# results are in, or after 360 s).
default_scenario() (
    TEST=qemu-net/default
    LOG=$LOGDIR/qemu-net-default.log
    clean=$LOG.txt
    iso=$LOGDIR/qemu-net-default.iso
    [ -f "$BUILD/config/default.dtb" ] || fail "no $BUILD/config/default.dtb (make configs)"
    scripts/mkiso.sh "$iso" "$BUILD/nethv.elf" "" "$BUILD/config/default.dtb:config.dtb" \
        "$IMG/vmlinuz" "$IMG/initrd.img" || fail "mkiso"
    qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 2G -no-reboot -display none -monitor none \
        -serial "file:$LOG" -nic user,model=e1000e -cdrom "$iso" -boot d 2>"$LOG.stderr" &
    qp=$!
    waited=0
    while [ $waited -lt 360 ] && kill -0 $qp 2>/dev/null; do
        [ "$(tr -d '\r' 2>/dev/null < "$LOG" | grep -c 'nethv-guest: ping .*: \(5/5 received\|FAILED\)')" -ge 4 ] && break
        sleep 2
        waited=$((waited + 2))
    done
    kill $qp 2>/dev/null
    wait $qp 2>/dev/null
    tr -d '\r' < "$LOG" > "$clean"
    grep -q "PANIC" "$clean" && fail "hypervisor panic: $(grep -m1 -A1 PANIC "$clean" | tail -1)"
    for want in "a] nethv-guest: eth0 up, 10\.0\.2\.15/" "b] nethv-guest: eth0 up, 10\.0\.2\.20/" \
                "a] nethv-guest: ping 10\.0\.2\.2: 5/5" "a] nethv-guest: ping 10\.0\.2\.20: 5/5" \
                "b] nethv-guest: ping 10\.0\.2\.15: 5/5" "b] nethv-guest: ping 10\.0\.2\.2: 5/5"; do
        grep -q "^\[$want" "$clean" ||
            fail "no '[$want' after $waited s: $(grep 'nethv-guest: \(ping\|eth0 up\|dhcp\)' "$clean" | tr '\n' '|')"
    done
    grep -q "notify reached the monitor" "$clean" && fail "$(grep -m1 "notify reached the monitor" "$clean")"
    pass
)

rm -f "$LOGDIR"/qemu-net-*.iso        # built once per run, from this $BUILD
# pair: the two-VM scenario and its five results
pair() {
    LOG=$LOGDIR/qemu-net-pair.log clean=$LOGDIR/qemu-net-pair.log.txt
    if ( TEST=qemu-net/boot; boot pair net-pair 480 ); then
        check_pair_boot
        check_ping
        check_counters
        check_kernel_only
        check_poweroff
    else
        for t in ping counters kernel-only poweroff; do
            echo "FAIL: qemu-net/$t: the pair did not boot (log: $LOG)"
        done
    fi
}

st=0
retry pair || st=1
retry uplink e1000e e1000e || st=1
retry uplink virtio-net virtio-net-pci,disable-legacy=on || st=1
retry uplink e1000 e1000 || st=1
retry default_scenario || st=1
exit $st
