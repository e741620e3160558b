/* MOV to CR4 rules against the guest's CPUID (arch/cr4.h). */
#include <stdbool.h>
#include <stddef.h>
#include <arch/cr4.h>
#include <arch/regs.h>

uint64_t cr4_guest_allowed(uint32_t l1_ecx, uint32_t l1_edx, uint32_t l7_ebx, uint32_t l7_ecx,
                           uint32_t l7_edx)
{
    static const struct { uint8_t leaf; uint8_t reg; uint32_t bit; uint64_t cr4; } map[] = {
        /* leaf 1: reg 0 = EDX, 1 = ECX; leaf 7: reg 0 = EBX, 1 = ECX, 2 = EDX */
        { 1, 0, CPUID1_EDX_VME, CR4_VME | CR4_PVI },
        { 1, 0, CPUID1_EDX_TSC, CR4_TSD },
        { 1, 0, CPUID1_EDX_DE, CR4_DE },
        { 1, 0, CPUID1_EDX_PSE, CR4_PSE },
        { 1, 0, CPUID1_EDX_PAE, CR4_PAE },
        { 1, 0, CPUID1_EDX_MCE, CR4_MCE },
        { 1, 0, CPUID1_EDX_PGE, CR4_PGE },
        { 1, 0, CPUID1_EDX_FXSR, CR4_OSFXSR },
        { 1, 0, CPUID1_EDX_SSE, CR4_OSXMMEXCPT },
        { 1, 1, CPUID1_ECX_VMX, CR4_VMXE },
        { 1, 1, CPUID1_ECX_SMX, CR4_SMXE },
        { 1, 1, CPUID1_ECX_PCID, CR4_PCIDE },
        { 1, 1, CPUID1_ECX_XSAVE, CR4_OSXSAVE },
        { 7, 0, CPUID7_EBX_FSGSBASE, CR4_FSGSBASE },
        { 7, 0, CPUID7_EBX_SMEP, CR4_SMEP },
        { 7, 0, CPUID7_EBX_SMAP, CR4_SMAP },
        { 7, 1, CPUID7_ECX_UMIP, CR4_UMIP },
        { 7, 1, CPUID7_ECX_PKU, CR4_PKE },
        { 7, 1, CPUID7_ECX_LA57, CR4_LA57 },
        { 7, 1, CPUID7_ECX_KL, CR4_KL },
        { 7, 1, CPUID7_ECX_PKS, CR4_PKS },
        { 7, 1, CPUID7_ECX_CET_SS, CR4_CET },
        { 7, 2, CPUID7_EDX_CET_IBT, CR4_CET },
    };
    uint64_t allowed = CR4_PCE;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        uint32_t r = map[i].leaf == 1 ? (map[i].reg ? l1_ecx : l1_edx)
                                      : map[i].reg == 0 ? l7_ebx : map[i].reg == 1 ? l7_ecx : l7_edx;
        if (r & map[i].bit)
            allowed |= map[i].cr4;
    }
    return allowed;
}

const char *cr4_write_check(uint64_t old, uint64_t val, uint64_t allowed, uint64_t cr0,
                            uint64_t cr3, uint64_t efer)
{
    bool lma = (efer & EFER_LMA) != 0;
    if (val & ~allowed)
        return "a bit that is reserved or whose feature CPUID does not report";
    if (lma && !(val & CR4_PAE))
        return "PAE cleared in long mode";
    if (lma && ((old ^ val) & CR4_LA57))
        return "LA57 changed in long mode";
    if ((val & CR4_PCIDE) && !(old & CR4_PCIDE) && (!lma || (cr3 & 0xfff)))
        return "PCIDE set outside long mode or with CR3[11:0] not 0";
    if ((val & CR4_CET) && !(cr0 & CR0_WP))
        return "CET set with CR0.WP 0";
    return NULL;
}
