/*
 * Guest SSE state survives exits: load XMM0-7 with patterns, take 3000
 * exits of every kind the kernel and the monitor handle (hypercalls, port
 * I/O with console output, CPUID, MMIO, HLT with a timer interrupt), and
 * compare.  The x87 state too: first its init state (FNINIT: the kernel
 * restores that one as "init", arch/x86_64/fpu.c), then a stack of two
 * values with a non-default control word.
 */
#include "../lib/guest.h"

static volatile unsigned ticks, tick_eip[8];
static void on_timer(struct guest_frame *f)
{
    if (ticks < 8)
        tick_eip[ticks] = f->eip;       /* where each tick came in: a diagnosis */
    ticks++;
}

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
    /* x87 in its init state across exits */
    uint16_t cw = 0, sw = 0xffff;
    __asm__ volatile("fninit");
    for (int n = 0; n < 50; n++) {
        hypercall(HC_NULL, 0, 0);
        outb(0x3e3, 1);
    }
    __asm__ volatile("fnstcw %0; fnstsw %1" : "=m"(cw), "=m"(sw));
    CHECK(cw == 0x37f && sw == 0, "x87 after FNINIT and 100 exits: FCW %x FSW %x, want 37f 0",
          (uint32_t)cw, (uint32_t)sw);
    /* x87 with values: ST0 = pi, ST1 = 1.0, FCW 0x27f (53-bit precision) */
    static const uint16_t cw_set = 0x27f;
    __asm__ volatile("fldcw %0; fld1; fldpi" :: "m"(cw_set));
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
    static uint64_t st0, st1;         /* the doubles' bits (FSTP m64fp) */
    __asm__ volatile("fnstcw %0; fnstsw %1; fstpl %2; fstpl %3"
                     : "=m"(cw), "=m"(sw), "=m"(st0), "=m"(st1));
    uint32_t pi_hi = (uint32_t)(st0 >> 32), one_hi = (uint32_t)(st1 >> 32);
    CHECK(cw == 0x27f, "x87 FCW %x after the exits, want 27f", (uint32_t)cw);
    CHECK(((sw >> 11) & 7) == 6, "x87 TOP %u after the exits, want 6", (uint32_t)((sw >> 11) & 7));
    CHECK(pi_hi == 0x400921fbu && (uint32_t)st0 == 0x54442d18u,
          "x87 ST0 %x..., want pi (400921fb54442d18)", pi_hi);
    CHECK(one_hi == 0x3ff00000u, "x87 ST1 %x..., want 1.0 (3ff00000...)", one_hi);
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 4; j++)
            CHECK(got[i][j] == pat[i][j], "xmm%u word %u: %x, want %x", (uint32_t)i, (uint32_t)j,
                  got[i][j], pat[i][j]);
    if (ticks != 5)
        for (unsigned i = 0; i < ticks && i < 8; i++)
            print("tick %u came at eip %x\n", i, tick_eip[i]);
    CHECK(ticks == 5, "timer ticks %u", ticks);
    print("XMM0-7 and the x87 stack intact after 2500 exits\n");
    print("PASS: fpu\n");
    return 0;
}
