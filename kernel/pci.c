/*
 * The host PCI bus for the kernel's own drivers (nethv/hostpci.h):
 * configuration access (ECAM from the ACPI MCFG table, else the legacy
 * 0xCF8/0xCFC mechanism #1), a brute-force bus scan, BAR decode, the
 * capability list, MSI and MSI-X toward the boot CPU.
 *
 * BSP, at boot, interrupts off; not locked.
 */
#include <stdio.h>
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/acpi.h>
#include <nethv/mem.h>
#include <nethv/hostpci.h>
#include <nethv/acpi_glue.h>
#include <arch/cpu.h>
#include <arch/regs.h>
#include <arch/x86.h>

/* Configuration mechanism #1 (PCI 3.0 3.2.2.3.2): address port, data port. */
#define PCI_CFG_ADDR        0xcf8
#define PCI_CFG_DATA        0xcfc
#define PCI_CFG_ENABLE      0x80000000u

/* MCFG segments, if the ACPI glue exports them (kernel/acpi_glue.c); the
 * legacy ports serve segment 0 otherwise. */

static volatile uint8_t *ecam;      /* segment 0, bus 0 */
static uint8_t ecam_bus_start, ecam_bus_end;
static bool cfg_ready;

static void cfg_init(void)
{
    if (cfg_ready)
        return;
    cfg_ready = true;
    const struct acpi_mcfg_seg *segs = NULL;
    unsigned n = acpi_mcfg_segments(&segs);
    for (unsigned i = 0; i < n; i++) {
        if (segs[i].segment != 0 || segs[i].bus_end < segs[i].bus_start)
            continue;
        /* the MCFG base addresses bus 0 even when bus_start is higher */
        uint64_t lo = segs[i].base + ((uint64_t)segs[i].bus_start << 20);
        uint64_t len = (uint64_t)(segs[i].bus_end - segs[i].bus_start + 1) << 20;
        if (!mmio_map(lo, len)) {
            printk("pci: ECAM at %#llx cannot be mapped; using ports 0xcf8/0xcfc\n",
                   (unsigned long long)lo);
            return;
        }
        ecam = (volatile uint8_t *)phys_to_virt(segs[i].base);
        ecam_bus_start = segs[i].bus_start;
        ecam_bus_end = segs[i].bus_end;
        printk("pci: ECAM at %#llx, buses %u-%u\n", (unsigned long long)lo,
               ecam_bus_start, ecam_bus_end);
        return;
    }
    printk("pci: no MCFG segment 0; configuration through ports 0xcf8/0xcfc\n");
}

static volatile void *ecam_ptr(const struct pci_dev *d, unsigned off)
{
    if (!ecam || d->bus < ecam_bus_start || d->bus > ecam_bus_end || off >= 4096)
        return NULL;
    return ecam + ((uint64_t)d->bus << 20 | (uint64_t)d->dev << 15 |
                   (uint64_t)d->fn << 12 | off);
}

static uint32_t port_addr(const struct pci_dev *d, unsigned off)
{
    return PCI_CFG_ENABLE | (uint32_t)d->bus << 16 | (uint32_t)d->dev << 11 |
           (uint32_t)d->fn << 8 | (off & 0xfc);
}

uint32_t pci_read32(const struct pci_dev *d, unsigned off)
{
    volatile uint32_t *p = ecam_ptr(d, off & ~3u);
    if (p)
        return *p;
    if (off >= 256)
        return 0xffffffffu;
    outl(PCI_CFG_ADDR, port_addr(d, off));
    return inl(PCI_CFG_DATA);
}

uint16_t pci_read16(const struct pci_dev *d, unsigned off)
{
    return (uint16_t)(pci_read32(d, off & ~3u) >> (8 * (off & 2)));
}

uint8_t pci_read8(const struct pci_dev *d, unsigned off)
{
    return (uint8_t)(pci_read32(d, off & ~3u) >> (8 * (off & 3)));
}

void pci_write32(const struct pci_dev *d, unsigned off, uint32_t v)
{
    volatile uint32_t *p = ecam_ptr(d, off & ~3u);
    if (p) {
        *p = v;
        return;
    }
    if (off >= 256)
        return;
    outl(PCI_CFG_ADDR, port_addr(d, off));
    outl(PCI_CFG_DATA, v);
}

void pci_write16(const struct pci_dev *d, unsigned off, uint16_t v)
{
    volatile uint16_t *p = ecam_ptr(d, off & ~1u);
    if (p) {
        *p = v;
        return;
    }
    if (off >= 256)
        return;
    outl(PCI_CFG_ADDR, port_addr(d, off));
    outw(PCI_CFG_DATA + (off & 2), v);
}

static bool probe_fn(struct pci_dev *d, unsigned bus, unsigned dev, unsigned fn)
{
    memset(d, 0, sizeof(*d));
    d->bus = (uint8_t)bus;
    d->dev = (uint8_t)dev;
    d->fn = (uint8_t)fn;
    uint32_t id = pci_read32(d, PCI_VENDOR_ID);
    if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0)
        return false;
    d->vendor = (uint16_t)id;
    d->device = (uint16_t)(id >> 16);
    d->class_rev = pci_read32(d, PCI_CLASS_REV);
    d->header_type = pci_read8(d, PCI_HEADER_TYPE) & 0x7f;
    snprintf(d->name, sizeof(d->name), "%04x:%02x:%02x.%x", d->seg, bus, dev, fn);
    return true;
}

bool pci_scan(bool (*fn)(const struct pci_dev *d, void *arg), void *arg)
{
    struct pci_dev d;
    cfg_init();
    unsigned bus_lo = ecam ? ecam_bus_start : 0, bus_hi = ecam ? ecam_bus_end : 255;
    for (unsigned bus = bus_lo; bus <= bus_hi; bus++) {
        for (unsigned dev = 0; dev < 32; dev++) {
            if (!probe_fn(&d, bus, dev, 0))
                continue;
            bool multi = pci_read8(&d, PCI_HEADER_TYPE) & PCI_HEADER_MULTIFN;
            if (fn(&d, arg))
                return true;
            for (unsigned f = 1; multi && f < 8; f++)
                if (probe_fn(&d, bus, dev, f) && fn(&d, arg))
                    return true;
        }
    }
    return false;
}

/* A BAR register's value (in *val) and what reads back after writing ones */
static uint32_t bar_mask(struct pci_dev *d, unsigned off, uint32_t *val)
{
    *val = pci_read32(d, off);
    pci_write32(d, off, 0xffffffffu);
    uint32_t mask = pci_read32(d, off);
    pci_write32(d, off, *val);
    return mask;
}

void pci_read_bars(struct pci_dev *d)
{
    memset(d->bar, 0, sizeof(d->bar));
    if (d->header_type != 0)
        return;
    uint16_t cmd = pci_read16(d, PCI_COMMAND);
    pci_write16(d, PCI_COMMAND, cmd & ~(PCI_CMD_IO | PCI_CMD_MEM));
    for (unsigned i = 0; i < 6; i++) {
        unsigned off = PCI_BAR0 + 4 * i;
        uint32_t lo, mask = bar_mask(d, off, &lo);
        struct pci_bar *b = &d->bar[i];
        if (lo & PCI_BAR_IO) {
            b->io = true;
            b->base = lo & ~3u;
            b->size = mask & ~3u ? (uint32_t)(~(mask & ~3u) + 1) & 0xffff : 0;
            continue;
        }
        uint64_t base = lo & ~0xfu, m = mask & ~0xfu;
        b->prefetch = lo & PCI_BAR_PREFETCH;
        b->mem64 = (lo & PCI_BAR_MEM_TYPE) == PCI_BAR_MEM64 && i < 5;
        if (b->mem64) {
            uint32_t hi, mhi = bar_mask(d, off + 4, &hi);
            base |= (uint64_t)hi << 32;
            m |= (uint64_t)mhi << 32;
            i++;                    /* the upper half is not a BAR of its own */
        }
        b->base = base;
        b->size = !m ? 0 : b->mem64 ? ~m + 1 : (uint32_t)(~(uint32_t)m + 1);
    }
    pci_write16(d, PCI_COMMAND, cmd);
}

unsigned pci_find_cap(const struct pci_dev *d, unsigned id, unsigned after)
{
    if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAPS))
        return 0;
    unsigned off = after ? pci_read8(d, after + 1) : pci_read8(d, PCI_CAP_PTR);
    for (unsigned guard = 0; off >= 0x40 && guard < 48; guard++) {
        off &= 0xfc;
        if (pci_read8(d, off) == id)
            return off;
        off = pci_read8(d, off + 1);
    }
    return 0;
}

void pci_enable(const struct pci_dev *d)
{
    uint16_t cmd = pci_read16(d, PCI_COMMAND);
    pci_write16(d, PCI_COMMAND, cmd | PCI_CMD_MEM | PCI_CMD_MASTER | PCI_CMD_INTX_OFF);
}

volatile void *pci_map_bar(const struct pci_dev *d, unsigned bar)
{
    if (bar >= 6)
        return NULL;
    const struct pci_bar *b = &d->bar[bar];
    if (b->io || !b->base || !b->size || !mmio_map(b->base, b->size))
        return NULL;
    return (volatile void *)phys_to_virt(b->base);
}

unsigned pci_irq_alloc(irq_handler_t h)
{
    static unsigned next = VEC_HOSTDEV_FIRST;
    if (next > VEC_HOSTDEV_LAST)
        return 0;
    irq_register(next, h);
    return next++;
}

static uint32_t msi_addr(void)
{
    return MSI_ADDR_BASE | percpu_area[0].apic_id << MSI_ADDR_DEST_SHIFT;
}

bool pci_msi_enable(const struct pci_dev *d, unsigned vector)
{
    unsigned cap = pci_find_cap(d, PCI_CAP_MSI, 0);
    if (!cap || percpu_area[0].apic_id > 0xff)
        return false;
    uint16_t ctrl = pci_read16(d, cap + 2);
    ctrl &= (uint16_t)~(MSI_CTRL_ENABLE | MSI_CTRL_MME_MASK);   /* one message */
    pci_write16(d, cap + 2, ctrl);
    pci_write32(d, cap + 4, msi_addr());
    unsigned data = cap + 8;
    if (ctrl & MSI_CTRL_64BIT) {
        pci_write32(d, cap + 8, 0);
        data = cap + 12;
    }
    pci_write16(d, data, (uint16_t)vector);          /* fixed, edge */
    if (ctrl & MSI_CTRL_PVM)
        pci_write32(d, data + 4, 0);                 /* mask bits: none */
    pci_write16(d, cap + 2, ctrl | MSI_CTRL_ENABLE);
    return true;
}

bool pci_msix_set(const struct pci_dev *d, unsigned entry, unsigned vector)
{
    unsigned cap = pci_find_cap(d, PCI_CAP_MSIX, 0);
    if (!cap || percpu_area[0].apic_id > 0xff)
        return false;
    uint16_t ctrl = pci_read16(d, cap + 2);
    if (entry > (ctrl & MSIX_CTRL_SIZE_MASK))
        return false;
    uint32_t tbl = pci_read32(d, cap + 4);
    unsigned bir = tbl & MSIX_BIR_MASK;
    if (bir >= 6 || d->bar[bir].io || !d->bar[bir].base)
        return false;
    uint64_t pa = d->bar[bir].base + (tbl & ~MSIX_BIR_MASK) + (uint64_t)entry * MSIX_ENTRY_SIZE;
    if (!mmio_map(pa, MSIX_ENTRY_SIZE))
        return false;
    volatile uint32_t *e = phys_to_virt(pa);
    /* the function mask holds messages back while the entry is rewritten */
    pci_write16(d, cap + 2, ctrl | MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK);
    e[3] |= MSIX_VEC_MASKED;
    e[0] = msi_addr();
    e[1] = 0;
    e[2] = vector;                                   /* fixed, edge */
    e[3] &= ~MSIX_VEC_MASKED;
    pci_write16(d, cap + 2, (ctrl | MSIX_CTRL_ENABLE) & ~MSIX_CTRL_FMASK);
    return true;
}
