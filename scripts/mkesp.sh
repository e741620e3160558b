#!/bin/sh
# mkesp.sh OUTDIR "CMDLINE" [FILE[:NAME]...]
# Lay out an EFI system partition directory for nethv:
#   OUTDIR/EFI/BOOT/BOOTX64.EFI   the loader ($NETHV_EFI, default build/nethv.efi)
#   OUTDIR/nethv/NAME             each FILE, a module named NAME (default: its
#                                 file name); the config is "config.dtb"
#   OUTDIR/nethv/cmdline          the kernel command line
set -eu
[ $# -ge 2 ] || { echo "usage: mkesp.sh OUTDIR CMDLINE [FILE[:NAME]...]" >&2; exit 2; }
out=$1 cmdline=$2
shift 2
efi=${NETHV_EFI:-build/nethv.efi}
[ -f "$efi" ] || { echo "mkesp: $efi not found (make efi)" >&2; exit 1; }
rm -rf "$out/EFI" "$out/nethv"
mkdir -p "$out/EFI/BOOT" "$out/nethv"
cp "$efi" "$out/EFI/BOOT/BOOTX64.EFI"
for arg in "$@"; do
    m=${arg%%:*}
    b=$(basename "$m")
    [ "$m" = "$arg" ] || b=${arg#*:}
    [ -f "$m" ] || { echo "mkesp: $m: no such file" >&2; exit 1; }
    [ "$b" != cmdline ] || { echo "mkesp: a module may not be named cmdline" >&2; exit 1; }
    cp "$m" "$out/nethv/$b"
done
printf '%s\n' "$cmdline" > "$out/nethv/cmdline"
