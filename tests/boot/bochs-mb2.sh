#!/bin/sh
# Boot nethv.elf via GRUB (Multiboot2) from an ISO under Bochs (VMX: tigerlake), 2 CPUs.
TEST=bochs-mb2
. "$(dirname "$0")/lib.sh"
LOG=$LOGDIR/$TEST.log
iso=$LOGDIR/$TEST.iso
rc=$LOGDIR/$TEST.bochsrc
scripts/mkiso.sh "$iso" "$BUILD/nethv.elf" "exit=poweroff" "$BUILD/config/default.dtb:config.dtb" || fail "mkiso"
bochs_rc_iso "$rc" tigerlake 2 256 "$iso"
bochs_run "$rc" 120
check_boot "$LOG" 2
grep -q "^paging: checked: .*, SMEP, SMAP$" "$clean" || fail "SMEP/SMAP not in force: $(grep -m1 '^paging: checked' "$clean")"
pass
