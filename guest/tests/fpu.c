/*
 * Guest SSE state survives exits: load XMM0-7 with patterns, take 3000
 * exits of every kind the kernel and the monitor handle (hypercalls, port
 * I/O with console output, CPUID, MMIO, HLT with a timer interrupt), and
 * compare.
 */
#include "../lib/guest.h"

static volatile unsigned ticks;
static void on_timer(struct guest_frame *f) { ticks++; }

#define LOAD(n)  __asm__ volatile("movdqu %0, %%xmm" #n :: "m"(pat[n][0]))
#define STORE(n) __asm__ volatile("movdqu %%xmm" #n ", %0" : "=m"(got[n][0]))

int guest_main(uint32_t magic, uint32_t mbi)
{
    static uint32_t pat[8][4], got[8][4];
    uint32_t r[4];
    uint32_t cr0, cr4;

    idt_install();
    set_handler(64, on_timer);
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    cr0 = (cr0 & ~(1u << 2)) | (1u << 1);            /* EM=0, MP=1 */
    cr4 |= (1u << 9) | (1u << 10);                   /* OSFXSR, OSXMMEXCPT */
    __asm__ volatile("mov %0, %%cr0; mov %1, %%cr4" :: "r"(cr0), "r"(cr4));
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 4; j++)
            pat[i][j] = 0x9e000000u + (uint32_t)(i * 16 + j) * 0x01010101u;
    LOAD(0); LOAD(1); LOAD(2); LOAD(3); LOAD(4); LOAD(5); LOAD(6); LOAD(7);
    for (int n = 0; n < 500; n++) {
        hypercall(HC_NULL, 0, 0);
        cpuid(0, 0, r);
        outb(0x3e3, 1);
        (void)mmio_read32(TESTDEV_MMIO_BASE + 4);
        if (n % 100 == 0) {
            print("round %u\n", (uint32_t)n);
            hypercall(HC_TIMER_ONESHOT, 1000, 64);
            __asm__ volatile("sti; hlt; cli");
        }
    }
    STORE(0); STORE(1); STORE(2); STORE(3); STORE(4); STORE(5); STORE(6); STORE(7);
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 4; j++)
            CHECK(got[i][j] == pat[i][j], "xmm%u word %u: %x, want %x", (uint32_t)i, (uint32_t)j,
                  got[i][j], pat[i][j]);
    CHECK(ticks == 5, "timer ticks %u", ticks);
    print("XMM0-7 intact after 2500 exits\n");
    print("PASS: fpu\n");
    return 0;
}
