/*
 * Retpoline thunks for the kernel's indirect branches (GCC's
 * -mindirect-branch=thunk-extern calls __x86_indirect_thunk_<reg> for
 * "call/jmp *%reg"): the CPU's speculation is caught in a PAUSE/LFENCE
 * loop while the RET takes the real target (Intel's "Retpoline: A Branch
 * Target Injection Mitigation").  spec.c says why they are always on.
 */
    .text
.macro THUNK reg
    .globl  __x86_indirect_thunk_\reg
    .type   __x86_indirect_thunk_\reg, @function
__x86_indirect_thunk_\reg:
    call    .Lset_\reg
.Lcapture_\reg:
    pause
    lfence
    jmp     .Lcapture_\reg
.Lset_\reg:
    mov     %\reg, (%rsp)
    ret
    .size   __x86_indirect_thunk_\reg, . - __x86_indirect_thunk_\reg
.endm

    THUNK rax
    THUNK rbx
    THUNK rcx
    THUNK rdx
    THUNK rsi
    THUNK rdi
    THUNK rbp
    THUNK r8
    THUNK r9
    THUNK r10
    THUNK r11
    THUNK r12
    THUNK r13
    THUNK r14
    THUNK r15

    .section .note.GNU-stack, "", @progbits
