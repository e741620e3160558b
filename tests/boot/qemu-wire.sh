#!/bin/sh
# nethv on a wire to a plain Linux machine (issue 7, tests 3 and 4): two
# QEMU processes (TCG) joined by a `-netdev socket` link; the wire is
# captured with QEMU's filter-dump and read back with tshark.
#
#   QEMU #1 (-cpu max -smp 2, the listen side): nethv from a GRUB ISO with
#     config/net-wire.dts: Linux VM "a" (10.0.9.1, port MAC
#     52:54:00:00:00:0a) on the kernel's switch, whose uplink is the host's
#     virtio-net NIC (MAC 52:54:00:00:00:01; WIRE_NIC=e1000e or e1000 for
#     those models: the config says nic "auto") on the socket link, with
#     `-object filter-dump` on that netdev (both directions, whole frames).
#   QEMU #2 (-smp 1, the connect side, started once #1 listens): no nethv --
#     the same Debian kernel + initrd booted with -kernel/-initrd, 10.0.9.2,
#     virtio-net MAC 52:54:00:00:00:0b.
# Each guest waits for the other to answer and pings it 5 times (the network
# hook of guest/build-linux-image.sh).  With iperf3 (default; NOIPERF=1 turns
# it off) the images come from `guest/build-linux-image.sh --iperf3` in
# $BUILD/images-iperf: VM a then serves two iperf3 tests, the plain VM runs
# them as the client, 5 s of TCP each way (to VM a, then -R).  Both guests
# power off; both QEMUs must end by themselves.
#
# Results (one line each):
#   qemu-wire/ping      both guests: "ping PEER: 5/5 received"
#   qemu-wire/iperf3    the client's two runs report sender and receiver
#                       Mbits/sec, VM a's server finishes both tests (figures
#                       are printed by the guests, no threshold)
#   qemu-wire/poweroff  VM a and the hypervisor power off cleanly (code 0),
#                       the plain VM powers off, neither QEMU hits its timeout
#                       and the plain VM ends within 120 s of nethv's QEMU
#                       (else it is stopped: a client whose server vanished
#                       would retransmit for many minutes)
#   qemu-wire/pcap      tshark (-n; IPv4/TCP/UDP checksum validation on) over
#                       the whole capture:
#     - source MACs are only ...:0a, ...:0b and the uplink NIC's ...:01;
#       frames from ...:01 are allowed but counted in the log: the kernel is
#       not expected to originate any (its NIC is promiscuous and only
#       carries the switch's frames), and none showed up so far;
#     - every IPv4 frame from 10.0.9.1 has source MAC ...:0a and every one
#       from 10.0.9.2 ...:0b: VM a's frames crossed the switch and the
#       uplink NIC with their addresses untouched;
#     - no malformed frame, no expert error, no bad IPv4/TCP/UDP/ICMP/ICMPv6
#       checksum (iperf3's TCP port 5201 is decoded as plain data, or
#       tshark's heuristics misread its payload): the socket netdev carries
#       no virtio-net header, so neither side may put partial checksums on
#       the wire -- nethv has to complete those of VM a's virtio-net (CSUM)
#       toward the wire (the log counts the TCP frames with a good checksum).
#       One exception, counted on the PASS line: a TCP checksum of 0xffff
#       where the computation gives 0x0000 (tshark: "0xffff instead of
#       0x0000 (see RFC 1624)", tcp.checksum.ffff).  Both are ones'-
#       complement zero and receivers accept either; nethv's software
#       completion (kernel/pkt.c, like Linux's skb_checksum_help) writes
#       0xffff for every protocol, since UDP must not send 0 -- about one
#       frame in 65536 of VM a's TCP traffic;
#     then, on a small capture without the TCP payload frames:
#     - ICMP echo both ways: >= 5 requests each way with eth.src/eth.dst the
#       MACs of ip.src/ip.dst, and >= 5 replies that tshark matches to a
#       request in the capture (icmp.resp_to), MACs likewise; >= rather than
#       == because the "wait for the peer" probe pings may show up too; no
#       ICMP frame with any other address pair;
#     - ARP: at least one request and one reply on the wire, every ARP
#       sender MAC equal to the frame's source MAC and to its sender IP's.
#   qemu-wire/counters  VM a's port counters (the "vnet a0:" line at its
#                       stop) against the capture: the frames from ...:0a on
#                       the wire are at most the frames the switch took from
#                       VM a (tx minus its spoof/no_dest entry drops) -- none
#                       invented or duplicated -- and exactly as many
#                       without iperf3; with iperf3 up to 1 % may be missing
#                       (the uplink's TX ring fills under TCP bulk traffic;
#                       the count is printed on the PASS line); and the
#                       frames VM a took or dropped (rx + no_buf, malformed,
#                       oversize, down) are at most those from ...:0b on the
#                       wire (the plain VM may send a few more after VM a's
#                       stop line, until QEMU #1 exits).
# Each case runs once: a failure is a failure.  (Once in CI, before the
# QEMU TCG hflags2 race was found -- arch/x86_64/fpu.c -- the plain VM's
# first iperf3 run never ended; its logs are gone, and `make soak` repeats
# this scenario to catch a recurrence.)
# Logs in $LOGDIR: qemu-wire-run-nethv.log(.txt), qemu-wire-run-peer.log(.txt),
# the tshark summary qemu-wire-run.pcap.txt, the small capture
# qemu-wire-run.small.pcap; the whole capture qemu-wire-run.pcap (hundreds
# of MB with iperf3) is kept only when pcap or counters fail, or KEEP_PCAP=1.
# tshark (package tshark) is installed with apt-get when missing
# (non-interactive, the setuid dumpcap question preseeded "no").
TEST=qemu-wire
. "$(dirname "$0")/lib.sh"
LOG=$LOGDIR/qemu-wire.log
IMG=$BUILD/images
UPLINK_MAC=52:54:00:00:00:01
# the host NIC nethv drives as its uplink: virtio-net (default), e1000e or e1000
NIC=${WIRE_NIC:-virtio-net}
case $NIC in
virtio-net) NICDEV=virtio-net-pci,disable-legacy=on ;;
e1000e|e1000) NICDEV=$NIC ;;
*) fail "WIRE_NIC=$NIC: want virtio-net, e1000e or e1000" ;;
esac
MAC_A=52:54:00:00:00:0a
MAC_B=52:54:00:00:00:0b
[ -f "$BUILD/config/net-wire.dtb" ] || fail "no $BUILD/config/net-wire.dtb (make configs)"

# ensure_tshark: install Debian's tshark if it is missing
ensure_tshark() {
    command -v tshark >/dev/null 2>&1 && return 0
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    echo "wireshark-common wireshark-common/install-setuid boolean false" |
        $SUDO debconf-set-selections 2>/dev/null
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends tshark \
        >"$LOG.apt" 2>&1 || { $SUDO apt-get update -qq >/dev/null 2>&1 &&
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends tshark \
        >"$LOG.apt" 2>&1; }
    command -v tshark >/dev/null 2>&1
}

# listening PORT: is something listening on 127.0.0.1:PORT?  (without ss:
# assume so after 3 s)
if command -v ss >/dev/null 2>&1; then
    listening() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }
else
    listening() { [ "${i:-0}" -ge 15 ]; }
fi

# wire NAME IMGDIR ISO T1 T2 PEER_ARGS: boots nethv (ISO, timeout T1 s) and,
# once it listens on the link, the plain VM (IMGDIR's kernel and initrd,
# kernel command line PEER_ARGS, timeout T2 s); waits for both.  Leaves
# $clean1 (nethv's log), $clean2 (the plain VM's), $rc1, $rc2, $PCAP, $secs.
wire() {
    name=$1 imgdir=$2 iso=$3 t1=$4 t2=$5 bargs=$6
    L1=$LOGDIR/qemu-wire-$name-nethv.log
    L2=$LOGDIR/qemu-wire-$name-peer.log
    PCAP=$LOGDIR/qemu-wire-$name.pcap PLOG=$LOGDIR/qemu-wire-$name.pcap.txt
    clean1=$L1.txt clean2=$L2.txt
    rm -f "$L1" "$L2" "$PCAP" "$clean1" "$clean2" "$PLOG" "$PLOG.macs"
    start=$(date +%s)
    port=$((20000 + ($$ * 7) % 20000))
    tries=0
    while :; do
        tries=$((tries + 1))
        [ $tries -le 20 ] || { echo "no free port" > "$L1.stderr"; return 1; }
        port=$((port + 1)) i=0
        listening $port && continue
        rm -f "$L1.qemu"
        timeout "$t1" "$QEMU" -accel tcg -cpu max -smp 2 -m 2G -no-reboot \
            -d cpu_reset -D "$L1.qemu" -display none -monitor none -serial "file:$L1" -nodefaults \
            -device isa-debug-exit,iobase=0xf4,iosize=4 -cdrom "$iso" -boot d \
            -netdev socket,id=n0,listen=127.0.0.1:$port \
            -device $NICDEV,netdev=n0,mac=$UPLINK_MAC,romfile= \
            -object filter-dump,id=f0,netdev=n0,file="$PCAP" 2>"$L1.stderr" &
        pid1=$! pid2=
        trap 'kill $pid1 2>/dev/null; exit 1' INT TERM HUP
        i=0
        while [ $i -lt 100 ] && kill -0 $pid1 2>/dev/null && ! listening $port; do
            sleep 0.2; i=$((i + 1))
        done
        kill -0 $pid1 2>/dev/null && listening $port && break
        wait $pid1
        grep -q "in use" "$L1.stderr" || return 1      # not a port clash
    done
    timeout "$t2" "$QEMU" -accel tcg -cpu max -smp 1 -m 256M -no-reboot \
        -display none -monitor none -serial "file:$L2" -nodefaults \
        -kernel "$imgdir/vmlinuz" -initrd "$imgdir/initrd.img" \
        -append "console=ttyS0 no_timer_check nethv.poweroff $bargs" \
        -netdev socket,id=n0,connect=127.0.0.1:$port \
        -device virtio-net-pci,netdev=n0,mac=$MAC_B,romfile= 2>"$L2.stderr" &
    pid2=$!
    # killed or interrupted: stop both QEMUs (timeout passes the signal on)
    trap 'kill $pid1 $pid2 2>/dev/null; exit 1' INT TERM HUP
    while kill -0 $pid1 2>/dev/null && kill -0 $pid2 2>/dev/null; do sleep 1; done
    # nethv's side ended first (VM a powered off, or did not): the plain VM
    # gets 120 s to finish too -- a peer that vanished mid-test would keep
    # its iperf3 retransmitting for many minutes
    peer_killed=0 i=0
    while ! kill -0 $pid1 2>/dev/null && kill -0 $pid2 2>/dev/null && [ $i -lt 120 ]; do
        sleep 1; i=$((i + 1))
    done
    kill -0 $pid2 2>/dev/null && ! kill -0 $pid1 2>/dev/null && { kill $pid2; peer_killed=1; }
    wait $pid2; rc2=$?
    # the plain VM's QEMU failed (not a guest power-off): don't wait minutes
    # for VM a to give up on its peer
    [ $rc2 -eq 0 ] || [ $rc2 -eq 124 ] || [ $peer_killed = 1 ] || kill $pid1 2>/dev/null
    wait $pid1; rc1=$?
    trap - INT TERM HUP
    secs=$(( $(date +%s) - start ))
    tr -d '\r' < "$L1" > "$clean1" 2>/dev/null
    tr -d '\r' < "$L2" > "$clean2" 2>/dev/null
    echo "qemu-wire: $name: nethv rc $rc1, peer rc $rc2, $secs s" >> "$LOG"
    return 0
}
last() { tail -n 3 "$1" | tr '\n' '|'; }

check_ping() (
    TEST=qemu-wire/ping LOG=$L1
    grep -q "PANIC" "$clean1" && fail "hypervisor panic: $(grep -m1 -A1 PANIC "$clean1" | tail -1)"
    grep -q "^net: uplink $NIC .* mac $UPLINK_MAC link up" "$clean1" ||
        fail "no $NIC uplink with link up: $(grep -m1 '^net: uplink' "$clean1" || grep -m1 '^net: ' "$clean1")"
    grep -q "^net: port uplink: .* is the switch's uplink" "$clean1" ||
        fail "no uplink port: $(grep -m1 '^net: port uplink' "$clean1" || grep -m1 '^net: ' "$clean1")"
    grep -q "^\[a\] nethv-guest: eth0 up, 10\.0\.9\.1/24" "$clean1" ||
        fail "VM a: no eth0: $(grep -m1 "^\[a\] nethv-guest: .*eth0" "$clean1" || last "$clean1")"
    grep -q "^nethv-guest: eth0 up, 10\.0\.9\.2/24, mac $MAC_B" "$clean2" ||
        fail "plain VM: no eth0: $(grep -m1 "nethv-guest: .*eth0" "$clean2" || last "$clean2") (log: $L2)"
    grep -q "^\[a\] nethv-guest: ping 10\.0\.9\.2: 5/5 received" "$clean1" ||
        fail "VM a: $(grep -m1 "^\[a\] nethv-guest: ping" "$clean1" || echo "no ping line")"
    grep -q "^nethv-guest: ping 10\.0\.9\.1: 5/5 received" "$clean2" ||
        fail "plain VM: $(grep -m1 "nethv-guest: ping" "$clean2" || echo "no ping line") (log: $L2)"
    ra=$(sed -n 's/^\[a\] nethv-guest: ping .*, avg \([0-9.]*\) ms.*/\1/p' "$clean1" | head -1)
    rb=$(sed -n 's/^nethv-guest: ping .*, avg \([0-9.]*\) ms.*/\1/p' "$clean2" | head -1)
    echo "PASS: $TEST (avg RTT: VM a ${ra:-?} ms, plain VM ${rb:-?} ms)"; exit 0
)

# both directions of the 5 s TCP run, both guests
check_iperf3() (
    TEST=qemu-wire/iperf3 LOG=$L1
    iperf3_check "$clean2" '' "$clean1" '\[a\] ' 10.0.9.1 "plain VM (log: $L2)" "VM a"
    echo "PASS: $TEST (TCP, received: by VM a $ip3_to Mbits/s, by the plain VM $ip3_from Mbits/s)"; exit 0
)

check_poweroff() (
    TEST=qemu-wire/poweroff LOG=$L1
    [ "$rc1" -ne 124 ] || fail "nethv's QEMU still running after $t1 s; last lines: $(last "$clean1")"
    grep -Eq "^vm a: stopped: .*\(code 0\)" "$clean1" ||
        fail "VM a: no clean ACPI power-off: $(grep -m1 "^vm a: stopped" "$clean1" || last "$clean1")"
    grep -q "^nethv: power off (code 0)" "$clean1" || fail "no hypervisor power-off; last lines: $(last "$clean1")"
    [ "$peer_killed" = 0 ] ||
        fail "the plain VM's QEMU still running 120 s after nethv's had ended (stopped); last lines: $(last "$clean2") (log: $L2)"
    [ "$rc2" -ne 124 ] || fail "the plain VM's QEMU still running after $t2 s; last lines: $(last "$clean2") (log: $L2)"
    grep -q "^nethv-guest: poweroff" "$clean2" || fail "plain VM did not power off; last lines: $(last "$clean2") (log: $L2)"
    pass
)

# ts PCAP FILTER [FIELDS...]: tshark (-n, IP/TCP/UDP checksum validation on,
# iperf3's port 5201 decoded as plain data: else heuristic dissectors take
# random payload for e.g. Thrift and call it malformed) over PCAP, display filter FILTER, one line per frame (the fields, or the
# one-line summary) into $T; a tshark error (a bad filter, an unreadable
# capture) fails the test.
ts() {
    p=$1 f=$2; shift 2
    if [ $# -gt 0 ]; then
        set -- -T fields $(for e in "$@"; do printf -- '-e %s ' "$e"; done)
    fi
    timeout 600 tshark -n -r "$p" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE \
        -o udp.check_checksum:TRUE $TSOPT ${f:+-Y "$f"} "$@" > "$T" 2>"$T.err" ||
        fail "tshark -Y '$f': $(grep -v 'Running as user' "$T.err" | head -2 | tr '\n' ' ')"
}
# iperf3's payload as plain data (port 5201 claims it before any heuristic
# dissector: one of those spent 14 min of CPU on random payload in a run)
TSOPT="-d tcp.port==5201,data"
# count VAR FILTER: VAR = the number of frames of the small capture matching
count() { ts "$SMALL" "$2" frame.number; eval "$1=\$(grep -c . < \"\$T\")"; }

# Three passes over the whole capture (hundreds of MB with iperf3), then the
# detailed checks on a small capture without the TCP payload frames.
check_pcap() (
    TEST=qemu-wire/pcap LOG=$PLOG
    T=$PLOG.tmp SMALL=$LOGDIR/qemu-wire-$name.small.pcap
    ensure_tshark || fail "no tshark (apt-get install tshark failed, see $LOG.apt)"
    [ -s "$PCAP" ] || fail "no capture $PCAP"
    # 1: source MAC, source IP and TCP checksum status of every frame
    ts "$PCAP" "" eth.src ip.src tcp.checksum.status tcp.checksum tcp.checksum_calculated
    awk -F '\t' '{ n++; mac[$1]++ } $2 != "" { ipmac[$2 " " $1]++ }
        $3 == 1 { tcpok++ } $4 == "0xffff" && $5 == "0x0000" { ffff++; fmac[$1]++ }
        END { printf "== %d frames, %d TCP with a good checksum, %d with 0xffff for 0x0000", n, tcpok, ffff
              for (m in fmac) printf " (%d from %s)", fmac[m], m
              print "; by source MAC:"
              for (m in mac) printf "%9d %s\n", mac[m], m
              print "== by source IP and MAC:"
              for (k in ipmac) printf "%9d %s\n", ipmac[k], k }' "$T" > "$PLOG"
    total=$(grep -c . < "$T")
    [ "$total" -gt 0 ] || fail "tshark reads no frame from $PCAP"
    awk -F '\t' '{ print $1 }' "$T" | sort | uniq -c > "$PLOG.macs"
    others=$(awk -v a=$MAC_A -v b=$MAC_B -v u=$UPLINK_MAC '$2 != a && $2 != b && $2 != u { print $2 }' "$PLOG.macs" | tr '\n' ' ')
    [ -z "$others" ] || fail "frames from unexpected source MACs: $others"
    nup=$(awk -v u=$UPLINK_MAC '$2 == u { print $1 }' "$PLOG.macs")
    echo "== frames from the uplink NIC's MAC: ${nup:-0}" >> "$PLOG"
    n=$(awk -F '\t' -v a=$MAC_A -v b=$MAC_B '($2 == "10.0.9.1" && $1 != a) || ($2 == "10.0.9.2" && $1 != b)' "$T" | grep -c .)
    [ "$n" -eq 0 ] || fail "$n IPv4 frames whose source MAC is not their source IP's"
    # 2: malformed frames, expert errors and bad checksums (tshark files
    # those as warnings of the checksum group: asked for explicitly)
    bad='_ws.expert.group == checksum'
    for pr in ip tcp udp icmp icmpv6; do bad="$bad || $pr.checksum.status == \"Bad\""; done
    bad="_ws.malformed || _ws.expert.severity == error || (($bad) && !tcp.checksum.ffff)"
    ts "$PCAP" "$bad" frame.number _ws.col.Protocol _ws.expert.message
    [ ! -s "$T" ] || fail "$(grep -c . < "$T") malformed frames or bad checksums: $(head -3 "$T" | cut -c1-100 | tr '\t\n' ' |')"
    # 3: the small capture: everything but TCP segments with payload
    timeout 600 tshark -n -r "$PCAP" $TSOPT -Y "!(tcp.len > 0)" -F pcap -w "$SMALL" 2>"$T.err" ||
        fail "tshark -w $SMALL: $(grep -v 'Running as user' "$T.err" | head -1)"
    ts "$SMALL" "arp || icmp"
    { echo "== ARP and ICMP:"; cat "$T"; } >> "$PLOG"
    # ICMP both ways, MACs matching the addresses
    for d in "10.0.9.1 $MAC_A 10.0.9.2 $MAC_B" "10.0.9.2 $MAC_B 10.0.9.1 $MAC_A"; do
        set -- $d
        count req "icmp.type == 8 && ip.src == $1 && ip.dst == $3 && eth.src == $2 && eth.dst == $4"
        count rep "icmp.type == 0 && ip.src == $3 && ip.dst == $1 && eth.src == $4 && eth.dst == $2 && icmp.resp_to"
        echo "== echo $1 -> $3: $req requests, $rep replies (matched)" >> "$PLOG"
        [ "$req" -ge 5 ] && [ "$rep" -ge 5 ] ||
            fail "echo $1 -> $3: $req requests ($2 -> $4), $rep matched replies; want >= 5 each"
    done
    f="icmp && !(eth.src == $MAC_A && ip.src == 10.0.9.1) && !(eth.src == $MAC_B && ip.src == 10.0.9.2)"
    count n "$f"
    [ "$n" -eq 0 ] || { ts "$SMALL" "$f"; fail "$n ICMP frames with other addresses: $(head -2 "$T" | tr '\n' '|')"; }
    # ARP
    count areq "arp.opcode == 1"
    count arep "arp.opcode == 2"
    echo "== ARP: $areq requests, $arep replies" >> "$PLOG"
    [ "$areq" -ge 1 ] && [ "$arep" -ge 1 ] || fail "ARP: $areq requests, $arep replies on the wire"
    count n "arp && (arp.src.hw_mac != eth.src || (arp.src.proto_ipv4 == 10.0.9.1 && arp.src.hw_mac != $MAC_A) || (arp.src.proto_ipv4 == 10.0.9.2 && arp.src.hw_mac != $MAC_B))"
    [ "$n" -eq 0 ] || fail "$n ARP frames with a sender MAC not matching the frame or the sender IP"
    rm -f "$T" "$T.err"
    echo "PASS: $TEST ($total frames; TCP checksums: $(sed -n 's/^== [0-9]* frames, \([0-9]*\) TCP with a good checksum, \([0-9]*\) with 0xffff.*/\1 good, \2 0xffff for 0x0000/p' "$PLOG"))"; exit 0
)

# field LINE WORDS...: the number that follows the words in the line
field() {
    line=$1; shift
    echo "$line" | sed -n "s/.*[ :,]$*[ =]\([0-9][0-9]*\).*/\1/p"
}

# The kernel's counters of VM a's port (printed at VM a's stop) against the
# capture (see the header): frames from VM a's MAC on the wire <= the frames
# the switch took from VM a (tx minus the drops at its entry: spoof,
# no_dest), equal without iperf3, at most 1 % fewer with it; every frame VM a
# received or its port dropped (no_buf, malformed, oversize, down, budget) came off
# the wire from the plain VM, which may send a few more after VM a's stop
# line (until QEMU #1 exits), hence ">=" on that side.
check_counters() (
    TEST=qemu-wire/counters LOG=$L1
    [ -s "$PLOG.macs" ] || fail "no frame count by source MAC from the capture ($PLOG.macs)"
    v=$(grep -m1 "^vnet a0: vm a: " "$clean1")
    [ -n "$v" ] || fail "no 'vnet a0:' line at VM a's stop"
    tx=$(field "$v" tx); rx=$(field "$v" rx)
    [ -n "$tx" ] && [ -n "$rx" ] || fail "cannot read the counters: $v"
    ingress=0 drops=0
    for c in spoof no_dest; do
        n=$(field "$v" "$c"); [ -n "$n" ] || fail "no '$c' count: $v"; ingress=$((ingress + n))
    done
    for c in no_buf malformed oversize down budget mtu; do
        n=$(field "$v" "$c"); [ -n "$n" ] || fail "no '$c' count: $v"; drops=$((drops + n))
    done
    ca=$(awk -v m=$MAC_A '$2 == m { print $1 }' "$PLOG.macs"); ca=${ca:-0}
    cb=$(awk -v m=$MAC_B '$2 == m { print $1 }' "$PLOG.macs"); cb=${cb:-0}
    # VM a's TSO frames went out as their segments (the uplink's
    # "tso segmented N into M", printed once every VM stopped)
    seg=$(awk '/^port [0-9]+ [^ ]+ \(uplink\)/ { up = 1; next } /^port |^MAC table/ { up = 0 }
               up && /^  tso segmented / { print $3 + 0, $5 + 0 }' "$clean1" | tail -1)
    set -- $seg
    split=${1:-0} segs=${2:-0}
    passed=$((tx - ingress - split + segs)) lost=$((tx - ingress - split + segs - ca))
    echo "== counters: vnet a0 tx $tx (entry drops $ingress; $split TSO frames sent as $segs segments) rx $rx (drops $drops); on the wire: $ca from a, $cb from the plain VM" >> "$PLOG"
    [ "$lost" -ge 0 ] || fail "VM a's port passed $passed frames to the switch, but $ca are on the wire"
    if [ $iperf = 0 ]; then
        [ "$lost" -eq 0 ] || fail "VM a's port passed $passed frames to the switch, $ca of them on the wire"
    else
        [ $((lost * 100)) -le "$passed" ] ||
            fail "VM a's port passed $passed frames to the switch, only $ca of them on the wire (> 1 % lost)"
    fi
    [ "$cb" -ge $((rx + drops)) ] ||
        fail "VM a's port took $rx frames and dropped $drops, but only $cb came from the plain VM"
    [ "$lost" -eq 0 ] || { echo "PASS: $TEST ($lost of $passed frames from VM a not on the wire)"; exit 0; }
    pass
)

rm -f "$LOGDIR"/qemu-wire*.iso
: > "$LOG"
# the plain VM: waits for VM a (nethv boots Linux nested in TCG: minutes under
# load), pings it; with iperf3 it is the client, which keeps it up until VM a
# has run its pings and started its server; without, it stays up 40 s.
PEER="nethv.ip=10.0.9.2/24 nethv.ping=10.0.9.1 nethv.pingwait=420"
iperf=0 st=0
if [ "${NOIPERF:-0}" != 1 ]; then
    if guest/build-linux-image.sh --iperf3 "$BUILD/images-iperf" >"$LOG.images-iperf" 2>&1; then
        iperf=1 IMG=$BUILD/images-iperf
        PEER="$PEER nethv.wait=0 nethv.iperf3=10.0.9.1"
    else
        ( TEST=qemu-wire/iperf3; fail "building the iperf3 images (see $LOG.images-iperf)" )
        st=1
    fi
fi
if [ $iperf = 0 ]; then
    PEER="$PEER nethv.wait=40"
    guest/build-linux-image.sh "$IMG" >"$LOG.images" 2>&1 || fail "building the Linux images (see $LOG.images)"
fi
ISO=$LOGDIR/qemu-wire.iso
scripts/mkiso.sh "$ISO" "$BUILD/nethv.elf" "exit=poweroff" \
    "$BUILD/config/net-wire.dtb:config.dtb" "$IMG/vmlinuz" "$IMG/initrd.img" || fail "mkiso"
# run: one try of the whole scenario, its five result lines
run() {
    if ! wire run "$IMG" "$ISO" 600 600 "$PEER"; then
        ( TEST=qemu-wire/ping LOG=$L1; fail "QEMU did not start: $(head -c 300 "$L1.stderr")" )
        return
    fi
    if host_triple_fault "$L1.qemu"; then
        for t in ping iperf3 poweroff pcap counters; do
            echo "FAIL: qemu-wire/$t: nethv's QEMU: $HOST_TF_MSG (log: $L1)"
        done
        return
    fi
    check_ping
    [ $iperf = 0 ] || check_iperf3
    check_poweroff
    pc=0
    check_pcap || pc=1
    check_counters || pc=1
    # hundreds of MB with iperf3: kept only when a check fails (or KEEP_PCAP=1)
    [ $pc = 1 ] || [ "${KEEP_PCAP:-0}" = 1 ] || rm -f "$PCAP"
}
run || st=1
exit $st
