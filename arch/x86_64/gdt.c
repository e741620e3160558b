/* Per-CPU GDT and TSS (SDM 3A 3.4.5, 8.2.3), per-CPU area (GS base). */
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <arch/cpu.h>
#include <arch/paging.h>
#include <arch/regs.h>
#include <arch/user.h>
#include <arch/x86.h>

#define GDT_CODE64  0x00af9a000000ffffull   /* P, DPL0, code, L=1 */
#define GDT_DATA    0x00cf92000000ffffull   /* P, DPL0, data, writable */
#define GDT_UDATA   0x00cff2000000ffffull   /* P, DPL3, data, writable */
#define GDT_UCODE64 0x00affa000000ffffull   /* P, DPL3, code, L=1 */
#define TSS_TYPE_AVAILABLE 0x9ull

struct percpu percpu_area[MAX_CPUS];

/* A stack with an unmapped guard page below it; returns its top. */
static uint64_t alloc_stack(size_t size)
{
    uint64_t pa = page_alloc(size / PAGE_SIZE + 1, PAGE_SIZE, 0);
    if (!pa)
        panic("cpu: out of memory for stacks");
    paging_guard_stack(pa);
    return pa + PAGE_SIZE + size;
}

/* An IST stack: its top 16 bytes hold `pc` (PERCPU_ABOVE_FRAME), the CPU's
 * frame goes below them. */
static uint64_t ist_stack(struct percpu *pc)
{
    uint64_t top = alloc_stack(IST_STACK_SIZE) - 16;
    *(struct percpu **)phys_to_virt(top) = pc;
    return top;
}

void gdt_load(struct percpu *pc)
{
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) gdtr = {
        sizeof(pc->ent->gdt) - 1, (uint64_t)(uintptr_t)pc->ent->gdt
    };
    __asm__ volatile(
        "lgdt %0\n\t"
        "pushq %1\n\t"
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "lretq\n"
        "1:\n\t"
        "movl %2, %%eax\n\t"
        "movl %%eax, %%ds\n\t"
        "movl %%eax, %%es\n\t"
        "movl %%eax, %%ss\n\t"
        "xorl %%eax, %%eax\n\t"
        "movl %%eax, %%fs\n\t"
        "movl %%eax, %%gs\n\t"
        "ltr %w3"
        :: "m"(gdtr), "i"(SEL_KCODE), "i"(SEL_KDATA), "r"(SEL_TSS) : "rax", "memory");
}

/* VMX exits set the GDTR limit to 0xffff (SDM 3C 27.5.2): code at CPL 3
 * could then name selectors beyond the table, in whatever follows it in
 * memory.  Before CPL 3 runs, the real limit again. */
void gdt_reload(void)
{
    struct percpu *pc = this_cpu();
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) gdtr = {
        sizeof(pc->ent->gdt) - 1, (uint64_t)(uintptr_t)pc->ent->gdt
    };
    __asm__ volatile("lgdt %0" :: "m"(gdtr) : "memory");
}

void cpu_init_percpu(unsigned cpu, uint32_t apic_id, uint64_t kstack_top)
{
    struct percpu *pc = &percpu_area[cpu];
    if (!pc->ent) {             /* an AP started again keeps its page */
        uint64_t pa = page_alloc(1, PAGE_SIZE, 0);
        if (!pa)
            panic("cpu: out of memory for the CPU's entry page");
        pc->ent = phys_to_virt(pa);     /* zeroed */
    }
    struct cpu_entry *e = pc->ent;
    uint64_t tss = (uint64_t)(uintptr_t)&e->tss;

    pc->self = pc;
    pc->cpu = cpu;
    pc->apic_id = apic_id;
    pc->kstack_top = kstack_top;
    pc->entry_top = (uint64_t)(uintptr_t)e + CPU_ENTRY_TOP;
    *(struct percpu **)(uintptr_t)pc->entry_top = pc;      /* PERCPU_ABOVE_FRAME */
    e->tss.rsp[0] = kstack_top;
    if (!e->tss.ist[IST_NMI - 1]) {
        e->tss.ist[IST_NMI - 1] = ist_stack(pc);
        e->tss.ist[IST_DF - 1] = ist_stack(pc);
        e->tss.ist[IST_MC - 1] = ist_stack(pc);
    }
    e->tss.iomap_base = sizeof(struct tss64);       /* no I/O bitmap */

    e->gdt[0] = 0;
    e->gdt[1] = GDT_CODE64;
    e->gdt[2] = GDT_DATA;
    /* 16-byte TSS descriptor (SDM 3A 8.2.3) */
    e->gdt[3] = (sizeof(struct tss64) - 1) | ((tss & 0xffffff) << 16) |
                (TSS_TYPE_AVAILABLE << 40) | (1ull << 47) | (((tss >> 24) & 0xff) << 56);
    e->gdt[4] = tss >> 32;
    e->gdt[SEL_UDATA / 8] = GDT_UDATA;
    e->gdt[SEL_UCODE / 8] = GDT_UCODE64;
    /* what a CPL-3 entry needs while a monitor's own tables are loaded */
    user_entry_map_cpu(pc);

    gdt_load(pc);
    wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)pc);
}
