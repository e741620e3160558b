/* The CPL-3 self-test's program (user/selftest.c), linked in whole:
 * user_selftest.c loads it.  NETHV_USER_SELFTEST_ELF: its path (Makefile). */
    .section .rodata
    .balign 16
    .globl  user_selftest_elf, user_selftest_elf_end
user_selftest_elf:
    .incbin NETHV_USER_SELFTEST_ELF
user_selftest_elf_end:

/* The monitor (build/user/monitor.elf, kernel/monitor.c): NETHV_MONITOR_ELF */
    .balign 16
    .globl  monitor_elf, monitor_elf_end
monitor_elf:
    .incbin NETHV_MONITOR_ELF
monitor_elf_end:
