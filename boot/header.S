/*
 * Image headers, kept in the first 32 KiB of nethv.elf:
 *  - Multiboot2 header (Multiboot2 spec 3.1.1) for GRUB's `multiboot2`;
 *  - the nethv image header (include/nethv/image.h) for the UEFI loader.
 */
#include <nethv/image.h>

#define MB2_HEADER_MAGIC   0xe85250d6
#define MB2_ARCH_I386      0
#define MB2_TAG_END        0
#define MB2_TAG_MODALIGN   6       /* page-align modules */

    .section .multiboot2, "a"
    .balign 8
mb2_header:
    .long MB2_HEADER_MAGIC
    .long MB2_ARCH_I386
    .long mb2_header_end - mb2_header
    .long -(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    .balign 8
    .short MB2_TAG_MODALIGN, 0
    .long 8
    .balign 8
    .short MB2_TAG_END, 0
    .long 8
mb2_header_end:

    .section .nethv_header, "a"
    .balign 8
    .quad NETHV_IMAGE_MAGIC
    .quad kernel_entry64
    .quad __image_start
    .quad __load_end
    .quad __image_end
