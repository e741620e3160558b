/*
 * Host tests for the legacy PC device models of the per-VM monitor
 * (vmm/uart.c rtc.c pit.c pic.c pci.c pm.c legacy.c) through the real
 * registry (vmm/devices.c) and the real exit path (vmm/vmm.c io_exit).
 *
 * Fakes: the TSC is a variable (rdtsc() is redirected after arch/x86.h is
 * in), the lock functions are no-ops (pushfq/cli is not for user space),
 * the console collects lines, and the platform registers only these models.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arch/x86.h>
#include <nethv/spinlock.h>
static uint64_t fake_tsc = 1000;
#define rdtsc() (fake_tsc)
#define spin_lock_irqsave(l) ((void)(l), 0ull)
#define spin_unlock_irqrestore(l, f) ((void)(l), (void)(f))
uint64_t tsc_hz = 1000000000ull;        /* 1 GHz: 1 ns per tick */

#include "../../vmm/devices.c"
#include "../../vmm/vmm.c"
#include "../../vmm/decode.c"
#include "../../vmm/decode_mmio.c"
#include "../../vmm/uart.c"
#include "../../vmm/rtc.c"
#include "../../vmm/pit.c"
#include "../../vmm/pic.c"
#include "../../vmm/pci.c"
#include "../../vmm/pm.c"
#include "../../vmm/legacy.c"

/* ---- fakes -------------------------------------------------------------------------- */
#include "vmm_fakes.h"
int vmm_platform_pc_init(struct vmm *m, const struct vmm_create_args *a)
{
    return vmm_uart_init(m, a) || vmm_rtc_init(m, a) || vmm_pit_init(m, a) || vmm_pic_init(m, a) ||
           vmm_pci_init(m, a) || vmm_pm_init(m, a) || vmm_legacy_init(m, a) ? -1 : 0;
}
void vmm_virtio_net_print_stats(struct vmm *m) {}     /* no virtio-net in this platform */

/* the kernel's device timer service: the last vm_dev_timer call */
static unsigned timer_calls, timer_id;
static uint64_t timer_deadline, timer_period;
void vm_dev_timer(unsigned vm_id, unsigned id, uint64_t deadline_tsc, uint64_t period)
{
    timer_calls++;
    timer_id = id;
    timer_deadline = deadline_tsc;
    timer_period = period;
}

static unsigned irq_calls, irq_gsi;
static bool irq_level;
static void fake_raise_irq(struct vmm *m, unsigned gsi, bool level)
{
    irq_calls++;
    irq_gsi = gsi;
    irq_level = level;
}

/* ---- helpers -------------------------------------------------------------------------- */
static struct vmm *make_vm(uint64_t ram)
{
    struct vmm_create_args a = { .vm_id = 0, .name = "t", .vcpus = 1, .ram_bytes = ram,
                                 .platform = VMM_PLATFORM_PC };
    struct vmm *m = vmm_create(&a);
    assert_non_null(m);
    m->raise_irq = fake_raise_irq;
    nlines = irq_calls = 0;
    irq_level = false;
    return m;
}
static int setup(void **state) { *state = make_vm(512 * MIB); return 0; }
static int teardown(void **state) { free(*state); return 0; }

static uint32_t in(struct vmm *m, uint16_t port, unsigned size)
{
    uint32_t v = 0xdeadbeef;
    assert_true(vmm_dev_io(m, port, false, size, &v));
    return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}
static void out(struct vmm *m, uint16_t port, unsigned size, uint32_t v)
{
    assert_true(vmm_dev_io(m, port, true, size, &v));
}
static uint8_t inb_(struct vmm *m, uint16_t port) { return (uint8_t)in(m, port, 1); }
static void outb_(struct vmm *m, uint16_t port, uint8_t v) { out(m, port, 1, v); }

/* An OUT through the whole exit path (vmm_handle_exit). */
static void exit_out(struct vmm *m, uint16_t port, unsigned size, uint32_t v, struct vmm_reply *rp)
{
    struct vmm_request rq = { 0 };
    rq.exit.reason = VCPU_EXIT_IO;
    rq.exit.insn_len = 1;
    rq.exit.io.port = port;
    rq.exit.io.size = (uint8_t)size;
    rq.regs.gpr.rax = v;
    memset(rp, 0, sizeof(*rp));
    vmm_handle_exit(m, &rq, rp);
}

/* Without a length from the CPU (SVM without NRIP-save) the kernel sends
 * the bytes at CS:RIP and the monitor measures them: OUT imm8 with a
 * prefix in 32-bit code is 3 bytes, a CPUID in 64-bit code 2 (with REX 3);
 * bytes that do not decode leave the length 0, not a guess. */
static void test_exit_length_from_bytes(void **state)
{
    struct vmm *m = *state;
    struct vmm_request rq = { 0 };
    struct vmm_reply rp = { 0 };
    rq.exit.reason = VCPU_EXIT_IO;
    rq.exit.io.port = 0x80;
    rq.exit.io.size = 2;
    rq.mode = MODE_PROT32;
    memcpy(rq.insn, "\x66\xe7\x80", 3);             /* out 0x80, ax */
    rq.insn_avail = 3;
    vmm_handle_exit(m, &rq, &rp);
    assert_int_equal(rp.action, VMM_RESUME);
    assert_int_equal(rp.advance_rip, 3);
    rq.insn_avail = 2;                                  /* cut short: no length */
    memset(&rp, 0, sizeof(rp));
    vmm_handle_exit(m, &rq, &rp);
    assert_int_equal(rp.advance_rip, 0);
    rq.exit.insn_len = 1;                               /* the CPU's length wins */
    rq.insn_avail = 3;
    memset(&rp, 0, sizeof(rp));
    vmm_handle_exit(m, &rq, &rp);
    assert_int_equal(rp.advance_rip, 1);
}

/* ---- UART ------------------------------------------------------------------------------ */
#define COM1 0x3f8
static void test_uart_dlab_and_scratch(void **state)
{
    struct vmm *m = *state;
    outb_(m, COM1 + UART_LCR, LCR_DLAB | 0x03);
    outb_(m, COM1 + UART_DLL, 0x01);
    outb_(m, COM1 + UART_DLM, 0x00);
    assert_int_equal(inb_(m, COM1 + UART_DLL), 0x01);
    assert_int_equal(inb_(m, COM1 + UART_DLM), 0x00);
    outb_(m, COM1 + UART_LCR, 0x03);
    assert_int_equal(inb_(m, COM1 + UART_LCR), 0x03);
    assert_int_equal(nlines, 0);                /* DLL writes are not transmitted */
    /* Linux autoconfig: IER keeps exactly 4 bits */
    outb_(m, COM1 + UART_IER, 0);
    assert_int_equal(inb_(m, COM1 + UART_IER), 0);
    outb_(m, COM1 + UART_IER, 0xff);
    assert_int_equal(inb_(m, COM1 + UART_IER), 0x0f);
    outb_(m, COM1 + UART_SCR, 0xa5);
    assert_int_equal(inb_(m, COM1 + UART_SCR), 0xa5);
    /* FIFO: IIR bits 7:6 once enabled; bit 5 clear (not a 16750) */
    assert_int_equal(inb_(m, COM1 + UART_IIR) & 0xe0, 0);
    outb_(m, COM1 + UART_IER, 0);
    outb_(m, COM1 + UART_FCR, FCR_ENABLE | 0x20);
    assert_int_equal(inb_(m, COM1 + UART_IIR), IIR_FIFO_ON | IIR_NO_INT);
}

static void test_uart_lsr_and_lines(void **state)
{
    struct vmm *m = *state;
    assert_int_equal(inb_(m, COM1 + UART_LSR), LSR_THRE | LSR_TEMT);
    const char *s = "hello\r\nworld\n";
    for (const char *p = s; *p; p++)
        outb_(m, COM1 + UART_THR, (uint8_t)*p);
    assert_int_equal(nlines, 2);
    assert_string_equal(lines[0], "hello");
    assert_string_equal(lines[1], "world");
    /* a long line is cut, nothing lost */
    for (unsigned i = 0; i < UART_LINE_MAX + 10; i++)
        outb_(m, COM1 + UART_THR, 'x');
    assert_int_equal(nlines, 3);
    assert_int_equal(strlen(lines[2]), UART_LINE_MAX - 1);
}

static void test_uart_rx_and_iir_priorities(void **state)
{
    struct vmm *m = *state;
    outb_(m, COM1 + UART_FCR, FCR_ENABLE);
    outb_(m, COM1 + UART_IER, IER_RDI | IER_THRI | IER_RLSI);
    /* enabling THRI with THR empty: THRE interrupt, IRQ 4 up */
    assert_int_equal(irq_calls, 1);
    assert_int_equal(irq_gsi, 4);
    assert_true(irq_level);
    vmm_uart_input(m, 'a');
    vmm_uart_input(m, 'b');
    assert_int_equal(inb_(m, COM1 + UART_LSR) & LSR_DR, LSR_DR);
    /* received data outranks THRE */
    assert_int_equal(inb_(m, COM1 + UART_IIR), IIR_FIFO_ON | IIR_RDI);
    assert_int_equal(inb_(m, COM1 + UART_RBR), 'a');
    assert_int_equal(inb_(m, COM1 + UART_RBR), 'b');
    assert_int_equal(inb_(m, COM1 + UART_LSR) & LSR_DR, 0);
    /* then THRE; reading IIR acknowledges it and the line drops */
    assert_int_equal(inb_(m, COM1 + UART_IIR), IIR_FIFO_ON | IIR_THRI);
    assert_int_equal(inb_(m, COM1 + UART_IIR), IIR_FIFO_ON | IIR_NO_INT);
    assert_false(irq_level);
    /* Linux's THRE re-assert test: IER 0 then THRI again raises it again */
    outb_(m, COM1 + UART_IER, 0);
    outb_(m, COM1 + UART_IER, IER_THRI);
    assert_int_equal(inb_(m, COM1 + UART_IIR) & 0x0f, IIR_THRI);
    /* console input never overruns: a full FIFO refuses the byte (the
     * kernel keeps it and retries), data-available stays the interrupt */
    outb_(m, COM1 + UART_IER, IER_RDI | IER_RLSI);
    for (unsigned i = 0; i < UART_FIFO_SIZE; i++)
        assert_true(vmm_uart_input(m, (char)('0' + i % 10)));
    assert_false(vmm_uart_input(m, 'x'));
    assert_int_equal(inb_(m, COM1 + UART_IIR) & 0x0f, IIR_RDI);
    assert_int_equal(inb_(m, COM1 + UART_LSR) & (LSR_OE | LSR_DR), LSR_DR);
    outb_(m, COM1 + UART_FCR, FCR_ENABLE | FCR_CLEAR_RX);
    assert_int_equal(inb_(m, COM1 + UART_IIR) & 0x0f, IIR_NO_INT);
    assert_false(irq_level);
}

static void test_uart_loopback(void **state)
{
    struct vmm *m = *state;
    /* Linux autoconfig: MCR = LOOP | RTS | OUT2 -> MSR high nibble 0x90 */
    outb_(m, COM1 + UART_MCR, MCR_LOOP | 0x0a);
    assert_int_equal(inb_(m, COM1 + UART_MSR) & 0xf0, 0x90);
    outb_(m, COM1 + UART_THR, 'z');
    assert_int_equal(nlines, 0);
    outb_(m, COM1 + UART_THR, '\n');
    assert_int_equal(nlines, 0);                /* looped, not printed */
    assert_int_equal(inb_(m, COM1 + UART_RBR), 'z');
    assert_int_equal(inb_(m, COM1 + UART_RBR), '\n');
    outb_(m, COM1 + UART_MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
    assert_int_equal(inb_(m, COM1 + UART_MSR) & 0xf0, MSR_LINES_IDLE);
    outb_(m, COM1 + UART_THR, 'q');
    outb_(m, COM1 + UART_THR, '\n');
    assert_int_equal(nlines, 1);
    assert_string_equal(lines[0], "q");
}

/* ---- RTC / CMOS ------------------------------------------------------------------------ */
static uint8_t cmos(struct vmm *m, uint8_t reg)
{
    outb_(m, 0x70, reg);
    return inb_(m, 0x71);
}

static void test_rtc_bcd_binary(void **state)
{
    struct vmm *m = *state;
    /* epoch 2026-01-01 00:00:00 (Thursday) + 1 day 13:45:27.5 */
    fake_tsc += (86400ull + 13 * 3600 + 45 * 60 + 27) * tsc_hz + tsc_hz / 2;
    assert_int_equal(cmos(m, RTC_REG_B), REGB_24H);
    assert_int_equal(cmos(m, RTC_REG_D), REGD_VRT);
    assert_int_equal(cmos(m, RTC_SECONDS), 0x27);
    assert_int_equal(cmos(m, RTC_MINUTES), 0x45);
    assert_int_equal(cmos(m, RTC_HOURS), 0x13);
    assert_int_equal(cmos(m, RTC_DAY), 0x02);
    assert_int_equal(cmos(m, RTC_MONTH), 0x01);
    assert_int_equal(cmos(m, RTC_YEAR), 0x26);
    assert_int_equal(cmos(m, RTC_CENTURY), 0x20);
    assert_int_equal(cmos(m, RTC_WEEKDAY), 6);      /* Friday */
    outb_(m, 0x70, RTC_REG_B);
    outb_(m, 0x71, REGB_24H | REGB_DM_BINARY);
    assert_int_equal(cmos(m, RTC_SECONDS), 27);
    assert_int_equal(cmos(m, RTC_HOURS), 13);
    assert_int_equal(cmos(m, RTC_YEAR), 26);
    outb_(m, 0x70, RTC_REG_B);
    outb_(m, 0x71, REGB_DM_BINARY);                 /* 12-hour mode */
    assert_int_equal(cmos(m, RTC_HOURS), 1 | RTC_HOUR_PM);
    /* UIP only in the last 244 us before a second boundary */
    assert_int_equal(cmos(m, RTC_REG_A), REGA_DEFAULT);
    fake_tsc += tsc_hz / 2 - 100 * 1000;            /* 100 us before the update */
    assert_int_equal(cmos(m, RTC_REG_A), REGA_DEFAULT | REGA_UIP);
    /* NMI mask bit does not change the register selected */
    outb_(m, 0x70, RTC_NMI_DISABLE | RTC_MONTH);
    assert_int_equal(inb_(m, 0x71), 1);
    assert_int_equal(inb_(m, 0x70), RTC_NMI_DISABLE | RTC_MONTH);
    /* plain CMOS RAM */
    outb_(m, 0x70, 0x40);
    outb_(m, 0x71, 0x5a);
    assert_int_equal(cmos(m, 0x40), 0x5a);
}

static void test_rtc_memory_size(void **state)
{
    struct vmm *m = *state;                         /* 512 MiB */
    assert_int_equal(cmos(m, 0x15) | cmos(m, 0x16) << 8, 640);
    assert_int_equal(cmos(m, 0x17) | cmos(m, 0x18) << 8, 0xffff);   /* capped */
    assert_int_equal(cmos(m, 0x30) | cmos(m, 0x31) << 8, 0xffff);
    assert_int_equal(cmos(m, 0x34) | cmos(m, 0x35) << 8, (512 - 16) * 16);
    assert_int_equal(cmos(m, 0x5b) | cmos(m, 0x5c) | cmos(m, 0x5d), 0);
    struct vmm *small = make_vm(32 * MIB);
    assert_int_equal(cmos(small, 0x17) | cmos(small, 0x18) << 8, 31 * 1024);
    assert_int_equal(cmos(small, 0x34) | cmos(small, 0x35) << 8, 16 * 16);
    free(small);
    struct vmm *big = make_vm(6 * GIB);
    assert_int_equal(cmos(big, 0x34) | cmos(big, 0x35) << 8, (VMM_PCI_HOLE_START - 16 * MIB) >> 16);
    assert_int_equal(cmos(big, 0x5b) | cmos(big, 0x5c) << 8 | cmos(big, 0x5d) << 16, 2 * 16384);
    free(big);
}

/* ---- PIT ------------------------------------------------------------------------------- */
static void test_pit_channel2_gate_timing(void **state)
{
    struct vmm *m = *state;
    /* Linux pit_calibrate_tsc: gate high, speaker off, ch2 mode 0, 50 ms */
    outb_(m, 0x61, (inb_(m, 0x61) & ~0x02) | 0x01);
    outb_(m, 0x43, 0xb0);
    unsigned latch = PIT_HZ / 20;
    outb_(m, 0x42, latch & 0xff);
    outb_(m, 0x42, latch >> 8);
    assert_int_equal(inb_(m, 0x61) & (PB_OUT2 | PB_GATE2), PB_GATE2);
    fake_tsc += 49 * 1000 * 1000;                   /* 49 ms */
    assert_int_equal(inb_(m, 0x61) & PB_OUT2, 0);
    fake_tsc += 2 * 1000 * 1000;                    /* 51 ms */
    assert_int_equal(inb_(m, 0x61) & PB_OUT2, PB_OUT2);
    /* quick_pit_calibrate: start at 0xffff, read LSB/MSB pairs as time passes */
    outb_(m, 0x43, 0xb0);
    outb_(m, 0x42, 0xff);
    outb_(m, 0x42, 0xff);
    fake_tsc += 839 * 256;                          /* 256.3 PIT clocks */
    (void)inb_(m, 0x42);
    assert_int_equal(inb_(m, 0x42), 0xfe);
    /* latch command freezes the value */
    outb_(m, 0x43, 0x80);
    uint8_t lo = inb_(m, 0x42);
    fake_tsc += 1000 * 1000;
    uint8_t hi = inb_(m, 0x42);
    assert_int_equal(hi << 8 | lo, 0xffff - 256 + 0);
}

static void test_pit_channel0_modes_and_readback(void **state)
{
    struct vmm *m = *state;
    /* mode 2 (rate generator), reload 1000: count wraps every 1000 clocks */
    outb_(m, 0x43, 0x34);
    outb_(m, 0x40, 1000 & 0xff);
    outb_(m, 0x40, 1000 >> 8);
    fake_tsc += 2500ull * 1000000000 / PIT_HZ + 1;  /* 2500 clocks */
    outb_(m, 0x43, 0x00);                           /* latch ch0 */
    unsigned v = inb_(m, 0x40);
    v |= inb_(m, 0x40) << 8;
    assert_int_equal(v, 500);
    /* mode 3, LSB only: counts down by two */
    outb_(m, 0x43, 0x16);
    outb_(m, 0x40, 100);
    fake_tsc += 10ull * 1000000000 / PIT_HZ + 1;
    assert_int_equal(inb_(m, 0x40), 80);
    /* read-back: status of ch0 (mode 3, RW LSB, OUT high in the 1st half) */
    outb_(m, 0x43, 0xc0 | RB_NO_COUNT | RB_CNT0);
    assert_int_equal(inb_(m, 0x40), ST_OUT | CW_RW_LSB << CW_RW_SHIFT | 3 << CW_MODE_SHIFT);
    assert_int_equal(inb_(m, 0x40), 80);            /* status consumed: count again */
}

/* IRQ 0: loading channel 0 arms the kernel's timer; each expiry is an edge on ISA IRQ 0. */
static void test_pit_irq0_timer(void **state)
{
    struct vmm *m = *state;
    timer_calls = 0;
    /* Linux's periodic PIT tick: mode 2, LATCH 4773 (250 Hz) */
    outb_(m, 0x43, 0x34);
    assert_int_equal(timer_calls, 1);               /* new mode: stopped */
    assert_int_equal(timer_deadline, 0);
    outb_(m, 0x40, 4773 & 0xff);
    assert_int_equal(timer_calls, 1);               /* half a count: nothing yet */
    outb_(m, 0x40, 4773 >> 8);
    assert_int_equal(timer_calls, 2);
    uint64_t ticks = (4773ull * 1000000000 + PIT_HZ / 2) / PIT_HZ;    /* 1 GHz TSC */
    assert_int_equal(timer_deadline, fake_tsc + ticks);
    assert_int_equal(timer_period, ticks);
    irq_calls = 0;
    vmm_timer_expired(m, timer_id);
    assert_int_equal(irq_calls, 2);                 /* up, then down: one edge */
    assert_int_equal(irq_gsi, 0);
    assert_false(irq_level);
    /* one-shot (mode 4, as Linux's oneshot PIT): no period */
    outb_(m, 0x43, 0x38);
    outb_(m, 0x40, 100);
    outb_(m, 0x40, 0);
    assert_int_equal(timer_period, 0);
    assert_int_equal(timer_deadline, fake_tsc + (100ull * 1000000000 + PIT_HZ / 2) / PIT_HZ);
    /* channel 2 (calibration) and latches leave the timer alone */
    unsigned n = timer_calls;
    outb_(m, 0x43, 0xb0);
    outb_(m, 0x42, 0xff);
    outb_(m, 0x42, 0xff);
    outb_(m, 0x43, 0x00);
    assert_int_equal(timer_calls, n);
    /* shut down (mode 0, no count): an expiry that raced with it raises nothing */
    outb_(m, 0x43, 0x30);
    assert_int_equal(timer_deadline, 0);
    irq_calls = 0;
    vmm_timer_expired(m, timer_id);
    assert_int_equal(irq_calls, 0);
}

/* ---- PIC ------------------------------------------------------------------------------- */
static void test_pic_init_and_imr(void **state)
{
    struct vmm *m = *state;
    /* Linux probe_8259A: IMR reads back */
    outb_(m, 0x21, 0xfb);
    assert_int_equal(inb_(m, 0x21), 0xfb);
    outb_(m, 0xa1, 0xff);
    /* init_8259A */
    outb_(m, 0x20, 0x11);
    outb_(m, 0x21, 0x30);
    outb_(m, 0x21, 0x04);
    outb_(m, 0x21, 0x01);
    assert_int_equal(inb_(m, 0x21), 0);             /* ICW1 cleared IMR */
    outb_(m, 0xa0, 0x11);
    outb_(m, 0xa1, 0x38);
    outb_(m, 0xa1, 0x02);
    outb_(m, 0xa1, 0x01);
    outb_(m, 0x21, 0xff);
    outb_(m, 0xa1, 0xff);
    assert_int_equal(inb_(m, 0x21), 0xff);
    assert_int_equal(inb_(m, 0xa1), 0xff);
    struct vmm_pic *p = m->devs[0].state;
    for (unsigned i = 0; i < m->ndevs; i++)
        if (!strcmp(m->devs[i].name, "pic-master"))
            p = m->devs[i].state;
    assert_int_equal(p->chip[0].vector_base, 0x30);
    assert_int_equal(p->chip[1].vector_base, 0x38);
    /* OCW3: read ISR / IRR: nothing pending */
    outb_(m, 0x20, 0x0b);
    assert_int_equal(inb_(m, 0x20), 0);
    outb_(m, 0x20, 0x0a);
    assert_int_equal(inb_(m, 0x20), 0);
    outb_(m, 0x20, 0x20);                           /* EOI: accepted */
    /* ELCR: fixed-edge bits stay clear */
    out(m, 0x4d0, 2, 0xffff);
    assert_int_equal(in(m, 0x4d0, 2), ELCR_SLAVE_MASK << 8 | ELCR_MASTER_MASK);
}

/* ---- PCI ------------------------------------------------------------------------------- */
static uint32_t cf8(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
    return PCI_ADDR_ENABLE | bus << 16 | dev << 11 | fn << 8 | reg;
}

static uint64_t ecam(struct vmm *m, unsigned bus, unsigned dev, unsigned fn, unsigned reg, unsigned size)
{
    uint64_t v = 0;
    assert_true(vmm_dev_mmio(m, VMM_ECAM_BASE + ((uint64_t)bus << 20 | dev << 15 | fn << 12 | reg),
                             false, size, &v));
    return v;
}

static void test_pci_mechanism1(void **state)
{
    struct vmm *m = *state;
    out(m, 0xcf8, 4, cf8(0, 0, 0, 0));
    assert_int_equal(in(m, 0xcf8, 4), cf8(0, 0, 0, 0));
    assert_int_equal(in(m, 0xcfc, 4), HOSTBRIDGE_DEVICE << 16 | HOSTBRIDGE_VENDOR);
    assert_int_equal(in(m, 0xcfc, 2), HOSTBRIDGE_VENDOR);
    assert_int_equal(in(m, 0xcfe, 2), HOSTBRIDGE_DEVICE);
    assert_int_equal(in(m, 0xcfd, 1), HOSTBRIDGE_VENDOR >> 8);
    out(m, 0xcf8, 4, cf8(0, 0, 0, 8));
    assert_int_equal(in(m, 0xcfc, 4) >> 8, 0x060000);        /* class: host bridge */
    assert_int_equal(in(m, 0xcff, 1), 0x06);
    out(m, 0xcf8, 4, cf8(0, 0, 0, 0xc));
    assert_int_equal(in(m, 0xcfe, 1), 0);                     /* header type 0 */
    /* enable bit clear: nothing */
    out(m, 0xcf8, 4, cf8(0, 0, 0, 0) & ~PCI_ADDR_ENABLE);
    assert_int_equal(in(m, 0xcfc, 4), 0xffffffff);
    /* absent device and bus */
    out(m, 0xcf8, 4, cf8(0, 5, 0, 0));
    assert_int_equal(in(m, 0xcfc, 4), 0xffffffff);
    assert_int_equal(in(m, 0xcfe, 2), 0xffff);
    out(m, 0xcf8, 4, cf8(1, 0, 0, 0));
    assert_int_equal(in(m, 0xcfc, 4), 0xffffffff);
    /* command register: byte write at 0xcfc+0, read-only vendor untouched */
    out(m, 0xcf8, 4, cf8(0, 0, 0, 4));
    out(m, 0xcfc, 1, 0x06);
    assert_int_equal(in(m, 0xcfc, 2), 0x06);
    out(m, 0xcf8, 4, cf8(0, 0, 0, 0));
    out(m, 0xcfc, 4, 0);
    assert_int_equal(in(m, 0xcfc, 2), HOSTBRIDGE_VENDOR);
    /* byte accesses to 0xcf8 do not touch CONFIG_ADDRESS */
    out(m, 0xcf8, 1, 0);
    assert_int_equal(in(m, 0xcf8, 4), cf8(0, 0, 0, 0));
}

static void test_pci_ecam(void **state)
{
    struct vmm *m = *state;
    assert_int_equal(ecam(m, 0, 0, 0, 0, 4), HOSTBRIDGE_DEVICE << 16 | HOSTBRIDGE_VENDOR);
    assert_int_equal(ecam(m, 0, 0, 0, 2, 2), HOSTBRIDGE_DEVICE);
    assert_int_equal(ecam(m, 0, 0, 0, 0xb, 1), 0x06);
    assert_int_equal(ecam(m, 0, 0, 0, 0x100, 4), 0);          /* no extended caps */
    assert_int_equal(ecam(m, 0, 0, 0, 4, 8) >> 32, 0x06000000);
    assert_int_equal(ecam(m, 0, 1, 0, 0, 4), 0xffffffff);
    assert_int_equal(ecam(m, 0, 0, 3, 0, 2), 0xffff);
    assert_int_equal(ecam(m, 255, 31, 7, 0xffc, 4), 0xffffffff);
    uint64_t v = 0x12345678;
    assert_true(vmm_dev_mmio(m, VMM_ECAM_BASE + PCI_INTERRUPT_LINE, true, 1, &v));
    assert_int_equal(ecam(m, 0, 0, 0, PCI_INTERRUPT_LINE, 1), 0x78);
}

static uint64_t bar_hits, bar_last_off;
static unsigned moved_bar;
static uint64_t moved_addr;
static void my_bar_access(struct vmm *m, struct vmm_pci_fn *f, unsigned bar, uint64_t off,
                          bool write, unsigned size, uint64_t *val)
{
    bar_hits++;
    bar_last_off = off;
    if (!write)
        *val = 0xabcd0000 | bar;
}
static void my_bar_moved(struct vmm *m, struct vmm_pci_fn *f, unsigned bar, uint64_t addr)
{
    moved_bar = bar;
    moved_addr = addr;
}

static void test_pci_bars_and_caps(void **state)
{
    struct vmm *m = *state;
    struct vmm_pci_fn *f = vmm_pci_add_function(m, 3, 0, 0x1af4, 0x1041, 0x02000001);
    assert_non_null(f);
    assert_null(vmm_pci_add_function(m, 3, 0, 1, 2, 3));      /* taken */
    assert_int_equal(vmm_pci_set_bar(m, f, 0, 0x1000, VMM_PCI_BAR_MEM32), 0);
    assert_int_equal(vmm_pci_set_bar(m, f, 2, 0x4000, VMM_PCI_BAR_MEM64), 0);
    assert_int_equal(vmm_pci_set_bar(m, f, 1, 0x100, VMM_PCI_BAR_IO), -1);
    assert_int_equal(vmm_pci_set_bar(m, f, 5, 0x1000, VMM_PCI_BAR_MEM64), -1);
    f->bar_access = my_bar_access;
    f->bar_moved = my_bar_moved;
    unsigned dev = 3;
    /* placed in the window, aligned */
    assert_int_equal(ecam(m, 0, dev, 0, PCI_BAR0, 4), VMM_PCI_MMIO_BASE);
    assert_int_equal(ecam(m, 0, dev, 0, PCI_BAR0 + 8, 4), (VMM_PCI_MMIO_BASE + 0x4000) | VMM_PCI_BAR_MEM64);
    assert_int_equal(ecam(m, 0, dev, 0, PCI_BAR0 + 12, 4), 0);
    /* sizing through mechanism #1 */
    out(m, 0xcf8, 4, cf8(0, dev, 0, PCI_BAR0));
    out(m, 0xcfc, 4, 0xffffffff);
    assert_int_equal(in(m, 0xcfc, 4), 0xfffff000);
    out(m, 0xcf8, 4, cf8(0, dev, 0, PCI_BAR0 + 8));
    out(m, 0xcfc, 4, 0xffffffff);
    assert_int_equal(in(m, 0xcfc, 4), 0xffffc000 | VMM_PCI_BAR_MEM64);
    out(m, 0xcf8, 4, cf8(0, dev, 0, PCI_BAR0 + 12));
    out(m, 0xcfc, 4, 0xffffffff);
    assert_int_equal(in(m, 0xcfc, 4), 0xffffffff);
    out(m, 0xcfc, 4, 0);
    out(m, 0xcf8, 4, cf8(0, dev, 0, PCI_BAR0 + 8));
    out(m, 0xcfc, 4, 0xd0000000);
    assert_int_equal(moved_bar, 2);
    assert_int_equal(moved_addr, 0xd0000000);
    /* BAR 0 back to its place; accesses route to the device */
    out(m, 0xcf8, 4, cf8(0, dev, 0, PCI_BAR0));
    out(m, 0xcfc, 4, (uint32_t)VMM_PCI_MMIO_BASE);
    uint64_t v = 0;
    assert_true(vmm_dev_mmio(m, 0xd0000010, false, 4, &v));
    assert_int_equal(v, 0xabcd0002);
    assert_int_equal(bar_last_off, 0x10);
    assert_true(vmm_dev_mmio(m, VMM_PCI_MMIO_BASE + 4, false, 4, &v));
    assert_int_equal(v, 0xabcd0000);
    /* memory decoding off: the window floats */
    out(m, 0xcf8, 4, cf8(0, dev, 0, PCI_COMMAND));
    out(m, 0xcfc, 2, 0);
    uint64_t hits = bar_hits;
    assert_true(vmm_dev_mmio(m, VMM_PCI_MMIO_BASE + 4, false, 4, &v));
    assert_int_equal(v, 0xffffffff);
    assert_int_equal(bar_hits, hits);
    /* capabilities: a vendor cap, then MSI-X; list linked from 0x34 */
    unsigned c1 = vmm_pci_add_cap(f, PCI_CAP_ID_VNDR, 6);
    unsigned c2 = vmm_pci_add_msix_cap(f, 3, 0, 0x800, 0, 0xc00);
    assert_int_equal(c1, PCI_CAP_START);
    assert_int_equal(c2, PCI_CAP_START + 8);
    assert_int_equal(ecam(m, 0, dev, 0, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, PCI_STATUS_CAP_LIST);
    assert_int_equal(ecam(m, 0, dev, 0, PCI_CAP_PTR, 1), c1);
    assert_int_equal(ecam(m, 0, dev, 0, c1, 2), (uint64_t)c2 << 8 | PCI_CAP_ID_VNDR);
    assert_int_equal(ecam(m, 0, dev, 0, c2, 4), 2u << 16 | PCI_CAP_ID_MSIX);
    assert_int_equal(ecam(m, 0, dev, 0, c2 + 4, 4), 0x800);
    v = 0xffff;                                                /* only enable + mask stick */
    assert_true(vmm_dev_mmio(m, VMM_ECAM_BASE + (dev << 15) + c2 + 2, true, 2, &v));
    assert_int_equal(ecam(m, 0, dev, 0, c2 + 2, 2), PCI_MSIX_ENABLE | PCI_MSIX_MASKALL | 2);
}

/* ---- PM, reset ------------------------------------------------------------------------- */
static void test_pm_registers(void **state)
{
    struct vmm *m = *state;
    assert_int_equal(in(m, VMM_PM1A_CNT_BLK, 2) & PM1_CNT_SCI_EN, PM1_CNT_SCI_EN);
    assert_int_equal(in(m, VMM_PM1A_EVT_BLK, 2), 0);
    out(m, VMM_PM1A_EVT_BLK + 2, 2, 0xffff);
    assert_int_equal(in(m, VMM_PM1A_EVT_BLK + 2, 2), PM1_EN_MASK);
    uint32_t t0 = in(m, VMM_PM_TMR_BLK, 4);
    fake_tsc += tsc_hz;                                          /* one second */
    assert_int_equal(in(m, VMM_PM_TMR_BLK, 4) - t0, VMM_PM_TMR_HZ);
    /* the kernel answers reads of the same timer (kernel/exit.c clock_read):
     * the monitor told it the port, rate and origin its model uses */
    assert_int_equal(io_clock.port, VMM_PM_TMR_BLK);
    assert_int_equal(io_clock.hz, VMM_PM_TMR_HZ);
    fake_tsc += 12345678;
    assert_int_equal(io_clock_value(fake_tsc - io_clock.tsc0, tsc_hz, io_clock.hz),
                     in(m, VMM_PM_TMR_BLK, 4));
    /* an S1 request is ignored, the VM keeps running */
    out(m, VMM_PM1A_CNT_BLK, 2, 1 << PM1_CNT_SLP_TYP_SHIFT | PM1_CNT_SLP_EN);
    assert_int_equal(m->power_off_requested, 0);
    assert_int_equal(in(m, VMM_PM1A_CNT_BLK, 2) & PM1_CNT_SLP_EN, 0);
}

static void test_pm_s5_stops_vm(void **state)
{
    struct vmm *m = *state;
    struct vmm_reply rp;
    /* as ACPICA does: SLP_TYP first, then SLP_TYP | SLP_EN */
    uint32_t typ = VMM_PM_S5_SLP_TYP << PM1_CNT_SLP_TYP_SHIFT;
    exit_out(m, VMM_PM1A_CNT_BLK, 2, typ | PM1_CNT_SCI_EN, &rp);
    assert_int_equal(rp.action, VMM_RESUME);
    exit_out(m, VMM_PM1A_CNT_BLK, 2, typ | PM1_CNT_SLP_EN | PM1_CNT_SCI_EN, &rp);
    assert_int_equal(m->power_off_requested, 1);
    assert_int_equal(rp.action, VMM_STOP_VM);
    assert_int_equal(rp.exit_code, 0);
    assert_string_equal(rp.why, "guest powered off (ACPI S5)");
    assert_int_equal(nlines, 1);
    assert_string_equal(lines[0], "guest powered off (ACPI S5)");
}

static void test_reset_paths(void **state)
{
    struct vmm_reply rp;
    struct vmm *m = *state;
    exit_out(m, 0xcf9, 1, 0x02, &rp);                           /* Linux reboot=pci */
    assert_int_equal(rp.action, VMM_RESUME);
    exit_out(m, 0xcf9, 1, 0x06, &rp);
    assert_int_equal(rp.action, VMM_RESET_VM);
    assert_string_equal(rp.why, "guest requested reset");
    /* keyboard controller pulse */
    m = make_vm(64 * MIB);
    exit_out(m, 0x64, 1, 0xfe, &rp);
    assert_int_equal(rp.action, VMM_RESET_VM);
    free(m);
    /* port 0x92 fast reset; A20 is kept */
    m = make_vm(64 * MIB);
    exit_out(m, 0x92, 1, SYSCTL_A_A20, &rp);
    assert_int_equal(rp.action, VMM_RESUME);
    assert_int_equal(inb_(m, 0x92), SYSCTL_A_A20);
    exit_out(m, 0x92, 1, SYSCTL_A_A20 | SYSCTL_A_RESET, &rp);
    assert_int_equal(rp.action, VMM_RESET_VM);
    free(m);
}

/* ---- legacy ---------------------------------------------------------------------------- */
static void test_i8042_and_floating(void **state)
{
    struct vmm *m = *state;
    assert_int_equal(inb_(m, 0x64) & KBC_STS_OBF, 0);            /* no data */
    outb_(m, 0x64, KBC_SELF_TEST);
    assert_int_equal(inb_(m, 0x64) & KBC_STS_OBF, KBC_STS_OBF);
    assert_int_equal(inb_(m, 0x60), 0x55);
    assert_int_equal(inb_(m, 0x64) & KBC_STS_OBF, 0);
    outb_(m, 0x64, KBC_READ_CTR);
    assert_int_equal(inb_(m, 0x60), KBC_CTR_DEFAULT);
    outb_(m, 0x64, KBC_WRITE_CTR);
    outb_(m, 0x60, 0x45);
    outb_(m, 0x64, KBC_READ_CTR);
    assert_int_equal(inb_(m, 0x60), 0x45);
    outb_(m, 0x60, 0xf2);                                        /* to the keyboard: silence */
    assert_int_equal(inb_(m, 0x64) & KBC_STS_OBF, 0);
    assert_int_equal(m->reset_requested, 0);
    /* floating ranges, POST port */
    assert_int_equal(inb_(m, 0x2e), 0xff);
    assert_int_equal(inb_(m, 0x3da), 0xff);
    assert_int_equal(in(m, 0x3c0, 2), 0xffff);
    assert_int_equal(inb_(m, 0x0d), 0xff);
    outb_(m, 0x80, 0x12);
    assert_int_equal(m->unhandled_io, 0);
}

/* ---- robustness: random accesses to every registered range (ASan/UBSan watch) -------- */
static void test_random_accesses(void **state)
{
    struct vmm *m = *state;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    static const unsigned sizes[] = { 1, 2, 4, 8 };
    for (unsigned i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        const struct vmm_dev *d = &m->devs[x % m->ndevs];
        bool write = x >> 8 & 1;
        unsigned size = sizes[x >> 9 & 3];
        fake_tsc += x >> 40;
        if (d->port_count) {
            uint32_t v = (uint32_t)(x >> 16);
            size = size == 8 ? 1 : size;
            /* keep clear of the reset/power-off bits: the VM would stop */
            uint16_t port = (uint16_t)(d->port_base + (x >> 12) % d->port_count);
            if (write && (port == 0xcf9 || port == 0x92 || port == 0x64 || port == 0x60 ||
                          (port + size > VMM_PM1A_CNT_BLK && port < VMM_PM_TMR_BLK)))
                continue;
            vmm_dev_io(m, port, write, size, &v);
        } else {
            uint64_t v = x, off = (x >> 11) % d->mmio_size;
            off &= ~(uint64_t)(size - 1);
            vmm_dev_mmio(m, d->mmio_base + off, write, size, &v);
        }
    }
    assert_int_equal(m->power_off_requested | m->reset_requested, 0);
    /* the host bridge survives: its IDs are read-only */
    assert_int_equal(ecam(m, 0, 0, 0, 0, 4), HOSTBRIDGE_DEVICE << 16 | HOSTBRIDGE_VENDOR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_exit_length_from_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uart_dlab_and_scratch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uart_lsr_and_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uart_rx_and_iir_priorities, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uart_loopback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtc_bcd_binary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtc_memory_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pit_channel2_gate_timing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pit_channel0_modes_and_readback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pit_irq0_timer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pic_init_and_imr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci_mechanism1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci_ecam, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci_bars_and_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pm_registers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pm_s5_stops_vm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_i8042_and_floating, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_accesses, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
