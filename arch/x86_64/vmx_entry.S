/*
 * VMX world switch.  int vmx_enter(struct vcpu_hw *v, bool launched):
 * saves the host's callee-saved registers, records the stack in HOST_RSP,
 * loads the guest GPRs from v->gpr (offset 0 of struct vcpu_hw, the order
 * of struct vcpu_gprs) and runs VMLAUNCH or VMRESUME.
 *   returns 0 after a VM exit (guest GPRs saved back to v->gpr),
 *           1 on VMfailValid (ZF=1: error in the VMCS), 2 on VMfailInvalid (CF=1).
 * At a VM exit the CPU resumes at vmx_exit_stub (HOST_RIP) with RSP =
 * HOST_RSP, IF=0 and all GPRs but RSP still the guest's (SDM 3C 27.5).
 * Caller: interrupts disabled, guest FPU state loaded.
 */

#define HOST_RSP 0x6c14             /* VMCS field encoding, SDM 3D B.4.4 */

#include <arch/regs.h>
#include <arch/spec_asm.h>
#include <arch/vcpu_gprs.h>

    .text
    .globl vmx_enter
    .type vmx_enter, @function
vmx_enter:
    push    %rbp
    mov     %rsp, %rbp
    push    %rbx
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    push    %rdi                    /* the vCPU, found by the exit path at 0(%rsp) */
    mov     $HOST_RSP, %eax
    vmwrite %rsp, %rax
    jbe     .Lfail                  /* CF or ZF: same codes as a failed entry */

    /* L1TF: the L1D flush as late as it can be, before the guest's GPRs
     * (spec.c; an NMI from here to the entry can still bring host data
     * back into L1D) */
    cmpb    $0, spec_l1d_flush_on_entry(%rip)
    je      4f
    mov     $MSR_IA32_FLUSH_CMD, %ecx
    mov     $FLUSH_CMD_L1D, %eax
    xor     %edx, %edx
    wrmsr
4:
    /* flags survive the MOVs below: ZF = no VERW, CF = launched (BT
     * leaves ZF alone; VERW changes ZF only) */
    cmpb    $0, spec_verw_on_entry(%rip)
    bt      $0, %esi
    mov     VCPU_GPR_RAX(%rdi), %rax
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
    jz      3f
    verw    verw_sel(%rip)          /* MDS/TAA/MMIO: clear the CPU buffers (spec.c) */
3:  jc      1f
    vmlaunch
    jmp     .Lfail
1:  vmresume
    /* falls through only if the entry failed as an instruction */
.Lfail:
    mov     $2, %eax                /* VMfailInvalid: CF=1 */
    jc      2f
    mov     $1, %eax                /* VMfailValid: ZF=1 */
2:  pop     %rdi
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %rbx
    pop     %rbp
    ret
    .size vmx_enter, . - vmx_enter

    .globl vmx_exit_stub
    .type vmx_exit_stub, @function
vmx_exit_stub:
    push    %rdi                    /* guest RDI */
    mov     8(%rsp), %rdi           /* the vCPU */
    mov     %rax, VCPU_GPR_RAX(%rdi)
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
    RSB_FILL %rax                   /* before the host's first RET (spec.c) */
    add     $8, %rsp                /* the vCPU pointer */
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %rbx
    pop     %rbp
    xor     %eax, %eax
    ret
    .size vmx_exit_stub, . - vmx_exit_stub

    .section .rodata
verw_sel:
    .short  SEL_KDATA               /* any writable data segment will do */

    .section .note.GNU-stack, "", @progbits
