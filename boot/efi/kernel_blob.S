/* The kernel ELF, embedded verbatim.  NETHV_KERNEL_ELF is its path (efi.mk).
 * Page-aligned so the image header (8-byte aligned in the file) is aligned
 * in memory too.  .rodata.* lands in the app's .data output section. */
    .section .rodata.nethv_kernel, "a"
    .balign 4096
    .globl nethv_kernel_start
    .hidden nethv_kernel_start
nethv_kernel_start:
    .incbin NETHV_KERNEL_ELF
    .globl nethv_kernel_end
    .hidden nethv_kernel_end
nethv_kernel_end:
    .section .note.GNU-stack, "", @progbits
