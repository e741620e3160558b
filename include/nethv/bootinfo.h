/*
 * The one structure every boot path hands the kernel.
 *
 * The Multiboot2 glue (boot/multiboot2.c) and the UEFI loader (boot/efi/)
 * both fill a struct boot_info and enter the kernel through kernel_entry()
 * with it; the kernel never learns which firmware it came from.
 *
 * Entry state (both paths): 64-bit long mode, interrupts off, paging on with
 * an identity map that covers at least the kernel image and everything this
 * structure points to; RDI = BOOT_INFO_MAGIC, RSI = physical address of the
 * struct boot_info.  Everything is physical (identity-mapped).
 */
#ifndef NETHV_BOOTINFO_H
#define NETHV_BOOTINFO_H

#include <stdint.h>

#define BOOT_INFO_MAGIC   0x6e65746876626f6fULL   /* "oobvhten" */
#define BOOT_INFO_VERSION 1

#define BOOT_MAX_MEM      256
#define BOOT_MAX_MOD      32
#define BOOT_MOD_NAME     64
#define BOOT_CMDLINE      512
#define BOOT_LOADER_NAME  48
#define BOOT_RSDP_MAX     36      /* ACPI 2.0+ RSDP is 36 bytes, 1.0 is 20 */

enum boot_mem_type {
    BOOT_MEM_USABLE       = 1,  /* free RAM */
    BOOT_MEM_RESERVED     = 2,
    BOOT_MEM_ACPI_RECLAIM = 3,  /* ACPI tables */
    BOOT_MEM_ACPI_NVS     = 4,
    BOOT_MEM_BAD          = 5,
    BOOT_MEM_BOOT_DATA    = 6,  /* RAM holding boot_info / modules: keep */
};

struct boot_mem_range {
    uint64_t base;
    uint64_t len;
    uint32_t type;              /* enum boot_mem_type */
    uint32_t reserved;
};

struct boot_module {
    uint64_t base;              /* physical, page-aligned */
    uint64_t len;               /* bytes */
    char     name[BOOT_MOD_NAME];   /* file name, e.g. "config.dtb" */
};

struct boot_info {
    uint64_t magic;             /* BOOT_INFO_MAGIC */
    uint32_t version;           /* BOOT_INFO_VERSION */
    uint32_t nmem;              /* valid entries in mem[], sorted by base */
    struct boot_mem_range mem[BOOT_MAX_MEM];
    uint32_t nmod;
    uint32_t rsdp_len;          /* 0: no RSDP known */
    struct boot_module mod[BOOT_MAX_MOD];
    uint8_t  rsdp[BOOT_RSDP_MAX];   /* a copy of the ACPI RSDP */
    uint32_t pad;
    char     cmdline[BOOT_CMDLINE];
    char     loader[BOOT_LOADER_NAME];  /* informational: who loaded us */
};

#ifndef __ASSEMBLY__
/* The boot module named `name`, or NULL (kernel/bootinfo.c). */
const struct boot_module *bootinfo_find_module(const struct boot_info *bi, const char *name);
#endif

#endif
