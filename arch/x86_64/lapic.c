/* Local APIC driver: x2APIC when CPUID offers it, else xAPIC MMIO. */
#include <arch/lapic.h>
#include <arch/regs.h>
#include <arch/x86.h>

static volatile uint32_t *lapic_mmio;
static bool use_x2apic;
uint64_t lapic_timer_hz;

bool lapic_x2apic(void) { return use_x2apic; }

uint32_t lapic_read(uint32_t reg)
{
    if (use_x2apic)
        return (uint32_t)rdmsr(MSR_X2APIC_BASE + (reg >> 4));
    return lapic_mmio[reg / 4];
}

void lapic_write(uint32_t reg, uint32_t v)
{
    if (use_x2apic)
        wrmsr(MSR_X2APIC_BASE + (reg >> 4), v);
    else
        lapic_mmio[reg / 4] = v;
}

uint32_t lapic_id(void)
{
    uint32_t id = lapic_read(LAPIC_ID);
    return use_x2apic ? id : id >> 24;
}

void lapic_eoi(void)
{
    lapic_write(LAPIC_EOI, 0);
}

static void icr_write(uint32_t apic_id, uint32_t lo)
{
    if (use_x2apic) {
        /* x2APIC ICR is one 64-bit MSR; no delivery-status bit (SDM 3A 11.12.9) */
        wrmsr(MSR_X2APIC_BASE + (LAPIC_ICR_LO >> 4), ((uint64_t)apic_id << 32) | lo);
        return;
    }
    lapic_mmio[LAPIC_ICR_HI / 4] = apic_id << 24;
    lapic_mmio[LAPIC_ICR_LO / 4] = lo;
    for (unsigned i = 0; i < 1000000 && (lapic_mmio[LAPIC_ICR_LO / 4] & ICR_PENDING); i++)
        cpu_relax();
}

void lapic_send_ipi(uint32_t apic_id, uint32_t vector)
{
    icr_write(apic_id, ICR_FIXED | ICR_ASSERT | (vector & 0xff));
}

void lapic_send_init(uint32_t apic_id)
{
    icr_write(apic_id, ICR_INIT | ICR_ASSERT | ICR_LEVEL);
}

void lapic_send_sipi(uint32_t apic_id, uint8_t page)
{
    icr_write(apic_id, ICR_STARTUP | page);
}

void lapic_init_cpu(void)
{
    uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
    base |= APIC_BASE_EN;
    if (use_x2apic)
        base |= APIC_BASE_EXTD;
    wrmsr(MSR_IA32_APIC_BASE, base);
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
    lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
    lapic_write(LAPIC_LVT_LINT1, ICR_NMI);      /* LINT1 = NMI, as on PCs */
    lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
    lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | VEC_SPURIOUS);
    lapic_write(LAPIC_ESR, 0);
}

void lapic_init_bsp(uint64_t mmio_base)
{
    use_x2apic = (cpuid(1, 0).ecx & CPUID1_ECX_X2APIC) != 0;
    lapic_mmio = (volatile uint32_t *)(uintptr_t)(mmio_base ? mmio_base : LAPIC_DEFAULT_BASE);
    lapic_init_cpu();
}

void lapic_timer_periodic(uint32_t hz, uint8_t vector)
{
    uint64_t count = lapic_timer_hz / hz;
    if (count == 0 || count > 0xffffffffu)
        count = count ? 0xffffffffu : 1;
    lapic_write(LAPIC_TIMER_DCR, TIMER_DIV_16);
    lapic_write(LAPIC_LVT_TIMER, LVT_TIMER_PERIODIC | vector);
    lapic_write(LAPIC_TIMER_ICR, (uint32_t)count);
}
