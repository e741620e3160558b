/* Multiboot1 header and entry for the bare-metal test guests. */
#define MB1_MAGIC 0x1badb002
#define MB1_FLAGS 0x00000003            /* page-align modules, want memory info */

    .section .multiboot, "a"
    .balign 4
    .long MB1_MAGIC
    .long MB1_FLAGS
    .long -(MB1_MAGIC + MB1_FLAGS)

    .text
    .globl _start
_start:
    cli
    mov     $stack_top, %esp
    push    %ebx                        /* Multiboot info */
    push    %eax                        /* magic */
    call    guest_main
    push    %eax
    call    guest_exit
1:  hlt
    jmp     1b

    /* Common interrupt entry: the C handler gets the vector and a frame. */
    .macro VEC n
    .globl vec_\n
vec_\n:
    .if (\n == 8) || (\n == 10) || (\n == 11) || (\n == 12) || (\n == 13) || (\n == 14) || (\n == 17)
    .else
    push    $0
    .endif
    push    $\n
    jmp     vec_common
    .endm
    VEC 0
    VEC 1
    VEC 2
    VEC 3
    VEC 4
    VEC 5
    VEC 6
    VEC 7
    VEC 8
    VEC 10
    VEC 11
    VEC 12
    VEC 13
    VEC 14
    VEC 16
    VEC 17
    VEC 18
    VEC 19
    VEC 32
    VEC 48
    VEC 64
    VEC 80
    VEC 96

vec_common:
    pusha
    push    %esp                        /* struct guest_frame * */
    call    guest_trap
    add     $4, %esp
    popa
    add     $8, %esp                    /* vector, error */
    iret

    .bss
    .balign 16
    .skip 16384
stack_top:
