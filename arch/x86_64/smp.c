/* SMP bring-up: INIT-SIPI-SIPI (SDM 3A 9.4.4, MP spec B.4) per AP, one at a time. */
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <arch/spec.h>
#include <arch/cpu.h>
#include <arch/lapic.h>
#include <arch/smp.h>
#include <arch/time.h>
#include <arch/paging.h>
#include <arch/x86.h>
#include <arch/regs.h>

extern const char trampoline_start[], trampoline_end[], tr_gdt_ptr[], tr_jmp[],
    tr_cr3[], tr_stack[], tr_cpu[], tr_entry[], tr_long[], tr_gdt[], tr_efer[], tr_apic[], tr_claim[];

volatile unsigned cpus_online_count = 1;
static void (*volatile ap_work)(void);
static volatile unsigned ap_work_gen;   /* bumped by each smp_run_on_aps */
static volatile unsigned ap_work_done;
static volatile int ap_started;

#define TR_OFF(sym) ((size_t)((sym) - trampoline_start))

__attribute__((noreturn)) void ap_main(uint64_t cpu);
__attribute__((noreturn)) void ap_main(uint64_t cpu)
{
    struct percpu *pc = &percpu_area[cpu];
    /* %gs:0 is this CPU's before anything can take a lock (irqoff.c) */
    pc->self = pc;
    pc->cpu = (uint32_t)cpu;
    wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)pc);
    paging_init_cpu();
    cpu_init_percpu((unsigned)cpu, pc->apic_id, pc->kstack_top);
    idt_load();
    fpu_init_cpu();
    spec_init_cpu();
    lapic_init_cpu();
    pc->online = true;
    __atomic_add_fetch(&cpus_online_count, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&ap_started, 1, __ATOMIC_RELEASE);
    lapic_timer_periodic(TICK_HZ, VEC_TIMER);
    /* Each piece of work runs once, by its generation: a new one may be
     * posted before this CPU has seen the old one withdrawn (the self-test's
     * AP work, then the scheduler). */
    unsigned seen = 0;
    for (;;) {
        irq_enable_and_halt();
        irq_disable();
        unsigned gen = __atomic_load_n(&ap_work_gen, __ATOMIC_ACQUIRE);
        if (gen == seen)
            continue;
        seen = gen;
        void (*fn)(void) = __atomic_load_n(&ap_work, __ATOMIC_ACQUIRE);
        if (fn)
            fn();
        __atomic_add_fetch(&ap_work_done, 1, __ATOMIC_SEQ_CST);
    }
}

void smp_run_on_aps(void (*fn)(void))
{
    __atomic_store_n(&ap_work_done, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&ap_work, fn, __ATOMIC_RELEASE);
    __atomic_add_fetch(&ap_work_gen, 1, __ATOMIC_RELEASE);
    for (unsigned c = 1; c < cpus_online_count; c++)
        lapic_send_ipi(percpu_area[c].apic_id, VEC_IPI_KICK);
}

static void tlb_flush_local(void)
{
    uint64_t cr4 = read_cr4();
    if (cr4 & CR4_PGE) {
        write_cr4(cr4 & ~CR4_PGE);      /* drops global entries too (SDM 3A 4.10.4.1) */
        write_cr4(cr4);
    } else {
        write_cr3(read_cr3());          /* (KPTI: no global pages) all of them */
    }
}

void smp_wait_aps(void)
{
    while (__atomic_load_n(&ap_work_done, __ATOMIC_ACQUIRE) < cpus_online_count - 1)
        irq_enable_and_halt();
    irq_disable();
    __atomic_store_n(&ap_work, NULL, __ATOMIC_RELEASE);
}

static bool wait_started(uint64_t us)
{
    for (uint64_t t = 0; t < us; t += 100) {
        if (__atomic_load_n(&ap_started, __ATOMIC_ACQUIRE))
            return true;
        udelay(100);
    }
    return false;
}

void smp_boot(const uint32_t *apic_ids, unsigned n)
{
    uint32_t self = lapic_id();
    unsigned next = 1;

    uint64_t page = page_alloc(1, PAGE_SIZE, 0x100000);
    if (!page || kernel_cr3 >= (1ull << 32)) {
        printk("smp: no page below 1 MiB for the trampoline; APs stay off\n");
        return;
    }
    uint8_t *t = phys_to_virt(page);
    memcpy(t, trampoline_start, (size_t)(trampoline_end - trampoline_start));
    uint32_t gdt_lin = (uint32_t)(page + TR_OFF(tr_gdt));
    uint32_t long_lin = (uint32_t)(page + TR_OFF(tr_long));
    memcpy(t + TR_OFF(tr_gdt_ptr) + 2, &gdt_lin, 4);
    memcpy(t + TR_OFF(tr_jmp), &long_lin, 4);
    uint64_t cr3 = kernel_cr3, entry = (uint64_t)(uintptr_t)ap_main;
    memcpy(t + TR_OFF(tr_cr3), &cr3, 8);
    memcpy(t + TR_OFF(tr_entry), &entry, 8);
    uint32_t efer = (uint32_t)(EFER_LME | (paging_nx ? EFER_NXE : 0));
    memcpy(t + TR_OFF(tr_efer), &efer, 4);
    paging_trampoline(page, true);
    bool all_started = true;
    uint32_t *claim = (uint32_t *)(t + TR_OFF(tr_claim));
    bool late_test = cmdline_has("smp=late-sipi");

    for (unsigned i = 0; i < n; i++) {
        if (apic_ids[i] == self)
            continue;
        if (next >= MAX_CPUS) {
            printk("smp: more than %u CPUs; the rest stay off\n", MAX_CPUS);
            break;
        }
        if (late_test) {
            /* smp=late-sipi: the SIPI of an AP that smp_boot gave up on
             * arrives, its slot closed: the AP must park, touching nothing;
             * INIT below brings it out again */
            late_test = false;
            memcpy(t + TR_OFF(tr_apic), &apic_ids[i], 4);
            __atomic_store_n(&ap_started, 0, __ATOMIC_SEQ_CST);
            __atomic_store_n(claim, 0, __ATOMIC_SEQ_CST);
            lapic_send_init(apic_ids[i]);
            udelay(10000);
            lapic_send_sipi(apic_ids[i], (uint8_t)(page >> 12));
            wait_started(100000);
            if (__atomic_load_n(&ap_started, __ATOMIC_ACQUIRE))
                panic("smp: late-sipi test: the CPU with APIC id %u started on a closed slot", apic_ids[i]);
            printk("smp: late-sipi test: the CPU with APIC id %u parked (its slot closed)\n", apic_ids[i]);
        }
        uint64_t stack = page_alloc(KSTACK_SIZE / PAGE_SIZE + 1, PAGE_SIZE, 0);
        if (!stack)
            panic("smp: out of memory for AP stacks");
        paging_guard_stack(stack);
        struct percpu *pc = &percpu_area[next];
        pc->apic_id = apic_ids[i];
        pc->kstack_top = stack + PAGE_SIZE + KSTACK_SIZE;
        uint64_t cpu = next;
        memcpy(t + TR_OFF(tr_stack), &pc->kstack_top, 8);
        memcpy(t + TR_OFF(tr_cpu), &cpu, 8);
        memcpy(t + TR_OFF(tr_apic), &apic_ids[i], 4);
        __atomic_store_n(&ap_started, 0, __ATOMIC_SEQ_CST);
        __atomic_store_n(claim, 1, __ATOMIC_SEQ_CST);           /* the slot is open */

        lapic_send_init(apic_ids[i]);
        udelay(10000);
        lapic_send_sipi(apic_ids[i], (uint8_t)(page >> 12));
        if (!wait_started(200)) {
            lapic_send_sipi(apic_ids[i], (uint8_t)(page >> 12));
            wait_started(1000000);
        }
        /* Close the slot.  Still open: the AP never took it, and if it
         * wakes later it parks.  Taken but not started: it is between the
         * trampoline and ap_main's first lines, on this slot's stack, as
         * CPU `next` -- give it time, and if it still does not finish,
         * start no more APs (the slot cannot be reused). */
        bool taken = __atomic_exchange_n(claim, 0, __ATOMIC_SEQ_CST) == 0;
        if (taken)
            wait_started(1000000);
        if (__atomic_load_n(&ap_started, __ATOMIC_ACQUIRE)) {
            next++;
        } else if (taken) {
            all_started = false;
            printk("smp: CPU with APIC id %u took its slot but did not finish starting; no more APs\n",
                   apic_ids[i]);
            break;
        } else {
            all_started = false;
            printk("smp: CPU with APIC id %u did not start\n", apic_ids[i]);
        }
    }
    /* W^X again: no CPU runs the trampoline any more.  Then every CPU
     * drops what its TLB kept of it and of the 2 MiB pages split for the
     * stack guards (SDM 3A 4.10.4.2: invalidate after a page-size change). */
    if (all_started)
        paging_trampoline(page, false);
    smp_run_on_aps(tlb_flush_local);
    smp_wait_aps();
    tlb_flush_local();
}
