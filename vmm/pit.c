/*
 * Intel 8254 PIT (ports 0x40-0x43) and port 0x61 (system control port B:
 * channel 2 gate, speaker enable, channel 2 OUT, refresh toggle).
 *
 * Register and mode semantics: Intel 8254 datasheet (231164), "Control Word
 * Format", "Read-Back Command", "Modes".  The counters run at 1.193182 MHz
 * derived from the TSC (rdtsc()/tsc_hz), computed on each read: a counter
 * is (reload, mode, load time).  This is what Linux's PIT calibration
 * (channel 2 in mode 0, polling port 0x61 bit 5, or reading the count back)
 * and the mode 2/3 count reads need.
 *
 * IRQ 0 (channel 0 OUT's rising edges) comes from the kernel's device timer
 * service: loading channel 0 arms it (vm_dev_timer) for the terminal count,
 * periodic in modes 2 and 3; each expiry pulses ISA IRQ 0 through
 * m->raise_irq (IOAPIC pin 2 by the MADT override).  Linux's check_timer
 * and its PIT tick before the LAPIC timer take over rely on it.
 *
 * Not modelled: BCD counting is treated as binary.  Gate low does not
 * freeze a mode 0/4 count; a rising gate edge restarts modes 1, 2, 3, 5.
 */
#include <arch/x86.h>
#include <arch/time.h>
#include "vmm.h"

#define PIT_BASE        0x40
#define PIT_PORTS       4
#define PIT_CONTROL     3           /* port 0x43 */
#define PIT_CHANNELS    3
#define PIT_CH_SPEAKER  2           /* gated by port 0x61 bit 0 */
#define PIT_HZ          1193182u
#define PORT_B          0x61

/* control word (port 0x43) */
#define CW_SC_SHIFT     6           /* select counter; 3 = read-back */
#define CW_SC_READBACK  3
#define CW_RW_SHIFT     4           /* 0 latch, 1 LSB, 2 MSB, 3 LSB then MSB */
#define CW_RW_LATCH     0
#define CW_RW_LSB       1
#define CW_RW_MSB       2
#define CW_RW_WORD      3
#define CW_MODE_SHIFT   1
#define CW_MODE_MASK    7
#define CW_BCD          0x01
/* read-back command */
#define RB_NO_COUNT     0x20        /* 0: latch count */
#define RB_NO_STATUS    0x10        /* 0: latch status */
#define RB_CNT0         0x02        /* counter select bits: CNT0 << n */
/* status byte */
#define ST_OUT          0x80
#define ST_NULL_COUNT   0x40

/* port 0x61 */
#define PB_GATE2        0x01        /* timer 2 gate (r/w) */
#define PB_SPKR         0x02        /* speaker data enable (r/w) */
#define PB_RW_MASK      0x0f        /* bits 2,3: parity/IOCHK enables (r/w) */
#define PB_REFRESH      0x10        /* toggles every 15.09 us (r/o) */
#define REFRESH_TICKS   18          /* 15.09 us in PIT clocks */
#define PB_OUT2         0x20        /* timer 2 OUT (r/o) */

struct pit_channel {
    uint32_t reload;            /* 1..65536 (a written 0 means 65536) */
    uint8_t mode, rw, bcd;
    uint64_t load_tsc;
    bool gate, loaded;
    uint8_t write_lsb;          /* LSB of a word write in progress */
    bool write_msb_next, read_msb_next;
    bool count_latched, status_latched;
    uint16_t latch;
    uint8_t status;
    bool latch_msb_next;
};

struct vmm_pit {
    struct pit_channel ch[PIT_CHANNELS];
    uint8_t port_b;             /* r/w bits of port 0x61 */
    int irq0_timer;             /* vm_dev_timer id of channel 0, -1: none */
};

/* PIT input clocks since `since` (split to avoid 64-bit overflow). */
static uint64_t pit_ticks(uint64_t since)
{
    uint64_t t = rdtsc() - since, hz = tsc_hz ? tsc_hz : 1;
    return t / hz * PIT_HZ + t % hz * PIT_HZ / hz;
}

static uint16_t pit_count(const struct pit_channel *c)
{
    if (!c->loaded)
        return 0;
    uint64_t d = pit_ticks(c->load_tsc), n = c->reload;
    switch (c->mode) {
    case 2:
        return (uint16_t)(n - d % n);
    case 3:                     /* decrements by 2 per clock, twice per period */
        return (uint16_t)(n - (2 * d) % n);
    default:                    /* 0, 1, 4, 5: count down and wrap */
        return (uint16_t)(n - d);
    }
}

static bool pit_out(const struct pit_channel *c)
{
    if (!c->loaded)
        return c->mode != 0;    /* mode 0 OUT starts low after the control word */
    uint64_t d = pit_ticks(c->load_tsc), n = c->reload;
    switch (c->mode) {
    case 0:
        return d >= n;          /* high at terminal count, stays high */
    case 1:
        return d >= n;          /* one-shot pulse: low while counting */
    case 2:
        return n - d % n != 1;  /* low for the clock at count 1 */
    case 3:
        return d % n < (n + 1) / 2;
    default:                    /* 4, 5: strobe low for one clock at 0 */
        return d != n;
    }
}

static void pit_load(struct pit_channel *c, uint32_t v)
{
    c->reload = v ? v : 0x10000;
    c->load_tsc = rdtsc();
    c->loaded = true;
}

static void pit_control(struct vmm_pit *p, uint8_t v)
{
    unsigned sc = v >> CW_SC_SHIFT, rw = (v >> CW_RW_SHIFT) & 3;
    if (sc == CW_SC_READBACK) {
        for (unsigned i = 0; i < PIT_CHANNELS; i++) {
            struct pit_channel *c = &p->ch[i];
            if (!(v & (RB_CNT0 << i)))
                continue;
            if (!(v & RB_NO_STATUS) && !c->status_latched) {
                c->status = (uint8_t)((pit_out(c) ? ST_OUT : 0) | (c->loaded ? 0 : ST_NULL_COUNT) |
                            c->rw << CW_RW_SHIFT | c->mode << CW_MODE_SHIFT | c->bcd);
                c->status_latched = true;
            }
            if (!(v & RB_NO_COUNT) && !c->count_latched) {
                c->latch = pit_count(c);
                c->count_latched = true;
                c->latch_msb_next = false;
            }
        }
        return;
    }
    struct pit_channel *c = &p->ch[sc];
    if (rw == CW_RW_LATCH) {
        if (!c->count_latched) {
            c->latch = pit_count(c);
            c->count_latched = true;
            c->latch_msb_next = false;
        }
        return;
    }
    c->rw = (uint8_t)rw;
    c->mode = (v >> CW_MODE_SHIFT) & CW_MODE_MASK;
    if (c->mode > 5)
        c->mode -= 4;           /* 6, 7 are aliases of 2, 3 */
    c->bcd = v & CW_BCD;
    c->loaded = false;
    c->write_msb_next = c->read_msb_next = false;
    c->count_latched = c->status_latched = false;
}

static uint8_t pit_read_counter(struct pit_channel *c)
{
    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    uint16_t v;
    bool *msb_next;
    if (c->count_latched) {
        v = c->latch;
        msb_next = &c->latch_msb_next;
    } else {
        v = pit_count(c);
        msb_next = &c->read_msb_next;
    }
    uint8_t out;
    if (c->rw == CW_RW_LSB) {
        out = (uint8_t)v;
        c->count_latched = false;
    } else if (c->rw == CW_RW_MSB) {
        out = (uint8_t)(v >> 8);
        c->count_latched = false;
    } else {
        out = *msb_next ? (uint8_t)(v >> 8) : (uint8_t)v;
        if (*msb_next)
            c->count_latched = false;
        *msb_next = !*msb_next;
    }
    return out;
}

/* A data byte for counter c; true when it completed a count (now loaded). */
static bool pit_write_counter(struct pit_channel *c, uint8_t v)
{
    if (c->rw == CW_RW_LSB) {
        pit_load(c, v);
    } else if (c->rw == CW_RW_MSB) {
        pit_load(c, (uint32_t)v << 8);
    } else if (!c->write_msb_next) {
        c->write_lsb = v;
        c->write_msb_next = true;
        return false;
    } else {
        pit_load(c, c->write_lsb | (uint32_t)v << 8);
        c->write_msb_next = false;
    }
    return true;
}

/* IRQ 0: the kernel's timer for channel 0's next OUT rising edge (the
 * terminal count; every period in modes 2 and 3), none while unloaded. */
static void pit_irq0_arm(struct vmm *m, struct vmm_pit *p)
{
    const struct pit_channel *c = &p->ch[0];
    if (p->irq0_timer < 0)
        return;
    if (!c->loaded) {
        vm_dev_timer(m->vm_id, (unsigned)p->irq0_timer, 0, 0);
        return;
    }
    uint64_t hz = tsc_hz ? tsc_hz : 1;
    uint64_t ticks = (c->reload * hz + PIT_HZ / 2) / PIT_HZ;   /* reload <= 2^16: no overflow */
    uint64_t deadline = c->load_tsc + (ticks ? ticks : 1);
    bool periodic = c->mode == 2 || c->mode == 3;
    vm_dev_timer(m->vm_id, (unsigned)p->irq0_timer, deadline ? deadline : 1,
                 periodic && ticks ? ticks : 0);
}

/* The kernel's timer expired (m->lock held): an edge on ISA IRQ 0. */
static void pit_irq0_expired(struct vmm *m, void *state)
{
    struct vmm_pit *p = state;
    if (!p->ch[0].loaded || !m->raise_irq)
        return;                 /* reprogrammed meanwhile */
    m->raise_irq(m, 0, true);
    m->raise_irq(m, 0, false);
}

static void pit_io(struct vmm *m, void *state, uint16_t port, bool write, unsigned size, uint32_t *val)
{
    struct vmm_pit *p = state;
    unsigned reg = port - PIT_BASE;
    if (reg == PIT_CONTROL) {
        if (!write) {
            *val = 0xff;        /* the control word register is write-only */
            return;
        }
        uint8_t cw = (uint8_t)*val;
        pit_control(p, cw);
        if (cw >> CW_SC_SHIFT == 0 && ((cw >> CW_RW_SHIFT) & 3) != CW_RW_LATCH)
            pit_irq0_arm(m, p);         /* a new mode stops channel 0 */
        return;
    }
    if (!write) {
        *val = pit_read_counter(&p->ch[reg]);
        return;
    }
    if (pit_write_counter(&p->ch[reg], (uint8_t)*val) && reg == 0)
        pit_irq0_arm(m, p);
}

static void port_b_io(struct vmm *m, void *state, uint16_t port, bool write, unsigned size, uint32_t *val)
{
    struct vmm_pit *p = state;
    struct pit_channel *c2 = &p->ch[PIT_CH_SPEAKER];
    if (write) {
        bool gate = *val & PB_GATE2;
        /* a rising gate edge (re)starts the hardware-triggered and periodic modes */
        if (gate && !c2->gate && c2->loaded && c2->mode != 0 && c2->mode != 4)
            c2->load_tsc = rdtsc();
        c2->gate = gate;
        p->port_b = (uint8_t)(*val & PB_RW_MASK);
        return;
    }
    bool refresh = pit_ticks(0) / REFRESH_TICKS & 1;
    *val = p->port_b | (refresh ? PB_REFRESH : 0) | (pit_out(c2) ? PB_OUT2 : 0);
}

int vmm_pit_init(struct vmm *m, const struct vmm_create_args *a)
{
    struct vmm_pit *p = vmm_alloc(m, sizeof(*p));
    if (!p)
        return -1;
    for (unsigned i = 0; i < PIT_CHANNELS; i++)
        p->ch[i].gate = i != PIT_CH_SPEAKER;    /* channels 0, 1: gate tied high */
    p->irq0_timer = vmm_add_timer(m, pit_irq0_expired, p);
    struct vmm_dev pit = {
        .name = "pit-8254", .port_base = PIT_BASE, .port_count = PIT_PORTS,
        .io = pit_io, .state = p,
    };
    struct vmm_dev pb = {
        .name = "port-61", .port_base = PORT_B, .port_count = 1,
        .io = port_b_io, .state = p,
    };
    return vmm_add_device(m, &pit) || vmm_add_device(m, &pb) ? -1 : 0;
}
