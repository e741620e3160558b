/*
 * Interrupt delivery through the virtual LAPIC at volume, on the PC
 * platform (type "multiboot"): self-IPIs by the xAPIC ICR, xAPIC register
 * reads and a self-IPI held back by the xAPIC TPR, then in x2APIC
 * mode by the SELF IPI MSR with EOI by MSR, and a self-IPI held back by
 * the x2APIC TPR until the TPR drops, and a level-triggered IOAPIC
 * interrupt (the UART's THR-empty on pin 4) whose EOI by MSR must reach the
 * IOAPIC (remote IRR) for the line to fire again.  With VMX virtual-interrupt delivery
 * and x2APIC virtualization the x2APIC part needs no exits at all: the
 * boot test (tests/boot/bochs-guests.sh) reads the VM's exit counters
 * printed at its stop (no irq-window exits, far fewer WRMSR exits than the
 * 2 * VID_X2APIC_IPIS writes made) and, through the APIC-access page,
 * the xAPIC part exits only for the ICR writes (APIC-write exits); the
 * level-triggered EOI exits
 * (VMX EOI-exit bitmap) to the monitor's IOAPIC.  Elsewhere the same guest runs on the
 * fallback (event injection, every MSR write an exit) and passes too.
 */
#include "../lib/guest.h"

#define APIC            0xfee00000u
#define APIC_SVR        (APIC + 0xf0)
#define APIC_EOI        (APIC + 0xb0)
#define APIC_ICR_LO     (APIC + 0x300)
#define MSR_APIC_BASE   0x1bu
#define MSR_X2_TPR      0x808u
#define MSR_X2_EOI      0x80bu
#define MSR_X2_IRR2     0x822u              /* vectors 64-95 */
#define MSR_X2_SELF_IPI 0x83fu
#define IOAPIC          0xfec00000u         /* IOREGSEL; IOWIN at +0x10 */
#define UART_IER        0x3f9u
#define UART_IIR        0x3fau
#define APIC_VERSION    (APIC + 0x30)
#define APIC_TPR        (APIC + 0x80)
#define APIC_IRR2       (APIC + 0x220)      /* vectors 64-95 */
#define APIC_LVT_TIMER  (APIC + 0x320)
#define APIC_TMICT      (APIC + 0x380)
#define APIC_TMCCT      (APIC + 0x390)
#define APIC_TDCR       (APIC + 0x3e0)
#define XAPIC_IPIS      500
#define VID_X2APIC_IPIS 1000

static volatile unsigned xapic_ipis, xapic_high, x2_ipis, x2_high, uart_irqs;
static volatile int level_test;
static volatile int x2apic;

static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static void on_32(struct guest_frame *f)
{
    if (x2apic) {
        x2_ipis++;
        wrmsr(MSR_X2_EOI, 0);
    } else {
        xapic_ipis++;
        mmio_write32(APIC_EOI, 0);
    }
}

static void on_64(struct guest_frame *f)
{
    if (!x2apic) {
        xapic_high++;
        mmio_write32(APIC_EOI, 0);
        return;
    }
    if (level_test) {
        uart_irqs++;
        inb(UART_IIR);                  /* acknowledges THRE: the line drops */
    } else {
        x2_high++;
    }
    wrmsr(MSR_X2_EOI, 0);
}

static void ioapic_write(unsigned reg, uint32_t v)
{
    mmio_write32(IOAPIC, reg);
    mmio_write32(IOAPIC + 0x10, v);
}

static void on_gp(struct guest_frame *f)
{
    CHECK(0, "#GP (x2APIC mode %d) at eip %x, error %x", x2apic, f->eip, f->error);
}

int guest_main(uint32_t magic, uint32_t mbi)
{
    idt_install();
    set_handler(13, on_gp);
    set_handler(32, on_32);
    set_handler(64, on_64);
    mmio_write32(APIC_SVR, 0x1ff);

    /* xAPIC: fixed self-IPIs by the ICR (shorthand "self"), EOI by MMIO */
    for (unsigned i = 0; i < XAPIC_IPIS; i++) {
        mmio_write32(APIC_ICR_LO, (1u << 18) | 32);
        __asm__ volatile("sti; nop; cli");
        CHECK(xapic_ipis == i + 1, "xAPIC self-IPI %u not taken (%u)", i, xapic_ipis);
    }
    print("xAPIC: %u self-IPIs taken\n", xapic_ipis);

    /* xAPIC registers: reads (from the virtual-APIC page where the CPU
     * virtualizes them, else by the monitor), TPR holding a vector in IRR */
    CHECK(mmio_read32(APIC_VERSION) == 0x50014, "xAPIC version %x", mmio_read32(APIC_VERSION));
    CHECK(mmio_read32(APIC_TMCCT) == 0, "timer count %x with the timer off", mmio_read32(APIC_TMCCT));
    mmio_write32(APIC_TPR, 0x40);
    CHECK((mmio_read32(APIC_TPR) & 0xff) == 0x40, "xAPIC TPR reads %x", mmio_read32(APIC_TPR));
    mmio_write32(APIC_ICR_LO, (1u << 18) | 64);
    __asm__ volatile("sti; nop; nop; cli");
    CHECK(xapic_high == 0, "vector 64 taken through TPR 0x40");
    CHECK(mmio_read32(APIC_IRR2) & 1, "vector 64 not pending in IRR (%x)", mmio_read32(APIC_IRR2));
    mmio_write32(APIC_TPR, 0);
    __asm__ volatile("sti; nop; nop; cli");
    CHECK(xapic_high == 1, "vector 64 not taken after TPR 0 (%u)", xapic_high);
    print("xAPIC TPR: held and released\n");

    /* the LAPIC timer programmed through the registers (with the
     * APIC-access page: APIC-write exits, the monitor's timer model) */
    unsigned before = xapic_ipis;
    mmio_write32(APIC_TDCR, 0xb);                   /* divide by 1 */
    mmio_write32(APIC_LVT_TIMER, 32);               /* one-shot, vector 32 */
    mmio_write32(APIC_TMICT, 100000);
    CHECK(mmio_read32(APIC_TMICT) == 100000, "timer initial count reads %x", mmio_read32(APIC_TMICT));
    for (unsigned i = 0; i < 1000 && xapic_ipis == before; i++)
        __asm__ volatile("sti; hlt; cli");
    CHECK(xapic_ipis == before + 1, "LAPIC timer interrupt not taken (%u)", xapic_ipis - before);
    CHECK(mmio_read32(APIC_TMCCT) == 0, "one-shot timer count %x after expiry", mmio_read32(APIC_TMCCT));
    mmio_write32(APIC_LVT_TIMER, 1u << 16);         /* masked */
    print("xAPIC timer: one-shot interrupt taken\n");

    /* x2APIC mode (SDM 3A 11.12.1): EN and EXTD */
    wrmsr(MSR_APIC_BASE, (rdmsr(MSR_APIC_BASE) & ~0xfffull) | (1u << 11) | (1u << 10));
    x2apic = 1;
    for (unsigned i = 0; i < VID_X2APIC_IPIS; i++) {
        wrmsr(MSR_X2_SELF_IPI, 32);
        __asm__ volatile("sti; nop; cli");
        CHECK(x2_ipis == i + 1, "x2APIC self-IPI %u not taken (%u)", i, x2_ipis);
    }
    print("x2APIC: %u self-IPIs taken, EOI by MSR\n", x2_ipis);

    /* TPR class 4 holds vector 64 (class 4) in IRR; TPR 0 lets it through */
    wrmsr(MSR_X2_TPR, 0x40);
    wrmsr(MSR_X2_SELF_IPI, 64);
    __asm__ volatile("sti; nop; nop; cli");
    CHECK(x2_high == 0, "vector 64 taken through TPR 0x40");
    CHECK(rdmsr(MSR_X2_IRR2) & 1, "vector 64 not pending in IRR");
    wrmsr(MSR_X2_TPR, 0);
    __asm__ volatile("sti; nop; nop; cli");
    CHECK(x2_high == 1, "vector 64 not taken after TPR 0 (%u)", x2_high);
    CHECK((uint32_t)rdmsr(MSR_X2_TPR) == 0, "TPR reads %x", (uint32_t)rdmsr(MSR_X2_TPR));
    print("x2APIC TPR: held and released\n");

    /* level-triggered: pin 4 (UART) -> vector 64, APIC 0; THRI raises it */
    level_test = 1;
    ioapic_write(0x10 + 2 * 4 + 1, 0);
    ioapic_write(0x10 + 2 * 4, (1u << 15) | 64);
    for (unsigned i = 0; i < 3; i++) {
        outb(UART_IER, 0);
        outb(UART_IER, 2);              /* THR empty: the line goes up */
        __asm__ volatile("sti; nop; nop; cli");
        CHECK(uart_irqs == i + 1, "level-triggered interrupt %u not taken (%u): "
              "EOI not seen by the IOAPIC?", i, uart_irqs);
    }
    outb(UART_IER, 0);
    ioapic_write(0x10 + 2 * 4, 1u << 16);      /* masked */
    print("IOAPIC level-triggered: %u interrupts, EOIs seen\n", uart_irqs);
    print("PASS: vid\n");
    return 0;
}
