#!/bin/sh
# Boot nethv.efi (kernel embedded) from an ESP directory on OVMF under QEMU TCG, 2 CPUs.
TEST=qemu-uefi
cd "$(dirname "$0")/../.." || exit 1
. tests/boot/lib.sh
LOG=$LOGDIR/$TEST.log
esp=$LOGDIR/$TEST.esp
vars=$LOGDIR/$TEST.vars.fd
NETHV_EFI=${NETHV_EFI:-$BUILD/nethv.efi} scripts/mkesp.sh "$esp" "exit=poweroff" \
    "$BUILD/config/default.dtb:config.dtb" 2>"$LOG.stderr" || fail "mkesp: $(cat "$LOG.stderr")"
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$vars" || fail "no OVMF (apt-get install ovmf)"
t0=$(date +%s.%N)
timeout 60 "$QEMU" -accel tcg -cpu max -smp 2 -m 1G -no-reboot \
    -display none -monitor none -serial "file:$LOG" \
    -drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
    -drive if=pflash,format=raw,unit=1,file="$vars" \
    -drive format=raw,file=fat:rw:"$esp" \
    -device isa-debug-exit,iobase=0xf4,iosize=4 2>"$LOG.stderr"
rc=$?
echo "rc $rc, $(echo "$(date +%s.%N) $t0" | awk '{ printf "%.1f", $1 - $2 }') s wall" > "$LOG.time"
grep -q "nethv-efi: error" "$LOG" && fail "loader: $(grep -m1 'nethv-efi: error' "$LOG" | tr -d '\r')"
grep -q "nethv-efi: boot services exited" "$LOG" || fail "loader did not reach the kernel (rc $rc)"
[ $rc -ne 124 ] || fail "QEMU still running after 60 s"
check_boot "$LOG" 2
pass
