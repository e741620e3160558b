#!/bin/sh
# guest-net.sh: guest-to-guest networking of two Linux VMs under nethv, next
# to the peer, in one invocation (`make bench`).  Figures, never judged.
#
# The guests, the same on both sides: Debian's 6.1 kernel and the iperf3
# initramfs of `guest/build-linux-image.sh --iperf3` ($BUILD/images-iperf),
# 1 vCPU and 256 MiB each, with the command lines of config/net-pair.dts
# (nethv.iperf3mark dropped, nethv.pingwait raised to 120 s): "a"
# (10.0.0.1) and "b" (10.0.0.2) ping each other 5 times, then a runs two 5 s
# iperf3 TCP tests against b's server, a -> b then b -> a (-R).
#   nethv  nethv from a GRUB ISO under QEMU TCG -cpu max -smp 2 (SVM), the
#          two VMs on host CPUs 0 and 1 with one virtio-net port each on the
#          kernel's switch
#   peer   Linux KVM as the L1 hypervisor under the same QEMU TCG -cpu max
#          -smp 2: Debian's kernel with kvm_amd, and two Debian QEMUs in L1
#          (-accel kvm), each guest with a virtio-net NIC, joined by a
#          `-netdev socket` link over L1's loopback
#          (guest/kvmbench/l2pair.sh; the L1 image: tests/bench/lib.sh)
# Rows: each guest's average ping RTT to the other, and the iperf3 receiver
# rate of each direction (Mbit/s); ratio nethv/peer (RTT: < 1 = nethv
# faster; Mbit/s: > 1 = nethv faster).  The guests measure with their own
# clocks (ping, iperf3): both sides run the guest kernel on a virtual TSC,
# so the figures compare like with like but are not wall-clock exact.
# Each side runs once; the exit status is non-zero only if a side could not
# run, and says which.
#
# Env: BUILD (default build), BENCH_NET_SIDES (default "nethv peer").
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
SIDES=${BENCH_NET_SIDES:-nethv peer}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$BUILD/bench/guest-net
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
IMG=$BUILD/images-iperf
DTS=config/net-pair.dts
BENCH=guest-net
. "$HERE/lib.sh"           # problem, loadavg, put, build_l1_image

# ---- inputs -------------------------------------------------------------------
# bootargs VM: VM's command line in $DTS, adapted as said above
bootargs() {
    awk -v vm="$1" '$1 == vm && $2 == "{" { in_vm = 1 } in_vm && /bootargs/ { print; exit }' "$DTS" |
        sed 's/.*bootargs = "\([^"]*\)".*/\1/; s/ nethv\.iperf3mark//; s/nethv\.pingwait=[0-9]*/nethv.pingwait=120/'
}
inputs() {
    guest/build-linux-image.sh --iperf3 "$IMG" > "$OUT/images.log" 2>&1 ||
        { problem "guest/build-linux-image.sh --iperf3 $IMG failed (log: $OUT/images.log)"; return 1; }
    ARGS_A=$(bootargs a) ARGS_B=$(bootargs b)
    [ -n "$ARGS_A" ] && [ -n "$ARGS_B" ] || { problem "no bootargs for a and b in $DTS"; return 1; }
}

nethv_iso() {
    [ -f "$BUILD/nethv.elf" ] || { problem "nethv: $BUILD/nethv.elf missing (make all)"; return 1; }
    awk -v a="$ARGS_A" -v b="$ARGS_B" '
        $1 ~ /^[ab]$/ && $2 == "{" { vm = $1 }
        /bootargs = / { sub(/bootargs = "[^"]*"/, "bootargs = \"" (vm == "a" ? a : b) "\"") }
        { print }' "$DTS" | dtc -q -I dts -O dtb -o "$OUT/net-bench.dtb" - ||
        { problem "nethv: dtc failed"; return 1; }
    scripts/mkiso.sh "$OUT/nethv.iso" "$BUILD/nethv.elf" "exit=poweroff" "$OUT/net-bench.dtb:config.dtb" \
        "$IMG/vmlinuz" "$IMG/initrd.img" > "$OUT/mkiso.log" 2>&1 ||
        { problem "nethv: mkiso failed (log: $OUT/mkiso.log)"; return 1; }
}

peer_image() {
    put "$OUT/l2-cmdline-a" "$ARGS_A"
    put "$OUT/l2-cmdline-b" "$ARGS_B"
    put "$OUT/l2-memory" 256
    build_l1_image "$BUILD/images-l2pair" "$OUT/peer-image.log" \
        --file guest/kvmbench/l2pair.sh:/etc/nethv.d/50-l2pair.sh \
        --file "$IMG/vmlinuz:/l2/vmlinuz" --file "$IMG/initrd.img:/l2/initrd.img" \
        --file "$OUT/l2-cmdline-a:/l2/cmdline-a" --file "$OUT/l2-cmdline-b:/l2/cmdline-b" \
        --file "$OUT/l2-memory:/l2/memory"
}

# ---- runs ---------------------------------------------------------------------
# run SIDE: the side's emulator run, console to $OUT/SIDE.raw (as it comes)
# and, CRs removed, $OUT/SIDE.log
run() {
    case $1 in
    nethv) echo "guest-net: nethv: two VMs on the kernel's switch under QEMU TCG -cpu max -smp 2 (load $(loadavg))" ;;
    peer) echo "guest-net: peer: Linux KVM + two Debian QEMUs in L1 under QEMU TCG -cpu max -smp 2 (load $(loadavg))" ;;
    esac
    case $1 in
    nethv)
        timeout 900 qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 2G -no-reboot \
            -display none -monitor none -serial "file:$OUT/$1.raw" \
            -device isa-debug-exit,iobase=0xf4,iosize=4 -cdrom "$OUT/nethv.iso" -boot d ;;
    peer)
        timeout 1200 qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 2G -no-reboot \
            -display none -monitor none -nic none -serial "file:$OUT/$1.raw" \
            -kernel "$BUILD/images-l2pair/vmlinuz" -initrd "$BUILD/images-l2pair/initrd.img" \
            -append "console=ttyS0 quiet nethv.nomodules nethv.poweroff" ;;
    esac < /dev/null > "$OUT/$1.qemu.log" 2>&1
    tr -d '\r' < "$OUT/$1.raw" > "$OUT/$1.log"
}
# results SIDE: the four figures, "rtt_a rtt_b to from" ('-' where missing)
results() {
    l=$OUT/$1.log
    ra=$(sed -n 's/^\[a\] nethv-guest: ping 10\.0\.0\.2: 5\/5 received, avg \([0-9.]*\) ms.*/\1/p' "$l" | head -1)
    rb=$(sed -n 's/^\[b\] nethv-guest: ping 10\.0\.0\.1: 5\/5 received, avg \([0-9.]*\) ms.*/\1/p' "$l" | head -1)
    r() { sed -n "s/^\[a\] nethv-guest: iperf3 $1 10\.0\.0\.2: .*, \([0-9.]*\) Mbits\/sec receiver.*/\1/p" "$l" | head -1; }
    echo "${ra:--} ${rb:--} $(r to | grep . || echo -) $(r from | grep . || echo -)"
}
complete() { ! results "$1" | grep -q -- '-'; }
why() {
    w=$(grep -a -m1 -E 'PANIC|FAILED|error:|Kernel panic|triple-fault|qemu-system-x86_64: ' "$OUT/$1.log")
    echo "${w:-last line: $(grep -v '^$' "$OUT/$1.log" | tail -1)}"
}

ok_nethv=0 ok_peer=0
inputs || { echo "guest-net: cannot build the guests$problems"; exit 1; }
case " $SIDES " in *" nethv "*) nethv_iso && ok_nethv=1 ;; esac
case " $SIDES " in *" peer "*) peer_image && ok_peer=1 ;; esac
for side in nethv peer; do
    eval "[ \$ok_$side = 1 ]" || continue
    run $side
    complete $side || { problem "$side: no complete result: $(why $side) (log: $OUT/$side.log)"; eval "ok_$side=0"; }
done

set -- $( [ $ok_nethv = 1 ] && results nethv || echo - - - -)
n1=$1 n2=$2 n3=$3 n4=$4
set -- $( [ $ok_peer = 1 ] && results peer || echo - - - -)
p1=$1 p2=$2 p3=$3 p4=$4
ratio() { [ "$1" = - ] || [ "$2" = - ] && { echo -; return; }; awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
echo
echo "guest-to-guest network, two Linux VMs (1 vCPU, 256 MiB each) under QEMU TCG -cpu max -smp 2:"
printf '  %-34s %9s %9s %11s\n' "" nethv peer nethv/peer
printf '  %-34s %9s %9s %11s\n' "ping RTT a -> b, ms (avg of 5)" "$n1" "$p1" "$(ratio "$n1" "$p1")"
printf '  %-34s %9s %9s %11s\n' "ping RTT b -> a, ms (avg of 5)" "$n2" "$p2" "$(ratio "$n2" "$p2")"
printf '  %-34s %9s %9s %11s\n' "iperf3 TCP a -> b, Mbit/s (5 s)" "$n3" "$p3" "$(ratio "$n3" "$p3")"
printf '  %-34s %9s %9s %11s\n' "iperf3 TCP b -> a, Mbit/s (5 s)" "$n4" "$p4" "$(ratio "$n4" "$p4")"
if [ -n "$problems" ]; then
    echo "guest-net: problems:$problems"
    exit 1
fi
