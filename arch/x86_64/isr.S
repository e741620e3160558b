/*
 * Interrupt and exception entry stubs.  Each vector pushes a dummy error
 * code when the CPU does not (SDM 3A 6.15: vectors 8, 10-14, 17, 21, 29, 30
 * push one), then its number; the common path saves the GPRs and the
 * SSE/AVX state (newlib code may be interrupted) and calls trap_dispatch.
 */
#include <arch/regs.h>

/* struct trap_frame (cpu.h): 15 GPRs, vector, error, then the CPU's frame */
#define TF_CS           (17 * 8 + 8)
#define TF_ABOVE        (17 * 8 + 40)

/* XSAVE legacy area + header + AVX (832 bytes), 64-byte aligned below */
#define FPU_ISR_AREA    (832 + 64)

    .text
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
    pushq   %rax
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
    /* From CPL 3 (a monitor, user.c): code there can load FS and GS, so
     * their bases are reloaded before any C code uses them -- this CPU's
     * per-CPU area is the qword right above the CPU's frame
     * (PERCPU_ABOVE_FRAME: TSS.RSP0 and every IST stack). */
    testb   $3, TF_CS(%rsp)
    jz      5f
    cmpb    $0, paging_smap(%rip)
    je      6f
    clac                            /* POPF at CPL 3 may have set AC: SMAP stays on here */
6:  mov     TF_ABOVE(%rsp), %rax
    mov     %rax, %rdx
    shr     $32, %rdx
    mov     $MSR_GS_BASE, %ecx
    wrmsr
    mov     $MSR_FS_BASE, %ecx
    wrmsr
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
    popq    %r15
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
    popq    %rcx
    popq    %rbx
    popq    %rax
    add     $16, %rsp               /* vector, error code */
    testb   $3, 8(%rsp)             /* back to CPL 3: the CPU buffers cleared (spec.c) */
    jz      7f
    cmpb    $0, spec_verw_to_user(%rip)
    je      7f
    verw    user_verw_sel(%rip)
7:  iretq

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
