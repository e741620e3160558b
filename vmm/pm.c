/*
 * ACPI fixed hardware: PM1a event/control registers, the PM timer, GPE0,
 * and the reset control register at 0xcf9 (layout and values: pm.h).
 *
 * Register semantics: ACPI 6.5, 4.8.3 "PM1 Event/Control Registers", 4.8.3.3
 * "Power Management Timer", 4.8.4 GPE; 0xcf9: Intel ICH/PIIX "Reset Control
 * Register".  No events are ever raised (status reads 0; SCI not used).
 * Writing SLP_EN with SLP_TYP = S5 sets m->power_off_requested, a reset
 * sets m->reset_requested: vmm.c's io_exit stops the VM after the access.
 */
#include <arch/x86.h>
#include <arch/time.h>
#include "vmm.h"
#include "pm.h"

/* PM1_STS / PM1_EN bits (ACPI tables 4.16, 4.17) */
#define PM1_TMR         0x0001
#define PM1_GBL         0x0020
#define PM1_PWRBTN      0x0100
#define PM1_SLPBTN      0x0200
#define PM1_RTC         0x0400
#define PM1_EN_MASK     (PM1_TMR | PM1_GBL | PM1_PWRBTN | PM1_SLPBTN | PM1_RTC)
/* PM1_CNT bits (table 4.18) */
#define PM1_CNT_SCI_EN  0x0001
#define PM1_CNT_BM_RLD  0x0002
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_TYP_MASK  0x1c00
#define PM1_CNT_SLP_EN  0x2000  /* write-only, reads 0 */
#define PM1_CNT_RW_MASK (PM1_CNT_BM_RLD | PM1_CNT_SLP_TYP_MASK)

/* register offsets in the block */
#define OFF_PM1_STS     (VMM_PM1A_EVT_BLK - VMM_PM_BASE)
#define OFF_PM1_EN      (OFF_PM1_STS + 2)
#define OFF_PM1_CNT     (VMM_PM1A_CNT_BLK - VMM_PM_BASE)
#define OFF_PM_TMR      (VMM_PM_TMR_BLK - VMM_PM_BASE)
#define OFF_GPE0_STS    (VMM_GPE0_BLK - VMM_PM_BASE)
#define OFF_GPE0_EN     (OFF_GPE0_STS + 2)

/* reset control register (0xcf9) */
#define RST_SYS_RST     0x02    /* 1: full system reset when RST_CPU rises */
#define RST_CPU         0x04    /* 0 -> 1: do the reset */

struct vmm_pm {
    uint16_t pm1_en, pm1_cnt, gpe0_en;
    uint64_t tsc0;
    uint8_t reset_ctl;
};

/* The PM timer: 3.579545 MHz from the TSC, free-running 32 bits. */
static uint32_t pm_timer(const struct vmm_pm *p)
{
    return io_clock_value(rdtsc() - p->tsc0, tsc_hz ? tsc_hz : 1, VMM_PM_TMR_HZ);
}

static uint8_t pm_read_byte(const struct vmm_pm *p, unsigned off)
{
    unsigned shift = 8 * (off & 1);
    switch (off & ~1u) {
    case OFF_PM1_EN:
        return (uint8_t)(p->pm1_en >> shift);
    case OFF_PM1_CNT:
        return (uint8_t)((p->pm1_cnt | PM1_CNT_SCI_EN) >> shift);
    case OFF_PM_TMR:
    case OFF_PM_TMR + 2:
        return (uint8_t)(pm_timer(p) >> (8 * (off - OFF_PM_TMR)));
    case OFF_GPE0_EN:
        return (uint8_t)(p->gpe0_en >> shift);
    default:                    /* PM1_STS, GPE0_STS: nothing ever pending */
        return 0;
    }
}

static void pm_sleep(struct vmm *m, unsigned slp_typ)
{
    if (slp_typ == VMM_PM_S5_SLP_TYP)
        m->power_off_requested = 1;
    /* other sleep states (S1-S4) are not supported: the write is ignored */
}

static void pm_write_byte(struct vmm *m, struct vmm_pm *p, unsigned off, uint8_t v)
{
    unsigned shift = 8 * (off & 1);
    uint16_t keep = (uint16_t)~(0xffu << shift), val = (uint16_t)(v << shift);
    switch (off & ~1u) {
    case OFF_PM1_EN:
        p->pm1_en = (uint16_t)((p->pm1_en & keep) | (val & PM1_EN_MASK));
        break;
    case OFF_PM1_CNT:
        p->pm1_cnt = (uint16_t)((p->pm1_cnt & keep) | (val & PM1_CNT_RW_MASK));
        if (val & PM1_CNT_SLP_EN)
            pm_sleep(m, (p->pm1_cnt & PM1_CNT_SLP_TYP_MASK) >> PM1_CNT_SLP_TYP_SHIFT);
        break;
    case OFF_GPE0_EN:
        p->gpe0_en = (uint16_t)((p->gpe0_en & keep) | val);
        break;
    default:                    /* status (write 1 to clear: all clear), timer: r/o */
        break;
    }
}

static void pm_io(struct vmm *m, void *state, uint16_t port, bool write, unsigned size, uint32_t *val)
{
    struct vmm_pm *p = state;
    for (unsigned i = 0; i < size; i++) {
        unsigned off = (unsigned)(port - VMM_PM_BASE + i);
        if (off >= VMM_PM_PORTS)
            break;
        if (write) {
            pm_write_byte(m, p, off, (uint8_t)(*val >> (8 * i)));
        } else {
            *val &= ~(0xffu << (8 * i));
            *val |= (uint32_t)pm_read_byte(p, off) << (8 * i);
        }
    }
}

static void reset_io(struct vmm *m, void *state, uint16_t port, bool write, unsigned size, uint32_t *val)
{
    struct vmm_pm *p = state;
    if (!write) {
        *val = p->reset_ctl;
        return;
    }
    uint8_t v = (uint8_t)*val;
    if ((v & RST_CPU) && !(p->reset_ctl & RST_CPU))
        m->reset_requested = 1;
    p->reset_ctl = v & (RST_SYS_RST | RST_CPU);
}

int vmm_pm_init(struct vmm *m, const struct vmm_create_args *a)
{
    struct vmm_pm *p = vmm_alloc(m, sizeof(*p));
    if (!p)
        return -1;
    p->tsc0 = rdtsc();
    p->pm1_cnt = PM1_CNT_SCI_EN;
    vm_io_clock(m->vm_id, VMM_PM_TMR_BLK, VMM_PM_TMR_HZ, p->tsc0);   /* reads: the kernel's */
    struct vmm_dev pm = {
        .name = "acpi-pm", .port_base = VMM_PM_BASE, .port_count = VMM_PM_PORTS,
        .io = pm_io, .state = p,
    };
    struct vmm_dev rst = {
        .name = "reset-cf9", .port_base = VMM_RESET_PORT, .port_count = 1,
        .io = reset_io, .state = p,
    };
    return vmm_add_device(m, &pm) || vmm_add_device(m, &rst) ? -1 : 0;
}
