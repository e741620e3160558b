/*
 * Multiboot2 boot information (Multiboot2 spec 3.6) -> struct boot_info.
 * Pure code, host-testable.
 */
#ifndef NETHV_MULTIBOOT2_H
#define NETHV_MULTIBOOT2_H

#include <stdint.h>
#include <stddef.h>
#include <nethv/bootinfo.h>

#define MB2_BOOTLOADER_MAGIC    0x36d76289u

#define MB2_TAG_END             0
#define MB2_TAG_CMDLINE         1
#define MB2_TAG_LOADER_NAME     2
#define MB2_TAG_MODULE          3
#define MB2_TAG_MMAP            6
#define MB2_TAG_ACPI_OLD        14
#define MB2_TAG_ACPI_NEW        15

#define MB2_MEM_AVAILABLE       1
#define MB2_MEM_ACPI_RECLAIM    3
#define MB2_MEM_NVS             4
#define MB2_MEM_BAD             5

/*
 * Convert the Multiboot2 information at `mbi` (at most `max_len` bytes
 * readable) into `bi`.  Returns 0, or a negative value with `*why` set to a
 * static message when the structure is malformed.
 */
int mb2_to_bootinfo(const void *mbi, size_t max_len, struct boot_info *bi, const char **why);

/* Sort bi->mem by base (insertion sort; shared with the UEFI loader's needs). */
void bootinfo_sort_mem(struct boot_info *bi);

#endif
