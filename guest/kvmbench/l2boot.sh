# /etc/nethv.d/50-l2boot.sh in the L1 initramfs of tests/bench/boot-time.sh
# (the peer of the boot-time benchmark; sourced by /init in a subshell, after
# the L1 kernel reached its own init): load Linux KVM for this CPU's
# virtualization extension, then boot the L2 guest with Debian's QEMU on KVM:
# kernel /l2/vmlinuz, initramfs /l2/initrd.img, command line from
# /l2/cmdline, L2 memory from /l2/memory (MiB).  The L2 serial console is
# QEMU's standard output, i.e. this (L1) console.  "l2boot: start" is printed
# right before QEMU is started: the host times the L2 boot from that line.
# Before that, "l2boot: probe" ... "l2boot: probed" bracket a
# `qemu-system-x86_64 -version`: how long starting the QEMU binary (the
# dynamic loader and its 50 libraries) takes in L1, for the report.
if loadkvm; then
    mkdir -p /dev/shm /tmp
    echo "l2boot: probe"
    /usr/bin/qemu-system-x86_64 -version > /dev/null
    echo "l2boot: probed"
    echo "l2boot: start"
    /usr/bin/qemu-system-x86_64 -L /usr/share/qemu -accel kvm -cpu host -smp 1 \
        -m "$(cat /l2/memory)" -nodefaults -no-reboot -vga none -display none \
        -monitor none -serial stdio -kernel /l2/vmlinuz -initrd /l2/initrd.img \
        -append "$(cat /l2/cmdline)" < /dev/null
    echo "l2boot: qemu exit status $?"
else
    echo "l2boot: error: no /dev/kvm"
fi
