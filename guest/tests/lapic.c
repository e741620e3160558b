/*
 * The virtual local APIC seen from a guest on the PC platform (type
 * "multiboot"): xAPIC registers, a fixed self-IPI held off by TPR, the
 * timer in periodic, one-shot and TSC-deadline modes with EOI, and
 * INIT-SIPI-SIPI starting the second vCPU in real mode.
 */
#include "../lib/guest.h"

#define APIC            0xfee00000u
#define APIC_ID         (APIC + 0x20)
#define APIC_VER        (APIC + 0x30)
#define APIC_TPR        (APIC + 0x80)
#define APIC_PPR        (APIC + 0xa0)
#define APIC_EOI        (APIC + 0xb0)
#define APIC_SVR        (APIC + 0xf0)
#define APIC_IRR1       (APIC + 0x210)      /* vectors 32-63 */
#define APIC_ICR_LO     (APIC + 0x300)
#define APIC_ICR_HI     (APIC + 0x310)
#define APIC_LVT_TIMER  (APIC + 0x320)
#define APIC_TIMER_ICR  (APIC + 0x380)
#define APIC_TIMER_CCR  (APIC + 0x390)
#define APIC_TIMER_DCR  (APIC + 0x3e0)
#define AP_FLAG         0x7000u             /* the AP's real-mode code sets it */
#define AP_CODE         0x8000u             /* SIPI vector 8 */

static volatile unsigned ipis, ticks;
static void on_ipi(struct guest_frame *f) { ipis++; mmio_write32(APIC_EOI, 0); }
static void on_timer(struct guest_frame *f) { ticks++; mmio_write32(APIC_EOI, 0); }

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

/* Short intervals only: 32-bit arithmetic (no libgcc in the guests). */
/* n / d with a 32-bit quotient (DIV r/m32; this 32-bit guest has no 64-bit
 * divide helper) */
static uint32_t div64_32(uint64_t n, uint32_t d)
{
    uint32_t q, r;
    __asm__("divl %4" : "=a"(q), "=d"(r) : "a"((uint32_t)n), "d"((uint32_t)(n >> 32)), "rm"(d));
    return q;
}

/* TSC ticks to microseconds, exactly (tsc_khz / 1000 truncates: at Bochs
 * ryzen's 99,987 kHz that read 1 % long, enough to fail the PM timer check) */
static uint32_t tsc_us(uint64_t dt, uint32_t tsc_khz)
{
    return div64_32(dt * 1000, tsc_khz);
}

static uint32_t elapsed_us(uint64_t t0, uint32_t tsc_khz)
{
    return tsc_us(rdtsc() - t0, tsc_khz);
}

static void wait_ticks(unsigned n, const char *what)
{
    for (unsigned spins = 0; ticks < n; spins++) {
        __asm__ volatile("sti; hlt; cli");
        CHECK(spins < 100000, "%s: only %u timer interrupts", what, ticks);
    }
}

int guest_main(uint32_t magic, uint32_t mbi)
{
    uint32_t r[4];
    idt_install();
    set_handler(32, on_ipi);
    set_handler(64, on_timer);

    cpuid(1, 0, r);
    CHECK(r[2] & (1u << 21), "CPUID.1:ECX.x2APIC clear");
    CHECK(r[2] & (1u << 24), "CPUID.1:ECX.TSC-deadline clear");
    cpuid(0x40000000, 0, r);
    CHECK(r[0] >= 0x40000010, "hypervisor timing leaf not advertised (max %x)", r[0]);
    cpuid(0x40000010, 0, r);
    uint32_t tsc_khz = r[0], apic_khz = r[1];
    CHECK(tsc_khz && apic_khz, "timing leaf: TSC %u kHz, APIC %u kHz", tsc_khz, apic_khz);
    print("TSC %u kHz, APIC timer %u kHz\n", tsc_khz, apic_khz);

    CHECK(mmio_read32(APIC_ID) == 0, "APIC ID %x", mmio_read32(APIC_ID));
    CHECK(mmio_read32(APIC_VER) == 0x50014, "APIC version %x", mmio_read32(APIC_VER));
    mmio_write32(APIC_SVR, 0x1ff);

    /* fixed self-IPI (shorthand "self") */
    mmio_write32(APIC_ICR_LO, (1u << 18) | 32);
    __asm__ volatile("sti; nop; nop; cli");
    CHECK(ipis == 1, "self-IPI not taken (%u)", ipis);

    /* TPR above the vector's class holds it in IRR */
    mmio_write32(APIC_TPR, 0x30);
    mmio_write32(APIC_ICR_HI, 0);
    mmio_write32(APIC_ICR_LO, 32);                  /* physical, to APIC 0 */
    __asm__ volatile("sti; nop; nop; cli");
    CHECK(ipis == 1, "IPI delivered through TPR 0x30");
    CHECK(mmio_read32(APIC_IRR1) & 1, "vector 32 not pending in IRR");
    CHECK(mmio_read32(APIC_PPR) == 0x30, "PPR %x", mmio_read32(APIC_PPR));
    mmio_write32(APIC_TPR, 0);
    __asm__ volatile("sti; nop; nop; cli");
    CHECK(ipis == 2, "IPI not taken after TPR lowered (%u)", ipis);

    /* periodic timer, 1 ms, divide by 16 */
    uint32_t per_ms = apic_khz / 16;
    mmio_write32(APIC_TIMER_DCR, 0x3);
    mmio_write32(APIC_LVT_TIMER, (1u << 17) | 64);
    uint64_t t0 = rdtsc();
    mmio_write32(APIC_TIMER_ICR, per_ms);
    uint32_t ccr = mmio_read32(APIC_TIMER_CCR);
    CHECK(ccr > 0 && ccr <= per_ms, "current count %u of %u", ccr, per_ms);
    wait_ticks(5, "periodic");
    uint32_t us = elapsed_us(t0, tsc_khz);
    mmio_write32(APIC_LVT_TIMER, (1u << 16) | 64);  /* mask */
    print("periodic: 5 ticks of 1 ms in %u us\n", us);
    CHECK(us >= 4000, "5 periodic ticks of 1 ms in %u us", us);

    /* one-shot, 2 ms: first stop the periodic timer and take a tick that
     * may already be pending in IRR (masking does not clear it, as on
     * hardware), so it is not mistaken for the one-shot */
    mmio_write32(APIC_TIMER_ICR, 0);
    __asm__ volatile("sti; nop; nop; cli");
    ticks = 0;
    mmio_write32(APIC_LVT_TIMER, 64);
    t0 = rdtsc();
    mmio_write32(APIC_TIMER_ICR, 2 * per_ms);
    wait_ticks(1, "one-shot");
    us = elapsed_us(t0, tsc_khz);
    CHECK(us >= 2000, "one-shot 2 ms fired after %u us", us);
    CHECK(mmio_read32(APIC_TIMER_CCR) == 0, "one-shot count %u after expiry", mmio_read32(APIC_TIMER_CCR));
    print("one-shot: 2 ms in %u us\n", us);

    /* TSC deadline, 3 ms */
    ticks = 0;
    mmio_write32(APIC_LVT_TIMER, (2u << 17) | 64);
    t0 = rdtsc();
    wrmsr(0x6e0, t0 + 3ull * tsc_khz);
    wait_ticks(1, "TSC deadline");
    us = elapsed_us(t0, tsc_khz);
    CHECK(us >= 3000, "TSC deadline 3 ms fired after %u us", us);
    print("TSC deadline: 3 ms in %u us\n", us);

    /* the ACPI PM timer (port 0x608, 3.579545 MHz, 32 bits), answered by
     * the kernel: its ticks between two reads lie between the TSC time
     * inside the reads and the TSC time around them (+-0.1%) */
    uint64_t ta = rdtsc();
    uint32_t pm0 = inl(0x608);
    uint64_t tb = rdtsc();
    while (rdtsc() - tb < 4ull * tsc_khz)
        ;
    uint64_t tc = rdtsc();
    uint32_t pm = inl(0x608) - pm0;
    uint64_t td = rdtsc();
    uint32_t lo_us = tsc_us(tc - tb, tsc_khz), hi_us = tsc_us(td - ta, tsc_khz) + 1;
    uint32_t lo = lo_us * 3579u / 1000, hi = hi_us * 3580u / 1000;
    CHECK(pm >= lo - lo / 1000 && pm <= hi + hi / 1000, "PM timer: %u ticks, TSC says %u-%u", pm, lo, hi);
    print("PM timer: %u ticks in 4 ms of TSC\n", pm);

    /* INIT-SIPI-SIPI: the AP runs real-mode code at 0x8000 that sets a flag */
    static const uint8_t ap[] = {
        0x31, 0xc0,                     /* xor ax, ax */
        0x8e, 0xd8,                     /* mov ds, ax */
        0xc6, 0x06, 0x00, 0x70, 0x01,   /* mov byte [0x7000], 1 */
        0xfa, 0xf4, 0xeb, 0xfd,         /* cli; hlt; jmp hlt */
    };
    *(volatile uint8_t *)AP_FLAG = 0;
    for (unsigned i = 0; i < sizeof(ap); i++)
        ((volatile uint8_t *)AP_CODE)[i] = ap[i];
    mmio_write32(APIC_ICR_HI, 1u << 24);
    mmio_write32(APIC_ICR_LO, 0x4500);              /* INIT, assert */
    mmio_write32(APIC_ICR_LO, 0x4600 | (AP_CODE >> 12));
    for (unsigned spins = 0; !*(volatile uint8_t *)AP_FLAG; spins++) {
        __asm__ volatile("pause");
        CHECK(spins < 200000000, "AP did not start");
    }
    print("AP started by SIPI\n");
    print("PASS: lapic\n");
    return 0;
}
