/* Assembler macros of the transient-execution mitigations (spec.c). */
#ifndef ARCH_SPEC_ASM_H
#define ARCH_SPEC_ASM_H
#ifdef __ASSEMBLY__

/*
 * RSB_FILL reg: replace every Return Stack Buffer entry with one that
 * points at a speculation trap, so no RET of the host consumes a return
 * address the guest left (Intel's "Retpoline: A Branch Target Injection
 * Mitigation", RSB stuffing; 32 entries cover every current CPU).  Clobbers
 * reg and the flags; RSP is back where it was.
 */
.macro RSB_FILL reg
    mov     $16, \reg
.Lrsb_loop\@:
    call    .Lrsb_call1\@
.Lrsb_trap1\@:
    pause
    lfence
    jmp     .Lrsb_trap1\@
.Lrsb_call1\@:
    call    .Lrsb_call2\@
.Lrsb_trap2\@:
    pause
    lfence
    jmp     .Lrsb_trap2\@
.Lrsb_call2\@:
    dec     \reg
    jnz     .Lrsb_loop\@
    add     $(32 * 8), %rsp
    lfence
.endm

#endif
#endif
