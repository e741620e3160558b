/*
 * The MSRs a stock Linux touches on a PC (Intel or AMD host) that no device
 * model owns: MTRRs (WB by default, writes kept), MISC_ENABLE, the TSC,
 * platform and microcode IDs, speculation controls, machine-check globals
 * and AMD's family MSRs (reads 0, writes ignored, except where noted).
 * No paravirtual (KVM) MSRs.  EFER is handled by vmm_msr_efer: it changes
 * guest CPU state, so it answers through the reply (set_efer).
 *
 * The local APIC's MSRs (APIC_BASE 0x1b, TSC_DEADLINE 0x6e0, x2APIC 0x800+)
 * belong to the LAPIC model: the ranges below leave them out.
 * Handlers run with m->lock held (vmm_msr).
 */
#include <arch/regs.h>
#include "vmm.h"

#define MSR_TSC             0x010
#define MSR_PLATFORM_ID     0x017
#define MSR_FEATURE_CONTROL 0x03a
#define MSR_TSC_ADJUST      0x03b
/* not offered (CPUID hides them, vmm/cpuid.c): #GP, never a value kept
 * that does nothing */
#define MSR_SPEC_CTRL       0x048
#define MSR_PRED_CMD        0x049
#define MSR_BIOS_SIGN_ID    0x08b       /* AMD: PATCH_LEVEL */
#define MSR_PLATFORM_INFO   0x0ce
#define MSR_MPERF           0x0e7       /* Intel CPUID 6 APERFMPERF: both count like the TSC */
#define MSR_APERF           0x0e8
#define MSR_MTRRCAP         0x0fe
#define MSR_ARCH_CAP        0x10a
#define MSR_MCG_CAP         0x179
#define MSR_MCG_STATUS      0x17a
#define MSR_MCG_CTL         0x17b
#define MSR_THERM_INT       0x19b       /* Intel thermal: Linux's therm_throt */
#define MSR_THERM_STATUS    0x19c
#define MSR_MISC_ENABLE     0x1a0
#define MSR_PKG_THERM_STAT  0x1b1
#define MSR_PKG_THERM_INT   0x1b2
#define MSR_ENERGY_PERF_BIAS 0x1b0
#define MSR_DEBUGCTL        0x1d9
#define MSR_MTRR_PHYS0      0x200       /* base/mask pairs 0x200-0x20f */
#define MSR_MTRR_FIX64K     0x250
#define MSR_MTRR_FIX16K_0   0x258
#define MSR_MTRR_FIX16K_1   0x259
#define MSR_MTRR_FIX4K_0    0x268       /* ..0x26f */
#define MSR_PAT             0x277       /* SVM intercepts it; VMX passes it through */
#define MSR_MTRR_DEF_TYPE   0x2ff

#define MSR_TSC_AUX         0xc0000103  /* SVM intercepts it (not in the VMCB) */
#define MSR_AMD_HWCR        0xc0010015
#define MSR_AMD_VM_CR       0xc0010114
#define MSR_AMD_DE_CFG      0xc0011029

#define MTRR_VCNT           8
#define MTRRCAP_VAL         (MTRR_VCNT | (1u << 8) | (1u << 10))    /* VCNT, FIX, WC */
#define MTRR_DEF_WB         (0x06u | (1u << 11))                    /* type WB, E; FE off */
#define MISC_ENABLE_VAL     ((1u << 0) | (1u << 11) | (1u << 12))   /* fast strings; no BTS, no PEBS */
#define FEATURE_CTL_LOCKED  1u                                      /* locked, VMX off */
#define HWCR_TSC_FREQ_SEL   (1u << 24)                              /* TSC counts at P0 rate */
#define VM_CR_SVMDIS        (1u << 4)
#define DE_CFG_LFENCE_SER   (1u << 1)                               /* LFENCE is serializing */
#define PAT_POWER_ON        0x0007040600070406ull


#define VMM_MSR_PC_VCPUS    64

struct msr_pc {
    uint64_t mtrr_var[2 * MTRR_VCNT];
    uint64_t mtrr_fixed[11];    /* 64K, 16K x2, 4K x8 */
    uint64_t mtrr_def;
    uint64_t pat;
    uint64_t misc_enable;
    uint64_t tsc_aux[VMM_MSR_PC_VCPUS];     /* also given to the kernel: RDTSCP reads it */
};

static int fixed_index(uint32_t msr)
{
    if (msr == MSR_MTRR_FIX64K)
        return 0;
    if (msr == MSR_MTRR_FIX16K_0 || msr == MSR_MTRR_FIX16K_1)
        return 1 + (int)(msr - MSR_MTRR_FIX16K_0);
    if (msr >= MSR_MTRR_FIX4K_0 && msr < MSR_MTRR_FIX4K_0 + 8)
        return 3 + (int)(msr - MSR_MTRR_FIX4K_0);
    return -1;
}

/* The register a write or read lands in; NULL if not a stored MSR. */
static uint64_t *stored(struct msr_pc *s, unsigned vcpu, uint32_t msr)
{
    if (msr == MSR_TSC_AUX)
        return vcpu < VMM_MSR_PC_VCPUS ? &s->tsc_aux[vcpu] : NULL;
    int f = fixed_index(msr);
    if (f >= 0)
        return &s->mtrr_fixed[f];
    if (msr >= MSR_MTRR_PHYS0 && msr < MSR_MTRR_PHYS0 + 2 * MTRR_VCNT)
        return &s->mtrr_var[msr - MSR_MTRR_PHYS0];
    switch (msr) {
    case MSR_MTRR_DEF_TYPE: return &s->mtrr_def;
    case MSR_PAT:           return &s->pat;
    case MSR_MISC_ENABLE:   return &s->misc_enable;
    default:                return NULL;
    }
}

static int pc_rdmsr(struct vmm *m, void *state, unsigned vcpu, uint32_t msr, uint64_t *val)
{
    struct msr_pc *s = state;
    uint64_t *p = stored(s, vcpu, msr);
    if (p) {
        *val = *p;
        return 0;
    }
    switch (msr) {
    case MSR_TSC: case MSR_MPERF: case MSR_APERF:
        *val = vm_guest_tsc(m->vm_id, vcpu);
        return 0;
    case MSR_PLATFORM_INFO: *val = (vm_tsc_khz() / 100000) << 8; return 0;  /* max non-turbo ratio */
    case MSR_MTRRCAP:       *val = MTRRCAP_VAL; return 0;
    case MSR_FEATURE_CONTROL: *val = FEATURE_CTL_LOCKED; return 0;
    case MSR_PLATFORM_ID: case MSR_TSC_ADJUST: case MSR_BIOS_SIGN_ID:
    case MSR_MCG_CAP: case MSR_MCG_STATUS: case MSR_DEBUGCTL: case MSR_THERM_INT:
    case MSR_THERM_STATUS: case MSR_PKG_THERM_STAT: case MSR_PKG_THERM_INT: case MSR_ENERGY_PERF_BIAS:
        *val = 0;
        return 0;
    case MSR_AMD_HWCR:      *val = HWCR_TSC_FREQ_SEL; return 0;
    case MSR_AMD_VM_CR:     *val = VM_CR_SVMDIS; return 0;
    case MSR_AMD_DE_CFG:    *val = DE_CFG_LFENCE_SER; return 0;
    default:
        if (msr >= 0xc0010000u) {      /* other AMD family MSRs: read as 0 */
            *val = 0;
            return 0;
        }
        return -1;
    }
}

static int pc_wrmsr(struct vmm *m, void *state, unsigned vcpu, uint32_t msr, uint64_t val)
{
    struct msr_pc *s = state;
    if (msr == MSR_TSC_AUX) {
        if (val >> 32)
            return -1;                  /* bits 63:32 reserved: #GP */
        vm_set_tsc_aux(m->vm_id, vcpu, (uint32_t)val);
    }
    uint64_t *p = stored(s, vcpu, msr);
    if (p) {
        *p = val;
        return 0;
    }
    switch (msr) {
    case MSR_TSC: case MSR_TSC_ADJUST: case MSR_BIOS_SIGN_ID:
    case MSR_MCG_STATUS: case MSR_MCG_CTL: case MSR_DEBUGCTL: case MSR_THERM_INT:
    case MSR_THERM_STATUS: case MSR_PKG_THERM_STAT: case MSR_PKG_THERM_INT: case MSR_ENERGY_PERF_BIAS:
    case MSR_MPERF: case MSR_APERF:
        return 0;                       /* accepted, no effect */
    default:
        return msr >= 0xc0010000u ? 0 : -1;
    }
}

int vmm_msr_pc_init(struct vmm *m)
{
    struct msr_pc *s = vmm_alloc(m, sizeof(*s));
    if (!s)
        return -1;
    s->mtrr_def = MTRR_DEF_WB;
    s->pat = PAT_POWER_ON;
    s->misc_enable = MISC_ENABLE_VAL;
    /* around the LAPIC's APIC_BASE (0x1b); AMD: 0xc001_0000.. and 0xc001_1000.. */
    static const uint32_t ranges[][2] = {
        { MSR_TSC, 0x1b - MSR_TSC },
        { 0x1c, MSR_MTRR_DEF_TYPE + 1 - 0x1c },
        { MSR_TSC_AUX, 1 },
        { 0xc0010000u, 0x200 },
        { 0xc0011000u, 0x40 },
    };
    for (unsigned i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        struct vmm_msr r = { ranges[i][0], ranges[i][1], pc_rdmsr, pc_wrmsr, s };
        if (vmm_add_msrs(m, &r))
            return -1;
    }
    return 0;
}

/*
 * EFER (any platform): reads give the guest's value; writes may change the
 * bits the guest's CPUID grants (m->efer_allowed: SCE, LME, NXE, FFXSR,
 * TCE; LMA is read-only: the backends derive it from LME and CR0.PG);
 * others, or LME changed while paging is on, raise #GP.
 */
bool vmm_msr_efer(struct vmm *m, const struct vmm_request *rq, struct vmm_reply *rp)
{
    if (rq->exit.msr.index != MSR_EFER)
        return false;
    unsigned len = rq->exit.insn_len ? rq->exit.insn_len : 2;
    if (rq->exit.reason == VCPU_EXIT_MSR_READ) {
        rp->regs = rq->regs;
        rp->regs.gpr.rax = (uint32_t)rq->efer;
        rp->regs.gpr.rdx = rq->efer >> 32;
        rp->regs_dirty = true;
        rp->advance_rip = len;
        return true;
    }
    uint64_t val = (rq->regs.gpr.rdx << 32) | (uint32_t)rq->regs.gpr.rax;
    if ((val & ~(m->efer_allowed | EFER_LMA)) || ((rq->cr0 & CR0_PG) && ((val ^ rq->efer) & EFER_LME))) {
        vmm_inject_exception(rp, EXC_GP, true, 0);
        return true;
    }
    rp->set_efer = true;
    rp->efer = (val & ~EFER_LMA) | (rq->efer & EFER_LMA);
    rp->advance_rip = len;
    return true;
}
