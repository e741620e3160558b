/*
 * FPU/SSE/AVX enable per CPU.  The kernel's newlib uses SSE, so SSE is on
 * everywhere; XSAVE is enabled (XCR0 = x87|SSE|AVX as supported) for the
 * guest-state save paths of the vCPU backends.  SDM 1 13.3.
 *
 * x87 loads are kept off the hot paths (fpu_isr_mask, fpu_xrstor_guest).
 * The reason is an emulator bug, measured and read in QEMU's source (7.2
 * and 10.0, target/i386/tcg): every FXRSTOR, FRSTOR, FLDENV and every
 * XRSTOR that loads the x87 component ends in cpu_set_fpus(), which calls
 * cpu_clear_ignne(), which does `first_cpu->env.hflags2 &= ~HF2_IGNNE_MASK`
 * -- a plain read-modify-write of *CPU 0's* hflags2 from whichever CPU's
 * thread ran the instruction.  Under multi-threaded TCG that races with CPU
 * 0's own updates of hflags2, among them HF2_NPT_MASK at VMRUN (set) and
 * #VMEXIT (cleared).  A lost update leaves CPU 0 in host mode with nested
 * paging on (the host's next fetch walks its CR3 through the guest's NPT:
 * host #PF, #DF, triple fault) or in guest mode with it off (the guest's
 * walk reads host memory: guest #PF on its own IDT, triple fault).  The
 * reproducer is selftest=svm svm-x87race=fxrstor (svm_selftest.c).  Only
 * the x87 component triggers it: an XRSTOR whose RFBM or XSTATE_BV leaves
 * x87 out never calls cpu_set_fpus().
 */
#include <arch/cpu.h>
#include <arch/regs.h>
#include <arch/x86.h>

#define XCR0_X87 (1ull << 0)
#define XCR0_SSE (1ull << 1)
#define XCR0_AVX (1ull << 2)

/* XSAVE area, standard form (SDM 1 13.4): legacy region and header */
#define XSAVE_FCW_FSW_FTW_FOP   0       /* FCW, FSW, abridged FTW, FOP: one quadword */
#define XSAVE_FIP               8
#define XSAVE_FDP               16
#define XSAVE_ST0               32      /* ST0-ST7/MM0-MM7, 16 bytes each */
#define XSAVE_XMM0              160
#define XSAVE_XSTATE_BV         512
#define X87_INIT_WORD0          0x037full   /* FCW 0x37f, FSW 0, FTW all empty, FOP 0 */

/* The components isr_common saves around trap_dispatch: SSE and AVX when
 * XSAVE is on, 0 for FXSAVE.  Host code never uses x87 or MMX. */
uint32_t fpu_isr_mask;

void fpu_init_cpu(void)
{
    /* caches on (some firmware leaves CD/NW set), FPU native, no emulation */
    write_cr0((read_cr0() & ~(CR0_EM | CR0_TS | CR0_CD | CR0_NW)) | CR0_MP | CR0_NE);
    uint64_t cr4 = read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT;
    if (cpuid(1, 0).ecx & CPUID1_ECX_XSAVE) {
        write_cr4(cr4 | CR4_OSXSAVE);
        uint64_t supported = cpuid(0xd, 0).eax;
        uint64_t xcr0 = (XCR0_X87 | XCR0_SSE | XCR0_AVX) & supported;
        xsetbv(0, xcr0);
        __atomic_store_n(&fpu_isr_mask, (uint32_t)(xcr0 & (XCR0_SSE | XCR0_AVX)), __ATOMIC_RELAXED);
    } else {
        write_cr4(cr4);
    }
    __asm__ volatile("fninit");
}

uint64_t fpu_guest_xcr0(void)
{
    static uint64_t supported = ~0ull;
    if (supported == ~0ull)
        supported = (cpuid(1, 0).ecx & CPUID1_ECX_XSAVE)
                        ? cpuid(0xd, 0).eax & (XCR0_X87 | XCR0_SSE | XCR0_AVX) : 0;
    return supported;
}

/* XSETBV (SDM 2): XCR0 only; x87 always; AVX needs SSE; nothing beyond
 * what guests are offered.  (CPL > 0 and CR4.OSXSAVE = 0 fault in the CPU
 * before the intercept: SDM 3C 25.1.1, APM 2 15.7.1.) */
bool fpu_xsetbv_check(uint32_t ecx, uint64_t val)
{
    return ecx == 0 && (val & XCR0_X87) && !(val & ~fpu_guest_xcr0()) &&
           (!(val & XCR0_AVX) || (val & XCR0_SSE));
}

uint32_t fpu_xsave_size(uint64_t xcr0)
{
    uint32_t size = 512 + 64;                   /* legacy region + header */
    if (xcr0 & XCR0_AVX) {
        struct cpuid_regs r = cpuid(0xd, 2);    /* AVX: size, offset */
        if (r.eax + r.ebx > size)
            size = r.eax + r.ebx;
    }
    return size;
}

/* Is the image's x87 state exactly the x87 init state (SDM 1 13.6)? */
static bool x87_is_init(const uint8_t *a)
{
    const uint64_t *q = (const uint64_t *)a;
    if (q[XSAVE_FCW_FSW_FTW_FOP / 8] != X87_INIT_WORD0 || q[XSAVE_FIP / 8] || q[XSAVE_FDP / 8])
        return false;
    for (unsigned i = XSAVE_ST0 / 8; i < XSAVE_XMM0 / 8; i++)
        if (q[i])
            return false;
    return true;
}

/* Load a vCPU's saved state (standard-form XSAVE image, components `mask`).
 * An x87 part equal to the init state is loaded as "init" (XSTATE_BV[0]
 * cleared): the registers end up the same, and no x87 load runs (see the
 * top of this file).  The image stays a valid XSAVE image. */
void fpu_xrstor_guest(void *area, uint64_t mask)
{
    uint8_t *a = area;
    uint64_t *bv = (uint64_t *)(a + XSAVE_XSTATE_BV);
    if ((mask & XCR0_X87) && (*bv & XCR0_X87) && x87_is_init(a))
        *bv &= ~XCR0_X87;
    xrstor(a, mask);
}

/* Before code at CPL 3 runs (arch/user.h): every FPU/SSE/AVX register in
 * its init state, so that nothing of the last guest on this CPU (its state
 * stays in the registers after the exit saved it) or of the kernel's newlib
 * is left for the program to read.  An XRSTOR whose XSTATE_BV is 0
 * initializes every component RFBM names (SDM 1 13.8.1) and loads no x87
 * state (the top of this file); MXCSR comes from the image.  Without XSAVE,
 * FXRSTOR of an init image. */
static const uint8_t clean_image[576] __attribute__((aligned(64))) = {
    [0] = 0x7f, [1] = 0x03,             /* FCW 0x037f */
    [24] = 0x80, [25] = 0x1f,           /* MXCSR 0x1f80 */
};

void fpu_clear_for_user(void)
{
    if (fpu_isr_mask)
        xrstor(clean_image, xgetbv(0));
    else
        __asm__ volatile("fxrstor64 %0" :: "m"(*(const uint8_t (*)[512])clean_image));
}
