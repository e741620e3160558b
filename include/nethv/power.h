/* Ending the machine: power-off for tests and operators. */
#ifndef NETHV_POWER_H
#define NETHV_POWER_H
#include <stdbool.h>
/*
 * Power off.  code 0: clean (ACPI S5 first, then emulator ports);
 * non-zero: failure (QEMU isa-debug-exit first so the exit status carries it).
 */
__attribute__((noreturn)) void power_off(int code);
/* What the config's `exit` asks for once every VM has stopped (enum
 * config_exit): halt, reboot (ACPI reset register, then the 0xcf9 reset
 * control and the 8042), or QEMU's isa-debug-exit with status 0. */
__attribute__((noreturn)) void power_config_exit(unsigned how);
/* The command line asks to power off at the end (exit=poweroff, tests). */
bool power_off_requested(void);
/* After a panic: power off with a failure code when the command line asks
 * for it (exit=poweroff, used by tests), else halt this CPU for inspection. */
__attribute__((noreturn)) void power_fail_stop(void);
#endif
