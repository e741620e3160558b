#!/bin/sh
# Debian's Linux kernel + the busybox initrd (guest/build-linux-image.sh) as a
# PC-platform VM under nethv on Bochs corei7_skylake_x (VMX: EPT, VPID,
# unrestricted guest), 2 host CPUs: the guest reaches /init, prints its CPU
# count and memory and powers off through ACPI; then the hypervisor powers off.
# Scenario config/linux-bochs.dts (1 vCPU, 128 MiB, quiet).  Not tigerlake:
# Debian's kernel hangs there early (Bochs 2.7's fast string copies, see
# PLATFORMS.md).  Slow: about 1-4 min wall, bounded at 420 s.
TEST=bochs-linux/1vcpu
. "$(dirname "$0")/lib.sh"
LOG=$LOGDIR/bochs-linux.log
last() { tail -n 3 "$clean" | tr '\n' '|'; }
bochs_linux bochs-linux linux-bochs 420
grep -q "^vm a: created" "$clean" || fail "VM not created: $(grep -m1 '^vm a:' "$clean"); last lines: $(last)"
grep -q "^\[a\] " "$clean" || fail "no guest console output; last lines: $(last)"
grep -q "^\[a\] nethv-guest: init" "$clean" ||
    fail "guest did not reach /init; last guest line: $(grep '^\[a\] ' "$clean" | tail -1)"
grep -Eq "^\[a\] nethv-guest: nproc 1$" "$clean" ||
    fail "expected nproc 1, got: $(grep -m1 'nethv-guest: nproc' "$clean")"
grep -Eq "^\[a\] nethv-guest: MemTotal: [0-9]+ kB" "$clean" || fail "no memory line from /init"
grep -Eq "^vm a: stopped: .*\(code 0\)" "$clean" ||
    fail "no clean ACPI power-off: $(grep -m1 '^vm a: stopped' "$clean")"
grep -q "^nethv: power off (code 0)" "$clean" || fail "no hypervisor power-off; last lines: $(last)"
pass
