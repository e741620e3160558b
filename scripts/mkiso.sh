#!/bin/sh
# mkiso.sh OUT.iso KERNEL.elf "CMDLINE" [FILE[:NAME]...]
# A GRUB rescue ISO (BIOS and EFI) that boots KERNEL with Multiboot2 and
# passes each FILE as a module named NAME (default: its file name); the
# kernel finds modules by name (the config is "config.dtb").
# MKISO_MULTIBOOT=1: Multiboot1 instead (multiboot/module), e.g. to boot a
# bare-metal test guest directly on an emulator.  NETHV_CMDLINE_EXTRA: words
# added to every nethv command line (tests/boot/monitor.sh: kpti=on).
set -eu
mb=multiboot2 mod=module2
[ "${MKISO_MULTIBOOT:-0}" = 1 ] && mb=multiboot mod=module
out=$1; kernel=$2; cmdline=$3; shift 3
[ "${MKISO_MULTIBOOT:-0}" = 1 ] || cmdline="$cmdline${NETHV_CMDLINE_EXTRA:+ $NETHV_CMDLINE_EXTRA}"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/boot/grub" "$dir/boot/nethv"
cp "$kernel" "$dir/boot/nethv.elf"
{
    echo 'set timeout=0'
    echo 'set default=0'
    echo 'serial --unit=0 --speed=115200'
    echo 'terminal_output serial console'
    echo 'menuentry "nethv" {'
    echo "    $mb /boot/nethv.elf $cmdline"
    for arg in "$@"; do
        m=${arg%%:*}
        b=$(basename "$m")
        [ "$m" = "$arg" ] || b=${arg#*:}
        cp "$m" "$dir/boot/nethv/$b"
        echo "    $mod /boot/nethv/$b $b"
    done
    echo '    boot'
    echo '}'
} > "$dir/boot/grub/grub.cfg"
grub-mkrescue -o "$out" "$dir" >"$out.log" 2>&1 || { cat "$out.log" >&2; exit 1; }
rm -f "$out.log"
