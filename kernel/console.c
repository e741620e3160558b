/*
 * Hypervisor console: COM1, echoed to the debug port (0xE9) when an
 * emulator provides one.  printk formats with newlib's vsnprintf.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/spinlock.h>
#include <nethv/power.h>
#include <arch/uart.h>

static spinlock_t console_lock = SPINLOCK_INIT;
static bool have_debugcon;
static bool console_ready;

void console_init(void);
void console_init(void)
{
    uart_init(COM1_PORT);
    have_debugcon = debugcon_present();
    console_ready = true;
}

static void put_raw(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            uart_putc(COM1_PORT, '\r');
        uart_putc(COM1_PORT, s[i]);
        if (have_debugcon)
            outb(DEBUGCON_PORT, (uint8_t)s[i]);
    }
}

void console_write(const char *s, size_t n)
{
    if (!console_ready)
        console_init();
    uint64_t f = spin_lock_irqsave(&console_lock);
    put_raw(s, n);
    spin_unlock_irqrestore(&console_lock, f);
}

static void vprintk(const char *fmt, va_list ap)
{
    char buf[512];
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(buf))
        n = sizeof(buf) - 1;
    console_write(buf, (size_t)n);
}

void printk(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintk(fmt, ap);
    va_end(ap);
}

void panic(const char *fmt, ...)
{
    va_list ap;
    irq_disable();
    printk("\nnethv: PANIC: ");
    va_start(ap, fmt);
    vprintk(fmt, ap);
    va_end(ap);
    printk("\n");
    power_fail_stop();
}

void kernel_boot_failed(const char *what, const char *why)
{
    panic("%s: %s", what, why);
}
