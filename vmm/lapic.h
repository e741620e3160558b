/*
 * The monitor's local APIC model: register emulation on the kernel's
 * virtual-APIC pages (xAPIC MMIO at 0xfee00000, x2APIC MSRs 0x800-0x8ff,
 * IA32_APIC_BASE, IA32_TSC_DEADLINE), IPIs, and the LAPIC timer through the
 * kernel's timer service.  Interrupt arbitration is the kernel's
 * (kernel/vlapic.c).  Called with m->lock held unless said otherwise.
 */
#ifndef VMM_LAPIC_H
#define VMM_LAPIC_H
#include <stdint.h>
#include <stdbool.h>
#include <arch/regs.h>      /* LAPIC_MMIO_BASE, the APIC MSRs, APIC_BASE_* */

struct vmm;

struct vmm_lapic_cpu {
    uint8_t *page;              /* the kernel's virtual-APIC page */
    uint64_t apic_base;         /* IA32_APIC_BASE */
    uint32_t icr_hi;            /* xAPIC ICR destination word */
    /* timer: count mode runs from start for `duration` TSC ticks */
    uint64_t start, duration;   /* duration 0: stopped */
};

struct vmm_lapic {
    unsigned n;
    uint64_t tsc_per_count;     /* TSC ticks per APIC timer tick at divide 1 */
    struct vmm_lapic_cpu cpu[];
};

/* A decoded ICR (SDM 3A 11.6.1) with its 32-bit destination. */
struct apic_icr {
    uint8_t vector, delivery, shorthand;
    bool logical, level_assert, level_trigger;
    uint32_t dest;
};
struct apic_icr apic_icr_decode(uint32_t lo, uint32_t dest);

int vmm_lapic_init(struct vmm *m);
/* The APIC timer rate the guest is told about (CPUID 0x15 / 0x40000010). */
uint64_t vmm_lapic_timer_khz(const struct vmm *m);
uint64_t vmm_lapic_tsc_per_count(void);
/* xAPIC window access from vmm_mmio (takes m->lock). */
void vmm_lapic_mmio(struct vmm *m, unsigned vcpu, uint64_t gpa, bool write, unsigned size, uint64_t *val);
/* Register access by offset (x2APIC-width values for the ICR: dest in 63:32). */
uint64_t vmm_lapic_read(struct vmm *m, unsigned vcpu, unsigned off, bool x2apic);
void vmm_lapic_write(struct vmm *m, unsigned vcpu, unsigned off, uint64_t val, bool x2apic);
/* VMX APIC-write exit: the guest's write of the xAPIC register at `off`
 * is already in the register page; apply its side effects. */
void vmm_lapic_apic_write(struct vmm *m, unsigned vcpu, unsigned off);
/* Deliver a vector from an IOAPIC pin or an MSI: physical (APIC ID) or
 * logical destination, lowest priority = the first match; sets TMR. */
void vmm_lapic_deliver(struct vmm *m, uint32_t dest, bool logical, bool lowest,
                       uint8_t vector, bool level);
/* Decode and deliver an MSI (later device models); false if not an MSI. */
bool vmm_msi(struct vmm *m, uint64_t addr, uint32_t data);
#endif
