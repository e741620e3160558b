#!/bin/sh
# Boot nethv.efi (kernel embedded) from a FAT32 ESP disk image on OVMF under
# Bochs (VMX: tigerlake), 2 CPUs.  Loader output (OVMF console) and the
# loader's last line go to com1 ($LOG.com1); the kernel's port 0xE9 to $LOG.
TEST=bochs-uefi
cd "$(dirname "$0")/../.." || exit 1
. tests/boot/lib.sh
LOG=$LOGDIR/$TEST.log
esp=$LOGDIR/$TEST.esp
img=$LOGDIR/$TEST.img
rc=$LOGDIR/$TEST.bochsrc
NETHV_EFI=${NETHV_EFI:-$BUILD/nethv.efi} scripts/mkesp.sh "$esp" "exit=poweroff" \
    "$BUILD/config/default.dtb:config.dtb" 2>"$LOG.stderr" || fail "mkesp: $(cat "$LOG.stderr")"
scripts/mkesp-img.sh "$esp" "$img" 2>"$LOG.stderr" || fail "mkesp-img: $(cat "$LOG.stderr")"
rm -f "$LOG.com1"
bochs_rc "$rc" tigerlake 2 512
cat >> "$rc" <<EOB
romimage: file=/usr/share/ovmf/OVMF.fd, address=0xffe00000
ata0-master: type=disk, path=$img, mode=flat
boot: disk
com1: enabled=1, mode=file, dev=$LOG.com1
EOB
t0=$(date +%s.%N)
echo c | SDL_VIDEODRIVER=dummy timeout 120 bochs -q -f "$rc" > "$LOG" 2>"$LOG.stderr"
brc=$?
echo "rc $brc, $(echo "$(date +%s.%N) $t0" | awk '{ printf "%.1f", $1 - $2 }') s wall" > "$LOG.time"
grep -q "nethv-efi: error" "$LOG.com1" && fail "loader: $(grep -m1 'nethv-efi: error' "$LOG.com1" | tr -d '\r')"
grep -q "nethv-efi: boot services exited" "$LOG.com1" || fail "loader did not reach the kernel"
[ $brc -ne 124 ] || fail "Bochs still running after 120 s"
check_boot "$LOG" 2
pass
