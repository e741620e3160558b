/*
 * Boot glue: the 32-bit Multiboot2 entry that switches to long mode, and the
 * 64-bit entry used by the UEFI loader.  Both end in boot_entry(magic, info)
 * on the boot stack with SSE enabled (newlib is built with SSE).
 *
 * Long-mode switch: SDM Vol. 3A 9.8.5 (PAE, CR3, EFER.LME, CR0.PG).
 */
#include <arch/regs.h>

#define EARLY_PD_COUNT  4       /* identity-map the first 4 GiB with 2 MiB pages */

    .section .text.entry, "ax"
    .code32
    .globl mb2_entry32
mb2_entry32:
    cli
    cld
    mov     %eax, %ebp              /* Multiboot2 magic */
    mov     %ebx, %esi              /* Multiboot2 info (physical) */

    /* zero .bss: the boot stack and early page tables live there */
    mov     $__bss_start, %edi
    mov     $__bss_end, %ecx
    sub     %edi, %ecx
    shr     $2, %ecx
    xor     %eax, %eax
    rep stosl
    mov     $boot_stack_top, %esp

    /* long mode present? CPUID 0x80000001 EDX.LM */
    mov     $0x80000000, %eax
    cpuid
    cmp     $0x80000001, %eax
    jb      no_long_mode
    mov     $0x80000001, %eax
    cpuid
    test    $CPUIDX1_EDX_LM, %edx
    jz      no_long_mode

    /* PML4[0] -> PDPT; PDPT[0..3] -> PD 0..3; PDs: 2 MiB identity pages */
    mov     $early_pdpt, %eax
    or      $(PTE_P | PTE_W), %eax
    mov     %eax, early_pml4
    xor     %ecx, %ecx
1:  mov     %ecx, %eax
    shl     $12, %eax
    add     $early_pd, %eax
    or      $(PTE_P | PTE_W), %eax
    mov     %eax, early_pdpt(,%ecx,8)
    inc     %ecx
    cmp     $EARLY_PD_COUNT, %ecx
    jb      1b
    xor     %ecx, %ecx
2:  mov     %ecx, %eax
    shl     $21, %eax
    or      $(PTE_P | PTE_W | PTE_PS), %eax
    mov     %eax, early_pd(,%ecx,8)
    mov     %ecx, %eax
    shr     $11, %eax                /* high dword: bits 32+ of the address */
    mov     %eax, early_pd+4(,%ecx,8)
    inc     %ecx
    cmp     $(EARLY_PD_COUNT * 512), %ecx
    jb      2b

    mov     $early_pml4, %eax
    mov     %eax, %cr3
    mov     %cr4, %eax
    or      $CR4_PAE, %eax
    mov     %eax, %cr4
    mov     $MSR_EFER, %ecx
    rdmsr
    or      $EFER_LME, %eax
    wrmsr
    mov     %cr0, %eax
    or      $(CR0_PG | CR0_PE), %eax
    mov     %eax, %cr0
    lgdt    early_gdt_ptr
    ljmp    $SEL_KCODE, $from32

no_long_mode:
    mov     $no_lm_msg, %esi
3:  lodsb
    test    %al, %al
    jz      4f
    mov     $0x3f8, %dx
    outb    %al, %dx
    mov     $0xe9, %dx
    outb    %al, %dx
    jmp     3b
4:  hlt
    jmp     4b

    .code64
from32:
    mov     %ebp, %edi              /* zero-extends: rdi = Multiboot2 magic */
    mov     %esi, %esi              /* rsi = info */
    jmp     common64

/* UEFI loader entry: RDI = BOOT_INFO_MAGIC, RSI = struct boot_info *. */
    .globl kernel_entry64
kernel_entry64:
    cli
    cld
    mov     %rdi, %r12
    mov     %rsi, %r13
    lgdt    early_gdt_ptr(%rip)
    pushq   $SEL_KCODE
    lea     1f(%rip), %rax
    pushq   %rax
    lretq
1:  lea     __bss_start(%rip), %rdi
    lea     __bss_end(%rip), %rcx
    sub     %rdi, %rcx
    xor     %eax, %eax
    rep stosb
    mov     %r12, %rdi
    mov     %r13, %rsi

common64:
    mov     $SEL_KDATA, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    xor     %eax, %eax
    mov     %eax, %fs
    mov     %eax, %gs
    lea     boot_stack_top(%rip), %rsp
    xor     %ebp, %ebp
    /* SSE on before any C: CR0.EM=0, MP=1; CR4.OSFXSR|OSXMMEXCPT */
    mov     %cr0, %rax
    and     $~CR0_EM, %rax
    or      $(CR0_MP | CR0_NE), %rax
    mov     %rax, %cr0
    mov     %cr4, %rax
    or      $(CR4_OSFXSR | CR4_OSXMMEXCPT), %rax
    mov     %rax, %cr4
    fninit
    call    boot_entry
5:  cli
    hlt
    jmp     5b

    .section .rodata
no_lm_msg:
    .asciz  "nethv: this CPU has no long mode\r\n"

    .section .data
    .balign 16
early_gdt:
    .quad   0
    .quad   0x00af9a000000ffff      /* 0x08: 64-bit code, DPL0 */
    .quad   0x00cf92000000ffff      /* 0x10: data */
early_gdt_end:
    .balign 8
early_gdt_ptr:
    .short  early_gdt_end - early_gdt - 1
    .quad   early_gdt

    .section .bss
    .balign 8192                     /* CR3 bit 12 clear: monitors' user views have it (user.c) */
early_pml4:     .skip 4096
early_pdpt:     .skip 4096
early_pd:       .skip 4096 * EARLY_PD_COUNT
    .globl boot_stack_top, boot_stack_guard
boot_stack_guard: .skip 4096    /* unmapped by paging_init: an overflow faults */
boot_stack:     .skip 16384
boot_stack_top:
