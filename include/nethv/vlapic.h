/*
 * The virtual local APIC's register page and its interrupt arbitration.
 *
 * Each vCPU of a PC-platform VM owns one 4 KiB page in the architectural
 * xAPIC layout (SDM 3A 11.4.1 table 11-1): TPR at 0x80, PPR 0xa0, ISR
 * 0x100-0x170, TMR 0x180-0x1f0, IRR 0x200-0x270, each 256-bit register as
 * eight 32-bit words 16 bytes apart.  The kernel allocates it (struct
 * vcpu.vapic) and shares it with the VM's monitor (vm_vapic_page), which
 * emulates register accesses on it; the same page is VMX's virtual-APIC
 * page (TPR shadow: guest CR8 writes land at 0x80), and where the CPU has
 * virtual-interrupt delivery (struct vcpu_hw.vid) the CPU itself moves
 * vectors IRR -> ISR on delivery and clears ISR on a virtualized x2APIC EOI,
 * on the vCPU's CPU while it is in guest mode.
 *
 * Who writes what: IRR, ISR and PPR change only on the vCPU's own CPU (the
 * run loop moves posted vectors in and accepts them; the monitor, running
 * on that CPU for that vCPU's own exits, does EOI and TPR).  Other CPUs post
 * through vcpu_post_irq (struct vcpu_hw.pending_irr) and may set or clear
 * TMR bits atomically (vlapic_set_tmr) before posting a level-triggered
 * vector.  The pure functions below touch only the page: host-testable.
 */
#ifndef NETHV_VLAPIC_H
#define NETHV_VLAPIC_H

#include <stdint.h>
#include <stdbool.h>

#define APIC_ID         0x020
#define APIC_VERSION    0x030
#define APIC_TPR        0x080
#define APIC_PPR        0x0a0
#define APIC_EOI        0x0b0
#define APIC_LDR        0x0d0
#define APIC_DFR        0x0e0
#define APIC_SVR        0x0f0
#define APIC_ISR        0x100
#define APIC_TMR        0x180
#define APIC_IRR        0x200
#define APIC_ESR        0x280
#define APIC_LVT_CMCI   0x2f0
#define APIC_ICR_LO     0x300
#define APIC_ICR_HI     0x310
#define APIC_LVT_TIMER  0x320
#define APIC_LVT_THERM  0x330
#define APIC_LVT_PERF   0x340
#define APIC_LVT_LINT0  0x350
#define APIC_LVT_LINT1  0x360
#define APIC_LVT_ERROR  0x370
#define APIC_TIMER_ICR  0x380
#define APIC_TIMER_CCR  0x390
#define APIC_TIMER_DCR  0x3e0
#define APIC_SELF_IPI   0x3f0           /* x2APIC only */

#define APIC_VERSION_VAL 0x50014u       /* version 0x14, 6 LVT entries (max LVT 5) */
#define APIC_SVR_ENABLE  (1u << 8)
#define APIC_LVT_MASKED  (1u << 16)
#define APIC_LVT_TIMER_MODE(v) (((v) >> 17) & 3)     /* 0 one-shot, 1 periodic, 2 TSC deadline */

/* The MSI address/data format (SDM 3A 11.11). */
#define MSI_ADDR_BASE    0xfee00000ull
struct msi_msg {
    uint8_t dest;           /* APIC ID (physical) or logical mask */
    bool logical;
    bool level;             /* trigger mode */
    uint8_t delivery;       /* 0 fixed, 1 lowest priority, 2 SMI, 4 NMI, 5 INIT, 7 ExtINT */
    uint8_t vector;
};
/* Decode; false if the address is not in the 0xfeexxxxx interrupt window. */
bool msi_decode(uint64_t addr, uint32_t data, struct msi_msg *out);

static inline uint32_t vlapic_reg(const uint8_t *page, unsigned off)
{
    return __atomic_load_n((const uint32_t *)(page + off), __ATOMIC_RELAXED);
}
static inline void vlapic_set_reg(uint8_t *page, unsigned off, uint32_t v)
{
    __atomic_store_n((uint32_t *)(page + off), v, __ATOMIC_RELAXED);
}
static inline bool vlapic_test(const uint8_t *page, unsigned reg, unsigned vec)
{
    return (vlapic_reg(page, reg + (vec >> 5) * 16) >> (vec & 31)) & 1;
}
/* The timer's vector per the LVT, 0 if masked (vm_vcpu_timer: keep time only) */
static inline uint8_t vlapic_timer_vector(const uint8_t *page)
{
    uint32_t lvt = vlapic_reg(page, APIC_LVT_TIMER);
    return lvt & APIC_LVT_MASKED ? 0 : (uint8_t)lvt;
}

/* Reset the page to the power-on state (SDM 3A 11.4.7.1) with this APIC ID. */
void vlapic_reset(uint8_t *page, unsigned apic_id);
/* Highest vector set in a 256-bit register (APIC_ISR/TMR/IRR), or -1. */
int vlapic_highest(const uint8_t *page, unsigned reg);
/* Set a vector in IRR (vectors 0-15 are illegal: ignored, false). */
bool vlapic_set_irr(uint8_t *page, unsigned vec);
/* Mark a vector level- (true) or edge-triggered; atomic, any CPU. */
void vlapic_set_tmr(uint8_t *page, unsigned vec, bool level);
/* PPR from TPR and the highest in-service vector (SDM 3A 11.8.3.1); stored too. */
uint32_t vlapic_update_ppr(uint8_t *page);
/* The vector to deliver now (highest IRR whose class beats PPR, APIC
 * software-enabled), or -1. */
int vlapic_pending(const uint8_t *page);
/* Deliver: IRR -> ISR for `vec`, PPR updated. */
void vlapic_accept(uint8_t *page, unsigned vec);
/* EOI: clear the highest ISR bit; returns that vector (or -1) and whether
 * it was level-triggered (for the IOAPIC's EOI broadcast). */
int vlapic_eoi(uint8_t *page, bool *level);

/* Hardware delivery (VMX VID, SDM 3C 29.1.1, 29.2.1): the guest interrupt
 * status the CPU evaluates at entry, SVI (highest ISR vector) << 8 | RVI
 * (highest IRR vector; 0 while the APIC is software-disabled: held). */
uint16_t vlapic_intr_status(const uint8_t *page);
/* The vectors whose EOI the IOAPIC must see (level-triggered: TMR), as
 * VMX's EOI-exit bitmap: bit n of out[n / 64] = vector n. */
void vlapic_eoi_exit_set(const uint8_t *page, uint64_t out[4]);

/* Does this APIC (page, its APIC ID) accept destination `dest` in physical
 * or logical (flat / cluster per DFR) mode?  0xff is broadcast. */
bool vlapic_match_dest(const uint8_t *page, unsigned apic_id, uint8_t dest, bool logical);

/* The vCPUs (bit i = vCPU i, APIC ID i; NULL page = no LAPIC) an MSI
 * goes to: 0 when none or not a fixed / lowest-priority message. */
uint32_t vlapic_msi_route(uint8_t *const pages[], unsigned n, const struct msi_msg *m);

/* Kernel side (kernel/vlapic.c, not in host tests' pure part). */
struct vcpu;
struct vm;
/* Owner CPU: move posted vectors (pending_irr) into the page's IRR. */
void vlapic_sync_posted(struct vcpu *v);
/* Owner CPU, before guest entry: inject the winner or open an interrupt
 * window when one is deliverable but the guest cannot take it now; with
 * hardware delivery (vcpu_hw.vid) only hand the CPU the interrupt status
 * (vlapic_intr_status) and EOI-exit set.  The first call on a vCPU gives
 * the page to the backend (vcpu_backend->set_vapic) unless vcpu_hw.vapic_pa
 * was set before vcpu_init. */
void vlapic_inject(struct vcpu *v);
/* Owner CPU: is there an interrupt that should wake a halted vCPU? */
bool vlapic_has_deliverable(struct vcpu *v);
/* Any CPU: deliver an MSI to the VM without the monitor (the datapath's
 * virtio-net MSI-X); 0, or -1 if the message is not deliverable. */
int vlapic_deliver_msi(struct vm *vm, uint64_t addr, uint32_t data);

#endif
