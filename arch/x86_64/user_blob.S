/* The monitor (build/user/monitor.elf, kernel/monitor.c), linked in whole:
 * NETHV_MONITOR_ELF is its path (Makefile). */
    .section .rodata
    .balign 16
    .globl  monitor_elf, monitor_elf_end
monitor_elf:
    .incbin NETHV_MONITOR_ELF
monitor_elf_end:
