# Shared by tests/boot/*-uefi.sh (sourced, not run).  Callers set NAME.
# Environment: BUILD (default build), NETHV_EFI (default $BUILD/nethv.efi),
# NETHV_CONFIG (the config module, default $BUILD/config/default.dtb).

BUILD=${BUILD:-build}
NETHV_EFI=${NETHV_EFI:-$BUILD/nethv.efi}
NETHV_CONFIG=${NETHV_CONFIG:-$BUILD/config/default.dtb}
LOGDIR=$BUILD/test-logs
WORK=$LOGDIR/$NAME.work   # not *.d: the Makefile includes every *.d under $(BUILD)
CMDLINE="console=com1 exit=poweroff"

fail() { echo "FAIL: $NAME: $*"; exit 1; }

uefi_prepare() {
    [ -f "$NETHV_EFI" ] || fail "$NETHV_EFI missing (make efi)"
    [ -f "$NETHV_CONFIG" ] || fail "$NETHV_CONFIG missing (make configs)"
    rm -rf "$WORK"
    mkdir -p "$WORK" || fail "cannot create $WORK"
    NETHV_EFI=$NETHV_EFI scripts/mkesp.sh "$WORK/esp" "$CMDLINE" "$NETHV_CONFIG" \
        >"$WORK/mkesp.out" 2>&1 || fail "mkesp.sh failed (see $WORK/mkesp.out)"
}

now() { date +%s.%N; }

# uefi_check RC TIMEOUT_RC T0 T1 LOG...: judge a finished run by its output.
uefi_check() {
    rc=$1 trc=$2 t0=$3 t1=$4
    shift 4
    secs=$(awk "BEGIN { print $t1 - $t0 }")
    printf 'rc=%s wall=%.1fs\n' "$rc" "$secs" >"$LOGDIR/$NAME.result"
    grep -qa 'nethv-efi: UEFI loader' "$@" || fail "loader never ran (rc $rc; $*)"
    grep -qa 'nethv-efi: error' "$@" &&
        fail "loader: $(grep -ahm1 'nethv-efi: error' "$@" | tr -d '\r')"
    grep -qa 'nethv-efi: boot services exited' "$@" || fail "loader did not reach the kernel (rc $rc; $*)"
    grep -qaE 'nethv 0\.1\.0 booting \(loader: UEFI ' "$@" || fail "no kernel banner (rc $rc; $*)"
    grep -qaE 'mem: [1-9][0-9]* MiB usable in [1-9][0-9]* ranges' "$@" || fail "no 'mem: N MiB usable' line"
    grep -qa 'smp: 2 of 2 CPUs online' "$@" || fail "no 'smp: 2 of 2 CPUs online' ($(grep -ahm1 'smp:' "$@" | tr -d '\r'))"
    grep -qa 'nethv: boot complete' "$@" || fail "no 'nethv: boot complete'"
    grep -qa 'nethv: power off' "$@" || fail "no 'nethv: power off'"
    [ "$rc" -ne "$trc" ] && [ "$rc" -ne 137 ] || fail "emulator did not exit by itself (killed by timeout after ${secs}s)"
    printf 'boot complete -> exit in %.1fs wall\n' "$secs" >>"$LOGDIR/$NAME.result"
    echo "PASS: $NAME"
    exit 0
}
