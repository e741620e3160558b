/*
 * x86-64 instruction wrappers: port I/O, MSRs, control registers, CPUID.
 * Names of the bits and registers themselves live in regs.h.
 */
#ifndef ARCH_X86_H
#define ARCH_X86_H

#include <stdint.h>
#include <stdbool.h>

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

struct cpuid_regs { uint32_t eax, ebx, ecx, edx; };
static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t sub)
{
    struct cpuid_regs r;
    __asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(sub));
    return r;
}

/* read_crN/write_crN, read_drN/write_drN (the assembler's names: %crN, %dbN) */
#define DEFINE_MOV_REG(name, asm_name, n) \
    static inline uint64_t read_##name##n(void) { uint64_t v; __asm__ volatile("mov %%" asm_name #n ", %0" : "=r"(v)); return v; } \
    static inline void write_##name##n(uint64_t v) { __asm__ volatile("mov %0, %%" asm_name #n :: "r"(v) : "memory"); }
DEFINE_MOV_REG(cr, "cr", 0)
DEFINE_MOV_REG(cr, "cr", 2)
DEFINE_MOV_REG(cr, "cr", 3)
DEFINE_MOV_REG(cr, "cr", 4)
DEFINE_MOV_REG(dr, "db", 0)
DEFINE_MOV_REG(dr, "db", 1)
DEFINE_MOV_REG(dr, "db", 2)
DEFINE_MOV_REG(dr, "db", 3)
DEFINE_MOV_REG(dr, "db", 6)
#undef DEFINE_MOV_REG

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
/* XRSTOR (standard form) of the components in `mask` (SDM 1 13.8) */
static inline void xrstor(const void *area, uint64_t mask)
{
    __asm__ volatile("xrstor64 (%0)" :: "r"(area), "a"((uint32_t)mask), "d"((uint32_t)(mask >> 32))
                     : "memory");
}

static inline uint64_t xgetbv(uint32_t idx)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(idx));
    return (uint64_t)hi << 32 | lo;
}

static inline void xsetbv(uint32_t idx, uint64_t v)
{
    __asm__ volatile("xsetbv" :: "c"(idx), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void halt(void) { __asm__ volatile("hlt" ::: "memory"); }
static inline void irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }
/* sti;hlt: the STI shadow guarantees no interrupt slips in before HLT. */
static inline void irq_enable_and_halt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }

/* The longest interrupts-off stretch per CPU (arch/x86_64/irqoff.c): an
 * irq_save that turns interrupts off starts one, the irq_restore that turns
 * them back on ends it (TSC reads). */
#ifdef NETHV_KERNEL
void irqoff_begin(void);
void irqoff_end(void);
#else
static inline void irqoff_begin(void) {}
static inline void irqoff_end(void) {}
#endif

static inline uint64_t irq_save(void)
{
    uint64_t f;
    __asm__ volatile("pushfq; popq %0; cli" : "=r"(f) :: "memory");
    if (f & (1u << 9))
        irqoff_begin();
    return f;
}
static inline void irq_restore(uint64_t f)
{
    if (f & (1u << 9)) {        /* RFLAGS.IF */
        irqoff_end();
        irq_enable();
    }
}

static inline void invlpg(uint64_t va) { __asm__ volatile("invlpg (%0)" :: "r"(va) : "memory"); }

/* Busy-wait about `us` microseconds using port 0x80 (~1 us per access). */
static inline void io_delay_us(unsigned us) { while (us--) inb(0x80); }

#endif
