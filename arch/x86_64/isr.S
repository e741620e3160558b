/*
 * Interrupt and exception entry stubs.  Each vector pushes a dummy error
 * code when the CPU does not (SDM 3A 6.15: vectors 8, 10-14, 17, 21, 29, 30
 * push one), then its number; the common path saves the GPRs and the
 * SSE/AVX state (newlib code may be interrupted) and calls trap_dispatch.
 */
#include <arch/regs.h>

/* struct trap_frame (cpu.h): 15 GPRs, vector, error, then the CPU's frame */
#define TF_VECTOR       (15 * 8)
#define TF_CS           (17 * 8 + 8)
#define TF_ABOVE        (17 * 8 + 40)
/* struct percpu (cpu.h) */
#define PC_USER_KFRAME  0x18
#define PC_ENTRY_TOP    0x20
#define PC_USER_CR3     0x38
#define TF_RIP          (17 * 8)
/* CR3 bit 12: a monitor's user view (user.c, KPTI); never set in the kernel's */
#define CR3_USER_VIEW_BIT 12

/* XSAVE legacy area + header + AVX (832 bytes), 64-byte aligned below */
#define FPU_ISR_AREA    (832 + 64)

    /* all of it mapped in monitors' user views (user.c, KPTI) */
    .section .text.uentry, "ax"
.macro ISR_STUB vec
    .balign 16
isr_\vec:
    .if (\vec == 8) || ((\vec >= 10) && (\vec <= 14)) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
    .else
    pushq   $0
    .endif
    pushq   $\vec
    jmp     isr_common
.endm

    .altmacro
.macro ISR_STUBS from, to
    ISR_STUB \from
    .if \to-\from
    ISR_STUBS %(\from+1), \to
    .endif
.endm
    ISR_STUBS 0, 63
    ISR_STUBS 64, 127
    ISR_STUBS 128, 191
    ISR_STUBS 192, 255

isr_common:
    testb   $3, 24(%rsp)            /* CS (vector, error code, RIP, CS) */
    jz      11f
    /* From CPL 3 under a monitor's user view (KPTI, user.c): CR3 bit 12
     * set.  Its kernel view first (the PML4 a page below), then the frame
     * -- RAX, RBX, vector, error code and the CPU's five -- from the entry
     * or IST stack onto the kernel stack, below user_enter's frame
     * (percpu.user_kframe, the percpu * being right above the CPU's frame
     * here too). */
    pushq   %rax
    pushq   %rbx
    mov     %cr3, %rax
    btr     $CR3_USER_VIEW_BIT, %rax
    jnc     9f
    mov     %rax, %cr3
    mov     72(%rsp), %rax
    mov     PC_USER_KFRAME(%rax), %rax
    .irp    off, 64, 56, 48, 40, 32, 24, 16, 8, 0
    mov     \off(%rsp), %rbx
    mov     %rbx, \off-72(%rax)
    .endr
    lea     -72(%rax), %rsp
9:  popq    %rbx
    popq    %rax
11: pushq   %rax
    pushq   %rbx
    pushq   %rcx
    pushq   %rdx
    pushq   %rsi
    pushq   %rdi
    pushq   %rbp
    pushq   %r8
    pushq   %r9
    pushq   %r10
    pushq   %r11
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    /* From CPL 3 (a monitor, user.c): code there can load GS, so its base
     * is reloaded before any C code uses it (the kernel uses no FS) -- this CPU's
     * per-CPU area is the qword right above the CPU's frame
     * (PERCPU_ABOVE_FRAME: TSS.RSP0 and every IST stack). */
    xor     %r12d, %r12d            /* callee-saved: a CR3 to go back to, or 0 */
    testb   $3, TF_CS(%rsp)
    jz      12f
    cmpb    $0, paging_smap(%rip)
    je      6f
    clac                            /* POPF at CPL 3 may have set AC: SMAP stays on here */
6:  mov     TF_ABOVE(%rsp), %rax
    mov     %rax, %rdx
    shr     $32, %rdx
    mov     $MSR_GS_BASE, %ecx
    wrmsr
    jmp     5f
    /* An exception in ring 0 under a monitor's user view: in the few
     * instructions of an entry or a return (only NMI, #MC and #DF can come
     * there, interrupts being off): the kernel view for the handler, the
     * user view again after it.  Interrupts cannot come there. */
12: cmpq    $32, TF_VECTOR(%rsp)
    jae     5f
    mov     TF_RIP(%rsp), %rax      /* only there: CR3 bit 12 means nothing elsewhere */
    lea     __uentry_start(%rip), %rdx
    cmp     %rdx, %rax
    jb      5f
    lea     __uentry_end(%rip), %rdx
    cmp     %rdx, %rax
    jae     5f
    mov     %cr3, %rax
    btr     $CR3_USER_VIEW_BIT, %rax
    jnc     5f
    mov     %cr3, %r12
    mov     %rax, %cr3
5:  mov     %rsp, %rdi              /* struct trap_frame * */
    mov     %rsp, %rbx              /* callee-saved: frame */
    sub     $FPU_ISR_AREA, %rsp
    and     $~63, %rsp
    /* With XSAVE: save and restore SSE/AVX only (fpu_isr_mask), never the
     * x87 part -- host code does not use x87, and an x87 restore on a CPU
     * other than CPU 0 races with CPU 0's VMRUN under QEMU TCG (fpu.c). */
    mov     fpu_isr_mask(%rip), %eax
    test    %eax, %eax
    jz      1f
    xor     %edx, %edx
    movq    $0, 512(%rsp)           /* XSAVE header: XSTATE_BV, XCOMP_BV, */
    movq    $0, 520(%rsp)           /* reserved -- XRSTOR faults on junk */
    movq    $0, 528(%rsp)
    xsave64 (%rsp)
    jmp     2f
1:  fxsave64 (%rsp)
2:  cld
    call    trap_dispatch
    mov     fpu_isr_mask(%rip), %eax
    test    %eax, %eax
    jz      3f
    xor     %edx, %edx
    xrstor64 (%rsp)
    jmp     4f
3:  fxrstor64 (%rsp)
4:  mov     %rbx, %rsp
    test    %r12, %r12
    jz      13f
    mov     %r12, %cr3
13: popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %r11
    popq    %r10
    popq    %r9
    popq    %r8
    popq    %rbp
    popq    %rdi
    popq    %rsi
    popq    %rdx
    popq    %rcx                    /* left: RBX, RAX, vector, error, RIP, CS, RFLAGS, RSP, SS */
    testb   $3, 40(%rsp)
    jz      14f
    cmpb    $0, user_kpti(%rip)
    jne     20f
14: popq    %rbx
    popq    %rax
    add     $16, %rsp               /* vector, error code */
    testb   $3, 8(%rsp)             /* back to CPL 3: the CPU buffers cleared (spec.c) */
    jz      7f
    cmpb    $0, spec_verw_to_user(%rip)
    je      7f
    verw    user_verw_sel(%rip)
7:  iretq

    /* Back to CPL 3 under KPTI: RAX, RBX and the CPU's frame onto this
     * CPU's entry stack, the user view, VERW, IRETQ. */
20: mov     %gs:PC_ENTRY_TOP, %rax
    .irp    i, 8, 7, 6, 5, 4
    mov     \i*8(%rsp), %rbx
    mov     %rbx, (\i-9)*8(%rax)
    .endr
    mov     8(%rsp), %rbx
    mov     %rbx, -48(%rax)
    mov     (%rsp), %rbx
    mov     %rbx, -56(%rax)
    movzbl  spec_verw_to_user(%rip), %ebx
    mov     %rbx, -64(%rax)
    mov     %gs:PC_USER_CR3, %rbx   /* the monitor's user view (user_enter) */
    lea     -64(%rax), %rsp
    mov     %rbx, %cr3
    popq    %rax
    test    %eax, %eax
    jz      21f
    verw    user_verw_sel(%rip)
21: popq    %rbx
    popq    %rax
    iretq

    .section .rodata
    .balign 8
    .globl isr_table
isr_table:
.macro ISR_ADDR vec
    .quad   isr_\vec
.endm
.macro ISR_ADDRS from, to
    ISR_ADDR \from
    .if \to-\from
    ISR_ADDRS %(\from+1), \to
    .endif
.endm
    ISR_ADDRS 0, 63
    ISR_ADDRS 64, 127
    ISR_ADDRS 128, 191
    ISR_ADDRS 192, 255
