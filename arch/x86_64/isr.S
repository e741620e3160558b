/*
 * Interrupt and exception entry stubs.  Each vector pushes a dummy error
 * code when the CPU does not (SDM 3A 6.15: vectors 8, 10-14, 17, 21, 29, 30
 * push one), then its number; the common path saves the GPRs and the
 * FPU/SSE state (newlib code may be interrupted) and calls trap_dispatch.
 */
#include <arch/regs.h>

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
    mov     %rsp, %rdi              /* struct trap_frame * */
    mov     %rsp, %rbx              /* callee-saved: frame */
    sub     $512, %rsp
    and     $~15, %rsp
    fxsave64 (%rsp)
    cld
    call    trap_dispatch
    fxrstor64 (%rsp)
    mov     %rbx, %rsp
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
