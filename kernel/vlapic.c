/*
 * Virtual local APIC, kernel half: interrupt arbitration on the vCPU's
 * virtual-APIC page and delivery at guest entry (see nethv/vlapic.h).  The
 * register emulation (MMIO/x2APIC MSRs, timer programming, IPIs) is the
 * monitor's (vmm/lapic.c); everything an interrupt needs on its way in runs
 * here, so the datapath's MSI-X reaches the guest with no monitor code.
 */
#include <nethv/vlapic.h>

#define REG_WORD(reg, vec) ((reg) + ((vec) >> 5) * 16)

void vlapic_reset(uint8_t *page, unsigned apic_id)
{
    for (unsigned i = 0; i < 4096; i++)
        page[i] = 0;
    vlapic_set_reg(page, APIC_ID, apic_id << 24);
    vlapic_set_reg(page, APIC_VERSION, APIC_VERSION_VAL);
    vlapic_set_reg(page, APIC_DFR, 0xffffffffu);
    vlapic_set_reg(page, APIC_SVR, 0xff);
    for (unsigned r = APIC_LVT_TIMER; r <= APIC_LVT_ERROR; r += 16)
        vlapic_set_reg(page, r, APIC_LVT_MASKED);
    vlapic_set_reg(page, APIC_LVT_CMCI, APIC_LVT_MASKED);
}

int vlapic_highest(const uint8_t *page, unsigned reg)
{
    for (int w = 7; w >= 0; w--) {
        uint32_t x = vlapic_reg(page, reg + (unsigned)w * 16);
        if (x)
            return w * 32 + 31 - __builtin_clz(x);
    }
    return -1;
}

static void set_bit(uint8_t *page, unsigned reg, unsigned vec)
{
    __atomic_fetch_or((uint32_t *)(page + REG_WORD(reg, vec)), 1u << (vec & 31), __ATOMIC_SEQ_CST);
}

static void clear_bit(uint8_t *page, unsigned reg, unsigned vec)
{
    __atomic_fetch_and((uint32_t *)(page + REG_WORD(reg, vec)), ~(1u << (vec & 31)), __ATOMIC_SEQ_CST);
}

bool vlapic_set_irr(uint8_t *page, unsigned vec)
{
    if (vec < 16 || vec > 255)
        return false;           /* illegal vectors: ESR bits, not delivered */
    set_bit(page, APIC_IRR, vec);
    return true;
}

void vlapic_set_tmr(uint8_t *page, unsigned vec, bool level)
{
    if (vec > 255)
        return;
    if (level)
        set_bit(page, APIC_TMR, vec);
    else if (vlapic_test(page, APIC_TMR, vec))
        clear_bit(page, APIC_TMR, vec);
}

uint32_t vlapic_update_ppr(uint8_t *page)
{
    uint32_t tpr = vlapic_reg(page, APIC_TPR) & 0xff;
    int isr = vlapic_highest(page, APIC_ISR);
    uint32_t isrv = isr < 0 ? 0 : (uint32_t)isr;
    uint32_t ppr = (tpr >> 4) >= (isrv >> 4) ? tpr : (isrv & 0xf0);
    vlapic_set_reg(page, APIC_PPR, ppr);
    return ppr;
}

int vlapic_pending(const uint8_t *page)
{
    if (!(vlapic_reg(page, APIC_SVR) & APIC_SVR_ENABLE))
        return -1;              /* software-disabled: held in IRR */
    int irr = vlapic_highest(page, APIC_IRR);
    if (irr < 0)
        return -1;
    uint32_t tpr = vlapic_reg(page, APIC_TPR) & 0xff;
    int isr = vlapic_highest(page, APIC_ISR);
    uint32_t ppr = (tpr >> 4) >= ((uint32_t)(isr < 0 ? 0 : isr) >> 4) ? tpr
                   : ((uint32_t)isr & 0xf0);
    return ((uint32_t)irr >> 4) > (ppr >> 4) ? irr : -1;
}

void vlapic_accept(uint8_t *page, unsigned vec)
{
    clear_bit(page, APIC_IRR, vec);
    set_bit(page, APIC_ISR, vec);
    vlapic_update_ppr(page);
}

int vlapic_eoi(uint8_t *page, bool *level)
{
    int vec = vlapic_highest(page, APIC_ISR);
    *level = false;
    if (vec < 0)
        return -1;
    clear_bit(page, APIC_ISR, (unsigned)vec);
    *level = vlapic_test(page, APIC_TMR, (unsigned)vec);
    vlapic_update_ppr(page);
    return vec;
}

uint16_t vlapic_intr_status(const uint8_t *page)
{
    int isr = vlapic_highest(page, APIC_ISR);
    int irr = (vlapic_reg(page, APIC_SVR) & APIC_SVR_ENABLE) ? vlapic_highest(page, APIC_IRR) : -1;
    return (uint16_t)((isr < 0 ? 0u : (unsigned)isr << 8) | (irr < 0 ? 0u : (unsigned)irr));
}

void vlapic_eoi_exit_set(const uint8_t *page, uint64_t out[4])
{
    for (unsigned i = 0; i < 4; i++)
        out[i] = vlapic_reg(page, APIC_TMR + 2 * i * 16) |
                 (uint64_t)vlapic_reg(page, APIC_TMR + (2 * i + 1) * 16) << 32;
}

bool vlapic_match_dest(const uint8_t *page, unsigned apic_id, uint8_t dest, bool logical)
{
    if (dest == 0xff)
        return true;
    if (!logical)
        return dest == apic_id;
    uint32_t ldr = vlapic_reg(page, APIC_LDR) >> 24;
    if ((vlapic_reg(page, APIC_DFR) >> 28) == 0xf)         /* flat */
        return (ldr & dest) != 0;
    return (ldr >> 4) == (dest >> 4u) && (ldr & dest & 0xf) != 0;     /* cluster */
}

bool msi_decode(uint64_t addr, uint32_t data, struct msi_msg *out)
{
    if ((addr & 0xfff00000ull) != MSI_ADDR_BASE || (addr >> 32))
        return false;
    out->dest = (uint8_t)(addr >> 12);
    out->logical = (addr >> 2) & 1;
    out->vector = (uint8_t)data;
    out->delivery = (data >> 8) & 7;
    out->level = (data >> 15) & 1;
    return true;
}

uint32_t vlapic_msi_route(uint8_t *const pages[], unsigned n, const struct msi_msg *m)
{
    uint32_t mask = 0;
    if ((m->delivery != 0 && m->delivery != 1) || m->vector < 16)
        return 0;               /* NMI/SMI/INIT/ExtINT by MSI: not modelled */
    for (unsigned i = 0; i < n && i < 32; i++) {
        if (!pages[i] || !vlapic_match_dest(pages[i], i, m->dest, m->logical))
            continue;
        mask |= 1u << i;
        if (m->delivery == 1)
            break;              /* lowest priority: the first match */
    }
    return mask;
}

#if !defined(NETHV_HOST) && !defined(NETHV_USER)     /* the kernel's half */
#include <nethv/vm.h>
#include <nethv/mem.h>

void vlapic_sync_posted(struct vcpu *v)
{
    for (int i = 0; i < 4; i++) {
        uint64_t w = __atomic_exchange_n(&v->hw.pending_irr[i], 0, __ATOMIC_SEQ_CST);
        while (w) {
            unsigned bit = (unsigned)__builtin_ctzll(w);
            w &= w - 1;
            vlapic_set_irr(v->vapic, (unsigned)i * 64 + bit);    /* 0-15: kicks only */
        }
    }
}

bool vlapic_has_deliverable(struct vcpu *v)
{
    vlapic_sync_posted(v);
    return vlapic_pending(v->vapic) >= 0;
}

/* The page goes to the backend once, on the vCPU's CPU after vcpu_init. */
static void vlapic_attach(struct vcpu *v)
{
    uint64_t pa = virt_to_phys(v->vapic);
    if (vcpu_backend->set_vapic)
        vcpu_backend->set_vapic(&v->hw, pa);
    v->hw.vapic_pa = pa;
    v->apic_base_applied = ~0ull;
}

void vlapic_inject(struct vcpu *v)
{
    if (!v->hw.vapic_pa)
        vlapic_attach(v);
    /* posted vectors first, then TMR: a poster sets TMR before posting */
    vlapic_sync_posted(v);
    uint64_t base = __atomic_load_n(&v->apic_base, __ATOMIC_RELAXED);
    if (base != v->apic_base_applied && vcpu_backend->set_apic_mode) {
        vcpu_backend->set_apic_mode(&v->hw, base);      /* which interface to virtualize */
        v->apic_base_applied = base;
    }
    if (v->hw.vid) {            /* the CPU delivers (SDM 3C 29.2.1) */
        uint64_t eoi_exit[4];
        vlapic_eoi_exit_set(v->vapic, eoi_exit);
        vcpu_backend->set_apic_state(&v->hw, vlapic_intr_status(v->vapic), eoi_exit);
        return;
    }
    if (vcpu_backend->set_apic_state) {     /* VMX TPR shadow: exit when CR8 unblocks */
        static const uint64_t none[4];
        vcpu_backend->set_apic_state(&v->hw, vlapic_intr_status(v->vapic), none);
    }
    int vec = vlapic_pending(v->vapic);
    if (vec < 0)
        return;
    if (!vcpu_backend->can_inject_irq(&v->hw)) {
        vcpu_backend->set_irq_window(&v->hw, true);
        return;
    }
    struct vcpu_event ev = { VCPU_EVENT_EXTINT, (uint8_t)vec, false, 0 };
    if (vcpu_backend->inject(&v->hw, &ev))
        vlapic_accept(v->vapic, (unsigned)vec);
    else                        /* an exception goes first: exit right after it */
        vcpu_backend->set_irq_window(&v->hw, true);
}

int vlapic_deliver_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
    struct msi_msg m;
    uint8_t *pages[VM_MAX_VCPUS];
    if (!msi_decode(addr, data, &m))
        return -1;
    for (unsigned i = 0; i < vm->nvcpus; i++)
        pages[i] = vm->vcpu[i].vapic;
    uint32_t to = vlapic_msi_route(pages, vm->nvcpus, &m);
    for (unsigned i = 0; i < vm->nvcpus; i++)
        if (to & (1u << i)) {
            vlapic_set_tmr(vm->vcpu[i].vapic, m.vector, m.level);
            vcpu_post_irq(&vm->vcpu[i].hw, m.vector);
        }
    return to ? 0 : -1;
}
#endif
