/*
 * FPU/SSE/AVX enable per CPU.  The kernel's newlib uses SSE, so SSE is on
 * everywhere; XSAVE is enabled (XCR0 = x87|SSE|AVX as supported) for the
 * guest-state save paths of the vCPU backends.  SDM 1 13.3.
 */
#include <arch/cpu.h>
#include <arch/regs.h>
#include <arch/x86.h>

#define XCR0_X87 (1ull << 0)
#define XCR0_SSE (1ull << 1)
#define XCR0_AVX (1ull << 2)

void fpu_init_cpu(void)
{
    /* caches on (some firmware leaves CD/NW set), FPU native, no emulation */
    write_cr0((read_cr0() & ~(CR0_EM | CR0_TS | CR0_CD | CR0_NW)) | CR0_MP | CR0_NE);
    uint64_t cr4 = read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT;
    if (cpuid(1, 0).ecx & CPUID1_ECX_XSAVE) {
        write_cr4(cr4 | CR4_OSXSAVE);
        uint64_t supported = cpuid(0xd, 0).eax;
        xsetbv(0, (XCR0_X87 | XCR0_SSE | XCR0_AVX) & supported);
    } else {
        write_cr4(cr4);
    }
    __asm__ volatile("fninit");
}
