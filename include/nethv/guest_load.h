/* Guest image loaders (kernel/guest_*.c): fill RAM and the boot state. */
#ifndef NETHV_GUEST_LOAD_H
#define NETHV_GUEST_LOAD_H
#include <nethv/vm.h>
#include <nethv/bootinfo.h>

struct guest_boot_state {
    struct vcpu_regs regs;
    struct vcpu_sregs sregs;
};

/* 0 or -1 with *why set.  `mod` may be NULL (no initrd / module). */
int guest_load_multiboot(struct vm *vm, const struct boot_module *kernel,
                         const struct boot_module *mod, const char *cmdline,
                         struct guest_boot_state *st, const char **why);
/* Linux/x86 boot protocol >= 2.12, 64-bit entry; the PC layout of
 * nethv/guest_layout.h (the monitor adds the ACPI tables).  0 or -1 with *why. */
int guest_load_linux(struct vm *vm, const struct boot_module *kernel,
                     const struct boot_module *initrd, const char *cmdline,
                     struct guest_boot_state *st, const char **why);
/* Flat 32-bit protected mode, paging off (the Multiboot1 machine state). */
void guest_state_prot32(struct guest_boot_state *st, uint64_t entry);
#endif
