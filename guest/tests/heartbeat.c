/*
 * The victim of the attacking guests (tests/boot/attacks.sh): it counts
 * loop iterations in fixed windows of the TSC (nethv gives every VM the
 * host's TSC, offset 0, so an attacker's phase marks and these windows are
 * on one clock) and prints one line per window:
 *
 *   hb T N        T = TSC >> 10 at the window's end, N = iterations in it
 *
 * A window is 2^shift TSC ticks ("shift=N" on the command line, default
 * 24): it should hold several of the hypervisor's time slices.
 *
 * It also checks what a neighbour on the same CPU must never reach: its
 * own DR0-DR3 and IA32_SPEC_CTRL (where CPUID offers it) stay 0 (it never
 * sets them), printed as "hb: FAIL ..." once.
 * It stops after HB_WINDOWS windows, or when the command line says
 * "windows=N".  Uses only the debug port, so it runs as a "test" VM.
 */
#include "../lib/guest.h"

#define HB_WINDOWS      400
static unsigned window_shift = 24;

static uint64_t rdtsc64(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

static uint32_t read_dr(unsigned n)
{
    uint32_t v = 0;
    switch (n) {
    case 0: __asm__ volatile("mov %%dr0, %0" : "=r"(v)); break;
    case 1: __asm__ volatile("mov %%dr1, %0" : "=r"(v)); break;
    case 2: __asm__ volatile("mov %%dr2, %0" : "=r"(v)); break;
    case 3: __asm__ volatile("mov %%dr3, %0" : "=r"(v)); break;
    }
    return v;
}

/* "KEY=N" in the Multiboot command line, else dflt */
static uint32_t num_arg(uint32_t magic, uint32_t mbi, const char *k, uint32_t dflt)
{
    if (magic != 0x2badb002u || !(*(volatile uint32_t *)mbi & (1u << 2)))
        return dflt;
    for (const char *c = (const char *)*(volatile uint32_t *)(mbi + 16); *c; c++) {
        unsigned i = 0;
        while (k[i] && c[i] == k[i])
            i++;
        if (k[i])
            continue;
        uint32_t n = 0;
        for (c += i; *c >= '0' && *c <= '9'; c++)
            n = n * 10 + (uint32_t)(*c - '0');
        return n ? n : dflt;
    }
    return dflt;
}

int guest_main(uint32_t magic, uint32_t mbi)
{
    uint32_t windows = num_arg(magic, mbi, "windows=", HB_WINDOWS);
    uint32_t s = num_arg(magic, mbi, "shift=", 24);
    window_shift = s >= 16 && s <= 34 ? s : 24;
    bool leak_said = false;
    uint32_t spec = spec_ctrl_offered();
    uint64_t end = (rdtsc64() >> window_shift << window_shift) + (1ull << window_shift);
    print("hb: start, %u windows of 2^%u TSC ticks\n", windows, window_shift);
    for (uint32_t w = 0; w < windows; w++) {
        uint32_t n = 0;
        while (rdtsc64() < end) {
            n++;
            __asm__ volatile("" ::: "memory");
        }
        print("hb %u %u\n", (uint32_t)(end >> 10), n);
        end += 1ull << window_shift;
        if (!leak_said) {
            for (unsigned d = 0; d < 4; d++) {
                uint32_t v = read_dr(d);
                if (v) {
                    print("hb: FAIL DR%u is %x: another VM's debug register\n", d, v);
                    leak_said = true;
                }
            }
            if (spec) {
                uint32_t lo, hi;
                __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(MSR_SPEC_CTRL));
                if (lo || hi) {
                    print("hb: FAIL SPEC_CTRL is %x: another VM's\n", lo);
                    leak_said = true;
                }
            }
        }
    }
    print("hb: done\n");
    return 0;
}
