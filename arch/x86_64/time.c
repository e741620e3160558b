/*
 * TSC frequency from CPUID leaf 0x15 (SDM 3A 18.7.3) when it is complete,
 * else measured against PIT channel 2; the LAPIC timer is measured in the
 * same PIT window.
 */
#include <nethv/kernel.h>
#include <arch/time.h>
#include <arch/lapic.h>
#include <arch/x86.h>

#define PIT_HZ          1193182u
#define PIT_CH2         0x42
#define PIT_CMD         0x43
#define PIT_CMD_CH2_LOHI_MODE0  0xb0
#define PORT_61         0x61    /* bit 0: ch2 gate, bit 1: speaker, bit 5: ch2 out */
#define CAL_MS          20

uint64_t tsc_hz;

void udelay(uint64_t us)
{
    if (!tsc_hz) {
        io_delay_us((unsigned)us);
        return;
    }
    uint64_t end = rdtsc() + tsc_hz / 1000000 * us;
    while (rdtsc() < end)
        cpu_relax();
}

void time_calibrate(void)
{
    const char *src = "PIT";
    uint32_t ticks = PIT_HZ / 1000 * CAL_MS;

    outb(PORT_61, (inb(PORT_61) & ~0x03) | 0x00);   /* gate off, speaker off */
    outb(PIT_CMD, PIT_CMD_CH2_LOHI_MODE0);
    outb(PIT_CH2, ticks & 0xff);
    outb(PIT_CH2, ticks >> 8);
    lapic_write(LAPIC_TIMER_DCR, TIMER_DIV_16);
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
    outb(PORT_61, (inb(PORT_61) & ~0x02) | 0x01);   /* gate on: count starts */
    uint64_t t0 = rdtsc();
    lapic_write(LAPIC_TIMER_ICR, 0xffffffffu);
    unsigned long spins = 0;
    while (!(inb(PORT_61) & 0x20) && ++spins < 100000000ul)
        ;
    uint32_t lapic_left = lapic_read(LAPIC_TIMER_CCR);
    uint64_t t1 = rdtsc();
    lapic_write(LAPIC_TIMER_ICR, 0);
    if (spins >= 100000000ul)
        printk("time: PIT channel 2 did not count; guessing rates\n");
    uint64_t ms = CAL_MS;
    lapic_timer_hz = (uint64_t)(0xffffffffu - lapic_left) * 1000 / ms;
    tsc_hz = (t1 - t0) * 1000 / ms;

    /* CPUID 0x15 is exact where it is true; an emulator may report a
     * nominal rate its TSC does not run at (Bochs 2.7 tigerlake: 2419 MHz
     * reported, about 100 MHz measured, its ips), so it is taken only
     * within 2% of the PIT measurement */
    struct cpuid_regs r = cpuid(0, 0);
    if (r.eax >= 0x15 && spins < 100000000ul) {
        struct cpuid_regs c = cpuid(0x15, 0);
        if (c.eax && c.ebx && c.ecx) {
            uint64_t f = (uint64_t)c.ecx * c.ebx / c.eax;
            if (f / 50 >= (f > tsc_hz ? f - tsc_hz : tsc_hz - f)) {
                tsc_hz = f;
                src = "CPUID 0x15";
            } else {
                printk("time: CPUID 0x15 says the TSC runs at %llu kHz, the PIT measures %llu kHz: "
                       "the measurement counts\n", (unsigned long long)(f / 1000),
                       (unsigned long long)(tsc_hz / 1000));
            }
        }
    }
    if (!lapic_timer_hz)
        lapic_timer_hz = 1000000;
    if (!tsc_hz)
        tsc_hz = 1000000000;
    printk("time: TSC %llu.%03llu MHz (%s), LAPIC timer %llu kHz\n",
           (unsigned long long)(tsc_hz / 1000000), (unsigned long long)(tsc_hz / 1000 % 1000),
           src, (unsigned long long)(lapic_timer_hz / 1000));
}
