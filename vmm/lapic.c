/*
 * Local APIC register emulation (see lapic.h).  The register page is the
 * kernel's (nethv/vlapic.h): this file reads and writes it for the exiting
 * vCPU only; IPIs to other vCPUs go through the kernel's vm_post_irq, so
 * their IRR is only ever changed on their own CPU.
 */
#include <nethv/vmm_if.h>
#include <nethv/vlapic.h>
#include "vmm.h"
#include "lapic.h"
#include "ioapic.h"

uint64_t vmm_lapic_tsc_per_count(void)
{
    uint64_t khz = vm_tsc_khz();
    return khz > 1000000 ? khz / 1000000 : 1;   /* an APIC clock of about 1 GHz */
}

uint64_t vmm_lapic_timer_khz(const struct vmm *m)
{
    return vm_tsc_khz() / (m->lapic ? m->lapic->tsc_per_count : vmm_lapic_tsc_per_count());
}

static bool x2apic_mode(const struct vmm_lapic_cpu *c)
{
    return (c->apic_base & (APIC_BASE_EN | APIC_BASE_EXTD)) == (APIC_BASE_EN | APIC_BASE_EXTD);
}

struct apic_icr apic_icr_decode(uint32_t lo, uint32_t dest)
{
    return (struct apic_icr){
        .vector = (uint8_t)lo, .delivery = (lo >> 8) & 7, .logical = (lo >> 11) & 1,
        .level_assert = (lo >> 14) & 1, .level_trigger = (lo >> 15) & 1,
        .shorthand = (lo >> 18) & 3, .dest = dest,
    };
}

/* ---- timer ---------------------------------------------------------------- */

static unsigned divisor(uint32_t dcr)
{
    unsigned v = (dcr & 3) | ((dcr >> 1) & 4);
    return v == 7 ? 1 : 2u << v;
}

static uint64_t count_ticks(const struct vmm_lapic *l, const struct vmm_lapic_cpu *c)
{
    return l->tsc_per_count * divisor(vlapic_reg(c->page, APIC_TIMER_DCR));
}

static void timer_arm(struct vmm *m, unsigned vcpu);

/* Tell the kernel's timer service what the registers now say.  A one-shot
 * or deadline already past is left alone: the kernel has posted it or will
 * at the next entry, and re-arming would fire it twice. */
static void timer_update(struct vmm *m, unsigned vcpu)
{
    struct vmm_lapic_cpu *c = &m->lapic->cpu[vcpu];
    unsigned mode = APIC_LVT_TIMER_MODE(vlapic_reg(c->page, APIC_LVT_TIMER));
    uint64_t now = vm_guest_tsc(m->vm_id, vcpu);
    uint64_t dl = vm_tsc_deadline(m->vm_id, vcpu);
    if ((mode == 2 && dl && now >= dl) ||
        (mode == 0 && c->duration && now - c->start >= c->duration))
        return;
    timer_arm(m, vcpu);
}

/* Arm the kernel's timer from the registers, even if already due. */
static void timer_arm(struct vmm *m, unsigned vcpu)
{
    struct vmm_lapic_cpu *c = &m->lapic->cpu[vcpu];
    unsigned mode = APIC_LVT_TIMER_MODE(vlapic_reg(c->page, APIC_LVT_TIMER));
    if (mode == 2)
        vm_vcpu_timer(m->vm_id, vcpu, vm_tsc_deadline(m->vm_id, vcpu), 0, vlapic_timer_vector(c->page));
    else if (c->duration)
        vm_vcpu_timer(m->vm_id, vcpu, c->start + c->duration, mode == 1 ? c->duration : 0,
                      vlapic_timer_vector(c->page));
    else
        vm_vcpu_timer(m->vm_id, vcpu, 0, 0, 0);
}

static uint32_t current_count(struct vmm *m, unsigned vcpu)
{
    struct vmm_lapic_cpu *c = &m->lapic->cpu[vcpu];
    unsigned mode = APIC_LVT_TIMER_MODE(vlapic_reg(c->page, APIC_LVT_TIMER));
    if (!c->duration || mode == 2)
        return 0;
    uint64_t elapsed = vm_guest_tsc(m->vm_id, vcpu) - c->start;
    if (elapsed >= c->duration) {
        if (mode != 1)
            return 0;
        elapsed %= c->duration;
    }
    return (uint32_t)((c->duration - elapsed) / count_ticks(m->lapic, c));
}

static void timer_start(struct vmm *m, unsigned vcpu, uint32_t count)
{
    struct vmm_lapic_cpu *c = &m->lapic->cpu[vcpu];
    vlapic_set_reg(c->page, APIC_TIMER_ICR, count);
    if (APIC_LVT_TIMER_MODE(vlapic_reg(c->page, APIC_LVT_TIMER)) == 2)
        return;                 /* TSC-deadline mode ignores the count */
    c->start = vm_guest_tsc(m->vm_id, vcpu);
    c->duration = (uint64_t)count * count_ticks(m->lapic, c);
    timer_arm(m, vcpu);
}

/* ---- IPIs and delivery ------------------------------------------------------ */

static bool match(struct vmm_lapic_cpu *c, unsigned id, uint32_t dest, bool logical, bool x2apic)
{
    if (!x2apic)
        return vlapic_match_dest(c->page, id, (uint8_t)dest, logical);
    if (dest == 0xffffffffu)
        return true;
    if (!logical)
        return dest == id;
    return (dest >> 16) == (id >> 4) && (dest & 0xffff & (1u << (id & 15)));
}

static void post(struct vmm *m, unsigned vcpu, uint8_t vector, bool level)
{
    vlapic_set_tmr(m->lapic->cpu[vcpu].page, vector, level);
    vm_post_irq(m->vm_id, vcpu, vector);
}

void vmm_lapic_deliver(struct vmm *m, uint32_t dest, bool logical, bool lowest,
                       uint8_t vector, bool level)
{
    if (!m->lapic || vector < 16)
        return;
    for (unsigned i = 0; i < m->lapic->n; i++) {
        struct vmm_lapic_cpu *c = &m->lapic->cpu[i];
        if (!match(c, i, dest, logical, false))
            continue;
        post(m, i, vector, level);
        if (lowest)
            return;
    }
}

bool vmm_msi(struct vmm *m, uint64_t addr, uint32_t data)
{
    struct msi_msg msg;
    if (!msi_decode(addr, data, &msg) || (msg.delivery != 0 && msg.delivery != 1))
        return false;
    vmm_lapic_deliver(m, msg.dest, msg.logical, msg.delivery == 1, msg.vector, msg.level);
    return true;
}

static void send_ipi(struct vmm *m, unsigned self, struct apic_icr icr, bool x2apic)
{
    struct vmm_lapic *l = m->lapic;
    for (unsigned i = 0; i < l->n; i++) {
        bool hit;
        switch (icr.shorthand) {
        case 1: hit = i == self; break;
        case 2: hit = true; break;
        case 3: hit = i != self; break;
        default: hit = match(&l->cpu[i], i, icr.dest, icr.logical, x2apic); break;
        }
        if (!hit)
            continue;
        switch (icr.delivery) {
        case 0:                 /* fixed */
        case 1:                 /* lowest priority: the first match */
            post(m, i, icr.vector, false);
            if (icr.delivery == 1)
                return;
            break;
        case 5:                 /* INIT: APs already wait for SIPI; level de-assert is a no-op */
            break;
        case 4:                 /* NMI: the vector field is ignored (SDM 3A 11.6.1) */
            vm_post_nmi(m->vm_id, i);
            break;
        case 6:                 /* start-up */
            vm_vcpu_start(m->vm_id, i, icr.vector);
            break;
        default:                /* SMI, ExtINT: not modelled */
            m->lapic_dropped_ipis++;
            break;
        }
    }
}

/* ---- registers --------------------------------------------------------------- */

uint64_t vmm_lapic_read(struct vmm *m, unsigned vcpu, unsigned off, bool x2apic)
{
    struct vmm_lapic_cpu *c = &m->lapic->cpu[vcpu];
    switch (off) {
    case APIC_ID:
        return x2apic ? vcpu : (uint32_t)vcpu << 24;
    case APIC_LDR:
        return x2apic ? ((vcpu >> 4) << 16) | (1u << (vcpu & 15)) : vlapic_reg(c->page, off);
    case APIC_PPR:
        return vlapic_update_ppr(c->page);
    case APIC_ICR_LO:
        return x2apic ? ((uint64_t)c->icr_hi << 32) | vlapic_reg(c->page, off) : vlapic_reg(c->page, off);
    case APIC_ICR_HI:
        return c->icr_hi;
    case APIC_TIMER_CCR:
        return current_count(m, vcpu);
    case APIC_VERSION: case APIC_TPR: case APIC_DFR: case APIC_SVR: case APIC_ESR:
    case APIC_LVT_CMCI: case APIC_LVT_TIMER: case APIC_LVT_THERM: case APIC_LVT_PERF:
    case APIC_LVT_LINT0: case APIC_LVT_LINT1: case APIC_LVT_ERROR:
    case APIC_TIMER_ICR: case APIC_TIMER_DCR:
        return vlapic_reg(c->page, off);
    default:
        if (off >= APIC_ISR && off < APIC_ESR && !(off & 0xf))
            return vlapic_reg(c->page, off);
        return 0;
    }
}

static void write_lvt(struct vmm *m, unsigned vcpu, unsigned off, uint32_t val)
{
    struct vmm_lapic_cpu *c = &m->lapic->cpu[vcpu];
    uint32_t mask = off == APIC_LVT_TIMER ? 0x700ffu : off == APIC_LVT_LINT0 || off == APIC_LVT_LINT1
                    ? 0x1a7ffu : off == APIC_LVT_ERROR ? 0x100ffu : 0x107ffu;
    if (!(vlapic_reg(c->page, APIC_SVR) & APIC_SVR_ENABLE))
        val |= APIC_LVT_MASKED;         /* software-disabled: LVTs stay masked */
    uint32_t old = vlapic_reg(c->page, off);
    vlapic_set_reg(c->page, off, val & mask);
    if (off != APIC_LVT_TIMER)
        return;
    if (APIC_LVT_TIMER_MODE(old) != APIC_LVT_TIMER_MODE(val)) {
        c->duration = 0;                /* a mode switch disarms (SDM 3A 11.5.4.1) */
        vm_set_tsc_deadline(m->vm_id, vcpu, 0);
        vlapic_set_reg(c->page, APIC_TIMER_ICR, 0);
    }
    timer_update(m, vcpu);
}

void vmm_lapic_write(struct vmm *m, unsigned vcpu, unsigned off, uint64_t val64, bool x2apic)
{
    struct vmm_lapic_cpu *c = &m->lapic->cpu[vcpu];
    uint32_t val = (uint32_t)val64;
    bool level;
    int vec;

    switch (off) {
    case APIC_TPR:
        vlapic_set_reg(c->page, APIC_TPR, val & 0xff);
        vlapic_update_ppr(c->page);
        break;
    case APIC_EOI:
        vec = vlapic_eoi(c->page, &level);
        if (vec >= 0 && level && m->ioapic)
            vmm_ioapic_eoi(m, (uint8_t)vec);
        break;
    case APIC_LDR:
        if (!x2apic)
            vlapic_set_reg(c->page, APIC_LDR, val & 0xff000000u);
        break;
    case APIC_DFR:
        if (!x2apic)
            vlapic_set_reg(c->page, APIC_DFR, val | 0x0fffffffu);
        break;
    case APIC_SVR:
        vlapic_set_reg(c->page, APIC_SVR, val & 0x13ffu);
        if (!(val & APIC_SVR_ENABLE)) {
            for (unsigned r = APIC_LVT_TIMER; r <= APIC_LVT_ERROR; r += 16)
                vlapic_set_reg(c->page, r, vlapic_reg(c->page, r) | APIC_LVT_MASKED);
            vlapic_set_reg(c->page, APIC_LVT_CMCI, vlapic_reg(c->page, APIC_LVT_CMCI) | APIC_LVT_MASKED);
            timer_update(m, vcpu);
        }
        break;
    case APIC_ESR:
        vlapic_set_reg(c->page, APIC_ESR, 0);
        break;
    case APIC_ICR_LO:
        vlapic_set_reg(c->page, APIC_ICR_LO, val & ~(1u << 12));   /* delivery status: idle */
        if (x2apic)
            c->icr_hi = (uint32_t)(val64 >> 32);
        send_ipi(m, vcpu, apic_icr_decode(val, x2apic ? c->icr_hi : c->icr_hi >> 24), x2apic);
        break;
    case APIC_ICR_HI:
        if (!x2apic) {
            c->icr_hi = val & 0xff000000u;
            vlapic_set_reg(c->page, APIC_ICR_HI, c->icr_hi);   /* read from the page too */
        }
        break;
    case APIC_LVT_CMCI: case APIC_LVT_TIMER: case APIC_LVT_THERM: case APIC_LVT_PERF:
    case APIC_LVT_LINT0: case APIC_LVT_LINT1: case APIC_LVT_ERROR:
        write_lvt(m, vcpu, off, val);
        break;
    case APIC_TIMER_ICR:
        timer_start(m, vcpu, val);
        break;
    case APIC_TIMER_DCR:
        vlapic_set_reg(c->page, APIC_TIMER_DCR, val & 0xb);
        break;
    case APIC_SELF_IPI:
        if (x2apic)
            post(m, vcpu, (uint8_t)val, false);
        break;
    default:                            /* ID, version, ISR/TMR/IRR, CCR: read-only */
        break;
    }
}

void vmm_lapic_mmio(struct vmm *m, unsigned vcpu, uint64_t gpa, bool write, unsigned size, uint64_t *val)
{
    unsigned off = (unsigned)(gpa - LAPIC_MMIO_BASE);
    unsigned shift = (off & 3) * 8;
    uint64_t f = spin_lock_irqsave(&m->lock);
    if (vcpu >= m->lapic->n || x2apic_mode(&m->lapic->cpu[vcpu]) ||
        !(m->lapic->cpu[vcpu].apic_base & APIC_BASE_EN)) {
        if (!write)
            *val = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;     /* window off */
    } else if (write) {
        if (size == 4 && !(off & 3))
            vmm_lapic_write(m, vcpu, off & ~0xfu, *val, false);
        /* other widths are undefined on hardware: dropped */
    } else {
        uint64_t r = vmm_lapic_read(m, vcpu, off & ~0xfu, false) >> shift;
        *val = size >= 4 ? (uint32_t)r : r & ((1ull << (8 * size)) - 1);
    }
    spin_unlock_irqrestore(&m->lock, f);
}

/* An xAPIC register write the CPU has already stored into the register
 * page (VMX APIC-register virtualization: APIC-write exit, SDM 3C
 * 29.4.3.3): the same side effects as the MMIO write of that value.  A
 * write to a register that must not change (the ID: the CPU lets it
 * through) is undone. */
void vmm_lapic_apic_write(struct vmm *m, unsigned vcpu, unsigned off)
{
    uint64_t f = spin_lock_irqsave(&m->lock);
    if (vcpu < m->lapic->n && !x2apic_mode(&m->lapic->cpu[vcpu]) && off < 0x400 && !(off & 3)) {
        struct vmm_lapic_cpu *c = &m->lapic->cpu[vcpu];
        unsigned reg = off & ~0xfu;
        if (reg == APIC_ID) {
            vlapic_set_reg(c->page, APIC_ID, vcpu << 24);
        } else {
            /* an ICR-high write is only stored (no exit): the page has it */
            if (reg == APIC_ICR_LO)
                c->icr_hi = vlapic_reg(c->page, APIC_ICR_HI) & 0xff000000u;
            vmm_lapic_write(m, vcpu, reg, vlapic_reg(c->page, reg), false);
        }
    }
    spin_unlock_irqrestore(&m->lock, f);
}

/* ---- MSRs ------------------------------------------------------------------------ */

/* The x2APIC MSRs (SDM 3A 11.12.1.2, table 11-6) with this model's six
 * LVT entries (no CMCI): which exist to read and which to write; any
 * other access #GPs, as do writes to the read-only ones. */
static bool x2apic_readable(unsigned off)
{
    switch (off) {
    case APIC_ID: case APIC_VERSION: case APIC_TPR: case APIC_PPR: case APIC_LDR: case APIC_SVR:
    case APIC_ESR: case APIC_ICR_LO: case APIC_LVT_TIMER: case APIC_LVT_THERM: case APIC_LVT_PERF:
    case APIC_LVT_LINT0: case APIC_LVT_LINT1: case APIC_LVT_ERROR: case APIC_TIMER_ICR:
    case APIC_TIMER_CCR: case APIC_TIMER_DCR:
        return true;
    default:                    /* ISR, TMR, IRR: 8 registers each */
        return off >= APIC_ISR && off < APIC_ESR;
    }
}

static bool x2apic_writable(unsigned off)
{
    switch (off) {
    case APIC_TPR: case APIC_EOI: case APIC_SVR: case APIC_ESR: case APIC_ICR_LO:
    case APIC_LVT_TIMER: case APIC_LVT_THERM: case APIC_LVT_PERF: case APIC_LVT_LINT0:
    case APIC_LVT_LINT1: case APIC_LVT_ERROR: case APIC_TIMER_ICR: case APIC_TIMER_DCR:
    case APIC_SELF_IPI:
        return true;
    default:
        return false;
    }
}

static int rd_x2apic(struct vmm *m, void *s, unsigned vcpu, uint32_t msr, uint64_t *val)
{
    unsigned off = (msr - MSR_X2APIC_BASE) << 4;
    if (vcpu >= m->lapic->n || !x2apic_mode(&m->lapic->cpu[vcpu]) || !x2apic_readable(off))
        return -1;
    *val = vmm_lapic_read(m, vcpu, off, true);
    return 0;
}

static int wr_x2apic(struct vmm *m, void *s, unsigned vcpu, uint32_t msr, uint64_t val)
{
    unsigned off = (msr - MSR_X2APIC_BASE) << 4;
    if (vcpu >= m->lapic->n || !x2apic_mode(&m->lapic->cpu[vcpu]) || !x2apic_writable(off))
        return -1;
    if (off == APIC_EOI && val)         /* x2APIC EOI takes 0 only (SDM 3A 11.12.1.2) */
        return -1;
    vmm_lapic_write(m, vcpu, off, val, true);
    return 0;
}

static int rd_base(struct vmm *m, void *s, unsigned vcpu, uint32_t msr, uint64_t *val)
{
    if (vcpu >= m->lapic->n)
        return -1;
    uint64_t dl = vm_tsc_deadline(m->vm_id, vcpu);
    if (msr == MSR_IA32_APIC_BASE)
        *val = m->lapic->cpu[vcpu].apic_base;
    else            /* reads 0 once it has fired (SDM 3A 11.5.4.1) */
        *val = dl && vm_guest_tsc(m->vm_id, vcpu) < dl ? dl : 0;
    return 0;
}

static int wr_base(struct vmm *m, void *s, unsigned vcpu, uint32_t msr, uint64_t val)
{
    if (vcpu >= m->lapic->n)
        return -1;
    struct vmm_lapic_cpu *c = &m->lapic->cpu[vcpu];
    if (msr == MSR_IA32_TSC_DEADLINE) {
        if (APIC_LVT_TIMER_MODE(vlapic_reg(c->page, APIC_LVT_TIMER)) == 2) {
            vm_set_tsc_deadline(m->vm_id, vcpu, val);
            timer_arm(m, vcpu);
        }
        return 0;
    }
    uint64_t flags = val & (APIC_BASE_EN | APIC_BASE_EXTD);
    if ((val & ~(APIC_BASE_EN | APIC_BASE_EXTD | APIC_BASE_BSP | 0xfffff000ull)) ||
        flags == APIC_BASE_EXTD ||                                  /* invalid state */
        (x2apic_mode(c) && flags == APIC_BASE_EN))                  /* x2APIC -> xAPIC */
        return -1;
    c->apic_base = LAPIC_MMIO_BASE | flags | (vcpu == 0 ? APIC_BASE_BSP : 0);
    vm_lapic_base(m->vm_id, vcpu, c->apic_base);
    return 0;
}

int vmm_lapic_init(struct vmm *m)
{
    struct vmm_lapic *l = vmm_alloc(m, sizeof(*l) + m->vcpus * sizeof(l->cpu[0]));
    if (!l)
        return -1;
    l->n = m->vcpus;
    l->tsc_per_count = vmm_lapic_tsc_per_count();
    for (unsigned i = 0; i < l->n; i++) {
        l->cpu[i].page = vm_vapic_page(m->vm_id, i);
        if (!l->cpu[i].page)
            return -1;
        l->cpu[i].apic_base = LAPIC_MMIO_BASE | APIC_BASE_EN | (i == 0 ? APIC_BASE_BSP : 0);
        vm_lapic_base(m->vm_id, i, l->cpu[i].apic_base);
    }
    m->lapic = l;
    static const struct vmm_msr x2 = { MSR_X2APIC_BASE, MSR_X2APIC_COUNT, rd_x2apic, wr_x2apic, 0 };
    static const struct vmm_msr base = { MSR_IA32_APIC_BASE, 1, rd_base, wr_base, 0 };
    static const struct vmm_msr dl = { MSR_IA32_TSC_DEADLINE, 1, rd_base, wr_base, 0 };
    return vmm_add_msrs(m, &x2) || vmm_add_msrs(m, &base) || vmm_add_msrs(m, &dl) ? -1 : 0;
}
