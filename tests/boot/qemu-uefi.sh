#!/bin/sh
# Boot nethv.efi (kernel embedded) from an ESP directory on OVMF under QEMU TCG
# with 2 CPUs; the kernel must come up and power off by itself.
# Logs: $BUILD/test-logs/qemu-uefi.{serial,out,result}.
set -u
NAME=qemu-uefi
TIMEOUT=${TIMEOUT:-60}
cd "$(dirname "$0")/../.." || exit 1
. tests/boot/uefi-common.sh

OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
[ -f "$OVMF_CODE" ] || fail "$OVMF_CODE missing (apt-get install ovmf)"
uefi_prepare
cp "$OVMF_VARS" "$WORK/vars.fd" || fail "cannot copy $OVMF_VARS"
SERIAL=$LOGDIR/$NAME.serial
rm -f "$SERIAL"

t0=$(now)
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 1G \
    -drive if=pflash,format=raw,unit=0,readonly=on,file="$OVMF_CODE" \
    -drive if=pflash,format=raw,unit=1,file="$WORK/vars.fd" \
    -drive format=raw,file=fat:rw:"$WORK/esp" \
    -device isa-debug-exit,iobase=0xf4,iosize=4 \
    -serial file:"$SERIAL" -display none -no-reboot -nodefaults -monitor none \
    >"$LOGDIR/$NAME.out" 2>&1 </dev/null
rc=$?
t1=$(now)
uefi_check "$rc" 124 "$t0" "$t1" "$SERIAL"
