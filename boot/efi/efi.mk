# nethv UEFI loader (boot/efi/): $(BUILD)/nethv.efi, a GNU-EFI application
# with the kernel ELF embedded, and $(BUILD)/nethv-test.efi with the test
# image (nethv-test.elf).  Included by the top-level Makefile; every
# EFI-specific flag lives here.  EFI_KERNEL may name another kernel ELF.

EFI_KERNEL   ?= $(BUILD)/nethv.elf
EFI_INC      := /usr/include/efi
EFI_LIBDIR   := /usr/lib
EFI_CRT0     := $(EFI_LIBDIR)/crt0-efi-x86_64.o
EFI_LDS      := $(EFI_LIBDIR)/elf_x86_64_efi.lds
# GNU_EFI_USE_MS_ABI: calls into the firmware use gcc's ms_abi directly
# (uefi_call_wrapper becomes a plain call).  efi_main itself stays System V:
# Debian's crt0 converts, so it must not be declared EFIAPI.
EFI_CFLAGS   := -std=gnu11 -O2 -g $(KWARN) -ffreestanding -fpic -fshort-wchar \
                -mno-red-zone -fno-stack-protector -fno-strict-aliasing \
                -fno-asynchronous-unwind-tables -maccumulate-outgoing-args \
                -DGNU_EFI_USE_MS_ABI
EFI_CPPFLAGS := -Iinclude -isystem $(EFI_INC) -isystem $(EFI_INC)/x86_64 \
                -isystem $(EFI_INC)/protocol -MMD -MP
EFI_LDFLAGS  := -nostdlib --no-undefined -shared -Bsymbolic -znocombreloc \
                -z noexecstack -T $(EFI_LDS) -L$(EFI_LIBDIR)
EFI_LIBS     := -lefi -lgnuefi $(shell $(CC) -print-libgcc-file-name)
EFI_SECTIONS := .text .sdata .data .dynamic .dynsym .rel .rela .rel.* .rela.* .reloc

EFI_SRC      := $(wildcard boot/efi/*.c) $(filter-out boot/efi/kernel_blob.S,$(wildcard boot/efi/*.S))
EFI_OBJ_COMMON := $(patsubst boot/efi/%,$(BUILD)/efi/%.o,$(basename $(EFI_SRC)))
EFI_OBJ      := $(EFI_OBJ_COMMON) $(BUILD)/efi/kernel_blob.o

efi: $(BUILD)/nethv.efi $(BUILD)/nethv-test.efi

$(BUILD)/efi/%.o: boot/efi/%.c
	@mkdir -p $(dir $@)
	$(CC) $(EFI_CPPFLAGS) $(EFI_CFLAGS) -c $< -o $@

$(BUILD)/efi/%.o: boot/efi/%.S
	@mkdir -p $(dir $@)
	$(CC) $(EFI_CPPFLAGS) -c $< -o $@

# The kernel lands in .rodata.nethv_kernel, i.e. in the app's .data section.
$(BUILD)/efi/kernel_blob.o: boot/efi/kernel_blob.S $(EFI_KERNEL)
	@mkdir -p $(dir $@)
	$(CC) -c -DNETHV_KERNEL_ELF='"$(EFI_KERNEL)"' $< -o $@

$(BUILD)/efi/kernel_blob_test.o: boot/efi/kernel_blob.S $(BUILD)/nethv-test.elf
	@mkdir -p $(dir $@)
	$(CC) -c -DNETHV_KERNEL_ELF='"$(BUILD)/nethv-test.elf"' $< -o $@

$(BUILD)/efi/nethv.so: $(EFI_OBJ) $(EFI_CRT0) $(EFI_LDS)
	$(LD) $(EFI_LDFLAGS) -o $@ $(EFI_CRT0) $(EFI_OBJ) $(EFI_LIBS)
$(BUILD)/efi/nethv-test.so: $(EFI_OBJ_COMMON) $(BUILD)/efi/kernel_blob_test.o $(EFI_CRT0) $(EFI_LDS)
	$(LD) $(EFI_LDFLAGS) -o $@ $(EFI_CRT0) $(EFI_OBJ_COMMON) $(BUILD)/efi/kernel_blob_test.o $(EFI_LIBS)

$(BUILD)/nethv.efi: $(BUILD)/efi/nethv.so
	$(OBJCOPY) $(addprefix -j ,$(EFI_SECTIONS)) --target efi-app-x86_64 --subsystem=10 $< $@
$(BUILD)/nethv-test.efi: $(BUILD)/efi/nethv-test.so
	$(OBJCOPY) $(addprefix -j ,$(EFI_SECTIONS)) --target efi-app-x86_64 --subsystem=10 $< $@
