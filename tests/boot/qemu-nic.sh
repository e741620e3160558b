#!/bin/sh
# The uplink NIC drivers under QEMU TCG: nethv boots with one NIC model at a
# time on QEMU's user network, starts it (config/nic-test.dts) and, for
# net.arping=10.0.2.2, asks the user network's gateway for its MAC by ARP,
# then sends 600 more requests (both rings wrap twice) and wants 600 replies.
# One result line per case: PASS: qemu-nic/e1000, qemu-nic/e1000e,
# qemu-nic/virtio-net (GRUB, pc machine), qemu-nic/e1000e-q35 (PCIe,
# ECAM when the MCFG is known), qemu-nic/virtio-net-uefi (OVMF puts the
# 64-bit BAR far above RAM: the MMIO mapping beyond the boot identity map).
cd "$(dirname "$0")/../.." || exit 1
. tests/boot/lib.sh
GW_MAC=52:55:0a:00:02:02            # QEMU user-net gateway 10.0.2.2
CMDLINE="exit=poweroff net.arping=10.0.2.2"
iso=$LOGDIR/qemu-nic.iso
esp=$LOGDIR/qemu-nic.esp
bad=0

TEST=qemu-nic
scripts/mkiso.sh "$iso" "$BUILD/nethv-test.elf" "$CMDLINE" \
    "$BUILD/config/nic-test.dtb:config.dtb" "$BUILD/guest/vmcall.elf" || fail "mkiso"
NETHV_EFI=${NETHV_EFI:-$BUILD/nethv-test.efi} scripts/mkesp.sh "$esp" "$CMDLINE" \
    "$BUILD/config/nic-test.dtb:config.dtb" "$BUILD/guest/vmcall.elf" || fail "mkesp"

# one NAME DRIVER DEVICE IRQ BOOT [QEMU ARGS...]: boot (BOOT: iso|uefi) with
# -device DEVICE, expect driver DRIVER with interrupt mode IRQ
one() {
    TEST=qemu-nic/$1 drv=$2 dev=$3 irq=$4 boot=$5
    shift 5
    LOG=$LOGDIR/$(echo "$TEST" | tr / -).log
    if [ "$boot" = uefi ]; then
        cp /usr/share/OVMF/OVMF_VARS_4M.fd "$LOG.vars.fd"
        set -- "$@" -drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
            -drive if=pflash,format=raw,unit=1,file="$LOG.vars.fd" -drive format=raw,file=fat:rw:"$esp"
    else
        set -- "$@" -cdrom "$iso" -boot d
    fi
    timeout 90 "$QEMU" -accel tcg -cpu max -smp 2 -m 1G -no-reboot \
        -display none -monitor none -serial "file:$LOG" -nodefaults \
        -netdev user,id=n0 -device "$dev,netdev=n0,romfile=" \
        -device isa-debug-exit,iobase=0xf4,iosize=4 "$@" 2>"$LOG.stderr"
    rc=$?
    ( # fail/pass exit: a subshell per case
        [ $rc -ne 124 ] || fail "QEMU still running after 90 s"
        check_boot "$LOG" 2
        c=$LOG.txt
        grep -Eq "^net: uplink $drv [0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] mac ([0-9a-f]{2}:){5}[0-9a-f]{2} link up irq $irq\$" "$c" ||
            fail "no uplink line for $drv (link up, irq $irq): $(grep -m1 '^net: ' "$c")"
        grep -Eq "^net: arping 10\.0\.2\.2: is-at $GW_MAC \([0-9]+ ms\)" "$c" ||
            fail "no ARP reply from 10.0.2.2: $(grep -m1 '^net: arping' "$c")"
        grep -Eq "^net: arping 10\.0\.2\.2: burst of 600 requests: 600 replies" "$c" ||
            fail "ring wrap-around burst: $(grep -m1 'burst of' "$c")"
        ! grep -q "^net: .*failed" "$c" || fail "$(grep -m1 '^net: .*failed' "$c")"
        if [ "$irq" != polled ]; then
            grep -Eq "^net: uplink counters: .* irqs [1-9]" "$c" || fail "no NIC interrupt taken"
        fi
        pass
    ) || bad=1
}

one e1000 e1000 e1000 polled iso
one e1000e e1000e e1000e msi iso
one virtio-net virtio-net virtio-net-pci,disable-legacy=on msix iso
one e1000e-q35 e1000e e1000e msi iso -M q35
one virtio-net-uefi virtio-net virtio-net-pci,disable-legacy=on msix uefi
exit $bad
