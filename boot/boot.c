/*
 * The first C code: turn whatever the boot path handed over into one
 * struct boot_info and enter the kernel.  Called from arch/x86_64/entry.S.
 */
#include <nethv/bootinfo.h>
#include <nethv/multiboot2.h>
#include <nethv/kernel.h>

static struct boot_info mb2_bootinfo;

void boot_entry(uint64_t magic, uint64_t info);
void boot_entry(uint64_t magic, uint64_t info)
{
    if (magic == MB2_BOOTLOADER_MAGIC) {
        const char *why;
        /* the Multiboot2 structure states its own size; trust at most 1 MiB */
        if (mb2_to_bootinfo((const void *)info, 1u << 20, &mb2_bootinfo, &why))
            panic("Multiboot2 information: %s", why);
        kernel_main(&mb2_bootinfo);
    }
    const struct boot_info *bi = (const struct boot_info *)info;
    if (magic != BOOT_INFO_MAGIC || bi->magic != BOOT_INFO_MAGIC)
        panic("boot: unknown boot protocol magic");
    if (bi->version != BOOT_INFO_VERSION || bi->nmem > BOOT_MAX_MEM || bi->nmod > BOOT_MAX_MOD)
        panic("boot_info: version or counts out of range");
    kernel_main(bi);
}
