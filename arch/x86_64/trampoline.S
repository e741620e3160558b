/*
 * AP start-up trampoline, copied by smp.c to a page below 1 MiB; the SIPI
 * vector is that page number.  Real mode straight to long mode (SDM 3A
 * 9.8.5 allows enabling PE and PG together): PAE, CR3, EFER.LME, CR0.PE|PG,
 * far jump into the 64-bit code segment.  smp.c patches the tr_* fields.
 */
#include <arch/regs.h>

#define OFF(sym) ((sym) - trampoline_start)

    .section .rodata
    .code16
    .globl trampoline_start
trampoline_start:
    cli
    cld
    mov     %cs, %ax
    mov     %ax, %ds
    lgdtl   OFF(tr_gdt_ptr)
    movl    OFF(tr_cr3), %eax
    mov     %eax, %cr3
    mov     %cr4, %eax
    or      $CR4_PAE, %eax
    mov     %eax, %cr4
    mov     $MSR_EFER, %ecx
    rdmsr
    or      OFF(tr_efer), %eax      /* LME, and NXE: the tables use NX */
    wrmsr
    mov     %cr0, %eax
    or      $(CR0_PG | CR0_PE), %eax
    mov     %eax, %cr0
    ljmpl   *OFF(tr_jmp)

    .code64
tr_long:
    mov     $SEL_KDATA, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    /* The slot (tr_stack, tr_cpu) is this CPU's only if smp.c opened it
     * for this APIC ID and nobody took it: an AP that wakes after smp_boot
     * gave up on it (a SIPI that came late) would otherwise run on the
     * next AP's stack as the next CPU.  Its APIC ID: CPUID 0xb EDX (x2APIC
     * ID) where that leaf is implemented, or 1 EBX[31:24] (SDM 3A 10.4.6,
 * 10.12.8.1). */
    xor     %eax, %eax
    cpuid
    cmp     $0xb, %eax
    jb      1f
    mov     $0xb, %eax
    xor     %ecx, %ecx
    cpuid
    test    %bx, %bx                /* leaf 0xb not implemented: EBX[15:0] 0 (SDM 2 CPUID) */
    jz      1f
    mov     %edx, %esi
    jmp     2f
1:  mov     $1, %eax
    cpuid
    shr     $24, %ebx
    mov     %ebx, %esi
2:  cmp     tr_apic(%rip), %esi
    jne     tr_park
    mov     $1, %eax
    xor     %edx, %edx
    lock cmpxchg %edx, tr_claim(%rip)      /* 1 (open) -> 0 (taken) */
    jne     tr_park
    mov     tr_stack(%rip), %rsp
    mov     tr_cpu(%rip), %rdi
    xor     %ebp, %ebp
    jmp     *tr_entry(%rip)
tr_park:                    /* not this CPU's slot: stay here, touching nothing */
    cli
    hlt
    jmp     tr_park

    .balign 8
tr_gdt:
    .quad   0
    .quad   0x00af9a000000ffff
    .quad   0x00cf92000000ffff
    .globl tr_gdt_ptr, tr_jmp, tr_cr3, tr_stack, tr_cpu, tr_entry, tr_long, tr_gdt, tr_efer
    .globl tr_apic, tr_claim
tr_gdt_ptr:
    .short  23
    .long   0               /* patched: linear address of tr_gdt */
    .balign 8
tr_jmp:
    .long   0               /* patched: linear address of tr_long */
    .short  SEL_KCODE
    .balign 8
tr_cr3:     .quad 0
tr_stack:   .quad 0
tr_cpu:     .quad 0
tr_entry:   .quad 0
tr_efer:    .long 0         /* patched: EFER bits to set */
tr_apic:    .long 0         /* the APIC ID the open slot is for */
tr_claim:   .long 0         /* 1: open; the AP that takes it sets 0 */
    .globl trampoline_end
trampoline_end:
