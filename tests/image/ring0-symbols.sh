#!/bin/sh
# No object of vmm/ in the ring-0 image (issue 14): the monitor runs only as
# the CPL-3 program build/user/monitor.elf.  Checked on nethv.elf's symbol
# table (no global symbol that a vmm/ object defines) and on its debug
# information (no compilation unit from vmm/).  The same checks must find
# them in monitor.elf, so that an empty list cannot pass.  Nor the
# configuration parser and libfdt, nor the full x86 decoder: each named
# function must be in its CPL-3 program and not in nethv.elf.
BUILD=${BUILD:-build}
TEST=image/ring0-symbols
k=$BUILD/nethv.elf m=$BUILD/user/monitor.elf
fail() { echo "FAIL: $TEST: $*"; exit 1; }
[ -f "$k" ] && [ -f "$m" ] || fail "no $k or $m (make all)"
objs=""
for c in vmm/*.c; do
    [ -f "$BUILD/mon/$c.o" ] || fail "no $BUILD/mon/$c.o (make monitor)"
    objs="$objs $BUILD/mon/$c.o"
done
syms=$(nm --defined-only $objs | awk 'NF == 3 && $2 ~ /^[TDBR]$/ { print $3 }' | sort -u)
n=$(echo "$syms" | grep -c .)
[ "$n" -ge 20 ] || fail "only $n global symbols in vmm/'s objects"
kset=$(nm --defined-only "$k" | awk '{ print $3 }' | sort -u)
mset=$(nm --defined-only "$m" | awk '{ print $3 }' | sort -u)
inm=$(echo "$syms" | comm -12 - "$(printf '%s\n' "$mset" > "$BUILD/.mset" && echo "$BUILD/.mset")" | grep -c .)
[ "$inm" -eq "$n" ] || fail "monitor.elf defines $inm of vmm/'s $n global symbols"
both=$(echo "$syms" | comm -12 - "$(printf '%s\n' "$kset" > "$BUILD/.kset" && echo "$BUILD/.kset")")
rm -f "$BUILD/.mset" "$BUILD/.kset"
[ -z "$both" ] || fail "nethv.elf defines vmm/'s $(echo "$both" | head -5 | tr '\n' ' ')..."
cu() { readelf --debug-dump=info "$1" 2>/dev/null | awk '/DW_TAG_compile_unit/ { cu = 1 } cu && /DW_AT_name/ { print $NF; cu = 0 }'; }
kcu=$(cu "$k" | grep -c '^vmm/')
mcu=$(cu "$m" | grep -c '^vmm/')
[ "$mcu" -ge 10 ] || fail "monitor.elf's debug information names $mcu vmm/ sources"
[ "$kcu" -eq 0 ] || fail "nethv.elf has $kcu compilation units from vmm/: $(cu "$k" | grep '^vmm/' | head -3 | tr '\n' ' ')"
c=$BUILD/user/config.elf
[ -f "$c" ] || fail "no $c (make all)"
for pair in "$c config_parse" "$c fdt_check_header" "$c fdt_getprop" "$m decode_insn" "$m decode_mmio_classify"; do
    set -- $pair
    nm --defined-only "$1" | awk '{ print $3 }' | grep -qx "$2" || fail "$2 is not in $1"
    ! nm --defined-only "$k" | awk '{ print $3 }' | grep -qx "$2" || fail "nethv.elf defines $2"
done
kfdt=$(nm --defined-only "$k" | awk '$3 ~ /^fdt_/' | grep -c .)
[ "$kfdt" -eq 0 ] || fail "nethv.elf defines $kfdt libfdt symbols"
echo "PASS: $TEST (none of vmm/'s $n global symbols and $mcu compilation units is in nethv.elf; all are in monitor.elf; config_parse and libfdt only in config.elf, the decoder only in monitor.elf)"
