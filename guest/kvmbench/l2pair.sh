# /etc/nethv.d/50-l2pair.sh in the L1 initramfs of tests/bench/guest-net.sh
# (the peer of the guest-to-guest network benchmark; sourced by /init in a
# subshell): load Linux KVM, then run two L2 guests with Debian's QEMU on
# KVM, joined by a `-netdev socket` link over L1's loopback -- what nethv's
# switch does between two VMs, done the usual way by a Linux host.
#   /l2/vmlinuz, /l2/initrd.img   the guests' kernel and initramfs (the
#                                 iperf3 image of guest/build-linux-image.sh)
#   /l2/cmdline-a, /l2/cmdline-b  their command lines ("b" listens, "a" connects)
#   /l2/memory                    MiB per guest
# Each guest's console is a QEMU -serial stdio, its lines printed here with
# the prefix "[a] " or "[b] " (as nethv prints its VMs' consoles), so the
# host reads both sides' results the same way.  "l2pair: done" when both
# QEMUs have ended.
l2pair_qemu() {     # l2pair_qemu NAME NETDEV-ARGS MAC
    /usr/bin/qemu-system-x86_64 -L /usr/share/qemu -accel kvm -cpu host -smp 1 \
        -m "$(cat /l2/memory)" -nodefaults -no-reboot -vga none -display none \
        -monitor none -serial stdio -kernel /l2/vmlinuz -initrd /l2/initrd.img \
        -append "$(cat "/l2/cmdline-$1")" \
        -netdev "socket,id=n0,$2" -device "virtio-net-pci,netdev=n0,mac=$3,romfile=" \
        < /dev/null 2>&1 | while IFS= read -r line; do echo "[$1] $line"; done
}
if loadkvm; then
    mkdir -p /dev/shm /tmp
    echo "l2pair: start"
    l2pair_qemu b listen=127.0.0.1:5555 52:54:00:00:00:0b &
    pb=$!
    i=0                             # b listens before a connects
    while [ $i -lt 120 ] && ! netstat -ltn 2>/dev/null | grep -q ':5555 '; do
        sleep 1; i=$((i + 1))
    done
    l2pair_qemu a connect=127.0.0.1:5555 52:54:00:00:00:0a &
    pa=$!
    wait $pa $pb
    echo "l2pair: done"
else
    echo "l2pair: error: no KVM"
fi
