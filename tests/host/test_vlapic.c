/* Host tests: virtual LAPIC arbitration (kernel/vlapic.c), the monitor's
 * LAPIC registers, timer and IPIs (vmm/lapic.c) and the IOAPIC (vmm/ioapic.c),
 * against fake kernel services and a fake TSC. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <nethv/spinlock.h>
/* user mode: no CLI; one thread */
#define spin_lock_irqsave(l) ((void)(l), 0ull)
#define spin_unlock_irqrestore(l, f) ((void)(l), (void)(f))
#include "../../kernel/vlapic.c"
#include "../../vmm/lapic.c"
#include "../../vmm/ioapic.c"

/* ---- fakes: kernel services and the monitor registry ---------------------- */
#define NCPU 4
static uint8_t pages[NCPU][4096] __attribute__((aligned(4096)));
static uint64_t fake_tsc, fake_khz = 1000000;           /* 1 GHz: one tick per count */
static struct { uint64_t deadline, period; uint8_t vector; unsigned calls; } timer[NCPU];
static int started[NCPU];
static unsigned posts;

uint8_t *vm_vapic_page(unsigned vm_id, unsigned vcpu) { return vcpu < NCPU ? pages[vcpu] : NULL; }
void vm_post_irq(unsigned vm_id, unsigned vcpu, uint8_t vector)
{
    posts++;
    vlapic_set_irr(pages[vcpu], vector);        /* what the owner CPU's sync does */
}
void vm_vcpu_start(unsigned vm_id, unsigned vcpu, uint8_t v) { started[vcpu] = v; }
static unsigned nmis[NCPU];
void vm_post_nmi(unsigned vm_id, unsigned vcpu) { if (vcpu < NCPU) nmis[vcpu]++; }
void vm_vcpu_timer(unsigned vm_id, unsigned vcpu, uint64_t d, uint64_t p, uint8_t vec)
{
    timer[vcpu].deadline = d;
    timer[vcpu].period = p;
    timer[vcpu].vector = vec;
    timer[vcpu].calls++;
}
static uint64_t told_base[NCPU];           /* what vm_lapic_base last heard */
void vm_lapic_base(unsigned vm_id, unsigned vcpu, uint64_t base)
{
    if (vcpu < NCPU)
        told_base[vcpu] = base;
}
static uint64_t tsc_dl[NCPU];          /* the kernel's IA32_TSC_DEADLINE copy */
uint64_t vm_tsc_deadline(unsigned vm_id, unsigned vcpu) { return vcpu < NCPU ? tsc_dl[vcpu] : 0; }
void vm_set_tsc_deadline(unsigned vm_id, unsigned vcpu, uint64_t t) { if (vcpu < NCPU) tsc_dl[vcpu] = t; }
uint64_t vm_guest_tsc(unsigned vm_id, unsigned vcpu) { return fake_tsc; }
uint64_t vm_tsc_khz(void) { return fake_khz; }

static struct vmm M;
static uint8_t arena[16384];
static size_t arena_used;
void *vmm_alloc(struct vmm *m, size_t size)
{
    void *p = arena + arena_used;
    arena_used += (size + 63) & ~(size_t)63;
    memset(p, 0, size);
    return p;
}
int vmm_add_device(struct vmm *m, const struct vmm_dev *d) { m->devs[m->ndevs++] = *d; return 0; }
int vmm_add_msrs(struct vmm *m, const struct vmm_msr *r) { m->msrs[m->nmsrs++] = *r; return 0; }

static int setup(void **s)
{
    memset(&M, 0, sizeof(M));
    memset(timer, 0, sizeof(timer));
    memset(started, 0, sizeof(started));
    memset(told_base, 0, sizeof(told_base));
    memset(tsc_dl, 0, sizeof(tsc_dl));
    arena_used = 0;
    posts = 0;
    fake_tsc = 1000;
    for (unsigned i = 0; i < NCPU; i++) {
        vlapic_reset(pages[i], i);
        vlapic_set_reg(pages[i], APIC_SVR, 0x1ff);      /* software-enabled */
    }
    M.vcpus = NCPU;
    assert_int_equal(vmm_lapic_init(&M), 0);
    assert_int_equal(vmm_ioapic_init(&M), 0);
    assert_ptr_equal(M.raise_irq, vmm_ioapic_set_irq);
    return 0;
}

static const struct vmm_msr *msr_range(uint32_t msr)
{
    for (unsigned i = 0; i < M.nmsrs; i++)
        if (msr >= M.msrs[i].first && msr - M.msrs[i].first < M.msrs[i].count)
            return &M.msrs[i];
    return NULL;
}
static int t_wrmsr(unsigned vcpu, uint32_t msr, uint64_t v)
{
    const struct vmm_msr *r = msr_range(msr);
    assert_non_null(r);
    return r->wrmsr(&M, r->state, vcpu, msr, v);
}
static int t_rdmsr(unsigned vcpu, uint32_t msr, uint64_t *v)
{
    const struct vmm_msr *r = msr_range(msr);
    assert_non_null(r);
    return r->rdmsr(&M, r->state, vcpu, msr, v);
}
/* The run loop's half: take what would be injected now. */
static int take(unsigned vcpu)
{
    int v = vlapic_pending(pages[vcpu]);
    if (v >= 0)
        vlapic_accept(pages[vcpu], (unsigned)v);
    return v;
}

/* ---- arbitration ------------------------------------------------------------ */
static void test_priority_classes(void **s)
{
    uint8_t *p = pages[0];
    assert_int_equal(vlapic_pending(p), -1);
    vlapic_set_irr(p, 0x31);
    vlapic_set_irr(p, 0x45);
    assert_int_equal(take(0), 0x45);
    assert_true(vlapic_test(p, APIC_ISR, 0x45));
    assert_false(vlapic_test(p, APIC_IRR, 0x45));
    assert_int_equal(vlapic_reg(p, APIC_PPR), 0x40);
    assert_int_equal(vlapic_pending(p), -1);        /* 0x31: lower class */
    vlapic_set_irr(p, 0x4f);
    assert_int_equal(vlapic_pending(p), -1);        /* same class as in service */
    vlapic_set_irr(p, 0x50);
    assert_int_equal(take(0), 0x50);                /* nests */
    bool level;
    assert_int_equal(vlapic_eoi(p, &level), 0x50);
    assert_false(level);
    assert_int_equal(vlapic_reg(p, APIC_PPR), 0x40);
    assert_int_equal(vlapic_eoi(p, &level), 0x45);
    assert_int_equal(vlapic_reg(p, APIC_PPR), 0);
    assert_int_equal(take(0), 0x4f);
    assert_int_equal(vlapic_eoi(p, &level), 0x4f);
    assert_int_equal(take(0), 0x31);
    assert_int_equal(vlapic_eoi(p, &level), 0x31);
    assert_int_equal(vlapic_eoi(p, &level), -1);    /* spurious EOI: harmless */
}

static void test_tpr_masking(void **s)
{
    uint8_t *p = pages[0];
    vmm_lapic_write(&M, 0, APIC_TPR, 0x65, false);
    assert_int_equal(vmm_lapic_read(&M, 0, APIC_PPR, false), 0x65);
    vlapic_set_irr(p, 0x66);
    assert_int_equal(vlapic_pending(p), -1);        /* class 6 <= TPR class 6 */
    vlapic_set_irr(p, 0x70);
    assert_int_equal(take(0), 0x70);
    assert_int_equal(vmm_lapic_read(&M, 0, APIC_PPR, false), 0x70);
    vmm_lapic_write(&M, 0, APIC_EOI, 0, false);
    assert_int_equal(vmm_lapic_read(&M, 0, APIC_PPR, false), 0x65);
    vmm_lapic_write(&M, 0, APIC_TPR, 0, false);
    assert_int_equal(take(0), 0x66);
}

static void test_disabled_and_illegal(void **s)
{
    uint8_t *p = pages[1];
    assert_false(vlapic_set_irr(p, 15));
    assert_int_equal(vlapic_highest(p, APIC_IRR), -1);
    vmm_lapic_write(&M, 1, APIC_SVR, 0xff, false);  /* software-disable */
    vlapic_set_irr(p, 0x80);
    assert_int_equal(vlapic_pending(p), -1);        /* held */
    assert_true(vmm_lapic_read(&M, 1, APIC_LVT_TIMER, false) & APIC_LVT_MASKED);
    vmm_lapic_write(&M, 1, APIC_SVR, 0x1ff, false);
    assert_int_equal(take(1), 0x80);
    assert_int_equal(vmm_lapic_read(&M, 1, APIC_VERSION, false), 0x50014);
    assert_int_equal(vmm_lapic_read(&M, 1, APIC_ID, false), 1u << 24);
    assert_int_equal(vmm_lapic_read(&M, 1, APIC_ISR + 0x40, false), 1);      /* 0x80 in word 4 */
}

/* Hardware delivery (VMX VID): the interrupt status and EOI-exit set the
 * kernel hands the CPU at each entry, as the CPU itself would keep them. */
static void test_intr_status_eoi_exit(void **s)
{
    uint8_t *p = pages[2];
    uint64_t eoi[4];
    assert_int_equal(vlapic_intr_status(p), 0);
    vlapic_set_irr(p, 0x31);
    vlapic_set_irr(p, 0x45);
    assert_int_equal(vlapic_intr_status(p), 0x45);          /* RVI = highest IRR, SVI 0 */
    assert_int_equal(take(2), 0x45);                        /* what the CPU's delivery does */
    assert_int_equal(vlapic_intr_status(p), 0x4531);        /* SVI 0x45, RVI 0x31 */
    vmm_lapic_write(&M, 2, APIC_TPR, 0xf0, false);          /* TPR is not RVI's business */
    assert_int_equal(vlapic_intr_status(p), 0x4531);
    vmm_lapic_write(&M, 2, APIC_SVR, 0xff, false);          /* disabled: nothing requested */
    assert_int_equal(vlapic_intr_status(p), 0x4500);
    vmm_lapic_write(&M, 2, APIC_SVR, 0x1ff, false);
    vlapic_set_tmr(p, 0x31, true);
    vlapic_set_tmr(p, 0xc0, true);
    vlapic_set_tmr(p, 0x3f, true);
    vlapic_set_tmr(p, 0x3f, false);
    vlapic_eoi_exit_set(p, eoi);
    assert_true(eoi[0] == 1ull << 0x31);
    assert_true(eoi[1] == 0 && eoi[2] == 0);
    assert_true(eoi[3] == 1ull << (0xc0 - 0xc0));
    vlapic_set_tmr(p, 0xff, true);
    vlapic_eoi_exit_set(p, eoi);
    assert_true(eoi[3] == (1ull | 1ull << 63));
}

/* ---- timer ---------------------------------------------------------------------- */
static void test_timer_oneshot_periodic(void **s)
{
    vmm_lapic_write(&M, 0, APIC_TIMER_DCR, 0x3, false);     /* divide by 16 */
    vmm_lapic_write(&M, 0, APIC_LVT_TIMER, 0x40, false);    /* one-shot, vector 0x40 */
    vmm_lapic_write(&M, 0, APIC_TIMER_ICR, 1000, false);
    assert_int_equal(timer[0].deadline, 1000 + 16000);
    assert_int_equal(timer[0].period, 0);
    assert_int_equal(timer[0].vector, 0x40);
    fake_tsc += 8000;
    assert_int_equal(vmm_lapic_read(&M, 0, APIC_TIMER_CCR, false), 500);
    fake_tsc += 9000;
    assert_int_equal(vmm_lapic_read(&M, 0, APIC_TIMER_CCR, false), 0);
    unsigned calls = timer[0].calls;                /* expired one-shot: an LVT write */
    vmm_lapic_write(&M, 0, APIC_LVT_TIMER, 0x41, false);    /* does not fire it again */
    assert_int_equal(timer[0].calls, calls);
    /* periodic: rearms; current count wraps */
    vmm_lapic_write(&M, 0, APIC_LVT_TIMER, 0x40 | (1u << 17), false);
    assert_int_equal(timer[0].deadline, 0);         /* mode switch disarms */
    vmm_lapic_write(&M, 0, APIC_TIMER_DCR, 0xb, false);     /* divide by 1 */
    uint64_t t0 = fake_tsc;
    vmm_lapic_write(&M, 0, APIC_TIMER_ICR, 100, false);
    assert_int_equal(timer[0].deadline, t0 + 100);
    assert_int_equal(timer[0].period, 100);
    fake_tsc += 250;
    assert_int_equal(vmm_lapic_read(&M, 0, APIC_TIMER_CCR, false), 50);
    /* masking keeps time but posts nothing */
    vmm_lapic_write(&M, 0, APIC_LVT_TIMER, 0x40 | (1u << 17) | APIC_LVT_MASKED, false);
    assert_int_equal(timer[0].vector, 0);
    assert_int_equal(timer[0].period, 100);
    /* writing 0 stops */
    vmm_lapic_write(&M, 0, APIC_TIMER_ICR, 0, false);
    assert_int_equal(timer[0].deadline, 0);
    assert_int_equal(vmm_lapic_read(&M, 0, APIC_TIMER_CCR, false), 0);
}

static void test_timer_tsc_deadline(void **s)
{
    vmm_lapic_write(&M, 2, APIC_LVT_TIMER, 0xec | (2u << 17), false);
    assert_int_equal(t_wrmsr(2, MSR_IA32_TSC_DEADLINE, 123456), 0);
    assert_int_equal(timer[2].deadline, 123456);
    assert_int_equal(timer[2].vector, 0xec);
    vmm_lapic_write(&M, 2, APIC_TIMER_ICR, 5, false);       /* ignored in this mode */
    assert_int_equal(timer[2].deadline, 123456);
    assert_int_equal(t_wrmsr(2, MSR_IA32_TSC_DEADLINE, 0), 0);
    assert_int_equal(timer[2].deadline, 0);
    /* a deadline already past still fires; reads 0 once passed */
    assert_int_equal(t_wrmsr(2, MSR_IA32_TSC_DEADLINE, fake_tsc - 1), 0);
    assert_int_equal(timer[2].deadline, fake_tsc - 1);
    uint64_t v;
    assert_int_equal(t_rdmsr(2, MSR_IA32_TSC_DEADLINE, &v), 0);
    assert_int_equal(v, 0);
    /* an LVT write after expiry does not re-arm it */
    unsigned calls = timer[2].calls;
    vmm_lapic_write(&M, 2, APIC_LVT_TIMER, 0xed | (2u << 17), false);
    assert_int_equal(timer[2].calls, calls);
    assert_int_equal(t_wrmsr(2, MSR_IA32_TSC_DEADLINE, 0), 0);
    /* outside TSC-deadline mode the MSR write is ignored */
    vmm_lapic_write(&M, 2, APIC_LVT_TIMER, 0xec, false);
    assert_int_equal(t_wrmsr(2, MSR_IA32_TSC_DEADLINE, 999), 0);
    assert_int_equal(timer[2].deadline, 0);
}

/* ---- IPIs ---------------------------------------------------------------------------- */
static void test_icr_decode(void **s)
{
    struct apic_icr i = apic_icr_decode(0x000c4630, 7);
    assert_int_equal(i.vector, 0x30);
    assert_int_equal(i.delivery, 6);
    assert_false(i.logical);
    assert_true(i.level_assert);
    assert_int_equal(i.shorthand, 3);
    assert_int_equal(i.dest, 7);
    i = apic_icr_decode(0x00008d00, 0);
    assert_int_equal(i.delivery, 5);
    assert_true(i.logical);
    assert_true(i.level_trigger);
}

static void test_ipis(void **s)
{
    /* fixed, physical, to vCPU 2 */
    vmm_lapic_write(&M, 0, APIC_ICR_HI, 2u << 24, false);
    vmm_lapic_write(&M, 0, APIC_ICR_LO, 0x4051, false);
    assert_true(vlapic_test(pages[2], APIC_IRR, 0x51));
    assert_false(vlapic_test(pages[0], APIC_IRR, 0x51));
    assert_int_equal(vmm_lapic_read(&M, 0, APIC_ICR_LO, false) & (1u << 12), 0);   /* idle */
    /* self */
    vmm_lapic_write(&M, 1, APIC_ICR_LO, 0x40052, false);
    assert_true(vlapic_test(pages[1], APIC_IRR, 0x52));
    /* all excluding self */
    vmm_lapic_write(&M, 1, APIC_ICR_LO, 0xc0053, false);
    for (unsigned i = 0; i < NCPU; i++)
        assert_int_equal(vlapic_test(pages[i], APIC_IRR, 0x53), i != 1);
    /* logical flat: LDR bits */
    vmm_lapic_write(&M, 3, APIC_LDR, 0x08000000, false);
    vmm_lapic_write(&M, 0, APIC_ICR_HI, 0x08u << 24, false);
    vmm_lapic_write(&M, 0, APIC_ICR_LO, 0x0854, false);
    assert_true(vlapic_test(pages[3], APIC_IRR, 0x54));
    assert_false(vlapic_test(pages[2], APIC_IRR, 0x54));
    /* INIT, then SIPI 0x9a to vCPU 1 */
    unsigned before = posts;
    vmm_lapic_write(&M, 0, APIC_ICR_HI, 1u << 24, false);
    vmm_lapic_write(&M, 0, APIC_ICR_LO, 0x4500, false);
    vmm_lapic_write(&M, 0, APIC_ICR_LO, 0x469a, false);
    assert_int_equal(started[1], 0x9a);
    assert_int_equal(started[2], 0);
    assert_int_equal(posts, before);
    /* NMI (delivery mode 100) to vCPU 3: no vector posted, one NMI */
    vmm_lapic_write(&M, 0, APIC_ICR_HI, 3u << 24, false);
    vmm_lapic_write(&M, 0, APIC_ICR_LO, 0x4400, false);
    assert_int_equal(nmis[3], 1);
    assert_int_equal(nmis[0] + nmis[1] + nmis[2], 0);
    assert_int_equal(posts, before);
    /* NMI to all excluding self (from vCPU 0) */
    vmm_lapic_write(&M, 0, APIC_ICR_LO, 0xc4400, false);
    assert_int_equal(nmis[0], 0);
    assert_int_equal(nmis[1] + nmis[2], 2);
    assert_int_equal(nmis[3], 2);
}

/* VMX APIC-write exits: the CPU has stored the guest's value in the page;
 * vmm_lapic_apic_write applies what an MMIO write of it would (and undoes
 * a write to the read-only ID). */
static void test_apic_write_exit(void **s)
{
    /* ICR: high word through the page, then low: fixed IPI to vCPU 2 */
    vlapic_set_reg(pages[0], APIC_ICR_HI, (2u << 24) | 0x00ffffffu);
    vmm_lapic_apic_write(&M, 0, APIC_ICR_HI);
    assert_int_equal(vlapic_reg(pages[0], APIC_ICR_HI), 2u << 24);    /* reserved bits gone */
    /* a CPU may store an ICR-high write without an exit: the low write's
     * exit takes the destination from the page (here vCPU 3, then 2) */
    vlapic_set_reg(pages[0], APIC_ICR_HI, 3u << 24);
    vlapic_set_reg(pages[0], APIC_ICR_LO, 0x1060);
    vmm_lapic_apic_write(&M, 0, APIC_ICR_LO);
    assert_true(vlapic_test(pages[3], APIC_IRR, 0x60));
    vlapic_set_reg(pages[0], APIC_ICR_HI, 2u << 24);
    vlapic_set_reg(pages[0], APIC_ICR_LO, 0x1061);                    /* delivery status set */
    vmm_lapic_apic_write(&M, 0, APIC_ICR_LO);
    assert_true(vlapic_test(pages[2], APIC_IRR, 0x61));
    assert_false(vlapic_test(pages[0], APIC_IRR, 0x61));
    assert_int_equal(vlapic_reg(pages[0], APIC_ICR_LO) & (1u << 12), 0);  /* idle */
    /* the ID is read-only: the page gets its value back */
    vlapic_set_reg(pages[1], APIC_ID, 7u << 24);
    vmm_lapic_apic_write(&M, 1, APIC_ID);
    assert_int_equal(vlapic_reg(pages[1], APIC_ID), 1u << 24);
    /* LVT timer: masked to its writable bits; ESR: a write clears it */
    vlapic_set_reg(pages[1], APIC_LVT_TIMER, 0xfffffff0u);
    vmm_lapic_apic_write(&M, 1, APIC_LVT_TIMER);
    assert_int_equal(vlapic_reg(pages[1], APIC_LVT_TIMER), 0xfffffff0u & 0x700ffu);
    vlapic_set_reg(pages[1], APIC_ESR, 0x40);
    vmm_lapic_apic_write(&M, 1, APIC_ESR);
    assert_int_equal(vlapic_reg(pages[1], APIC_ESR), 0);
    /* out of the register page's range, unaligned, or a bad vCPU: nothing */
    vmm_lapic_apic_write(&M, 1, 0x402);
    vmm_lapic_apic_write(&M, NCPU, APIC_ICR_LO);
    /* in x2APIC mode the page is not the interface: no side effects */
    assert_int_equal(t_wrmsr(3, MSR_IA32_APIC_BASE, LAPIC_MMIO_BASE | APIC_BASE_EN | APIC_BASE_EXTD), 0);
    vlapic_set_reg(pages[3], APIC_ICR_LO, 0x40062);                   /* self-IPI */
    vmm_lapic_apic_write(&M, 3, APIC_ICR_LO);
    assert_false(vlapic_test(pages[3], APIC_IRR, 0x62));
}

static void test_x2apic_msrs(void **s)
{
    uint64_t v;
    /* the kernel's EOI fast path hears of every mode (kernel/exit.c) */
    assert_int_equal(told_base[0], 0xfee00000ull | APIC_BASE_EN | APIC_BASE_BSP);
    assert_int_equal(told_base[1], 0xfee00000ull | APIC_BASE_EN);
    assert_int_equal(t_rdmsr(0, MSR_IA32_APIC_BASE, &v), 0);
    assert_int_equal(v, 0xfee00000ull | APIC_BASE_EN | APIC_BASE_BSP);
    assert_int_equal(t_rdmsr(1, MSR_IA32_APIC_BASE, &v), 0);
    assert_int_equal(v, 0xfee00000ull | APIC_BASE_EN);
    assert_int_equal(t_rdmsr(1, 0x802, &v), -1);              /* xAPIC mode: #GP */
    assert_int_equal(t_wrmsr(1, MSR_IA32_APIC_BASE, 0xfee00000ull | APIC_BASE_EXTD), -1);   /* invalid */
    assert_int_equal(told_base[1], 0xfee00000ull | APIC_BASE_EN);        /* refused: unchanged */
    assert_int_equal(t_wrmsr(1, MSR_IA32_APIC_BASE, 0xfee00000ull | APIC_BASE_EN | APIC_BASE_EXTD), 0);
    assert_int_equal(told_base[1], 0xfee00000ull | APIC_BASE_EN | APIC_BASE_EXTD);
    assert_int_equal(t_rdmsr(1, 0x802, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(t_rdmsr(1, 0x80d, &v), 0);
    assert_int_equal(v, 2);                                 /* cluster 0, bit 1 */
    assert_int_equal(t_wrmsr(1, 0x830, (3ull << 32) | 0x60), 0);
    assert_true(vlapic_test(pages[3], APIC_IRR, 0x60));
    assert_int_equal(t_wrmsr(1, 0x83f, 0x61), 0);             /* self IPI */
    assert_true(vlapic_test(pages[1], APIC_IRR, 0x61));
    assert_int_equal(take(1), 0x61);
    assert_int_equal(t_wrmsr(1, 0x80b, 0), 0);                /* EOI */
    assert_int_equal(vlapic_highest(pages[1], APIC_ISR), -1);
    assert_int_equal(t_rdmsr(1, 0x80b, &v), -1);              /* EOI is write-only */
    assert_int_equal(t_wrmsr(1, MSR_IA32_APIC_BASE, 0xfee00000ull | APIC_BASE_EN), -1);  /* x2 -> x: #GP */
}

/* ---- IOAPIC ------------------------------------------------------------------------------- */
static void ioapic_write(unsigned reg, uint32_t v)
{
    uint64_t x = reg;
    ioapic_mmio(&M, M.ioapic, IOAPIC_BASE, true, 4, &x);
    x = v;
    ioapic_mmio(&M, M.ioapic, IOAPIC_BASE + 0x10, true, 4, &x);
}
static uint32_t ioapic_read(unsigned reg)
{
    uint64_t x = reg;
    ioapic_mmio(&M, M.ioapic, IOAPIC_BASE, true, 4, &x);
    ioapic_mmio(&M, M.ioapic, IOAPIC_BASE + 0x10, false, 4, &x);
    return (uint32_t)x;
}

static void test_ioapic_registers(void **s)
{
    assert_int_equal(ioapic_read(1), 0x170011);
    assert_int_equal(ioapic_read(0x10 + 2 * 5), IOAPIC_RTE_MASKED);     /* reset: masked */
    ioapic_write(0x10 + 2 * 5, IOAPIC_RTE_LEVEL | IOAPIC_RTE_REMOTE_IRR | 0x30);  /* RO bit ignored */
    ioapic_write(0x11 + 2 * 5, 0x02000000);
    assert_int_equal(ioapic_read(0x10 + 2 * 5), IOAPIC_RTE_LEVEL | 0x30);
    assert_int_equal(ioapic_read(0x11 + 2 * 5), 0x02000000);
    assert_int_equal(M.ioapic->rte[5] >> 56, 2);
}

static void test_ioapic_edge(void **s)
{
    ioapic_write(0x10 + 2 * 4, 0x34);               /* edge, fixed, physical, vector 0x34 */
    ioapic_write(0x11 + 2 * 4, 1u << 24);           /* to APIC 1 */
    M.raise_irq(&M, 4, true);
    assert_true(vlapic_test(pages[1], APIC_IRR, 0x34));
    assert_false(vlapic_test(pages[1], APIC_TMR, 0x34));
    unsigned n = posts;
    M.raise_irq(&M, 4, true);                       /* no edge */
    assert_int_equal(posts, n);
    M.raise_irq(&M, 4, false);
    M.raise_irq(&M, 4, true);
    assert_int_equal(posts, n + 1);
    ioapic_write(0x10 + 2 * 4, 0x34 | IOAPIC_RTE_MASKED);
    M.raise_irq(&M, 4, false);
    M.raise_irq(&M, 4, true);
    assert_int_equal(posts, n + 1);
    /* ISA IRQ 0 lands on pin 2 */
    ioapic_write(0x10 + 2 * 2, 0x30);
    M.raise_irq(&M, 0, true);
    assert_true(vlapic_test(pages[0], APIC_IRR, 0x30));
}

static void test_ioapic_level_remote_irr(void **s)
{
    ioapic_write(0x10 + 2 * 9, 0x39 | IOAPIC_RTE_LEVEL);
    ioapic_write(0x11 + 2 * 9, 0);
    M.raise_irq(&M, 9, true);
    assert_true(vlapic_test(pages[0], APIC_TMR, 0x39));
    assert_true(ioapic_read(0x10 + 2 * 9) & IOAPIC_RTE_REMOTE_IRR);
    assert_int_equal(take(0), 0x39);
    unsigned n = posts;
    M.raise_irq(&M, 9, true);                       /* remote IRR: not again */
    assert_int_equal(posts, n);
    vmm_lapic_write(&M, 0, APIC_EOI, 0, false);     /* EOI broadcast, line still up */
    assert_int_equal(posts, n + 1);
    assert_true(ioapic_read(0x10 + 2 * 9) & IOAPIC_RTE_REMOTE_IRR);
    assert_int_equal(take(0), 0x39);
    M.raise_irq(&M, 9, false);
    vmm_lapic_write(&M, 0, APIC_EOI, 0, false);
    assert_int_equal(posts, n + 1);
    assert_false(ioapic_read(0x10 + 2 * 9) & IOAPIC_RTE_REMOTE_IRR);
    /* a masked level pin delivers when unmasked with its line up */
    ioapic_write(0x10 + 2 * 10, 0x3a | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED);
    M.raise_irq(&M, 10, true);
    assert_int_equal(posts, n + 1);
    ioapic_write(0x10 + 2 * 10, 0x3a | IOAPIC_RTE_LEVEL);
    assert_int_equal(posts, n + 2);
    assert_true(vlapic_test(pages[0], APIC_IRR, 0x3a));
}

/* ---- MSI ---------------------------------------------------------------------------------- */
static void test_msi(void **s)
{
    struct msi_msg m;
    assert_true(msi_decode(0xfee03000, 0x4041, &m));
    assert_int_equal(m.dest, 3);
    assert_false(m.logical);
    assert_int_equal(m.vector, 0x41);
    assert_int_equal(m.delivery, 0);
    assert_false(m.level);
    assert_true(msi_decode(0xfee0100c, 0xc142, &m));
    assert_true(m.logical);
    assert_int_equal(m.delivery, 1);
    assert_true(m.level);
    assert_false(msi_decode(0xfed00000, 0x41, &m));
    assert_false(msi_decode(0x1fee00000ull, 0x41, &m));
    /* the kernel's route (vlapic_deliver_msi): physical, logical, lowest priority */
    uint8_t *pv[NCPU] = { pages[0], pages[1], pages[2], pages[3] };
    assert_true(msi_decode(0xfee02000, 0x43, &m));
    assert_int_equal(vlapic_msi_route(pv, NCPU, &m), 1u << 2);
    assert_true(msi_decode(0xfeeff000, 0x43, &m));              /* broadcast */
    assert_int_equal(vlapic_msi_route(pv, NCPU, &m), 0xf);
    vlapic_set_reg(pages[1], APIC_LDR, 0x02000000);
    vlapic_set_reg(pages[3], APIC_LDR, 0x08000000);
    assert_true(msi_decode(0xfee0a004, 0x43, &m));              /* logical 0x0a */
    assert_int_equal(vlapic_msi_route(pv, NCPU, &m), (1u << 1) | (1u << 3));
    assert_true(msi_decode(0xfee0a004, 0x143, &m));             /* lowest priority */
    assert_int_equal(vlapic_msi_route(pv, NCPU, &m), 1u << 1);
    assert_true(msi_decode(0xfee02000, 0x443, &m));             /* NMI */
    assert_int_equal(vlapic_msi_route(pv, NCPU, &m), 0);
    assert_true(msi_decode(0xfee02000, 0x0f, &m));              /* illegal vector */
    assert_int_equal(vlapic_msi_route(pv, NCPU, &m), 0);
    pv[2] = NULL;                                               /* no LAPIC */
    assert_true(msi_decode(0xfee02000, 0x43, &m));
    assert_int_equal(vlapic_msi_route(pv, NCPU, &m), 0);
    /* the monitor's delivery */
    assert_true(vmm_msi(&M, 0xfee02000, 0x43));
    assert_true(vlapic_test(pages[2], APIC_IRR, 0x43));
    assert_false(vmm_msi(&M, 0xfee02000, 0x443));          /* NMI: not modelled */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_priority_classes, setup),
        cmocka_unit_test_setup(test_tpr_masking, setup),
        cmocka_unit_test_setup(test_disabled_and_illegal, setup),
        cmocka_unit_test_setup(test_intr_status_eoi_exit, setup),
        cmocka_unit_test_setup(test_timer_oneshot_periodic, setup),
        cmocka_unit_test_setup(test_timer_tsc_deadline, setup),
        cmocka_unit_test_setup(test_icr_decode, setup),
        cmocka_unit_test_setup(test_ipis, setup),
        cmocka_unit_test_setup(test_apic_write_exit, setup),
        cmocka_unit_test_setup(test_x2apic_msrs, setup),
        cmocka_unit_test_setup(test_ioapic_registers, setup),
        cmocka_unit_test_setup(test_ioapic_edge, setup),
        cmocka_unit_test_setup(test_ioapic_level_remote_irr, setup),
        cmocka_unit_test_setup(test_msi, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
