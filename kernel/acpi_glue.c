/* The kernel's side of ACPI: parse once at boot, answer the CPU list and power-off. */
#include <nethv/kernel.h>
#include <nethv/acpi.h>
#include <nethv/acpi_glue.h>
#include <nethv/mem.h>
#include <arch/time.h>
#include <arch/x86.h>

static struct acpi_info acpi;
static bool acpi_ok;

static const void *map_identity(uint64_t phys, size_t len)
{
    /* the identity map covers [0, max(4 GiB, top of RAM)) but page 0
     * (arch/x86_64/paging.c) */
    uint64_t top = mem_top_of_ram() > (4ull << 30) ? mem_top_of_ram() : 4ull << 30;
    if (phys < PAGE_SIZE || phys + len < phys || phys + len > top)
        return NULL;
    return phys_to_virt(phys);
}

void acpi_init(const struct boot_info *bi)
{
    if (!bi->rsdp_len) {
        printk("acpi: the boot loader gave no RSDP; one CPU, no ACPI power-off\n");
        return;
    }
    int rc = acpi_parse(bi->rsdp, bi->rsdp_len, map_identity, &acpi, printk);
    if (rc != ACPI_OK) {
        printk("acpi: tables unusable (error %d); one CPU, no ACPI power-off\n", rc);
        return;
    }
    acpi_ok = true;
    acpi_print_summary(&acpi, printk);
}

uint64_t acpi_lapic_base(void)
{
    return acpi_ok && acpi.have_madt ? acpi.lapic_base : 0;
}

/* the enabled CPUs: online-capable ones are hot-plug slots, not started */
unsigned acpi_cpu_apic_ids(const uint32_t **ids)
{
    *ids = acpi.apic_id;
    return acpi_ok ? acpi.ncpus : 0;
}

static uint16_t io_in16(void *ctx, uint16_t port) { return inw(port); }
static void io_out16(void *ctx, uint16_t port, uint16_t v) { outw(port, v); }
static void io_out8(void *ctx, uint16_t port, uint8_t v) { outb(port, v); }
static void io_delay_ms(void *ctx, uint32_t ms) { udelay((uint64_t)ms * 1000); }

static const struct acpi_port_ops port_ops = { io_in16, io_out16, io_out8, io_delay_ms, NULL };

void acpi_power_off(void)
{
    if (acpi_ok)
        acpi_poweroff(&acpi, &port_ops);
}

void acpi_reboot(void)
{
    if (acpi_ok)
        acpi_reset(&acpi, &port_ops);
}

unsigned acpi_mcfg_segments(const struct acpi_mcfg_seg **segs)
{
    *segs = acpi.mcfg;
    return acpi_ok ? acpi.nmcfg : 0;
}
