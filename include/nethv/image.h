/*
 * The nethv image header: a small record in the kernel ELF's first 32 KiB,
 * right after the Multiboot2 header, for loaders that are not Multiboot2
 * (the UEFI loader in boot/efi/).  It says where the image wants to live
 * and where its 64-bit entry point is (see bootinfo.h for the entry state).
 */
#ifndef NETHV_IMAGE_H
#define NETHV_IMAGE_H

#define NETHV_IMAGE_MAGIC   0x5244484e56485445ULL   /* "ETHVNHDR" */
#define NETHV_IMAGE_SEARCH  32768                     /* bytes from file start */
#define NETHV_LOAD_ADDR     0x1000000                 /* 16 MiB, physical = virtual */

#ifndef __ASSEMBLY__
#include <stdint.h>
struct nethv_image_header {
    uint64_t magic;         /* NETHV_IMAGE_MAGIC, 8-byte aligned in the file */
    uint64_t entry64;       /* physical address of the 64-bit entry */
    uint64_t load_start;    /* first byte of the image in memory */
    uint64_t load_end;      /* end of the loaded image (file-backed part) */
    uint64_t bss_end;       /* end of everything (bss included), page-aligned */
};
#endif
#endif
