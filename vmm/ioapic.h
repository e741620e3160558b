/*
 * The IOAPIC (82093AA, version 0x11, 24 pins) at 0xfec00000: GSIs 0-23.
 * Device models raise lines with m->raise_irq(m, gsi, level) with m->lock
 * held (as in every device handler): `level` is the line's asserted state;
 * an edge-triggered pin fires on each false->true change, a level-triggered
 * pin while asserted, once per EOI (remote IRR).
 */
#ifndef VMM_IOAPIC_H
#define VMM_IOAPIC_H
#include <stdint.h>
#include <stdbool.h>

#define IOAPIC_BASE      0xfec00000ull
#define IOAPIC_SIZE      0x1000ull
#define IOAPIC_GSI_BASE  0
#define IOAPIC_PINS      24
#define IOAPIC_ISA_IRQ0_GSI 2   /* the MADT's interrupt source override */
#define IOAPIC_VERSION   0x11

#define IOAPIC_RTE_MASKED     (1ull << 16)
#define IOAPIC_RTE_LEVEL      (1ull << 15)
#define IOAPIC_RTE_REMOTE_IRR (1ull << 14)
#define IOAPIC_RTE_LOGICAL    (1ull << 11)

struct vmm;
struct vmm_ioapic {
    uint32_t regsel;
    uint32_t id;
    uint32_t lines;             /* asserted lines, bit per pin */
    uint64_t rte[IOAPIC_PINS];
};

/* Install as m->raise_irq unless a router (the PIC) did: it then calls
 * vmm_ioapic_set_irq itself.  GSI 0 is taken as ISA IRQ 0, i.e. pin 2. */
int vmm_ioapic_init(struct vmm *m);
void vmm_ioapic_set_irq(struct vmm *m, unsigned gsi, bool level);
/* The LAPIC's EOI of a level-triggered vector: clear remote IRR of pins with it. */
void vmm_ioapic_eoi(struct vmm *m, uint8_t vector);
#endif
