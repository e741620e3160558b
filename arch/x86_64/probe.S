/*
 * uint64_t probe_access(uint64_t kind, uint64_t addr): one access that may
 * page-fault, for the boot-time check of the host map's protections
 * (paging.c).  kind 0 reads a byte at addr, 1 writes that byte back, 2
 * calls addr (a RET must be there).  Returns 0 if the access completed, or
 * the #PF error code with bit 63 set: trap_dispatch sees probe_armed and
 * resumes at probe_fault with RSP as it was at entry.  BSP, boot only.
 */
    .text
    .globl probe_access, probe_fault
probe_access:
    mov     %rsp, probe_rsp(%rip)
    movb    $1, probe_armed(%rip)
    cmp     $1, %rdi
    je      1f
    ja      2f
    movb    (%rsi), %al
    jmp     3f
1:  movb    (%rsi), %al
    movb    %al, (%rsi)
    jmp     3f
2:  call    *%rsi
3:  movb    $0, probe_armed(%rip)
    xor     %eax, %eax
    ret
probe_fault:                        /* RSP = probe_rsp, RAX = the result */
    movb    $0, probe_armed(%rip)
    ret

    .data
    .globl probe_rsp, probe_armed, probe_ret_in_data
    .balign 8
probe_rsp:          .quad 0
probe_armed:        .byte 0
probe_ret_in_data:  .byte 0xc3      /* RET, in .data: must not run */
