/* Power-off paths: ACPI S5, Bochs' shutdown port, QEMU isa-debug-exit. */
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/power.h>
#include <nethv/acpi_glue.h>
#include <arch/x86.h>

#define BOCHS_SHUTDOWN_PORT 0x8900      /* write "Shutdown" (Bochs iodev/unmapped) */
#define QEMU_DEBUG_EXIT_PORT 0xf4       /* -device isa-debug-exit,iobase=0xf4: rc = (v << 1) | 1 */

static void bochs_shutdown(void)
{
    for (const char *s = "Shutdown"; *s; s++)
        outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*s);
}

void power_off(int code)
{
    irq_disable();
    console_set_buffered(false);        /* all out before the machine goes */
    printk("nethv: power off (code %d)\n", code);
    if (code)
        outl(QEMU_DEBUG_EXIT_PORT, (uint32_t)code);
    acpi_power_off();
    bochs_shutdown();
    outl(QEMU_DEBUG_EXIT_PORT, (uint32_t)code);
    printk("nethv: power off failed; halting\n");
    for (;;)
        halt();
}

bool power_off_requested(void)
{
    char v[16];
    const char *e = cmdline_get("exit", v, sizeof(v));
    return e && !strcmp(e, "poweroff");
}

void power_fail_stop(void)
{
    console_set_buffered(false);
    if (power_off_requested())
        power_off(1);
    printk("nethv: halted\n");
    for (;;)
        halt();
}
