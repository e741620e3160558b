#!/bin/sh
# Turn an ESP directory (scripts/mkesp.sh) into a raw disk image: an MBR with
# one EFI system partition (type 0xEF) from LBA 2048, formatted FAT32.
# Works under Bochs (ata disk) and QEMU.  Needs dosfstools and mtools only.
# Usage: mkesp-img.sh DIR IMG [SIZE_MIB]   (default 64 MiB; FAT32 needs >= 33)
set -eu
[ $# -ge 2 ] || { echo "usage: mkesp-img.sh DIR IMG [SIZE_MIB]" >&2; exit 2; }
DIR=$1 IMG=$2 MIB=${3:-64}
[ -d "$DIR" ] || { echo "mkesp-img: $DIR is not a directory" >&2; exit 1; }
START=2048
SECTORS=$((MIB * 2048))
PSECT=$((SECTORS - START))

# little-endian 32-bit value as printf octal escapes
le32() { printf '\\%03o\\%03o\\%03o\\%03o' $(($1 & 255)) $(($1 >> 8 & 255)) \
             $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }

rm -f "$IMG"
dd if=/dev/zero of="$IMG" bs=1M count=0 seek="$MIB" status=none
# Partition entry 1 at offset 446: status, CHS first (unused, 0xfffffe style),
# type 0xEF, CHS last, LBA start, sector count; then the 0x55AA signature.
{
    printf '\000\376\377\377\357\376\377\377'
    printf "$(le32 $START)$(le32 $PSECT)"
} | dd of="$IMG" bs=1 seek=446 conv=notrunc status=none
printf '\125\252' | dd of="$IMG" bs=1 seek=510 conv=notrunc status=none

mkfs.fat -F 32 -n NETHV-ESP --offset "$START" "$IMG" $((PSECT / 2)) >/dev/null
export MTOOLS_SKIP_CHECK=1
mcopy -s -Q -i "$IMG@@1M" "$DIR"/* ::/
