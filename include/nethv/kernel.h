/* Kernel-wide entry points and the console print functions. */
#ifndef NETHV_KERNEL_H
#define NETHV_KERNEL_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <nethv/bootinfo.h>

#define NETHV_VERSION "0.1.0"

#define ARRAY_SIZE(a)   (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)  (((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define PAGE_SIZE       4096ull
#define MIB             (1ull << 20)
#define GIB             (1ull << 30)

__attribute__((noreturn)) void kernel_main(const struct boot_info *bi);

/* Console output: any CPU, any context (takes the console lock, irqs off). */
/* Rate-limited reports: say the n-th occurrence (from 1) of a counted
 * event?  The first three, then at powers of two. */
static inline bool report_nth(unsigned long n)
{
    return n <= 3 || !(n & (n - 1));
}
__attribute__((format(printf, 1, 2))) void printk(const char *fmt, ...);
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);
void console_write(const char *s, size_t n);
/* A VM's output: false (nothing written) when the console's ring is full. */
bool console_try_write(const char *s, size_t n);
/* Refill the UART from the console's ring if it is idle; never waits. */
void console_drain(void);
/* Buffered (VMs running) or synchronous output. */
void console_set_buffered(bool on);
/* The flight recorder of the vCPU the CPU ran last (kernel/sched.c). */
void flight_print_cpu(unsigned cpu);

/* Kernel command line: value of `key=` (copied, NUL-terminated) or NULL. */
const char *cmdline_get(const char *key, char *buf, size_t cap);
bool cmdline_has(const char *word);

#endif
