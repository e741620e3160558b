/* The CPL-3 self-test's program (include/nethv/user_selftest.h): one
 * operation per call, chosen by the kernel; the faults are on purpose. */
#include <stdint.h>
#include <nethv/user_selftest.h>
#include "sys.h"

static uint64_t calls;                  /* .bss: persists between calls */
static const char hello[] = "hello from CPL 3";
static uint8_t data_insn[4] = { 0xc3 }; /* RET, in a writable (so NX) page */

static unsigned slen(const char *s)
{
    unsigned n = 0;
    while (s[n])
        n++;
    return n;
}

static volatile uint64_t depth_limit = ~0ull;     /* never reached: the guard comes first */

static uint64_t deep(uint64_t n)        /* recursion with a frame the compiler keeps */
{
    volatile uint8_t pad[512];
    pad[0] = (uint8_t)n;
    if (n >= depth_limit)
        return pad[0];
    return deep(n + 1) + pad[0];
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* UST_MEM_READS reads of 64 bytes at varying offsets, by system call or
 * from the mapped page; the TSC ticks taken, ~0 if a byte was wrong */
static uint64_t mem_reads(int mapped)
{
    static uint8_t buf[64];
    uint64_t t0 = rdtsc();
    for (unsigned i = 0; i < UST_MEM_READS; i++) {
        unsigned off = (i * 64) & 4095;
        const volatile uint8_t *src;
        if (mapped) {
            src = (const volatile uint8_t *)(uintptr_t)(UST_RAM_VA + off);
            for (unsigned j = 0; j < 64; j++)
                buf[j] = src[j];
        } else if (sys4(UST_SYS_READ, (uint64_t)(uintptr_t)buf, off, 64, 0)) {
            return ~0ull;
        }
        if (buf[0] != UST_RAM_BYTE(off) || buf[63] != UST_RAM_BYTE(off + 63))
            return ~0ull;
    }
    return rdtsc() - t0;
}

uint64_t user_main(uint64_t op)
{
    calls++;
    switch (op) {
    case UST_PING:
        return 0x5eed0000 + calls;
    case UST_NOP:
        return 0;
    case UST_ECHO:
        return (uint64_t)sys4(UST_SYS_SUM, 1, 2, 3, 4);
    case UST_PUTS:
        return (uint64_t)sys2(UST_SYS_PUTS, (uint64_t)hello, slen(hello));
    case UST_PUTS_KERNEL:
        return (uint64_t)sys2(UST_SYS_PUTS, 0x100000, 16);
    case UST_PUTS_UNMAPPED:
        return (uint64_t)sys2(UST_SYS_PUTS, UST_NOT_MAPPED, 16);
    case UST_UNKNOWN_SYS:
        return (uint64_t)sys2(999, 0, 0);
    case UST_SEGMENTS:
        __asm__ volatile("mov %0, %%fs; mov %0, %%gs" :: "r"(0x2b) : "memory");
        if (sys4(UST_SYS_SUM, 1, 2, 3, 4) != 10)
            return 1;
        __asm__ volatile("mov %0, %%fs; mov %0, %%gs" :: "r"(0) : "memory");
        return (uint64_t)sys4(UST_SYS_SUM, 1, 2, 3, 4);
    case UST_READ_NULL:
        return *(volatile uint64_t *)0;
    case UST_READ_KERNEL:
        return *(volatile uint64_t *)0x100000;
    case UST_WRITE_TEXT:
        *(volatile uint8_t *)(uintptr_t)user_main = 0xcc;
        return 0;
    case UST_EXEC_DATA:
        ((void (*)(void))(uintptr_t)data_insn)();
        return 0;
    case UST_UD2:
        __asm__ volatile("ud2");
        return 0;
    case UST_CLI:
        __asm__ volatile("cli");
        return 0;
    case UST_INT3:
        __asm__ volatile("int3");
        return 0;
    case UST_SINGLE_STEP:
        __asm__ volatile("pushf; orq $0x100, (%%rsp); popf; nop" ::: "memory");
        return 0;
    case UST_STACK_OVERFLOW:
        return deep(0);
    case UST_MEM_SYSCALL:
        return mem_reads(0);
    case UST_MEM_MAPPED:
        return mem_reads(1);
    case UST_LOOP:
        for (;;)
            __asm__ volatile("" ::: "memory");
    }
    return ~0ull;
}
