#!/bin/sh
# Lay out an EFI system partition directory for nethv:
#   OUTDIR/EFI/BOOT/BOOTX64.EFI   the loader ($NETHV_EFI, default build/nethv.efi)
#   OUTDIR/nethv/<name>           each FILE (a module, e.g. config.dtb)
#   OUTDIR/nethv/cmdline          the kernel command line
# Usage: mkesp.sh OUTDIR CMDLINE [FILE...]
set -eu
[ $# -ge 2 ] || { echo "usage: mkesp.sh OUTDIR CMDLINE [FILE...]" >&2; exit 2; }
OUT=$1 CMDLINE=$2
shift 2
EFI=${NETHV_EFI:-build/nethv.efi}
[ -f "$EFI" ] || { echo "mkesp: $EFI not found (make efi)" >&2; exit 1; }
rm -rf "$OUT/EFI" "$OUT/nethv"
mkdir -p "$OUT/EFI/BOOT" "$OUT/nethv"
cp "$EFI" "$OUT/EFI/BOOT/BOOTX64.EFI"
for f in "$@"; do
    [ -f "$f" ] || { echo "mkesp: $f: no such file" >&2; exit 1; }
    name=$(basename "$f")
    [ "$name" != cmdline ] || { echo "mkesp: a module may not be called cmdline" >&2; exit 1; }
    cp "$f" "$OUT/nethv/$name"
done
printf '%s\n' "$CMDLINE" > "$OUT/nethv/cmdline"
