/* The programs at CPL 3 that nethv.elf carries, linked in whole (Makefile):
 * the monitor (NETHV_MONITOR_ELF; kernel/monitor.c) and the configuration
 * parser (NETHV_CONFIG_ELF; kernel/config_load.c). */
    .section .rodata
    .balign 16
    .globl  monitor_elf, monitor_elf_end
monitor_elf:
    .incbin NETHV_MONITOR_ELF
monitor_elf_end:
    .balign 16
    .globl  config_elf, config_elf_end
config_elf:
    .incbin NETHV_CONFIG_ELF
config_elf_end:
