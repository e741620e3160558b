/*
 * nethv UEFI loader: leave the firmware's CPU state (after ExitBootServices).
 *
 * void handoff_enter(UINT64 cr3, const void *gdtr, UINT64 stack_top,
 *                    void (*fn)(void *), void *arg)       -- never returns
 *
 * Loads the loader's GDT (0x08 64-bit code, 0x10 data), its identity-map
 * page tables, an empty IDT (an early exception triple-faults instead of
 * running freed firmware code) and its stack, then calls fn(arg).
 */
    .text
    .globl handoff_enter
    .hidden handoff_enter
handoff_enter:
    cli
    cld
    lgdt    (%rsi)
    pushq   $0x08
    leaq    1f(%rip), %rax
    pushq   %rax
    lretq
1:  movw    $0x10, %ax
    movw    %ax, %ds
    movw    %ax, %es
    movw    %ax, %ss
    movw    %ax, %fs
    movw    %ax, %gs
    movq    %cr4, %r9
    movq    %r9, %rax
    andq    $~0x80, %rax            /* CR4.PGE off: flush global TLB entries too */
    movq    %rax, %cr4
    movq    %rdi, %cr3
    movq    %r9, %cr4
    movq    %rdx, %rsp
    xorl    %ebp, %ebp
    pushq   $0
    pushq   $0
    lidt    (%rsp)                  /* base 0, limit 0 */
    addq    $16, %rsp
    movq    %r8, %rdi
    call    *%rcx
2:  cli
    hlt
    jmp     2b

    .section .note.GNU-stack, "", @progbits
