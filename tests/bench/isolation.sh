#!/bin/sh
# make bench: the victims' heartbeat ratios under each attacker
# (tests/boot/attacks.sh), per backend, as figures -- the wall-clock rates
# under QEMU TCG (SVM) and the instruction-count rates under Bochs
# tigerlake (VMX), plus hb0's share of its CPU's time from nethv's own
# accounting.  Prints; never fails on a number.
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
export BUILD
out=$(sh tests/boot/attacks.sh 2>&1)
echo "isolation: heartbeat rate under attack / rate with the attacker spinning (hb0: same CPU, hb1: the other)"
printf '%-8s %-14s %8s %8s  %s\n' backend attack hb0 hb1 "nethv's accounting (QEMU)"
echo "$out" | sed -n 's/^\(PASS\|FAIL\): attacks-\([a-z]*\)\/\([a-z_]*\) (.*hb0 \([0-9]*%\) .*hb1 \([0-9]*%\)[^;]*\(.*\)$/\2 \3 \4 \5 \6/p' |
while read -r plat atk h0 h1 rest; do
    share=$(echo "$rest" | sed -n 's/.*: \([0-9]*%\) of a fair share.*/hb0 \1 of a fair share/p')
    printf '%-8s %-14s %8s %8s  %s\n' "$plat" "$atk" "$h0" "$h1" "$share"
done
echo "$out" | grep '^FAIL' | sed 's/^/isolation: /'
exit 0
