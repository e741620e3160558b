/*
 * The longest stretch each CPU spent with interrupts off inside an
 * irq_save/irq_restore pair (spinlocks with _irqsave, the datapath's queue
 * locks among them), measured with the TSC since boot, and where it ended.
 * Shown by Ctrl-T s: the bound on work that guest data drives shows here.
 * Off until the BSP has its per-CPU area (earlier, %gs:0 is not ours); an
 * AP sets its GS base before its first C call that could take a lock.
 */
#include <nethv/kernel.h>
#include <arch/cpu.h>
#include <arch/time.h>
#include <arch/smp.h>
#include <arch/x86.h>

static bool irqoff_ready;
static uint64_t start_tsc[MAX_CPUS], max_tsc[MAX_CPUS];
static uintptr_t max_site[MAX_CPUS];

void irqoff_enable_tracking(void)
{
    irqoff_ready = true;
}

void irqoff_begin(void)
{
    if (!irqoff_ready)
        return;
    unsigned cpu = this_cpu()->cpu;
    if (cpu < MAX_CPUS)
        start_tsc[cpu] = rdtsc();
}

__attribute__((noinline)) void irqoff_end(void)
{
    if (!irqoff_ready)
        return;
    unsigned cpu = this_cpu()->cpu;
    if (cpu >= MAX_CPUS || !start_tsc[cpu])
        return;
    uint64_t d = rdtsc() - start_tsc[cpu];
    start_tsc[cpu] = 0;
    if (d > max_tsc[cpu]) {
        max_tsc[cpu] = d;
        max_site[cpu] = (uintptr_t)__builtin_return_address(0);
    }
}

void irqoff_print_stats(void)
{
    for (unsigned c = 0; c < cpus_online_count && c < MAX_CPUS; c++) {
        uint64_t ns = tsc_hz >= 1000 ? max_tsc[c] * 1000000ull / (tsc_hz / 1000) : 0;
        printk("cpu %u: longest interrupts-off stretch %llu.%03llu us (ended at %#lx)\n", c,
               (unsigned long long)(ns / 1000), (unsigned long long)(ns % 1000),
               (unsigned long)max_site[c]);
    }
}
