#!/bin/bash
# `make bench`, datapath part: nethv's switch + virtio RX fill on the host
# ($BUILD/bench/datapath) side by side with its peer, DPDK's vhost library
# (Debian's dpdk-testpmd: vhost-user host side txonly on CPU 0 into a
# virtio_user guest side rxonly on CPU 1, mergeable RX buffers, 256-entry
# ring), for 64, 512 and 1500-byte frames, one size after the other in the
# same run; then the ratios and the memcpy bandwidth of CPU 0.  For context
# also: nethv on one CPU (producer and guest driver on the same CPU, so no
# cross-CPU handoff), nethv with the guest's buffers laid out as Linux's
# virtio-net posts them (the table's guest lays them out as the peer's
# guest side, DPDK's virtio PMD, does), switch_input alone, and the CPU 0 <-> 1 cache line
# round trip (when other work shares the two CPUs every two-CPU figure,
# nethv's and DPDK's alike, falls with it).
# Numbers are printed, never judged.  If DPDK cannot run, says why and
# still prints nethv's figures.
#
# Environment: BUILD (default build), BENCH_SECONDS per size and side
# (default 3), BENCH_SIZES (default "64 512 1500"), DPDK=0 to skip the
# peer, KEEP=1 to keep testpmd's logs.  Needs root for DPDK (packages,
# hugepages; the hugepage count and mount are put back afterwards).
set -u
BUILD=${BUILD:-build}
SECS=${BENCH_SECONDS:-3}
BIN=$BUILD/bench/datapath
SIZES=${BENCH_SIZES:-"64 512 1500"}
PKGS="dpdk dpdk-dev librte-mempool23 librte-mempool-ring23 librte-net-vhost23
      librte-net-virtio23 librte-net-null23 librte-net-ring23"

if [ ! -x "$BIN" ]; then
    echo "datapath: $BIN missing (make BUILD=$BUILD $BIN)" >&2
    exit 1
fi

TMP=$(mktemp -d /tmp/nethv-dpdk.XXXXXX)
HUGE=$TMP/huge
OLD_NR=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
MOUNTED=0
SET_NR=0
PIDS=""

cleanup() {
    { exec 3>&- 4>&-; } 2>/dev/null
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    sleep 0.5
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    if [ $MOUNTED = 1 ]; then
        rm -f "$HUGE"/* 2>/dev/null
        umount "$HUGE" 2>/dev/null
    fi
    [ $SET_NR = 1 ] && echo "$OLD_NR" > /proc/sys/vm/nr_hugepages 2>/dev/null
    rm -rf /var/run/dpdk/nethv-bench-a /var/run/dpdk/nethv-bench-b 2>/dev/null
    if [ -n "${KEEP:-}" ]; then echo "datapath: logs kept in $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap '' PIPE                            # a testpmd that died must not kill us

# ---- DPDK: packages and hugepages ------------------------------------------------
dpdk_why=""
dpdk_prepare() {
    if [ "${DPDK:-1}" = 0 ]; then
        dpdk_why="skipped (DPDK=0)"; return 1
    fi
    if [ "$(id -u)" != 0 ]; then
        dpdk_why="needs root (packages, hugepages)"; return 1
    fi
    if ! command -v dpdk-testpmd >/dev/null 2>&1; then
        echo "datapath: installing DPDK (dpdk-testpmd) ..."
        # shellcheck disable=SC2086
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
                $PKGS >"$TMP/apt.log" 2>&1; then
            apt-get update -q >>"$TMP/apt.log" 2>&1
            # shellcheck disable=SC2086
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
                $PKGS >>"$TMP/apt.log" 2>&1
        fi
        if ! command -v dpdk-testpmd >/dev/null 2>&1; then
            dpdk_why="dpdk-testpmd not installable: $(tail -1 "$TMP/apt.log")"; return 1
        fi
    fi
    local free
    free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
    if [ "${free:-0}" -lt 1024 ]; then
        if ! echo $((OLD_NR + 1024)) > /proc/sys/vm/nr_hugepages 2>/dev/null; then
            dpdk_why="cannot reserve hugepages"; return 1
        fi
        SET_NR=1
        free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
        if [ "${free:-0}" -lt 700 ]; then
            dpdk_why="only ${free:-0} free 2 MiB hugepages"; return 1
        fi
    fi
    mkdir -p "$HUGE"
    if ! mount -t hugetlbfs -o pagesize=2M nodev "$HUGE"; then
        dpdk_why="cannot mount hugetlbfs"; return 1
    fi
    MOUNTED=1
    return 0
}

# wait until file $1 shows pattern $2 (count >= $3), up to $4 seconds,
# while process $5 lives
wait_for() {
    local i=0
    while [ "$(grep -c -- "$2" "$1" 2>/dev/null)" -lt "$3" ]; do
        kill -0 "$5" 2>/dev/null || return 1
        sleep 0.2
        i=$((i + 1))
        [ $i -ge $(($4 * 5)) ] && return 1
    done
    return 0
}

# stop what dpdk_run started (its processes only, by pid)
dpdk_kill() {
    { exec 3>&- 4>&-; } 2>/dev/null
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    sleep 1
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    PIDS=""
    rm -f "$HUGE"/* 2>/dev/null
}

# One size: host side txonly on CPU 0, guest side rxonly on CPU 1; prints
# "MPPS GBITS" (the guest's Rx-pps over $SECS s after 1 s of warm-up) or
# fails with the reason in $TMP/why.
dpdk_run() {
    local size=$1 a=$TMP/a.$1 b=$TMP/b.$1 sock=$TMP/vhost.$1.sock
    rm -f "$TMP/a.in" "$TMP/b.in"
    mkfifo "$TMP/a.in" "$TMP/b.in"
    dpdk-testpmd --lcores='0@0,1@0' --no-pci --file-prefix=nethv-bench-a --huge-dir="$HUGE" \
        --vdev "net_vhost0,iface=$sock,queues=1" -- -i --txpkts="$size" --burst=32 \
        --nb-cores=1 --total-num-mbufs=32768 <"$TMP/a.in" >"$a" 2>&1 &
    local pa=$!
    PIDS="$PIDS $pa"
    exec 3>"$TMP/a.in"
    if ! wait_for "$a" "testpmd> " 1 30 "$pa"; then
        echo "vhost side did not start: $(grep -m1 -iE 'error|fail|cannot' "$a")" >"$TMP/why"
        dpdk_kill
        return 1
    fi
    dpdk-testpmd --lcores='0@1,1@1' --no-pci --file-prefix=nethv-bench-b --single-file-segments \
        --huge-dir="$HUGE" --vdev "virtio_user0,path=$sock,queues=1,mrg_rxbuf=1" -- -i \
        --burst=32 --nb-cores=1 --total-num-mbufs=32768 <"$TMP/b.in" >"$b" 2>&1 &
    local pb=$!
    PIDS="$PIDS $pb"
    exec 4>"$TMP/b.in"
    if ! wait_for "$b" "testpmd> " 1 30 "$pb"; then
        echo "virtio_user side did not start: $(grep -m1 -iE 'error|fail|cannot' "$b")" >"$TMP/why"
        dpdk_kill
        return 1
    fi
    echo "set fwd rxonly" >&4
    echo "start" >&4
    echo "set fwd txonly" >&3
    echo "start" >&3
    sleep 1
    echo "show port stats 0" >&4
    sleep "$SECS"
    echo "show port stats 0" >&4
    sleep 0.5
    echo "stop" >&3
    echo "stop" >&4
    sleep 0.5
    echo "quit" >&4
    sleep 0.5
    echo "quit" >&3
    exec 3>&- 4>&-
    local i=0
    while kill -0 "$pa" 2>/dev/null || kill -0 "$pb" 2>/dev/null; do
        sleep 0.2
        i=$((i + 1))
        if [ $i -ge 50 ]; then kill "$pa" "$pb" 2>/dev/null; fi
    done
    wait "$pa" "$pb" 2>/dev/null
    PIDS=""
    rm -f "$HUGE"/* 2>/dev/null
    # testpmd's stdout is a file (fully buffered): read it once it has exited;
    # the second Rx-pps covers the $SECS s between the two "show port stats"
    local pps
    pps=$(grep "Rx-pps:" "$b" | sed -n 2p | awk '{print $2}')
    if [ -z "$pps" ]; then
        echo "no Rx-pps from the virtio_user side (see its log)" >"$TMP/why"
        return 1
    fi
    awk -v p="$pps" -v s="$size" 'BEGIN { printf "%.2f %.2f\n", p / 1e6, p * s * 8 / 1e9 }'
}

# ---- the run -------------------------------------------------------------------------
echo "== datapath: nethv switch + virtio RX fill vs DPDK vhost (host side CPU 0, guest CPU 1) =="
echo "   $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) CPUs," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg) (busy CPUs cut both sides' figures)"
have_dpdk=0
if dpdk_prepare; then have_dpdk=1; fi

declare -A NM NG ND NC NGC DM DG
for s in $SIZES; do
    read -r _ _ m g d c gc < <("$BIN" -q -t "$SECS" -z "$s")
    NM[$s]=$m NG[$s]=$g ND[$s]=$d NC[$s]=$c NGC[$s]=$gc
    if [ $have_dpdk = 1 ]; then
        # not in $(...): PIDS must stay visible to cleanup
        if dpdk_run "$s" >"$TMP/res"; then
            read -r "DM[$s]" "DG[$s]" <"$TMP/res"
        else
            dpdk_why="size $s: $(cat "$TMP/why" 2>/dev/null)"
            have_dpdk=0                 # the other sizes would fail the same way
        fi
    fi
done
"$BIN" -q -m >"$TMP/memcpy"
mc1500=$(awk '/^memcpy1500/ {print $2}' "$TMP/memcpy")
mcbig=$(awk '/^memcpy64M/ {print $2}' "$TMP/memcpy")
pingpong=$(awk '/^pingpong/ {print $2}' "$TMP/memcpy")
single=$("$BIN" -q -s -t 1 -z 64)
linux=$("$BIN" -q -L -t 1 | head -n 3)
swonly=$("$BIN" -q -n -t 1 -z 64)

echo
printf '%6s | %9s %9s | %9s %9s | %12s %12s\n' "frame" "nethv" "" "DPDK" "" "nethv/DPDK" ""
printf '%6s | %9s %9s | %9s %9s | %12s %12s\n' "bytes" "Mpps" "Gbit/s" "Mpps" "Gbit/s" "Mpps" "Gbit/s"
for s in $SIZES; do
    dm=${DM[$s]:--} dg=${DG[$s]:--}
    rm_=$(awk -v a="${NM[$s]}" -v b="$dm" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "-" }')
    rg=$(awk -v a="${NG[$s]}" -v b="$dg" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "-" }')
    printf '%6s | %9s %9s | %9s %9s | %12s %12s\n' "$s" "${NM[$s]}" "${NG[$s]}" "$dm" "$dg" "$rm_" "$rg"
done
echo
for s in $SIZES; do
    echo "   nethv $s B: guest ring full for ${ND[$s]}% of offered frames; producer got" \
         "${NC[$s]}% of CPU 0, guest ${NGC[$s]}% of CPU 1"
done
read -r _ _ sm _ _ sc _ <<<"$single"
echo "   nethv 64 B on one CPU (producer polls the guest ring itself): $sm Mpps with" \
     "$sc% of the CPU = $(awk -v m="$sm" -v c="$sc" 'BEGIN { if (c > 0) printf "%.1f", m * 100 / c; else print "?" }') Mpps per busy CPU"
echo "   nethv with Linux's buffer layout (header and frame start in one line, the driver reading" \
     "both): $(echo "$linux" | awk '{printf "%s%s B %s Mpps", (NR > 1 ? ", " : ""), $2, $3}')"
read -r _ _ wm _ _ wc _ <<<"$swonly"
echo "   switch_input alone, 64 B (VM port discards): $wm Mpps with $wc% of the CPU ="\
     "$(awk -v m="$wm" -v c="$wc" 'BEGIN { if (c > 0) printf "%.1f", m * 100 / c; else print "?" }') Mpps per busy CPU"
echo "   memcpy on CPU 0: $mc1500 Gbit/s in 1500-byte copies (the 1500 B run's working set)," \
     "$mcbig Gbit/s on a 64 MiB copy"
echo "   CPU 0 <-> CPU 1 cache line round trip: $pingpong ns (idle machine: ~100-200 ns;" \
     "far more means the CPUs are shared and the two-CPU figures above are cut)"
if [ $have_dpdk = 0 ] || [ -n "$dpdk_why" ]; then
    echo "   DPDK: ${dpdk_why:-not run}"
fi
exit 0
