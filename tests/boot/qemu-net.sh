#!/bin/sh
# The network datapath end to end under QEMU TCG.
#
# config/net-pair.dts: two stock Linux VMs "a" (10.0.0.1, CPU 0) and "b"
# (10.0.0.2, CPU 1) with one virtio-net port each on the kernel's switch.
# Each guest pings the other (guest/build-linux-image.sh's network hook),
# then a runs two 5 s iperf3 TCP tests against b's server, one each way
# (the images of `guest/build-linux-image.sh --iperf3`); both print their
# eth0 counters and power off.  The hypervisor console is a pipe: when a
# prints "iperf3 mark start|end: waiting for a line", this script types the
# console command Ctrl-T s (every VM's exit counters, its monitor's
# virtio-net access counters and its port counters, printed before a runs
# again) and then the line a waits for, so two snapshots bracket the iperf3
# traffic.
#   qemu-net/boot      both VMs reach /init and bring eth0 up
#   qemu-net/ping      both guests: "ping PEER: 5/5 received"
#   qemu-net/iperf3    a's two runs report sender and receiver Mbits/sec, b's
#                      server finished both
#   qemu-net/datapath-exits  between the two snapshots, for each VM: its
#                      monitor handled no access at all to its virtio-net
#                      device (config space, common/ISR/device config,
#                      notify, MSI-X table, PBA), while the kernel took
#                      doorbells and EOIs and raised interrupts and both
#                      ports moved frames; the PASS line gives the kernel's
#                      and the monitor's exit counts over the run
#   qemu-net/jumbo     both ports have mtu 9000: the guests take it, a's 9001
#                      is refused, 8000-byte pings cross as single frames,
#                      none dropped for the MTU (an uplink VM's port, without
#                      `mtu`: 1500, and its 1501 refused, in uplink-*)
#   qemu-net/tso       during iperf3 both VMs send TSO frames and take the
#                      other's whole
#   qemu-net/counters  the kernel's per-port counters ("vnet a0: ...", printed
#                      at VM stop) are non-zero and agree with the guests'
#                      last eth0 counters and with each other (see
#                      check_counters)
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
# config/net-uplink-attack.dts: the same VM beside an attacking guest:
#   qemu-net/uplink-attack (see uplink_attack below)
#
# CASES="pair default ..." runs only the cases named (pair, uplink-e1000e,
# uplink-virtio-net, uplink-e1000, uplink-attack, default); QEMU_NET_ACCEL replaces
# `-accel tcg` for all but the default scenario (e.g. tcg,thread=single).
TEST=qemu-net
. "$(dirname "$0")/lib.sh"
LOG=$LOGDIR/qemu-net.log
IMG=$BUILD/images
guest/build-linux-image.sh "$IMG" >"$LOG.images" 2>&1 || fail "building the Linux images (see $LOG.images)"
IMG3=$BUILD/images-iperf            # the pair's: with iperf3
guest/build-linux-image.sh --iperf3 "$IMG3" >"$LOG.images-iperf" 2>&1 ||
    fail "building the iperf3 images (see $LOG.images-iperf)"

# frames a guest may send or receive between printing its eth0 counters and
# its VM's stop line (IPv6 ND/MLD, ARP refreshes, the peer's last pings)
SLACK=12

# boot NAME DTB TIMEOUT [QEMU ARGS...]: boots nethv with the Linux images
# ($IMG) and config DTB under QEMU TCG; the log without CRs is left in
# $clean.  With MARKS=1 the console is a pipe (-serial pipe:) answered by
# answer_marks.
boot() {
    LOG=$LOGDIR/qemu-net-$1.log
    clean=$LOG.txt
    iso=$LOGDIR/qemu-net-$2.iso
    to=$3
    [ -f "$BUILD/config/$2.dtb" ] || fail "no $BUILD/config/$2.dtb (make configs)"
    # (built once per config, reused by retries and the uplink cases;
    # rebuilt when an input is newer)
    fresh=1
    for f in "$BUILD/nethv.elf" "$BUILD/config/$2.dtb" "$IMG/vmlinuz" "$IMG/initrd.img"; do
        [ "$iso" -nt "$f" ] || fresh=0
    done
    [ $fresh = 1 ] || scripts/mkiso.sh "$iso" "$BUILD/nethv.elf" "exit=poweroff $VM_CMDLINE" \
        "$BUILD/config/$2.dtb:config.dtb" "$IMG/vmlinuz" "$IMG/initrd.img" || fail "mkiso"
    shift 3
    serial="file:$LOG"
    if [ "${MARKS:-0}" = 1 ]; then
        fifo=$LOG.serial
        rm -f "$fifo.in" "$fifo.out"
        mkfifo "$fifo.in" "$fifo.out" || fail "mkfifo $fifo.in $fifo.out"
        serial="pipe:$fifo"
        cat "$fifo.out" > "$LOG" &     # ends when QEMU closes the pipe
        catpid=$!
    fi
    rm -f "$LOG.qemu"
    timeout "$to" "$QEMU" -accel "${QEMU_NET_ACCEL:-tcg}" -cpu max -smp $VM_SMP -m 2G -no-reboot \
        -d cpu_reset -D "$LOG.qemu" -display none -monitor none -serial "$serial" \
        -device isa-debug-exit,iobase=0xf4,iosize=4 -cdrom "$iso" -boot d "$@" 2>"$LOG.stderr" &
    qpid=$!
    [ "${MARKS:-0}" = 1 ] && answer_marks "$qpid" "$fifo.in" &
    wait $qpid
    rc=$?
    if [ "${MARKS:-0}" = 1 ]; then
        # cat ends at the pipe's EOF; if QEMU never opened it, cat is still
        # in open(): give it 5 s, then stop it
        i=0
        while [ $i -lt 25 ] && kill -0 $catpid 2>/dev/null; do sleep 0.2; i=$((i + 1)); done
        kill $catpid 2>/dev/null
        wait $catpid 2>/dev/null
        rm -f "$fifo.in" "$fifo.out"
    fi
    tr -d '\r' < "$LOG" > "$clean"
    [ $rc -ne 124 ] || fail "QEMU still running after $to s; last lines: $(last)"
    ! host_triple_fault "$LOG.qemu" || fail "$HOST_TF_MSG; last lines: $(last)"
    ! guest_idt_fault "$clean" || fail "$GUEST_TF_MSG; $(grep -m1 'stopped: ' "$clean")"
    [ ! -f "$LOG.hung" ] || fail "stopped: $(cat "$LOG.hung"); last lines: $(last)"
}

# answer_marks PID FIFO: while QEMU (PID) runs, answer each "iperf3 mark
# ...: waiting for a line" of VM a (the console's VM) with Ctrl-T s (the
# hypervisor's counter snapshot) and a newline (the line a waits for).
# Also a watchdog: a console silent for 180 s (nothing in this scenario is
# quiet that long) stops QEMU, leaving $LOG.hung; so does a VM stopped by a
# fault (code -1: the pair's tests cannot pass without both VMs), 5 s later.
answer_marks() {
    answered=0 size=-1 quiet=0 faulted=0
    rm -f "$LOG.hung"
    while kill -0 "$1" 2>/dev/null; do
        if grep -Eq "^vm [ab]: stopped: .*\(code -1\)" "$LOG" 2>/dev/null; then
            faulted=$((faulted + 1))
            if [ $faulted -ge 5 ]; then
                echo "a VM was stopped by a fault: $(grep -Em1 "^vm [ab]: stopped: " "$LOG" | tr -d '\r')" > "$LOG.hung"
                kill "$1" 2>/dev/null
                break
            fi
        fi
        n=$(grep -c "^\[a\] nethv-guest: iperf3 mark .*: waiting for a line" "$LOG" 2>/dev/null)
        while [ "${n:-0}" -gt $answered ]; do
            # (QEMU holds the pipe open read-write: no wait, unless it just ended)
            timeout 5 sh -c 'printf "\024s\n" > "$1"' sh "$2"
            answered=$((answered + 1))
        done
        now=$(wc -c < "$LOG" 2>/dev/null || echo 0)
        if [ "$now" = "$size" ]; then quiet=$((quiet + 1)); else quiet=0 size=$now; fi
        if [ $quiet -ge 180 ]; then
            echo "no console output for 180 s" > "$LOG.hung"
            kill "$1" 2>/dev/null
            break
        fi
        sleep 1
    done
}
last() { tail -n 3 "$clean" | tr '\n' '|'; }

# field LINE WORDS...: the number that follows the words in the line
field() {
    line=$1; shift
    echo "$line" | sed -n "s/.*[ :,]$*[ =]\([0-9][0-9]*\).*/\1/p"
}
# vnet_line VM: the per-port line printed when VM stops
vnet_line() { grep "^vnet ${1}0: vm $1: " "$clean" | tail -1; }   # (console snapshots come before)
# the guest's last eth0 counters (printed again after iperf3)
guest_line() { grep "^\[$1\] nethv-guest: eth0 rx_packets" "$clean" | tail -1; }

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
    # (O's spoof and no_dest count O's own frames at its ingress: not S's.
    # S's multicast that O's list filtered out is S's no_dest, and O's
    # "multicast filtered")
    drops=0
    for c in no_buf malformed oversize down budget mtu; do
        n=$(field "$l" "$c"); [ -n "$n" ] || fail "no '$c' drop count: $l"
        drops=$((drops + n))
    done
    # frames the switch dropped at S's ingress (spoofed source, nowhere to go)
    ingress=$(( $(field "$s" spoof) + $(field "$s" no_dest) ))
    [ "$tx" -eq $((rx + drops + ingress)) ] ||
        fail "${first}0 sent $tx frames, ${other}0 took $rx and dropped $drops, $ingress dropped on entry"
    pass
)

# a's two runs and b's two finished server tests (guest/build-linux-image.sh --iperf3)
check_iperf3() (
    TEST=qemu-net/iperf3
    iperf3_check "$clean" '\[a\] ' "$clean" '\[b\] ' 10.0.0.2 "VM a" "VM b"
    echo "PASS: $TEST (TCP between the VMs, received: by b $ip3_to Mbits/s, by a $ip3_from Mbits/s)"; exit 0
)

# lineno PATTERN: the number of the first line of $clean matching PATTERN
lineno() { grep -n -m1 "$1" "$clean" | cut -d: -f1; }
# after N PREFIX: the first line after line N that starts with PREFIX, as
# "NUMBER:LINE"
after() { awk -v from="$1" -v p="$2" 'NR > from && index($0, p) == 1 { print NR ":" $0; exit }' "$clean"; }
# delta S1 S2 WORDS...: the number after WORDS in snapshot line S2 minus S1's
delta() {
    a=$1 b=$2; shift 2
    x=$(field "$a" "$@"); y=$(field "$b" "$@")
    [ -n "$x" ] && [ -n "$y" ] && echo $((y - x))
}

# The iperf3 run between the two console snapshots (a's marks): zero
# monitor accesses to either VM's virtio-net device; the kernel's doorbells,
# EOIs and interrupts and the ports' frames all moved.
check_datapath_exits() (
    TEST=qemu-net/datapath-exits
    m1=$(lineno "^\[a\] nethv-guest: iperf3 mark start: waiting")
    g1=$(lineno "^\[a\] nethv-guest: iperf3 mark start: go")
    m2=$(lineno "^\[a\] nethv-guest: iperf3 mark end: waiting")
    g2=$(lineno "^\[a\] nethv-guest: iperf3 mark end: go")
    [ -n "$m1" ] && [ -n "$g1" ] && [ -n "$m2" ] && [ -n "$g2" ] ||
        fail "VM a's iperf3 marks: $(grep "^\[a\] nethv-guest: iperf3 mark" "$clean" | tr '\n' '|')"
    sum=""
    for vm in a b; do
        acc="vmm $vm: virtio-net 0: accesses in the monitor:"
        kx="vm $vm: exits by kernel:" mx="vm $vm: exits by monitor:" port="vnet ${vm}0: vm $vm:"
        for k in "$acc" "$kx" "$mx" "$port"; do
            s1=$(after "$m1" "$k"); s2=$(after "$m2" "$k")
            [ -n "$s1" ] && [ -n "$s2" ] || fail "no '$k' line in the snapshot after a mark"
            # each snapshot printed before a ran on (its 'go' line)
            [ "${s1%%:*}" -lt "$g1" ] && [ "${s2%%:*}" -lt "$g2" ] || fail "'$k': snapshot after the guest's 'go'"
        done
        a1=$(after "$m1" "$acc"); a2=$(after "$m2" "$acc")
        if [ "${a1#*:}" != "${a2#*:}" ]; then
            # b does not wait for a's end mark: once its iperf3 server is
            # done it powers off, and Linux's virtio reset on the way (the
            # status written 0 and read back: two common-config accesses)
            # can come before the end snapshot.  Those two, after its
            # "poweroff" line, and nothing else (soak, 2026-12-07: 1 of 7).
            po=$(lineno "^\[$vm\] nethv-guest: poweroff")
            c1=$(echo "$a1" | sed -n 's/.* common \([0-9]*\) .*/\1/p')
            c2=$(echo "$a2" | sed -n 's/.* common \([0-9]*\) .*/\1/p')
            r1=$(echo "${a1#*:}" | sed 's/ common [0-9]* / /'); r2=$(echo "${a2#*:}" | sed 's/ common [0-9]* / /')
            [ -n "$po" ] && [ "$po" -lt "${a2%%:*}" ] && [ "$r1" = "$r2" ] && [ -n "$c1" ] && [ -n "$c2" ] &&
                [ $((c2 - c1)) -le 2 ] ||
                fail "VM $vm: its monitor handled virtio-net accesses during iperf3: '${a1#*:}' then '${a2#*:}'"
        fi
        k1=$(after "$m1" "$kx"); k2=$(after "$m2" "$kx")
        x1=$(after "$m1" "$mx"); x2=$(after "$m2" "$mx")
        p1=$(after "$m1" "$port"); p2=$(after "$m2" "$port")
        dn=$(delta "$p1" "$p2" "kernel notifies"); di=$(delta "$p1" "$p2" "interrupts rxq")
        dt=$(delta "$p1" "$p2" "txq"); drx=$(delta "$p1" "$p2" "rx"); dtx=$(delta "$p1" "$p2" "tx")
        dind=$(delta "$p1" "$p2" "indirect chains")
        de=$(delta "$k1" "$k2" "eoi"); dk=$(delta "$k1" "$k2" "total"); dm=$(delta "$x1" "$x2" "total")
        for v in dn di dt drx dtx de dk dm dind; do
            eval "[ -n \"\$$v\" ]" || fail "VM $vm: cannot read the counters ($v): '$p2' / '$k2' / '$x2'"
        done
        [ "$dn" -gt 0 ] && [ "$drx" -gt 0 ] && [ "$dtx" -gt 0 ] && [ $((di + dt)) -gt 0 ] && [ "$de" -gt 0 ] ||
            fail "VM $vm: during iperf3 the kernel took $dn doorbells and $de EOIs, raised $((di + dt)) interrupts, port rx $drx tx $dtx frames"
        # VIRTIO_F_INDIRECT_DESC: Linux sends a TCP segment with page
        # fragments (SG, which CSUM brings) through an indirect table
        [ "$dind" -gt 0 ] || fail "VM $vm: no TX chain went through an indirect table during iperf3 ($p2)"
        mon=$(for w in $(echo "${x2#*:}" | sed 's/.*exits by monitor://; s/ total=.*//'); do
                  r=${w%%=*} was=$(field "$x1" "${w%%=*}"); echo "$r=$(( ${w#*=} - ${was:-0} ))"
              done | grep -v '=0$' | tr '\n' ' ')
        sum="$sum; VM $vm: port rx $drx tx $dtx frames ($dind chains through indirect tables), kernel took $dk exits ($dn doorbells, $de EOIs) and raised $((di + dt)) interrupts, monitor $dm exits (${mon% }), none on virtio-net"
    done
    echo "PASS: $TEST (during iperf3${sum#;})"; exit 0
)

# Jumbo frames (config/net-pair.dts: mtu 9000 on both ports): each guest
# took the device's MTU (VIRTIO_NET_F_MTU), a's nethv.mtu=9001 was refused,
# a's 8000-byte pings crossed the switch each way as single frames (the
# ports' "jumbo in"), none dropped for the MTU.
check_jumbo() (
    TEST=qemu-net/jumbo
    for vm in a b; do
        grep -q "^\[$vm\] nethv-guest: eth0 up, .*, mtu 9000$" "$clean" ||
            fail "VM $vm did not take the port's MTU: $(grep -m1 "^\[$vm\] nethv-guest: eth0 up" "$clean")"
    done
    grep -q "^\[a\] nethv-guest: eth0 mtu 9001: refused" "$clean" ||
        fail "past the port's MTU: $(grep -m1 "^\[a\] nethv-guest: eth0 mtu" "$clean" || echo "no 'eth0 mtu' line")"
    grep -q "^\[a\] nethv-guest: ping 10\.0\.0\.2 of 8000 bytes: 3/3 received" "$clean" ||
        fail "$(grep -m1 "^\[a\] nethv-guest: ping 10.0.0.2 of" "$clean" || echo "no 8000-byte ping line")"
    sum=""
    for vm in a b; do
        j=$(field "$(vnet_line $vm)" "jumbo in"); d=$(field "$(vnet_line $vm)" mtu)
        [ "${j:-0}" -ge 3 ] || fail "${vm}0 took ${j:-no} frames over 1500 bytes of payload: $(vnet_line $vm)"
        [ "${d:-x}" = 0 ] || fail "${vm}0 dropped frames for the MTU: $(vnet_line $vm)"
        sum="$sum, ${vm}0 $j frames over 1500 bytes in"
    done
    echo "PASS: $TEST (mtu 9000 taken by both guests, 9001 refused, 8000-byte pings 3/3${sum})"; exit 0
)

# TSO (HOST_TSO4/6 and GUEST_TSO4/6 offered, both guests take them): during
# iperf3 each VM sent TSO frames and took the other's whole, none segmented
# for it; the uplink-* cases segment them for the wire (qemu-wire's pcap
# checks the segments' TCP checksums).
check_tso() (
    TEST=qemu-net/tso
    m1=$(lineno "^\[a\] nethv-guest: iperf3 mark start: waiting")
    m2=$(lineno "^\[a\] nethv-guest: iperf3 mark end: waiting")
    [ -n "$m1" ] && [ -n "$m2" ] || fail "no iperf3 marks"
    sum=""
    for vm in a b; do
        p1=$(after "$m1" "vnet ${vm}0: vm $vm:"); p2=$(after "$m2" "vnet ${vm}0: vm $vm:")
        [ -n "$p1" ] && [ -n "$p2" ] || fail "no port snapshot of ${vm}0"
        s=$(delta "$p1" "$p2" "tso sent"); w=$(delta "$p1" "$p2" "tso in whole")
        g=$(delta "$p1" "$p2" "tso segmented")
        [ -n "$s" ] && [ -n "$w" ] && [ -n "$g" ] || fail "${vm}0's TSO counters: '$p2'"
        [ "$s" -gt 0 ] && [ "$w" -gt 0 ] && [ "$g" -eq 0 ] ||
            fail "${vm}0 during iperf3: $s TSO frames sent, $w taken whole, $g segmented for it"
        sum="$sum, ${vm}0 sent $s TSO frames and took $w whole"
    done
    echo "PASS: $TEST (during iperf3${sum#,})"; exit 0
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
    # a port without `mtu`: 1500, and Linux cannot go past it
    grep -q "^\[a\] nethv-guest: eth0 up, .*, mtu 1500$" "$clean" &&
        grep -q "^\[a\] nethv-guest: eth0 mtu 1501: refused" "$clean" ||
        fail "the default MTU: $(grep "^\[a\] nethv-guest: eth0 \(up\|mtu\)" "$clean" | tr '\n' '|')"
    grep -q "notify reached the monitor" "$clean" && fail "$(grep -m1 "notify reached the monitor" "$clean")"
    grep -Eq "^vm a: stopped: .*\(code 0\)" "$clean" || fail "no clean ACPI power-off; last lines: $(last)"
    pass
)

# uplink_attack: the Linux-guest variant of the attacking guests
# (config/net-uplink-attack.dts): `make run`'s pair behind an e1000e uplink
# (a: DHCP, pings the gateway and b; b: static, pings a and the gateway),
# with an attacker (guest/tests/attack.c gw_spoof) on a's CPU which from
# boot on floods the switch with frames and ARP replies from the user
# network's gateway MAC (learned on the uplink), from a's MAC and from
# random ones.  Every ping must still get 5/5 and a its lease; the spoofs
# are dropped and counted on the attacker's port, and the MAC table keeps
# the gateway on the uplink and a's and b's MACs on their ports.  Once a
# and b have powered off, Ctrl-T s prints the counters and QEMU is stopped
# (the attack never ends by itself).
uplink_attack() (
    TEST=qemu-net/uplink-attack
    LOG=$LOGDIR/qemu-net-uplink-attack.log
    clean=$LOG.txt
    iso=$LOGDIR/qemu-net-uplink-attack.iso
    for f in "$BUILD/config/net-uplink-attack.dtb" "$BUILD/guest/attack.elf"; do
        [ -f "$f" ] || fail "no $f (make configs guests)"
    done
    scripts/mkiso.sh "$iso" "$BUILD/nethv.elf" "$VM_CMDLINE" "$BUILD/config/net-uplink-attack.dtb:config.dtb" \
        "$IMG/vmlinuz" "$IMG/initrd.img" "$BUILD/guest/attack.elf" || fail "mkiso"
    fifo=$LOG.serial
    serial_fifo_open "$fifo" "$LOG" || fail "mkfifo $fifo.in $fifo.out"
    rm -f "$LOG.qemu"
    "$QEMU" -accel tcg -cpu max -smp $VM_SMP -m 2G -no-reboot -d cpu_reset -D "$LOG.qemu" \
        -display none -monitor none -serial "pipe:$fifo" -nodefaults -netdev user,id=n0 \
        -device e1000e,netdev=n0,romfile= -cdrom "$iso" -boot d 2>"$LOG.stderr" &
    qp=$!
    waited=0
    while [ $waited -lt 300 ] && kill -0 $qp 2>/dev/null &&
          [ "$(grep -c "^vm [ab]: stopped" "$LOG" 2>/dev/null)" -lt 2 ]; do
        sleep 2
        waited=$((waited + 2))
    done
    if kill -0 $qp 2>/dev/null; then
        ask_console_stats "$fifo.in" "$LOG" $qp >/dev/null
        sleep 1                 # the rest of the stats
    fi
    kill $qp 2>/dev/null
    wait $qp 2>/dev/null
    serial_fifo_close "$fifo"
    tr -d '\r' < "$LOG" > "$clean"
    grep -q "PANIC" "$clean" && fail "hypervisor panic: $(grep -m1 -A1 PANIC "$clean" | tail -1)"
    ! host_triple_fault "$LOG.qemu" || fail "$HOST_TF_MSG; last lines: $(last)"
    grep -q "^\[atk\] atk: attack gw_spoof" "$clean" || fail "the attack did not start: $(grep -m1 '^\[atk\]' "$clean")"
    grep -q "^\[a\] nethv-guest: eth0 up, 10\.0\.2\.15/" "$clean" ||
        fail "no DHCP lease under the attack: $(grep -m1 "^\[a\] nethv-guest: .*eth0" "$clean")"
    for want in "a] nethv-guest: ping 10\.0\.2\.2: 5/5" "a] nethv-guest: ping 10\.0\.2\.20: 5/5" \
                "b] nethv-guest: ping 10\.0\.2\.15: 5/5" "b] nethv-guest: ping 10\.0\.2\.2: 5/5"; do
        grep -q "^\[$want" "$clean" ||
            fail "no '[$want' under the attack after $waited s: $(grep 'nethv-guest: ping' "$clean" | tr '\n' '|')"
    done
    for vm in a b; do
        grep -Eq "^vm $vm: stopped: .*\(code 0\)" "$clean" || fail "no clean ACPI power-off of $vm; last lines: $(last)"
    done
    sp=$(grep "^vnet atk0: vm atk: rx " "$clean" | tail -1 | sed -n 's/.* spoof \([0-9]*\).*/\1/p')
    [ -n "$sp" ] && [ "$sp" -gt 0 ] || fail "no spoofed frame dropped and counted on atk0: $(grep "^vnet atk0:" "$clean" | tail -1)"
    table=$(awk '/^MAC table:/ { t = "" ; next } /^  [0-9a-f:]* vlan/ { t = t $0 "|" } END { print t }' "$clean")
    echo "$table" | grep -q "52:55:0a:00:02:02 vlan 0 -> port [0-9]* uplink, learned" ||
        fail "the gateway's MAC is not on the uplink: $table"
    echo "$table" | grep -q "52:54:00:00:00:0a vlan 0 -> port [0-9]* a0, static" ||
        fail "a's MAC is not on a0: $table"
    echo "$table" | grep -q "52:54:00:00:00:0b vlan 0 -> port [0-9]* b0, static" ||
        fail "b's MAC is not on b0: $table"
    echo "PASS: $TEST ($sp spoofed frames dropped; a got its lease, a and b 5/5 pings to each other and the gateway)"
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
    scripts/mkiso.sh "$iso" "$BUILD/nethv.elf" "$VM_CMDLINE" "$BUILD/config/default.dtb:config.dtb" \
        "$IMG/vmlinuz" "$IMG/initrd.img" || fail "mkiso"
    "$QEMU" -accel tcg -cpu max -smp $VM_SMP -m 2G -no-reboot -display none -monitor none \
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
    if ( TEST=qemu-net/boot; IMG=$IMG3 MARKS=1 boot pair net-pair 600 ); then
        check_pair_boot
        check_ping
        check_iperf3
        check_datapath_exits
        check_jumbo
        check_tso
        check_counters
        check_kernel_only
        check_poweroff
    else
        for t in ping iperf3 datapath-exits counters kernel-only poweroff; do
            echo "FAIL: qemu-net/$t: the pair's run failed, see qemu-net/boot (log: $LOG)"
        done
    fi
}

# ctrl: the control queue (config/net-ctrl.dts, the --iperf3 images for
# ethtool and tcpdump).  a's MAC change is taken (mac-change = "allow") and
# the switch follows: a's pings from the new MAC get 5/5, nothing of a0's
# dropped as spoofed; b's is refused.  a's ethtool shows the offloads on and
# rx-gro-hw off after -K (CTRL_GUEST_OFFLOADS).  b's tcpdump (promisc =
# "allow") sees a's pings to c; a's sees none of b's to c and Linux was
# refused promiscuous mode.  c, restarted, announced itself (GUEST_ANNOUNCE:
# its monitor's requests acked, b saw its gratuitous ARPs).  The kernel's
# counters agree: commands done and refused, promiscuous copies for b0
# only, and multicast that a0 or c0 filtered by their lists (the VMs' IPv6
# ND/MLD to groups not theirs).
ctrl() (
    TEST=qemu-net/ctrl
    IMG=$IMG3 boot ctrl net-ctrl 500
    grep -q "PANIC" "$clean" && fail "hypervisor panic: $(grep -m1 -A1 PANIC "$clean" | tail -1)"
    g() { grep -m1 "^\[$1\] nethv-guest: $2" "$clean"; }
    g a "eth0 address 52:54:00:00:00:aa: set, now 52:54:00:00:00:aa" >/dev/null ||
        fail "a's MAC change: $(g a "eth0 address" || echo "no line")"
    g b "eth0 address 52:54:00:00:00:bb: refused, still 52:54:00:00:00:0b" >/dev/null ||
        fail "b's MAC change: $(g b "eth0 address" || echo "no line")"
    for p in 10.0.0.2 10.0.0.3; do
        g a "ping $p: 5/5 received" >/dev/null || fail "a (new MAC) to $p: $(g a "ping $p" || echo "no ping line")"
    done
    g b "ping 10.0.0.3: 5/5 received" >/dev/null || fail "b to c: $(g b "ping" || echo "no ping line")"
    k1=$(g a "ethtool -k eth0:"); k2=$(grep "^\[a\] nethv-guest: ethtool -k eth0:" "$clean" | sed -n 2p)
    for want in "rx-checksumming: on" "tx-checksumming: on" "tcp-segmentation-offload: on" "rx-gro-hw: on"; do
        echo "$k1" | grep -q "$want" || fail "a's offloads lack '$want': $k1"
    done
    g a "ethtool -K eth0 rx-gro-hw off: done" >/dev/null && echo "$k2" | grep -q "rx-gro-hw: off" ||
        fail "rx-gro-hw off: $(g a "ethtool -K" || echo "no line"); then: $k2"
    sa=$(g a "sniffed"); sb=$(g b "sniffed")
    na=$(echo "$sa" | sed -n 's/.* \([0-9]*\) between other hosts.*/\1/p')
    nb=$(echo "$sb" | sed -n 's/.* \([0-9]*\) between other hosts.*/\1/p')
    case "$sb" in *"promiscuous mode granted") ;; *) fail "b (promisc allowed): '$sb'" ;; esac
    case "$sa" in *"promiscuous mode refused") ;; *) fail "a (promisc denied): '$sa'" ;; esac
    [ "${nb:-0}" -gt 0 ] || fail "b's tcpdump saw none of a's pings to c: '$sb'"
    [ "${na:-x}" = 0 ] || fail "a's tcpdump saw others' unicast: '$sa'"
    # GUEST_ANNOUNCE: c's restarted boot announced itself
    echo "$sb" | grep -q "[1-9][0-9]* gratuitous ARPs (from 10\.0\.0\.3)" ||
        fail "b saw no gratuitous ARP from c after its restart: '$sb'"
    mc=$(grep "^vmm c: virtio-net 0: accesses in the monitor:" "$clean" | tail -1)
    ack=$(field "$mc" acked)
    [ "${ack:-0}" -gt 0 ] || fail "c's monitor: no announce acked: '$mc'"
    la=$(vnet_line a); lb=$(vnet_line b); lc=$(vnet_line c)
    da=$(field "$la" "ctrl done"); ra=$(field "$la" "denied"); rb=$(field "$lb" "denied")
    pa=$(field "$la" "promiscuous copies"); pb=$(field "$lb" "promiscuous copies")
    fa=$(field "$la" "multicast filtered"); fc=$(field "$lc" "multicast filtered")
    sp=$(field "$la" "spoof")
    [ "${da:-0}" -gt 0 ] && [ "${ra:-0}" -gt 0 ] && [ "${rb:-0}" -gt 0 ] && [ "${pb:-0}" -gt 0 ] &&
        [ "${pa:-x}" = 0 ] && [ $(( ${fa:-0} + ${fc:-0} )) -gt 0 ] && [ "${sp:-x}" = 0 ] ||
        fail "the ports' counters: a0 '$la' / b0 '$lb' / c0 '$lc'"
    grep -q "control queue broken" "$clean" && fail "$(grep -m1 "control queue broken" "$clean")"
    echo "PASS: $TEST (a's MAC changed, b's refused; b sniffed $nb packets of others in promiscuous mode" \
         "(b0 $pb copies), a none (refused); c announced itself after its restart ($ack acked);" \
         "a0 $da commands done; multicast filtered a0 $fa c0 $fc)"
)

# CASES="pair uplink-e1000e ..." runs only those (default: all)
want() { [ -z "${CASES:-}" ] || echo " $CASES " | grep -q " $1 "; }
st=0
want pair && { pair || st=1; }
want ctrl && { ctrl || st=1; }
want uplink-e1000e && { uplink e1000e e1000e || st=1; }
want uplink-virtio-net && { uplink virtio-net virtio-net-pci,disable-legacy=on || st=1; }
want uplink-e1000 && { uplink e1000 e1000 || st=1; }
want uplink-attack && { uplink_attack || st=1; }
want default && { default_scenario || st=1; }
exit $st
