# nethv — top-level build.  `make` builds the kernel and both boot artifacts;
# `make run`, `make check`, `make bench`, `make fuzz`, `make debug` as in README.
# Every compiler flag for the freestanding kernel lives in this file, below.

BUILD    ?= build
SCENARIO ?= default
CC       := gcc
HOSTCC   ?= gcc
OBJCOPY  := objcopy
Q        := $(if $(V),,@)

NEWLIB   ?= $(BUILD)/newlib
LIBFDT_A := /usr/lib/x86_64-linux-gnu/libfdt.a

# ---- freestanding kernel flags (the one place) ------------------------------
# -mno-red-zone: interrupts push onto the interrupted stack.
# -mgeneral-regs-only: nethv's own code never touches FPU/SSE state, so guest
#   FPU state survives the exit fast paths; newlib (built with SSE) is only
#   called from code that has saved the guest's state (see arch fpu.h).
# Retpolines (arch/x86_64/spec.c, spec_thunks.S): every indirect call/jmp
#   through a thunk; no jump tables, which would be indirect jumps too.
KSPEC    := -mindirect-branch=thunk-extern -mindirect-branch-register -fno-jump-tables
KWARN    := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wundef \
            -Wstrict-prototypes -Wno-unused-parameter
KFREE    := -ffreestanding -fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only \
            -fno-stack-protector -fno-asynchronous-unwind-tables \
            -fno-omit-frame-pointer -fno-strict-aliasing -mcmodel=small \
            $(KSPEC)
KCFLAGS  := -std=gnu11 -O2 -g $(KWARN) $(KFREE)
KCPPFLAGS:= -Iinclude -Iarch/x86_64/include -isystem $(NEWLIB)/include \
            -isystem $(BUILD)/fdtinc -DNETHV_KERNEL=1 -MMD -MP
KASFLAGS := -g -Iinclude -Iarch/x86_64/include -DNETHV_KERNEL=1 -D__ASSEMBLY__ -MMD -MP
KLDFLAGS := -nostdlib -static -no-pie -z max-page-size=0x1000 -z noexecstack \
            -Wl,--build-id=none -Wl,-T,linker.ld
KLIBS    := $(NEWLIB)/lib/libc.a -lgcc

# ---- host flags (unit tests, fuzzers, benchmarks, tools) ----------------------
HWARN    := -Wall -Wextra -Werror -Wshadow -Wundef -Wno-unused-parameter
HCFLAGS  := -std=gnu11 -O1 -g $(HWARN) -Iinclude -Iarch/x86_64/include \
            -DNETHV_HOST=1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
HLIBS    := -lcmocka -lfdt

# ---- kernel sources -------------------------------------------------------------
# Two images from one set of objects: nethv.elf, and nethv-test.elf, which
# adds the boot-time self-tests (selftest=svm|vmx|user, net.arping) and accepts the
# test-only config property monitor-fault.  Everything but those tests
# boots nethv.elf.
KSRC_TEST:= arch/x86_64/svm_selftest.c arch/x86_64/vmx_selftest.c arch/x86_64/user_selftest.c \
            arch/x86_64/user_selftest_blob.S drivers/net/netdev_selftest.c kernel/test_hooks.c
KSRC_C   := $(filter-out $(KSRC_TEST),$(wildcard boot/*.c arch/x86_64/*.c kernel/*.c drivers/net/*.c))
KSRC_S   := $(filter-out $(KSRC_TEST),$(wildcard boot/*.S arch/x86_64/*.S))
KOBJ     := $(patsubst %.c,$(BUILD)/k/%.o,$(KSRC_C)) $(patsubst %.S,$(BUILD)/k/%.o,$(KSRC_S))
KOBJ_TEST:= $(patsubst %.c,$(BUILD)/k/%.o,$(filter %.c,$(KSRC_TEST))) \
            $(patsubst %.S,$(BUILD)/k/%.o,$(filter %.S,$(KSRC_TEST)))

# a failed recipe must not leave a target that looks up to date (e.g. a
# .dtb that nethv-cfgcheck rejected)
.DELETE_ON_ERROR:

.PHONY: ring0-sources monitor all kernel efi iso configs guests images run run-uefi check soak test-host fuzz-build bench fuzz debug clean deps loc
all: kernel efi iso configs guests monitor

deps:
	@scripts/deps.sh

kernel: $(BUILD)/nethv.elf $(BUILD)/nethv-test.elf

# scripts/loc.py: what nethv.elf is made of
ring0-sources:
	@echo $(KSRC_C) $(KSRC_S)

$(NEWLIB)/.stamp: scripts/build-newlib.sh
	scripts/build-newlib.sh $(NEWLIB)

# libfdt's headers without the rest of the host's /usr/include
$(BUILD)/fdtinc/libfdt.h:
	@mkdir -p $(dir $@)
	ln -sf /usr/include/libfdt.h /usr/include/libfdt_env.h /usr/include/fdt.h $(dir $@)

$(BUILD)/k/%.o: %.c $(NEWLIB)/.stamp $(BUILD)/fdtinc/libfdt.h
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(KCPPFLAGS) $(KCFLAGS) -c $< -o $@

$(BUILD)/k/%.o: %.S
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	$(Q)$(CC) $(KASFLAGS) -c $< -o $@

# ---- programs at CPL 3 (arch/x86_64/include/arch/user.h) -------------------------
# Linked at 0x7f80_0020_0000, far above the small code model's 2 GiB: code
# built -fpie reaches everything RIP-relative, and the absolute pointers in
# data are 64-bit relocations, which a static link at any address resolves.
UCFLAGS  := -std=gnu11 -O2 -g $(KWARN) -ffreestanding -fpie -mcmodel=small \
            -mgeneral-regs-only -fno-stack-protector -fno-asynchronous-unwind-tables -Iinclude
ULDFLAGS := -nostdlib -static -no-pie -z max-page-size=0x1000 -z noexecstack \
            -Wl,--build-id=none -Wl,-T,user/user.ld
$(BUILD)/user/selftest.elf: user/start.S user/selftest.c user/sys.h user/user.ld include/nethv/user_selftest.h
	@mkdir -p $(dir $@)
	@echo "  USER    $@"
	$(Q)$(CC) $(UCFLAGS) $(ULDFLAGS) -o $@ user/start.S user/selftest.c
# The monitor (vmm/) as a program at CPL 3 (include/nethv/monitor_abi.h):
# the kernel's newlib (built -fpie for this), retpolines as the kernel, and
# the CR4 check, exit names and vLAPIC register code it shares with the kernel.  The
# kernel embeds it (user_blob.S); none of vmm/ is in nethv.elf.
MON_SRC  := user/start.S user/mon_main.c user/mon_sys.c user/heap.c $(wildcard vmm/*.c) \
            arch/x86_64/cr4.c arch/x86_64/exit_names.c kernel/vlapic.c \
            arch/x86_64/spec_thunks.S
MON_OBJ  := $(patsubst %,$(BUILD)/mon/%.o,$(MON_SRC))
MCFLAGS  := $(UCFLAGS) $(KSPEC) -Iarch/x86_64/include -isystem $(NEWLIB)/include -DNETHV_USER=1 -MMD -MP
$(BUILD)/mon/%.o: % $(NEWLIB)/.stamp
	@mkdir -p $(dir $@)
	@echo "  MON     $<"
	$(Q)$(CC) $(MCFLAGS) -c $< -o $@
$(BUILD)/user/monitor.elf: $(MON_OBJ) user/user.ld $(NEWLIB)/.stamp
	@mkdir -p $(dir $@)
	@echo "  USER    $@"
	$(Q)$(CC) $(UCFLAGS) $(ULDFLAGS) -o $@ $(MON_OBJ) $(NEWLIB)/lib/libc.a -lgcc
monitor: $(BUILD)/user/monitor.elf $(BUILD)/user/config.elf

# The configuration parser at CPL 3 (include/nethv/config_abi.h): config.c
# and libfdt, which ring 0 does not link.
CFG_SRC  := user/start.S user/cfg_main.c user/config.c user/heap.c arch/x86_64/spec_thunks.S
CFG_OBJ  := $(patsubst %,$(BUILD)/mon/%.o,$(CFG_SRC))
$(BUILD)/mon/user/config.c.o $(BUILD)/mon/user/cfg_main.c.o: MCFLAGS += -isystem $(BUILD)/fdtinc
$(BUILD)/mon/user/config.c.o $(BUILD)/mon/user/cfg_main.c.o: $(BUILD)/fdtinc/libfdt.h
$(BUILD)/user/config.elf: $(CFG_OBJ) user/user.ld $(NEWLIB)/.stamp
	@mkdir -p $(dir $@)
	@echo "  USER    $@"
	$(Q)$(CC) $(UCFLAGS) $(ULDFLAGS) -o $@ $(CFG_OBJ) $(LIBFDT_A) $(NEWLIB)/lib/libc.a -lgcc

$(BUILD)/k/arch/x86_64/user_blob.o: arch/x86_64/user_blob.S $(BUILD)/user/monitor.elf $(BUILD)/user/config.elf
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	$(Q)$(CC) $(KASFLAGS) -DNETHV_MONITOR_ELF='"$(BUILD)/user/monitor.elf"' \
	    -DNETHV_CONFIG_ELF='"$(BUILD)/user/config.elf"' -c $< -o $@
$(BUILD)/k/arch/x86_64/user_selftest_blob.o: arch/x86_64/user_selftest_blob.S $(BUILD)/user/selftest.elf
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	$(Q)$(CC) $(KASFLAGS) -DNETHV_USER_SELFTEST_ELF='"$(BUILD)/user/selftest.elf"' -c $< -o $@

$(BUILD)/nethv.elf: $(KOBJ) linker.ld $(NEWLIB)/.stamp
	$(CC) $(KLDFLAGS) -o $@ $(KOBJ) $(KLIBS)
	@grub-file --is-x86-multiboot2 $@ || { echo "nethv.elf: no valid Multiboot2 header" >&2; exit 1; }
$(BUILD)/nethv-test.elf: $(KOBJ) $(KOBJ_TEST) linker.ld $(NEWLIB)/.stamp
	$(CC) $(KLDFLAGS) -o $@ $(KOBJ) $(KOBJ_TEST) $(KLIBS)
	@grub-file --is-x86-multiboot2 $@ || { echo "nethv-test.elf: no valid Multiboot2 header" >&2; exit 1; }

# ---- configs (device trees) -----------------------------------------------------
DTS      := $(wildcard config/*.dts)
DTB      := $(patsubst config/%.dts,$(BUILD)/config/%.dtb,$(DTS))
configs: $(DTB)
$(BUILD)/config/%.dtb: config/%.dts $(BUILD)/tools/nethv-cfgcheck
	@mkdir -p $(dir $@)
	dtc -q -I dts -O dtb -o $@ $<
	$(BUILD)/tools/nethv-cfgcheck $@ $<

$(BUILD)/tools/nethv-cfgcheck: tools/cfgcheck.c user/config.c include/nethv/config.h
	@mkdir -p $(dir $@)
	$(HOSTCC) -std=gnu11 -O1 -g $(HWARN) -Iinclude -DNETHV_HOST=1 -o $@ tools/cfgcheck.c user/config.c -lfdt

# ---- boot artifacts ----------------------------------------------------------------
include boot/efi/efi.mk
include guest/guest.mk

iso: $(BUILD)/nethv-$(SCENARIO).iso
$(BUILD)/nethv-%.iso: $(BUILD)/nethv.elf $(BUILD)/config/%.dtb scripts/mkiso.sh
	scripts/mkiso.sh $@ $(BUILD)/nethv.elf "$(CMDLINE)" $(BUILD)/config/$*.dtb:config.dtb

# ---- Linux guest images (Debian's kernel + busybox initramfs, cached) -------------
IMAGES   := $(BUILD)/images
images: $(IMAGES)/vmlinuz
$(IMAGES)/vmlinuz: guest/build-linux-image.sh
	guest/build-linux-image.sh $(IMAGES)

# ACCEL=kvm uses nested virtualization on hosts that offer it
ACCEL    ?= tcg
# under TCG QEMU gets one CPU more and nethv cpu-offset=1, so QEMU's CPU 0 runs
# no vCPU: QEMU's x87 loads race with CPU 0's NPT switch (README, "The QEMU TCG fault")
RUN_SMP     := $(if $(filter tcg,$(ACCEL)),3,2)
RUN_CMDLINE := $(if $(filter tcg,$(ACCEL)),cpu-offset=1)
# the ISO `make run` boots: the scenario's config plus the guest images
RUN_ISO  := $(BUILD)/run-$(SCENARIO)-$(ACCEL).iso
$(RUN_ISO): $(BUILD)/nethv.elf $(BUILD)/config/$(SCENARIO).dtb $(IMAGES)/vmlinuz scripts/mkiso.sh
	scripts/mkiso.sh $@ $(BUILD)/nethv.elf "$(strip $(CMDLINE) $(RUN_CMDLINE))" $(BUILD)/config/$(SCENARIO).dtb:config.dtb \
	    $(IMAGES)/vmlinuz $(IMAGES)/initrd.img

# ---- running ----------------------------------------------------------------------
QEMU_CPU := $(if $(filter kvm,$(ACCEL)),-cpu host,-cpu max)
QEMU_RUN := qemu-system-x86_64 -accel $(ACCEL) $(QEMU_CPU) -smp $(RUN_SMP) -m 2G -no-reboot \
            -nic user,model=e1000e -device isa-debug-exit,iobase=0xf4,iosize=4 \
            -display none -serial mon:stdio
run: deps all $(RUN_ISO)
	@echo "nethv: console keys: Ctrl-T s = VM statistics, Ctrl-T n = next VM's console; Ctrl-A x quits QEMU"
	$(QEMU_RUN) -cdrom $(RUN_ISO)

debug: deps all $(RUN_ISO)
	@echo "gdb: target remote :1234 (symbols: $(BUILD)/nethv.elf); see $(BUILD)/gdbinit"
	@printf 'file %s\ntarget remote :1234\n' $(BUILD)/nethv.elf > $(BUILD)/gdbinit
	$(QEMU_RUN) -s -S -cdrom $(RUN_ISO)

run-uefi: deps all
	scripts/mkesp.sh $(BUILD)/esp-$(SCENARIO) "$(strip $(CMDLINE) $(RUN_CMDLINE))" $(BUILD)/config/$(SCENARIO).dtb:config.dtb
	cp /usr/share/OVMF/OVMF_VARS_4M.fd $(BUILD)/ovmf-vars.fd
	$(QEMU_RUN) -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
	    -drive if=pflash,format=raw,file=$(BUILD)/ovmf-vars.fd -drive format=raw,file=fat:rw:$(BUILD)/esp-$(SCENARIO)

# ---- tests ------------------------------------------------------------------------
HTESTS   := $(patsubst tests/host/%.c,$(BUILD)/host/%,$(wildcard tests/host/test_*.c))
$(BUILD)/host/%: tests/host/%.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HCFLAGS) -MMD -MP -o $@ $< $(HLIBS)
test-host: $(HTESTS)

# libFuzzer targets: tests/host/fuzz_*.c (brief runs in `make check`, long in `make fuzz`)
FUZZERS  := $(patsubst tests/host/%.c,$(BUILD)/fuzz/%,$(wildcard tests/host/fuzz_*.c))
FUZZ_SECONDS ?= 300
$(BUILD)/fuzz/%: tests/host/%.c
	@mkdir -p $(dir $@)
	clang -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter -Iinclude -Iarch/x86_64/include \
	    -DNETHV_HOST=1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -MMD -MP -o $@ $< -lfdt
fuzz-build: $(FUZZERS)
fuzz: deps fuzz-build
	@for f in $(FUZZERS); do mkdir -p $$f.corpus; echo "fuzz: $$f for $(FUZZ_SECONDS) s"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) $$f.corpus || exit 1; done

check: deps
	$(MAKE) -j$$(nproc) all test-host fuzz-build
	BUILD=$(BUILD) tests/run-all

# the Linux-guest and network boot tests SOAK_RUNS times (default 10), with a
# table of passes and failure signatures; QEMU=... picks the emulator binary
# (QEMU=$$(scripts/qemu-backports.sh) for QEMU 10 from bookworm-backports)
SOAK_RUNS ?= 10
soak: deps all
	SOAK_RUNS=$(SOAK_RUNS) BUILD=$(BUILD) $(if $(QEMU),QEMU=$(QEMU)) tests/soak

# ---- benchmarks (tests/bench/) ------------------------------------------------------

# the switch + virtio RX fill datapath on the host, -O2, no sanitizers
$(BUILD)/bench/datapath: tests/bench/datapath.c kernel/switch.c kernel/pkt.c kernel/virtq.c \
                         include/nethv/switch.h include/nethv/pkt.h include/nethv/virtq.h include/nethv/virtio.h
	@mkdir -p $(dir $@)
	$(HOSTCC) -std=gnu11 -O2 -g $(HWARN) -Iinclude -DNETHV_HOST=1 -o $@ tests/bench/datapath.c \
	    kernel/switch.c kernel/pkt.c kernel/virtq.c -lpthread

bench: deps all
	-BUILD=$(BUILD) tests/bench/cpu-exits.sh
	-BUILD=$(BUILD) tests/bench/boot-time.sh
	-BUILD=$(BUILD) tests/bench/guest-net.sh
	-BUILD=$(BUILD) tests/bench/isolation.sh
	$(MAKE) --no-print-directory $(BUILD)/bench/datapath && BUILD=$(BUILD) tests/bench/datapath.sh

# non-blank, non-comment lines of C and assembly: ring 0 and the monitor
loc:
	@python3 scripts/loc.py

clean:
	rm -rf $(BUILD)/k $(BUILD)/user $(BUILD)/mon $(BUILD)/efi $(BUILD)/guest $(BUILD)/host $(BUILD)/*.elf $(BUILD)/*.efi $(BUILD)/*.iso $(BUILD)/config $(BUILD)/tools $(BUILD)/fuzz $(BUILD)/test-logs

-include $(shell find $(BUILD) -type f -name '*.d' 2>/dev/null)
