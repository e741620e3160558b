/*
 * Into CPL 3 and back (arch/user.h).  user_enter saves the kernel's
 * callee-saved registers and RFLAGS on this stack and marks the place
 * below them (the per-CPU pointer right there: PERCPU_ABOVE_FRAME) where
 * every entry from CPL 3 is to land: TSS.RSP0 points there, or, under KPTI,
 * at this CPU's entry stack, from which isr.S moves the frame there.  Then
 * it switches to the monitor's CR3 and IRETQs to its entry.  user_leave,
 * called from one of those entries, returns from user_enter with a status.
 */
#include <arch/regs.h>

#define UF_RIP      0x00
#define UF_RSP      0x08
#define UF_ARG      0x10
#define UF_CR3      0x18
#define UF_RSP0     0x20
#define UF_PC       0x28
#define UF_SAVED    0x30
#define UF_ENTRY    0x48
#define PC_USER_KFRAME 0x18
#define PC_USER_CR3    0x38

    /* all of it mapped in monitors' user views (user.c, KPTI): the code
     * after the switch to the monitor's CR3 runs under them */
    .section .text.uentry, "ax"
    .globl  user_enter
    .type   user_enter, @function
user_enter:
    pushq   %rbp
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    pushfq
    cli                             /* RSP0 and CR3 change together with the IRETQ */
    mov     %rsp, UF_SAVED(%rdi)
    lea     -64(%rsp), %rax
    and     $~15, %rax              /* 64-bit mode aligns the CPU's frame to 16 (SDM 3A 6.14.2) */
    mov     UF_PC(%rdi), %rcx
    mov     %rcx, (%rax)            /* the per-CPU area, right above every CPL-3 entry frame */
    mov     %rax, PC_USER_KFRAME(%rcx)  /* KPTI: where isr.S moves an entry's frame */
    mov     UF_CR3(%rdi), %rdx
    mov     %rdx, PC_USER_CR3(%rcx)     /* KPTI: what isr.S returns to CPL 3 with */
    mov     UF_ENTRY(%rdi), %rdx    /* KPTI: this CPU's entry stack; else 0 */
    test    %rdx, %rdx
    jnz     1f
    mov     %rax, %rdx              /* no KPTI: the CPU's frame goes right here */
1:  mov     UF_RSP0(%rdi), %rcx
    mov     %rdx, (%rcx)            /* TSS.RSP0 */
    mov     %rdx, %rsp              /* the IRETQ frame where the CPU's frames go */
    pushq   $(SEL_UDATA | 3)        /* SS */
    pushq   UF_RSP(%rdi)
    pushq   $0x202                  /* RFLAGS: IF, nothing else (IOPL 0, no TF, no AC) */
    pushq   $(SEL_UCODE | 3)
    pushq   UF_RIP(%rdi)
    movzbl  spec_verw_to_user(%rip), %esi   /* (not mapped in a user view) */
    mov     UF_CR3(%rdi), %rax
    mov     UF_ARG(%rdi), %rdi
    mov     %rax, %cr3
    xor     %eax, %eax              /* nothing of the kernel's goes up */
    xor     %ebx, %ebx
    xor     %ecx, %ecx
    xor     %edx, %edx
    xor     %ebp, %ebp
    xor     %r8d, %r8d
    xor     %r9d, %r9d
    xor     %r10d, %r10d
    xor     %r11d, %r11d
    xor     %r12d, %r12d
    xor     %r13d, %r13d
    xor     %r14d, %r14d
    xor     %r15d, %r15d
    test    %esi, %esi
    jz      2f
    verw    user_verw_sel(%rip)     /* MDS/TAA/MMIO: the CPU buffers cleared (spec.c) */
2:  xor     %esi, %esi
    iretq
    .size   user_enter, . - user_enter

    .globl  user_leave
    .type   user_leave, @function
user_leave:
    mov     kernel_cr3(%rip), %rax
    mov     %rax, %cr3
    mov     UF_SAVED(%rdi), %rsp
    mov     %rsi, %rax
    ldmxcsr mxcsr_default(%rip)     /* MXCSR's control bits are callee-saved (SysV ABI) */
    popfq
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    ret
    .size   user_leave, . - user_leave

    .balign 4
    .globl  user_verw_sel
user_verw_sel:                      /* here: VERW reads it under a user view */
    .short  SEL_KDATA               /* any writable data segment will do */

    .section .rodata
    .balign 4
mxcsr_default:
    .long   0x1f80
