/* The CPL-3 self-test's program (user/selftest.c), linked in whole into
 * the test image: user_selftest.c loads it.  NETHV_USER_SELFTEST_ELF: its
 * path (Makefile). */
    .section .rodata
    .balign 16
    .globl  user_selftest_elf, user_selftest_elf_end
user_selftest_elf:
    .incbin NETHV_USER_SELFTEST_ELF
user_selftest_elf_end:
