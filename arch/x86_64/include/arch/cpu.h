/*
 * Per-CPU data, descriptor tables and trap frames.
 * GS base points at this CPU's struct percpu (this_cpu()).  The kernel does
 * not use FS: its base is the last CPL-3 program's (struct user_call).
 */
#ifndef ARCH_CPU_H
#define ARCH_CPU_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

#define MAX_CPUS        64
#define KSTACK_SIZE     (32 * 1024)
#define IST_STACK_SIZE  (16 * 1024)
#define IST_NMI         1
#define IST_DF          2
#define IST_MC          3

/* 64-bit TSS (SDM 3A 8.7) */
struct tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss64) == 104, "TSS size");

struct user_frame;

/*
 * A CPU's descriptor tables and CPL-3 entry stack, alone in a page of their
 * own: with a monitor's own page tables loaded (user.c, "KPTI") this page is
 * all of the CPU's state that is mapped -- the CPU reads the GDT and TSS
 * to enter ring 0, and pushes its frame on the entry stack at `entry_top`.
 */
#define CPU_ENTRY_TOP   (4096 - 16)     /* TSS.RSP0 under KPTI; the percpu * right at it */
struct cpu_entry {
    uint64_t gdt[7];            /* null, code, data, tss lo/hi, user data, user code */
    uint64_t pad;
    struct tss64 tss;
};

struct percpu {
    struct percpu *self;        /* 0x00: %gs:0 */
    uint32_t cpu;               /* 0x08: logical index, 0 = BSP */
    uint32_t apic_id;           /* 0x0c */
    uint64_t kstack_top;        /* 0x10 */
    uint64_t user_kframe;       /* 0x18: isr.S, KPTI: where a CPL-3 entry's frame goes on the kernel stack */
    uint64_t entry_top;         /* 0x20: isr.S, KPTI: this CPU's entry stack (cpu_entry page + CPU_ENTRY_TOP) */
    uint64_t unused28;          /* 0x28 */
    struct cpu_entry *ent;      /* 0x30: a page of its own (above) */
    uint64_t user_cr3;          /* 0x38: isr.S, KPTI: the user view of the monitor being run */
    volatile uint64_t timer_ticks;
    volatile bool online;
    struct user_frame *user_frame;      /* user.c: the call into CPL 3 under way, or NULL */
    const void *user_last;              /* user.c: the address space it last ran (IBPB on a change) */
};
_Static_assert(offsetof(struct percpu, user_kframe) == 0x18 && offsetof(struct percpu, entry_top) == 0x20 &&
               offsetof(struct percpu, user_cr3) == 0x38, "isr.S, user_entry.S: PC_USER_KFRAME, PC_ENTRY_TOP, PC_USER_CR3");

extern struct percpu percpu_area[MAX_CPUS];

static inline struct percpu *this_cpu(void)
{
    struct percpu *p;
    __asm__ volatile("mov %%gs:0, %0" : "=r"(p));
    return p;
}

/* Every stack a CPL-3 entry can land on (TSS.RSP0 while a monitor runs, each
 * IST stack) holds this CPU's struct percpu * in the 8 bytes right above the
 * CPU's frame: isr.S reloads the GS and FS bases from it, since code at
 * CPL 3 can change them (a segment load). */
#define PERCPU_ABOVE_FRAME  1

/* Registers saved by the interrupt stubs (arch/x86_64/isr.S), low to high. */
struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;          /* pushed by the CPU */
};
_Static_assert(offsetof(struct trap_frame, cs) == 144 && sizeof(struct trap_frame) == 176,
               "isr.S: TF_CS, TF_ABOVE");

typedef void (*irq_handler_t)(struct trap_frame *tf);

void cpu_init_percpu(unsigned cpu, uint32_t apic_id, uint64_t kstack_top);
/* arch/x86_64/irqoff.c: start measuring (BSP, once its per-CPU area is up);
 * print each CPU's longest interrupts-off stretch */
void irqoff_enable_tracking(void);
void irqoff_print_stats(void);
void gdt_load(struct percpu *pc);
void gdt_reload(void);                  /* this CPU's GDT again: a VM exit leaves its limit 0xffff */
void idt_init(void);
uint64_t idt_base(void);       /* the host IDT's address (vcpu_assert_host_state) */
void idt_load(void);
void irq_register(unsigned vector, irq_handler_t h);
void fpu_init_cpu(void);

/* nethv's own code (linker.ld): a guest state whose RIP is in here and
 * whose CR3 is the host's is the host's state, saved by a CPU that
 * misbehaved (vcpu.c: vcpu_host_state_saved). */
extern const char __text_start[], __text_end[];
static inline bool host_text(uint64_t a)
{
    return a >= (uint64_t)(uintptr_t)__text_start && a < (uint64_t)(uintptr_t)__text_end;
}
void fpu_xrstor_guest(void *area, uint64_t mask);
/* The XCR0 bits guests may set: x87, SSE and AVX as this CPU has them
 * (0: no XSAVE).  XSETBV's value against them (SDM 2 XSETBV): true if
 * it may be loaded. */
uint64_t fpu_guest_xcr0(void);
void fpu_clear_for_user(void);          /* every FPU/SSE/AVX register to init (arch/user.h) */
bool fpu_xsetbv_check(uint32_t ecx, uint64_t val);
/* the standard-form XSAVE area's size for the components in xcr0 */
uint32_t fpu_xsave_size(uint64_t xcr0);
extern uint32_t fpu_isr_mask;      /* what isr_common saves: SSE|AVX, 0 = FXSAVE (fpu.c) */
void dump_frame(const struct trap_frame *tf);

#endif
