#!/bin/sh
# Boot nethv.elf via GRUB (Multiboot2) from an ISO under QEMU TCG, 2 CPUs;
# the host map's protections checked at boot include SMEP and SMAP.
# The command line also carries a bad cpu-offset (2 with 2 CPUs online):
# no VM may start, and the line must name the option and the limit.
TEST=qemu-mb2
. "$(dirname "$0")/lib.sh"
LOG=$LOGDIR/$TEST.log
iso=$LOGDIR/$TEST.iso
scripts/mkiso.sh "$iso" "$BUILD/nethv.elf" "exit=poweroff cpu-offset=2" "$BUILD/config/default.dtb:config.dtb" || fail "mkiso"
timeout 60 "$QEMU" -accel tcg -cpu max -smp 2 -m 1G -no-reboot \
    -display none -monitor none -serial "file:$LOG" \
    -device isa-debug-exit,iobase=0xf4,iosize=4 -cdrom "$iso" -boot d 2>"$LOG.stderr"
rc=$?
[ $rc -ne 124 ] || fail "QEMU still running after 60 s"
check_boot "$LOG" 2
grep -q "^paging: checked: .*, SMEP, SMAP$" "$clean" || fail "SMEP/SMAP not in force: $(grep -m1 '^paging: checked' "$clean")"
grep -q "^vm: cmdline: cpu-offset=2: must be a number below the 2 CPUs online; no VM started$" "$clean" ||
    fail "bad cpu-offset not refused: $(grep -m1 '^vm' "$clean")"
! grep -q "^vm [a-z0-9]*: created" "$clean" || fail "a VM was created despite the bad cpu-offset"
pass
