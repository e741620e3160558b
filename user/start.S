/* Every call into a program at CPL 3 starts here (arch/user.h): RDI is the
 * call's argument, RSP a fresh stack.  user_main's result is the reply. */
    .section .text.start, "ax"
    .globl  _start
_start:
    and     $~15, %rsp
    call    user_main
    mov     %rax, %rdi
    xor     %eax, %eax              /* USER_SYS_REPLY: ends the call */
    int     $0x80
    ud2                             /* not reached */
