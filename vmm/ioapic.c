/*
 * IOAPIC model (see ioapic.h): IOREGSEL at +0x00, IOWIN at +0x10; registers
 * 0x00 ID, 0x01 version (0x11, max redirection entry 23), 0x02 arbitration,
 * 0x10 + 2n / 0x11 + 2n the low / high halves of redirection entry n.
 */
#include "vmm.h"
#include "lapic.h"
#include "ioapic.h"

#define RTE_RO_BITS (IOAPIC_RTE_REMOTE_IRR | (1ull << 12))     /* remote IRR, delivery status */

static void deliver(struct vmm *m, struct vmm_ioapic *io, unsigned pin)
{
    uint64_t rte = io->rte[pin];
    unsigned mode = (rte >> 8) & 7;
    if (rte & IOAPIC_RTE_MASKED)
        return;
    if (rte & IOAPIC_RTE_LEVEL) {
        if (rte & IOAPIC_RTE_REMOTE_IRR)
            return;             /* the previous one is still in service */
        io->rte[pin] |= IOAPIC_RTE_REMOTE_IRR;
    }
    if (mode != 0 && mode != 1)
        return;                 /* SMI/NMI/INIT/ExtINT pins: not modelled */
    vmm_lapic_deliver(m, (uint32_t)(rte >> 56), (rte & IOAPIC_RTE_LOGICAL) != 0, mode == 1,
                      (uint8_t)rte, (rte & IOAPIC_RTE_LEVEL) != 0);
}

void vmm_ioapic_set_irq(struct vmm *m, unsigned gsi, bool level)
{
    struct vmm_ioapic *io = m->ioapic;
    if (gsi == 0)
        gsi = IOAPIC_ISA_IRQ0_GSI;      /* the PIT's ISA IRQ 0 (MADT override) */
    if (!io || gsi - IOAPIC_GSI_BASE >= IOAPIC_PINS)   /* GSI base 0 */
        return;
    unsigned pin = gsi - IOAPIC_GSI_BASE;
    bool was = (io->lines >> pin) & 1;
    if (level)
        io->lines |= 1u << pin;
    else
        io->lines &= ~(1u << pin);
    if (level && (!was || (io->rte[pin] & IOAPIC_RTE_LEVEL)))
        deliver(m, io, pin);
}

void vmm_ioapic_eoi(struct vmm *m, uint8_t vector)
{
    struct vmm_ioapic *io = m->ioapic;
    for (unsigned pin = 0; io && pin < IOAPIC_PINS; pin++) {
        uint64_t rte = io->rte[pin];
        if ((uint8_t)rte != vector || !(rte & IOAPIC_RTE_LEVEL) || !(rte & IOAPIC_RTE_REMOTE_IRR))
            continue;
        io->rte[pin] &= ~IOAPIC_RTE_REMOTE_IRR;
        if ((io->lines >> pin) & 1)
            deliver(m, io, pin);        /* still asserted: again */
    }
}

static uint32_t reg_read(struct vmm_ioapic *io)
{
    unsigned r = io->regsel & 0xff;
    switch (r) {
    case 0x00: return io->id << 24;
    case 0x01: return ((IOAPIC_PINS - 1) << 16) | IOAPIC_VERSION;
    case 0x02: return io->id << 24;
    default:
        if (r >= 0x10 && r < 0x10 + 2 * IOAPIC_PINS) {
            uint64_t rte = io->rte[(r - 0x10) / 2];
            return r & 1 ? (uint32_t)(rte >> 32) : (uint32_t)rte;
        }
        return 0xffffffffu;
    }
}

static void reg_write(struct vmm *m, struct vmm_ioapic *io, uint32_t val)
{
    unsigned r = io->regsel & 0xff;
    if (r == 0x00) {
        io->id = (val >> 24) & 0xf;
        return;
    }
    if (r < 0x10 || r >= 0x10 + 2 * IOAPIC_PINS)
        return;
    unsigned pin = (r - 0x10) / 2;
    uint64_t rte = io->rte[pin];
    if (r & 1)
        rte = (rte & 0xffffffffull) | ((uint64_t)(val & 0xff000000u) << 32);
    else
        rte = (rte & (0xffffffff00000000ull | RTE_RO_BITS)) | (val & ~(uint32_t)RTE_RO_BITS & 0x1afffu);
    if (!(rte & IOAPIC_RTE_LEVEL))
        rte &= ~IOAPIC_RTE_REMOTE_IRR;
    io->rte[pin] = rte;
    /* unmasking a level pin whose line is up delivers it now */
    if ((rte & IOAPIC_RTE_LEVEL) && !(rte & IOAPIC_RTE_MASKED) && ((io->lines >> pin) & 1))
        deliver(m, io, pin);
}

static void ioapic_mmio(struct vmm *m, void *s, uint64_t gpa, bool write, unsigned size, uint64_t *val)
{
    struct vmm_ioapic *io = s;
    unsigned off = (unsigned)(gpa - IOAPIC_BASE);
    if (off == 0x00) {
        if (write)
            io->regsel = (uint32_t)*val & 0xff;
        else
            *val = io->regsel;
    } else if (off == 0x10) {
        if (write)
            reg_write(m, io, (uint32_t)*val);
        else
            *val = reg_read(io);
    } else if (!write) {
        *val = 0;
    }
}

int vmm_ioapic_init(struct vmm *m)
{
    struct vmm_ioapic *io = vmm_alloc(m, sizeof(*io));
    if (!io)
        return -1;
    for (unsigned i = 0; i < IOAPIC_PINS; i++)
        io->rte[i] = IOAPIC_RTE_MASKED;
    io->id = m->vcpus < 16 ? m->vcpus : 0;  /* after the LAPIC IDs (the MADT says the same) */
    struct vmm_dev d = { .name = "ioapic", .mmio_base = IOAPIC_BASE, .mmio_size = IOAPIC_SIZE,
                         .mmio = ioapic_mmio, .state = io };
    if (vmm_add_device(m, &d))
        return -1;
    m->ioapic = io;
    if (!m->raise_irq)
        m->raise_irq = vmm_ioapic_set_irq;
    return 0;
}
