# Bare-metal test guests (guest/tests/*.c): 32-bit Multiboot1 ELFs, built
# with the host gcc (-m32).  Included by the top-level Makefile.
GUEST_CFLAGS := -m32 -std=gnu11 -O2 -g -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
                -mno-sse -mgeneral-regs-only -fno-asynchronous-unwind-tables $(HWARN)
GUEST_LDFLAGS := -m32 -nostdlib -static -no-pie -Wl,-T,guest/lib/guest.ld -Wl,--build-id=none \
                 -z noexecstack -Wl,--no-warn-rwx-segments
GUEST_LIB    := guest/lib/start.S guest/lib/lib.c
GUESTS       := $(patsubst guest/tests/%.c,$(BUILD)/guest/%.elf,$(wildcard guest/tests/*.c))

guests: $(GUESTS)
$(BUILD)/guest/%.elf: guest/tests/%.c $(GUEST_LIB) guest/lib/guest.h guest/lib/guest.ld
	@mkdir -p $(dir $@)
	@echo "  GUEST   $@"
	$(Q)$(CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ $(GUEST_LIB) $<
