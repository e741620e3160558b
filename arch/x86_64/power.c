/* Power-off paths: ACPI S5, Bochs' shutdown port, QEMU isa-debug-exit. */
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/power.h>
#include <nethv/acpi_glue.h>
#include <nethv/config.h>
#include <arch/time.h>
#include <arch/x86.h>

#define BOCHS_SHUTDOWN_PORT 0x8900      /* write "Shutdown" (Bochs iodev/unmapped) */
#define QEMU_DEBUG_EXIT_PORT 0xf4       /* -device isa-debug-exit,iobase=0xf4: rc = (v << 1) | 1 */
#define PC_RESET_CONTROL_PORT 0xcf9     /* Intel ICH/PCH and PIIX reset control register */
#define  RESET_CPU            0x04      /* the 0 -> 1 edge resets */
#define  RESET_FULL           0x02      /* a hard (platform) reset */
#define KBC_COMMAND_PORT     0x64       /* 8042 */
#define  KBC_PULSE_RESET     0xfe       /* pulse output line 0: CPU reset */

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

void power_config_exit(unsigned how)
{
    console_set_buffered(false);
    if (how == CONFIG_EXIT_HALT) {
        printk("nethv: halted (config: exit = \"halt\")\n");
        irq_enable();                   /* the console still answers */
        for (;;)
            halt();
    }
    irq_disable();
    if (how == CONFIG_EXIT_REBOOT) {
        printk("nethv: reboot (config: exit = \"reboot\")\n");
        acpi_reboot();
        outb(PC_RESET_CONTROL_PORT, RESET_CPU | RESET_FULL);
        udelay(100000);
        outb(KBC_COMMAND_PORT, KBC_PULSE_RESET);
        udelay(100000);
        printk("nethv: reboot failed; halting\n");
    } else if (how == CONFIG_EXIT_DEBUG) {
        printk("nethv: debug exit (config: exit = \"debug-exit\")\n");
        outl(QEMU_DEBUG_EXIT_PORT, 0);  /* QEMU exits with status 1 */
        printk("nethv: no isa-debug-exit device; halting\n");
    }
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
