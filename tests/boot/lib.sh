# Shared helpers for the emulator boot tests (sourced).
# Each test prints exactly one line, "PASS: name" or "FAIL: name: why", and
# exits 0 or 1.  Logs stay in $LOGDIR for inspection.
BUILD=${BUILD:-build}
LOGDIR=${LOGDIR:-$BUILD/test-logs}
# the emulator binary (make soak QEMU=...: e.g. QEMU 10 from bookworm-backports,
# scripts/qemu-backports.sh)
QEMU=${QEMU:-qemu-system-x86_64}
mkdir -p "$LOGDIR"

# QEMU TCG runs whose VMs use two host CPUs: QEMU gets one CPU more and nethv
# cpu-offset=1, so QEMU's CPU 0 runs no vCPU.  QEMU's cpu_clear_ignne() does
# an unlocked read-modify-write of CPU 0's hflags2 on every x87 state load of
# any CPU, and the guests' own FXRSTORs can undo CPU 0's NPT-mode switch at
# VMRUN/#VMEXIT (README, "The QEMU TCG fault").  QEMU_CPU0_FREE=0 runs the
# old layout (VMs on QEMU's CPUs 0 and 1), to reproduce the residual fault.
if [ "${QEMU_CPU0_FREE:-1}" = 1 ]; then
    VM_SMP=3 VM_CMDLINE="cpu-offset=1"
else
    VM_SMP=2 VM_CMDLINE=""
fi

pass() { echo "PASS: $TEST"; exit 0; }
fail() { echo "FAIL: $TEST: $* (log: $LOG)"; exit 1; }

# expect_poweroff VM...: in $clean, each VM stopped through ACPI (code 0),
# then the hypervisor saw all VMs stop and powered off (uses the caller's last()).
expect_poweroff() {
    for vm in "$@"; do
        grep -Eq "^vm $vm: stopped: .*\(code 0\)" "$clean" ||
            fail "VM $vm: no clean ACPI power-off: $(grep -m1 "^vm $vm: stopped" "$clean")"
    done
    grep -q "^nethv: all VMs stopped" "$clean" || fail "hypervisor did not see all VMs stop; last lines: $(last)"
    grep -q "^nethv: power off (code 0)" "$clean" || fail "no hypervisor power-off; last lines: $(last)"
}

# monitor_faults: in $clean, config/monitor-fault.dts's three test VMs
# whose monitors fail on purpose (issue 14) each stopped with its fault
# named, and mwild's system calls refused and counted; sets $bad to the
# number of bad-argument lines.  (monitor.sh under QEMU, bochs-net under
# Bochs with KPTI.)
monitor_faults() {
    grep -Eq "^vm mnull: stopped: monitor fault: exception 14 error 0x[0-9a-f]+ at rip 0x7f80[0-9a-f]+, cr2 0 \(exit call" "$clean" ||
        fail "mnull: $(grep -m1 '^vm mnull: stopped' "$clean" || echo 'not stopped')"
    grep -Eq "^vm mloop: stopped: monitor did not reply within [0-9]+ ms \(rip 0x7f80[0-9a-f]+, exit call" "$clean" ||
        fail "mloop: $(grep -m1 '^vm mloop: stopped' "$clean" || echo 'not stopped')"
    grep -q "^vm mwild: stopped: monitor replied with action 99" "$clean" ||
        fail "mwild: $(grep -m1 '^vm mwild: stopped' "$clean" || echo 'not stopped')"
    grep -q "^user: monitor mwild: unknown system call 999 " "$clean" || fail "mwild's system call 999 not refused and counted"
    bad=$(grep -c "^vm mwild: monitor: bad argument to " "$clean")
    [ "$bad" -ge 3 ] || fail "mwild's bad arguments: $bad lines, want the first three at least"
}

# iperf3_check CLIENT_LOG CLIENT_RE SERVER_LOG SERVER_RE SERVER_IP CLIENT SERVER:
# the iperf3 hook's lines (guest/build-linux-image.sh --iperf3): the
# client's two runs, to and from SERVER_IP, report sender and receiver
# Mbits/sec, and the server finished both tests.  CLIENT_RE / SERVER_RE:
# what starts their lines (a regex: '\[a\] ' for nethv's VM a, '' for a
# plain VM); CLIENT / SERVER name them in the failure.  Leaves the receiver
# rates of the two runs in ip3_to and ip3_from.
iperf3_check() {
    ip=$(echo "$5" | sed 's/\./\\./g')
    for d in to from; do
        l=$(grep -m1 "^$2nethv-guest: iperf3 $d $ip: " "$1")
        echo "$l" | grep -Eq ": [0-9.]+ Mbits/sec sender, [0-9.]+ Mbits/sec receiver" ||
            fail "$6: ${l:-no 'iperf3 $d' line}"
    done
    for n in 1 2; do
        grep -q "^$4nethv-guest: iperf3 server: test $n done" "$3" ||
            fail "$7: $(grep -m1 "^$4nethv-guest: iperf3 server: test $n" "$3" || echo "no iperf3 server line")"
    done
    ip3_to=$(sed -n "s/^$2nethv-guest: iperf3 to $ip: .*, \([0-9.]*\) Mbits\/sec receiver.*/\1/p" "$1" | head -1)
    ip3_from=$(sed -n "s/^$2nethv-guest: iperf3 from $ip: .*, \([0-9.]*\) Mbits\/sec receiver.*/\1/p" "$1" | head -1)
}

# check_boot LOG CPUS: the markers every boot test expects from the kernel.
check_boot() {
    clean="$LOG.txt"
    tr -d '\r' < "$1" > "$clean"
    grep -q "PANIC" "$clean" && fail "kernel panic: $(grep -m1 -A1 PANIC "$clean" | tail -1)"
    grep -q "^nethv 0\.1\.0 booting (loader: " "$clean" || fail "no banner"
    grep -Eq "^mem: [1-9][0-9]* MiB usable in [1-9][0-9]* ranges" "$clean" || fail "no memory found"
    grep -q "^paging: checked: page 0 and stack guard not present, text and .rodata read-only, .data and RAM not executable" "$clean" ||
        fail "host map protections not checked: $(grep -m1 '^paging' "$clean")"
    grep -q "^smp: $2 of $2 CPUs online" "$clean" || fail "expected $2 CPUs online, got: $(grep -m1 '^smp:' "$clean")"
    grep -q "^timer: LAPIC timer ticking" "$clean" || fail "LAPIC timer not ticking"
    grep -q "^config: " "$clean" || fail "no config lines"
    grep -q "^nethv: boot complete" "$clean" || fail "boot did not complete"
    grep -q "^nethv: power off (code 0)" "$clean" || fail "no clean power-off"
}

# bochs_run RC TIMEOUT: run Bochs with rc file RC; stdout (port 0xE9) to $LOG.
bochs_run() {
    echo c | SDL_VIDEODRIVER=dummy timeout "$2" bochs -q -f "$1" > "$LOG" 2>"$LOG.stderr"
    BOCHS_RC=$?
    [ $BOCHS_RC -ne 124 ] || fail "Bochs still running after $2 s"
}

# bochs_rc OUT CPU_MODEL CPUS MEGS: the common part of a bochsrc (append media).
bochs_rc() {
    cat > "$1" <<EOB
cpu: model=$2, count=$3, ips=100000000, reset_on_triple_fault=0
memory: guest=$4, host=$4
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
display_library: sdl2
plugin_ctrl: speaker=0, sb16=0, es1370=0
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
port_e9_hack: enabled=1
clock: sync=none
log: $LOG.bochslog
panic: action=fatal
error: action=report
EOB
}

# bochs_linux NAME DTB TIMEOUT [MODULE...]: nethv from a GRUB ISO with the
# Linux images ($BUILD/images), config DTB ($BUILD/config/DTB.dtb) and any
# more modules (KERNEL_ELF: the image, default nethv.elf), under Bochs corei7_skylake_x, 2 CPUs, 512 MiB (Debian's
# kernel hangs early on tigerlake); COM1 to $LOG (set by the caller),
# without CRs in $clean.  Fails on a Bochs timeout or a hypervisor panic
# (uses the caller's last()).
bochs_linux() {
    iso=$LOGDIR/$1.iso rc=$LOGDIR/$1.bochsrc IMG=$BUILD/images
    guest/build-linux-image.sh "$IMG" >"$LOG.images" 2>&1 || fail "building the Linux images (see $LOG.images)"
    [ -f "$BUILD/config/$2.dtb" ] || fail "no $BUILD/config/$2.dtb (make configs)"
    dtb=$BUILD/config/$2.dtb secs=$3
    shift 3
    scripts/mkiso.sh "$iso" "${KERNEL_ELF:-$BUILD/nethv.elf}" "exit=poweroff" "$dtb:config.dtb" \
        "$IMG/vmlinuz" "$IMG/initrd.img" "$@" || fail "mkiso"
    bochs_rc_iso "$rc" corei7_skylake_x 2 512 "$iso"
    clean="$LOG.txt"
    echo c | SDL_VIDEODRIVER=dummy timeout "$secs" bochs -q -f "$rc" > "$LOG" 2>"$LOG.stderr"
    st=$?
    tr -d '\r' < "$LOG" > "$clean"
    [ $st -ne 124 ] || fail "Bochs still running after $secs s; last lines: $(last)"
    ! grep -q "PANIC" "$clean" || fail "hypervisor panic: $(grep -m1 -A1 PANIC "$clean" | tail -1)"
}

# bochs_rc_iso OUT CPU_MODEL CPUS MEGS ISO: a bochsrc booting ISO from the
# Bochs BIOS (GRUB, Multiboot2), COM1 to $LOG.com1.
bochs_rc_iso() {
    bochs_rc "$1" "$2" "$3" "$4"
    cat >> "$1" <<EOB
romimage: file=/usr/share/bochs/BIOS-bochs-latest
ata0-master: type=cdrom, path=$5, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$LOG.com1
EOB
}

# host_triple_fault QEMULOG: QEMU's `-d cpu_reset` log (-D QEMULOG) says
# "Triple fault": the emulated CPU triple-faulted outside guest mode, i.e.
# nethv itself (in an SVM guest the same is a #VMEXIT and is not logged).
# Cheap enough for long runs, unlike -d int.  Until 2026-12-06 this was the
# QEMU TCG hflags2 race (arch/x86_64/fpu.c: an x87 load on another CPU
# clobbering CPU 0's HF2_NPT_MASK), which nethv now avoids: a recurrence is
# a bug to root-cause, and the run fails.
host_triple_fault() { grep -q "^Triple fault" "$1" 2>/dev/null; }
HOST_TF_MSG="the host CPU triple-faulted and QEMU exited, nethv printing nothing (QEMU -d cpu_reset: 'Triple fault')"

# vmrun_fault QEMULOG: did the run end in a host page fault (CS 0008) on the
# fetch of the instruction right after VMRUN in svm_vmrun (its address is
# left in $vmrun_next), then "Triple fault" (QEMU's -d int,cpu_reset log)?
# The host-side symptom of the QEMU TCG hflags2 race (arch/x86_64/fpu.c),
# named so that it is recognised.
vmrun_fault() {
    grep -q "^Triple fault" "$1" 2>/dev/null || return 1
    vmrun_next=$(objdump -d "$BUILD/nethv.elf" | awk '/\tvmrun/ { getline; sub(":", "", $1); print $1; exit }')
    [ -n "$vmrun_next" ] && grep -Eq "v=0e e=00[0-9a-f]{2} .*IP=0008:0*$vmrun_next " "$1"
}

# guest_idt_fault LOG: nethv stopped a VM whose triple fault came from a page
# fault on the guest's own IDT during event delivery (kernel/exit.c names
# it).  A stock Linux guest never unmaps its IDT; this was the guest-side
# form of the same QEMU race (CPU 0 in guest mode with nested paging off).
guest_idt_fault() { grep -q "the triple fault came from a page fault reading the guest's own IDT" "$1" 2>/dev/null; }
GUEST_TF_MSG="a guest triple-faulted reading its own IDT during event delivery (the guest-side symptom of the QEMU TCG hflags2 race that nethv works around, arch/x86_64/fpu.c)"

# serial_fifo_open FIFO LOG: QEMU's console through FIFO.in/FIFO.out
# (-serial pipe:FIFO), its output copied to LOG (catpid); false if the
# FIFOs cannot be made.  serial_fifo_close FIFO: after QEMU: the copy ends
# at the pipe's EOF (given 5 s if QEMU never opened it), the FIFOs go.
serial_fifo_open() {
    rm -f "$1.in" "$1.out"
    mkfifo "$1.in" "$1.out" || return 1
    cat "$1.out" > "$2" &
    catpid=$!
}
serial_fifo_close() {
    i=0
    while [ $i -lt 25 ] && kill -0 $catpid 2>/dev/null; do sleep 0.2; i=$((i + 1)); done
    kill $catpid 2>/dev/null
    wait $catpid 2>/dev/null
    rm -f "$1.in" "$1.out"
}

# ask_console_stats FIFO LOG [PID]: type Ctrl-T s into the serial FIFO's
# input and wait (10 s at most, or until PID ends) for the hypervisor's
# answer, whose last line is the interrupts-off stretches; prints the
# wall-clock ms it took, or "none"
ask_console_stats() {
    before=$(grep -c "longest interrupts-off stretch" "$2" 2>/dev/null)
    t0=$(date +%s%N)
    timeout 5 sh -c 'printf "\024s" > "$1"' sh "$1"
    while [ "$(grep -c "longest interrupts-off stretch" "$2" 2>/dev/null)" -le "${before:-0}" ]; do
        if [ $(( ($(date +%s%N) - t0) / 1000000 )) -gt 10000 ] || { [ -n "$3" ] && ! kill -0 "$3" 2>/dev/null; }; then
            echo none
            return
        fi
        sleep 0.01
    done
    echo $(( ($(date +%s%N) - t0) / 1000000 ))
}
