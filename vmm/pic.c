/*
 * The 8259A PIC pair (master 0x20-0x21, slave 0xa0-0xa1) and the ELCR
 * edge/level control registers (0x4d0-0x4d1), one set per VM.
 *
 * Register semantics: Intel 8259A datasheet (231468), "Programming the
 * 8259A" (ICW1-ICW4, OCW1-OCW3); ELCR: Intel PIIX3 datasheet, 4.1.x.
 * The model accepts the initialization and operation command words and
 * keeps IMR (Linux probes that IMR reads back what it wrote, and then masks
 * everything when it uses the IOAPIC).  It never has a pending interrupt:
 * IRR, ISR and poll reads return 0.  Interrupts reach the guest through the
 * IOAPIC (m->raise_irq), not through this model.
 */
#include "vmm.h"

#define PIC_MASTER      0x20
#define PIC_SLAVE       0xa0
#define PIC_CMD         0       /* offset: ICW1, OCW2, OCW3 / IRR, ISR */
#define PIC_DATA        1       /* offset: ICW2-4, OCW1 / IMR */
#define ELCR_BASE       0x4d0

/* ICW1 (command port, bit 4 set) */
#define ICW1_INIT       0x10
#define ICW1_IC4        0x01    /* ICW4 follows */
#define ICW1_SNGL       0x02    /* single PIC: no ICW3 */
/* ICW2: vector base, low 3 bits ignored */
#define ICW2_VECTOR_MASK 0xf8
/* ICW4 */
#define ICW4_AEOI       0x02
/* OCW3 (command port, bits 4:3 = 01) */
#define OCW3_SELECT     0x08
#define OCW3_SEL_MASK   0x18
#define OCW3_RR         0x02    /* read register command */
#define OCW3_RIS        0x01    /* 1: ISR, 0: IRR */
#define OCW3_POLL       0x04
#define OCW3_ESMM       0x40    /* enable special mask mode ... */
#define OCW3_SMM        0x20    /* ... set it */
/* ELCR: IRQ 0, 1, 2 (master) and 8, 13 (slave) are always edge */
#define ELCR_MASTER_MASK 0xf8
#define ELCR_SLAVE_MASK  0xde

enum pic_init_step { PIC_READY, PIC_ICW2, PIC_ICW3, PIC_ICW4 };

struct pic_chip {
    enum pic_init_step step;
    bool need_icw4, single;
    bool read_isr, poll, special_mask, auto_eoi;
    uint8_t imr, vector_base, icw3;
};

struct vmm_pic {
    struct pic_chip chip[2];
    uint8_t elcr[2];
};

static void pic_command(struct pic_chip *c, uint8_t v)
{
    if (v & ICW1_INIT) {
        /* ICW1: restart initialization; IMR cleared, IRR reads selected */
        c->step = PIC_ICW2;
        c->need_icw4 = v & ICW1_IC4;
        c->single = v & ICW1_SNGL;
        c->imr = 0;
        c->read_isr = c->poll = c->special_mask = c->auto_eoi = false;
        return;
    }
    if ((v & OCW3_SEL_MASK) == OCW3_SELECT) {
        if (v & OCW3_RR)
            c->read_isr = v & OCW3_RIS;
        c->poll = v & OCW3_POLL;
        if (v & OCW3_ESMM)
            c->special_mask = v & OCW3_SMM;
        return;
    }
    /* OCW2: EOI / rotate / set priority: nothing is ever in service */
}

static void pic_data(struct pic_chip *c, uint8_t v)
{
    switch (c->step) {
    case PIC_ICW2:
        c->vector_base = v & ICW2_VECTOR_MASK;
        c->step = !c->single ? PIC_ICW3 : c->need_icw4 ? PIC_ICW4 : PIC_READY;
        break;
    case PIC_ICW3:
        c->icw3 = v;
        c->step = c->need_icw4 ? PIC_ICW4 : PIC_READY;
        break;
    case PIC_ICW4:
        c->auto_eoi = v & ICW4_AEOI;
        c->step = PIC_READY;
        break;
    default:
        c->imr = v;             /* OCW1 */
        break;
    }
}

static void pic_io(struct vmm *m, void *state, uint16_t port, bool write, unsigned size, uint32_t *val)
{
    struct vmm_pic *p = state;
    struct pic_chip *c = &p->chip[(port & ~1u) == PIC_SLAVE];
    bool data = (port & 1) == PIC_DATA;
    if (write) {
        if (data)
            pic_data(c, (uint8_t)*val);
        else
            pic_command(c, (uint8_t)*val);
        return;
    }
    if (data) {
        *val = c->imr;
    } else {
        /* IRR / ISR / poll word: never anything pending (poll: bit 7 clear) */
        c->poll = false;
        *val = 0;
    }
}

static void elcr_io(struct vmm *m, void *state, uint16_t port, bool write, unsigned size, uint32_t *val)
{
    struct vmm_pic *p = state;
    for (unsigned i = 0; i < size && port - ELCR_BASE + i < 2; i++) {
        unsigned n = port - ELCR_BASE + i;
        uint8_t mask = n ? ELCR_SLAVE_MASK : ELCR_MASTER_MASK;
        if (write) {
            p->elcr[n] = (uint8_t)(*val >> (8 * i)) & mask;
        } else {
            *val &= ~(0xffu << (8 * i));
            *val |= (uint32_t)p->elcr[n] << (8 * i);
        }
    }
}

int vmm_pic_init(struct vmm *m, const struct vmm_create_args *a)
{
    struct vmm_pic *p = vmm_alloc(m, sizeof(*p));
    if (!p)
        return -1;
    struct vmm_dev master = {
        .name = "pic-master", .port_base = PIC_MASTER, .port_count = 2, .io = pic_io, .state = p,
    };
    struct vmm_dev slave = {
        .name = "pic-slave", .port_base = PIC_SLAVE, .port_count = 2, .io = pic_io, .state = p,
    };
    struct vmm_dev elcr = {
        .name = "pic-elcr", .port_base = ELCR_BASE, .port_count = 2, .io = elcr_io, .state = p,
    };
    if (vmm_add_device(m, &master) || vmm_add_device(m, &slave) || vmm_add_device(m, &elcr))
        return -1;
    return 0;
}
