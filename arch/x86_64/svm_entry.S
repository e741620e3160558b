/*
 * SVM guest entry/exit: void svm_vmrun(struct vcpu_hw *v, uint64_t vmcb_pa,
 *                                      uint64_t host_save_pa)
 *
 * Called with host RFLAGS.IF = 0.  Sequence (APM 2 15.5 "VMRUN Instruction",
 * 15.5.2 "VMSAVE and VMLOAD", 15.17 "Global Interrupt Flag", 15.21.1
 * "Physical (INTR) Interrupt Masking in EFLAGS"):
 *   clgi                 no interrupt/NMI/SMI until stgi
 *   vmsave host area     host FS/GS bases, TR, LDTR, KernelGsBase, STAR..,
 *                        SYSENTER_*: VMRUN/#VMEXIT do not switch these
 *   guest GPRs in        (RAX is the VMCB's; host RAX = VMCB PA across VMRUN)
 *   sti                  host IF=1 is what lets a physical interrupt exit the
 *                        guest (V_INTR_MASKING=1); GIF=0 still holds it here
 *   vmload/vmrun/vmsave  guest VMCB
 *   guest GPRs out
 *   vmload host area, cli, stgi
 * A pending host interrupt stays pending (IF=0) until svm_run opens a window
 * for it.  Between "vmsave guest" and "vmload host" the FS/GS bases are the
 * guest's: nothing here touches %gs/%fs, and GIF=0 keeps NMIs out.
 */
#include <arch/svm.h>
#include <arch/spec_asm.h>
#include <arch/vcpu_gprs.h>

    .text
    .globl  svm_vmrun
    .type   svm_vmrun, @function
svm_vmrun:
    push    %rbp
    mov     %rsp, %rbp
    push    %rbx
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    push    %rdi                    /* 16(%rsp) after the next push: v */
    push    %rdx                    /* 8(%rsp) after guest RDI is pushed: host area */

    clgi
    mov     %rdx, %rax
    vmsave  %rax                    /* host state VMRUN does not save */
    mov     %rsi, %rax              /* VMCB PA: VMLOAD/VMRUN/VMSAVE operand */

    mov     VCPU_GPR_RBX(%rdi), %rbx
    mov     VCPU_GPR_RCX(%rdi), %rcx
    mov     VCPU_GPR_RDX(%rdi), %rdx
    mov     VCPU_GPR_RSI(%rdi), %rsi
    mov     VCPU_GPR_RBP(%rdi), %rbp
    mov     VCPU_GPR_R8(%rdi), %r8
    mov     VCPU_GPR_R9(%rdi), %r9
    mov     VCPU_GPR_R10(%rdi), %r10
    mov     VCPU_GPR_R11(%rdi), %r11
    mov     VCPU_GPR_R12(%rdi), %r12
    mov     VCPU_GPR_R13(%rdi), %r13
    mov     VCPU_GPR_R14(%rdi), %r14
    mov     VCPU_GPR_R15(%rdi), %r15
    mov     VCPU_GPR_RDI(%rdi), %rdi

    sti
    vmload  %rax
    vmrun   %rax
    vmsave  %rax                    /* #VMEXIT: RAX = VMCB PA again, GIF = 0 */

    push    %rdi
    mov     16(%rsp), %rdi          /* v */
    mov     %rbx, VCPU_GPR_RBX(%rdi)
    mov     %rcx, VCPU_GPR_RCX(%rdi)
    mov     %rdx, VCPU_GPR_RDX(%rdi)
    mov     %rsi, VCPU_GPR_RSI(%rdi)
    mov     %rbp, VCPU_GPR_RBP(%rdi)
    mov     %r8, VCPU_GPR_R8(%rdi)
    mov     %r9, VCPU_GPR_R9(%rdi)
    mov     %r10, VCPU_GPR_R10(%rdi)
    mov     %r11, VCPU_GPR_R11(%rdi)
    mov     %r12, VCPU_GPR_R12(%rdi)
    mov     %r13, VCPU_GPR_R13(%rdi)
    mov     %r14, VCPU_GPR_R14(%rdi)
    mov     %r15, VCPU_GPR_R15(%rdi)
    popq    VCPU_GPR_RDI(%rdi)

    pop     %rax                    /* host area */
    vmload  %rax
    RSB_FILL %rax                   /* before the host's first RET (spec.c) */
    cli
    stgi
    add     $8, %rsp                /* v */
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %rbx
    pop     %rbp
    ret
    .globl  svm_vmrun_end           /* idt.c: the #VMEXIT-to-VMLOAD window is in here */
svm_vmrun_end:
    .size   svm_vmrun, . - svm_vmrun

    .section .note.GNU-stack, "", @progbits
