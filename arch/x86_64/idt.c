/* IDT (SDM 3A 6.14), exception reports and IRQ dispatch. */
#include <nethv/kernel.h>
#include <arch/cpu.h>
#include <arch/regs.h>
#include <arch/x86.h>
#include <arch/lapic.h>
#include <arch/svm.h>
#include <arch/user.h>

struct idt_gate {
    uint16_t off_lo, sel;
    uint8_t ist, type_attr;
    uint16_t off_mid;
    uint32_t off_hi, reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_gate) == 16, "IDT gate size");

#define GATE_INTERRUPT 0x8e     /* P, DPL0, 64-bit interrupt gate */
#define GATE_USER      0xee     /* P, DPL3: INT n from CPL 3 (VEC_SYSCALL only) */

extern const uint64_t isr_table[256];
static struct idt_gate idt[256] __attribute__((aligned(4096)));  /* a page: mapped in user views (user.c) */
static irq_handler_t handlers[256];

static const char *const exc_names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
    "#BR bound range", "#UD invalid opcode", "#NM device not available",
    "#DF double fault", "coprocessor overrun", "#TS invalid TSS",
    "#NP segment not present", "#SS stack fault", "#GP general protection",
    "#PF page fault", "reserved 15", "#MF x87 FP", "#AC alignment check",
    "#MC machine check", "#XM SIMD FP", "#VE virtualization", "#CP control protection",
    "reserved 22", "reserved 23", "reserved 24", "reserved 25", "reserved 26",
    "reserved 27", "#HV hypervisor injection", "#VC VMM communication", "#SX security", "reserved 31",
};

uint64_t idt_base(void)
{
    return (uint64_t)(uintptr_t)idt;
}

void idt_init(void)
{
    for (unsigned v = 0; v < 256; v++) {
        uint64_t a = isr_table[v];
        unsigned ist = v == 2 ? IST_NMI : v == 8 ? IST_DF : v == 18 ? IST_MC : 0;
        idt[v] = (struct idt_gate){
            .off_lo = (uint16_t)a, .sel = SEL_KCODE, .ist = (uint8_t)ist,
            .type_attr = v == VEC_SYSCALL ? GATE_USER : GATE_INTERRUPT, .off_mid = (uint16_t)(a >> 16),
            .off_hi = (uint32_t)(a >> 32), .reserved = 0,
        };
    }
}

void idt_load(void)
{
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr = {
        sizeof(idt) - 1, (uint64_t)(uintptr_t)idt
    };
    __asm__ volatile("lidt %0" :: "m"(idtr));
}

void irq_register(unsigned vector, irq_handler_t h)
{
    handlers[vector & 0xff] = h;
}

void dump_frame(const struct trap_frame *tf)
{
    printk("  rip %016llx  cs %04llx  rflags %016llx  rsp %016llx  ss %04llx\n",
           (unsigned long long)tf->rip, (unsigned long long)tf->cs,
           (unsigned long long)tf->rflags, (unsigned long long)tf->rsp,
           (unsigned long long)tf->ss);
    printk("  rax %016llx  rbx %016llx  rcx %016llx  rdx %016llx\n",
           (unsigned long long)tf->rax, (unsigned long long)tf->rbx,
           (unsigned long long)tf->rcx, (unsigned long long)tf->rdx);
    printk("  rsi %016llx  rdi %016llx  rbp %016llx  r8  %016llx\n",
           (unsigned long long)tf->rsi, (unsigned long long)tf->rdi,
           (unsigned long long)tf->rbp, (unsigned long long)tf->r8);
    printk("  r9  %016llx  r10 %016llx  r11 %016llx  r12 %016llx\n",
           (unsigned long long)tf->r9, (unsigned long long)tf->r10,
           (unsigned long long)tf->r11, (unsigned long long)tf->r12);
    printk("  r13 %016llx  r14 %016llx  r15 %016llx  cr2 %016llx  cr3 %016llx\n",
           (unsigned long long)tf->r13, (unsigned long long)tf->r14,
           (unsigned long long)tf->r15, (unsigned long long)read_cr2(),
           (unsigned long long)read_cr3());
}

/*
 * Before an exception report may use %gs: is the GS base a host per-CPU
 * area?  Between SVM's #VMEXIT and the host's VMLOAD (svm_entry.S) FS, GS,
 * TR and LDTR are still the guest's, and reading %gs:0 there faults again
 * (then #DF on the guest's TSS: a silent shutdown).  This finds the CPU by
 * its APIC ID and reloads the host's state -- VMLOAD of the CPU's host area
 * inside svm_vmrun, whose start saved it; the GS base elsewhere.  Uses
 * no %gs itself.  Returns the bad GS base (1 if it was 0), or 0 if all was
 * well.
 */
extern const char svm_vmrun_end[];
static uint64_t host_state_repair(const struct trap_frame *tf, bool *in_window)
{
    uint64_t gs = rdmsr(MSR_GS_BASE);
    *in_window = false;
    for (unsigned i = 0; i < MAX_CPUS; i++)
        if (gs == (uint64_t)(uintptr_t)&percpu_area[i])
            return 0;
    uint32_t id = lapic_id();
    unsigned cpu = 0;
    for (unsigned i = 0; i < MAX_CPUS; i++)
        if (percpu_area[i].online && percpu_area[i].apic_id == id)
            cpu = i;
    *in_window = tf->rip >= (uint64_t)(uintptr_t)svm_vmrun &&
                 tf->rip < (uint64_t)(uintptr_t)svm_vmrun_end && svm_host_area[cpu];
    if (*in_window)
        __asm__ volatile("vmload %%rax" :: "a"(svm_host_area[cpu]) : "memory");
    wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)&percpu_area[cpu]);
    return gs ? gs : 1;
}

extern volatile uint8_t probe_armed;
extern uint64_t probe_rsp;
extern const char probe_fault[];
void trap_dispatch(struct trap_frame *tf);
void trap_dispatch(struct trap_frame *tf)
{
    unsigned v = (unsigned)tf->vector;

    if (v == EXC_PF && probe_armed) {
        /* paging_check's deliberate fault (probe.S) */
        tf->rax = tf->error | (1ull << 63);
        tf->rip = (uint64_t)(uintptr_t)probe_fault;
        tf->rsp = probe_rsp;
        return;
    }
    /* from a monitor at CPL 3: its system calls and faults end in user.c;
     * NMI and #MC are the host's */
    bool from_user = (tf->cs & 3) == 3;
    if (from_user && (v == VEC_SYSCALL || (v < 32 && v != 2 && v != 18))) {
        user_trap(tf);
        return;
    }
    if (v < 32) {
        bool in_window;
        uint64_t bad_gs = host_state_repair(tf, &in_window);
        printk("\nnethv: exception %u (%s) on CPU %u, error code %#llx\n", v, exc_names[v],
               this_cpu()->cpu, (unsigned long long)tf->error);
        if (bad_gs)
            printk("nethv: it came with GS base %#llx, not the host's: %s; host state reloaded "
                   "for this report\n", (unsigned long long)bad_gs,
                   in_window ? "between SVM's #VMEXIT and the host's VMLOAD (svm_entry.S), "
                               "FS/GS/TR/LDTR still the guest's" : "the GS base was corrupt");
        dump_frame(tf);
        flight_print_cpu(this_cpu()->cpu);
        panic("unhandled exception %u in the hypervisor", v);
    }
    /* invariant: no interrupt is taken inside svm_vmrun: GIF=0 holds every
     * one from CLGI to STGI, which is where host FS/GS/TR are the guest's */
    if (tf->rip >= (uint64_t)(uintptr_t)svm_vmrun && tf->rip < (uint64_t)(uintptr_t)svm_vmrun_end) {
        bool in_window;
        uint64_t bad_gs = host_state_repair(tf, &in_window);
        printk("\nnethv: interrupt vector %u taken inside svm_vmrun at %#llx (GS base was %#llx): "
               "GIF=0 should have held it until STGI\n", v, (unsigned long long)tf->rip,
               (unsigned long long)bad_gs);
        dump_frame(tf);
        flight_print_cpu(this_cpu()->cpu);
        panic("an interrupt inside the CLGI..STGI window");
    }
    if (v >= VEC_PIC_BASE && v < VEC_PIC_BASE + 16)
        return;                 /* spurious IRQ from the masked 8259: no LAPIC EOI */
    if (handlers[v])
        handlers[v](tf);
    else if (v != VEC_SPURIOUS)
        printk("nethv: unexpected interrupt vector %u on CPU %u\n", v, this_cpu()->cpu);
    if (v != VEC_SPURIOUS)
        lapic_eoi();
    if (from_user)
        user_interrupted(tf);       /* the monitor's watchdog */
}
