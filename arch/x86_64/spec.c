/*
 * Transient-execution mitigations (issue 13, item 3), chosen at boot from
 * CPUID and IA32_ARCH_CAPABILITIES and printed:
 *
 *  host      retpolines, always (the kernel is built with
 *            -mindirect-branch=thunk-extern, spec_thunks.S); on top, enhanced
 *            IBRS (ARCH_CAP.IBRS_ALL) or AMD's automatic IBRS when present.
 *  entry     VMX: L1D flush (FLUSH_CMD) on L1TF-affected CPUs (not RDCL_NO,
 *            not SKIP_L1DFL_VMENTRY); otherwise VERW (MD_CLEAR) on CPUs
 *            affected by MDS, TAA or the MMIO stale-data bugs (vmx_entry.S,
 *            the last instruction before VMLAUNCH/VMRESUME).  The L1D flush
 *            clears the same buffers on such CPUs, as in Intel's guidance.
 *  switch    IBPB when a CPU enters a vCPU of another VM than the last one
 *            it ran: one guest's branch training never steers another's.
 *  exit      the RSB is filled with harmless entries after every exit
 *            (svm_entry.S, vmx_entry.S) before the host's first RET.
 *  guests    IA32_SPEC_CTRL per vCPU, loaded at entry and replaced by the
 *            host's at exit (reads and writes always exit, so the kernel's
 *            copy is the truth); PRED_CMD and FLUSH_CMD do what they say on
 *            the physical CPU; ARCH_CAPABILITIES is the host's facts plus
 *            SKIP_L1DFL_VMENTRY; CPUID offers exactly these.
 *
 * Not done: return thunks (Retbleed) and BHI clearing.  libfdt, Debian-built
 * without retpolines, is not in ring 0: only the configuration parser at
 * CPL 3 links it, once at boot (kernel/config_load.c).
 */
#include <nethv/kernel.h>
#include <arch/cpu.h>
#include <arch/regs.h>
#include <arch/spec.h>
#include <arch/user.h>
#include <arch/vcpu.h>
#include <arch/x86.h>

struct spec_policy spec;
uint8_t spec_verw_on_entry;                     /* vmx_entry.S reads these two */
uint8_t spec_verw_to_user;                      /* user_entry.S, isr.S: VERW before IRETQ to CPL 3 */
uint8_t spec_l1d_flush_on_entry;
static const struct vm_hw *last_vm[MAX_CPUS];   /* for IBPB between VMs */

/* ARCH_CAPABILITIES bits that state facts about the CPU a guest may rely on
 * (the rest -- TSX_CTRL and other control MSRs -- it would have to use) */
#define ARCH_CAP_GUEST_FACTS (ARCH_CAP_RDCL_NO | ARCH_CAP_IBRS_ALL | ARCH_CAP_RSBA | \
                              ARCH_CAP_SSB_NO | ARCH_CAP_MDS_NO | ARCH_CAP_PSCHANGE_MC_NO | \
                              ARCH_CAP_TAA_NO | ARCH_CAP_SBDR_SSDP_NO | ARCH_CAP_FBSDP_NO | \
                              ARCH_CAP_PSDP_NO | ARCH_CAP_FB_CLEAR | ARCH_CAP_RRSBA | \
                              ARCH_CAP_BHI_NO | ARCH_CAP_PBRSB_NO | ARCH_CAP_GDS_NO | \
                              ARCH_CAP_RFDS_NO)

void spec_init(bool vmx)
{
    struct cpuid_regs r0 = cpuid(0, 0), x0 = cpuid(0x80000000, 0);
    uint32_t edx7 = 0, ebx7 = 0, ebx_x8 = 0, eax_x21 = 0;
    if (r0.eax >= 7) {
        struct cpuid_regs r7 = cpuid(7, 0);
        edx7 = r7.edx;
        ebx7 = r7.ebx;
    }
    if (x0.eax >= 0x80000008)
        ebx_x8 = cpuid(0x80000008, 0).ebx;
    if (x0.eax >= 0x80000021)
        eax_x21 = cpuid(0x80000021, 0).eax;

    /* Intel's leaf 7 or AMD's 0x80000008 bits (AMD CPUs may report both) */
    if ((edx7 & CPUID7_EDX_IBRS_IBPB) || (ebx_x8 & CPUIDX8_EBX_IBRS))
        spec.spec_ctrl_bits |= SPEC_CTRL_IBRS;
    if ((edx7 & CPUID7_EDX_STIBP) || (ebx_x8 & CPUIDX8_EBX_STIBP))
        spec.spec_ctrl_bits |= SPEC_CTRL_STIBP;
    if ((edx7 & CPUID7_EDX_SSBD) || (ebx_x8 & CPUIDX8_EBX_SSBD))
        spec.spec_ctrl_bits |= SPEC_CTRL_SSBD;
    spec.ibpb = (edx7 & CPUID7_EDX_IBRS_IBPB) || (ebx_x8 & CPUIDX8_EBX_IBPB);
    spec.flush_cmd = (edx7 & CPUID7_EDX_L1D_FLUSH) != 0;
    spec.md_clear = (edx7 & CPUID7_EDX_MD_CLEAR) != 0;
    spec.has_arch_cap = (edx7 & CPUID7_EDX_ARCH_CAP) != 0;
    spec.guest_ssb_no = (ebx_x8 & CPUIDX8_EBX_SSB_NO) != 0;
    if (spec.has_arch_cap)
        spec.arch_cap = rdmsr(MSR_IA32_ARCH_CAP);

    if ((spec.arch_cap & ARCH_CAP_IBRS_ALL) && (spec.spec_ctrl_bits & SPEC_CTRL_IBRS)) {
        spec.eibrs = true;
        spec.host_spec_ctrl = SPEC_CTRL_IBRS;   /* set once, left on (Intel's eIBRS) */
    }
    spec.auto_ibrs = (eax_x21 & CPUIDX21_EAX_AUTO_IBRS) != 0;

    /* L1TF: VMX hosts only (AMD is not affected) */
    uint64_t a = spec.arch_cap;
    bool l1tf = vmx && !(a & (ARCH_CAP_RDCL_NO | ARCH_CAP_SKIP_L1DFL));
    spec.l1d_flush_entry = l1tf && spec.flush_cmd;
    /* "spec=l1d-flush": flush where it is not needed, so that a test runs
     * the path on a CPU (an emulator) that says it is not affected */
    bool forced = vmx && spec.flush_cmd && !spec.l1d_flush_entry && cmdline_has("spec=l1d-flush");
    if (forced)
        spec.l1d_flush_entry = true;
    bool mds = !(a & ARCH_CAP_MDS_NO);
    bool taa = (ebx7 & CPUID7_EBX_RTM) && !(a & ARCH_CAP_TAA_NO);
    bool mmio = !(a & ARCH_CAP_SBDR_SSDP_NO) || !(a & ARCH_CAP_FBSDP_NO) || !(a & ARCH_CAP_PSDP_NO);
    bool buffers = vmx && (mds || taa || mmio);
    spec_verw_on_entry = buffers && spec.md_clear && !spec.l1d_flush_entry;
    spec_l1d_flush_on_entry = spec.l1d_flush_entry;
    spec.ibpb_vm_switch = spec.ibpb;
    /* Code at CPL 3 (arch/user.h) may share the kernel's page tables
     * (supervisor-only) only where Meltdown does not apply -- AMD, or Intel
     * saying RDCL_NO; elsewhere it runs on tables of its own (KPTI, user.c;
     * "kpti=on" forces them, for tests).  The CPU buffers are cleared before
     * each return to it where MDS, TAA or the MMIO bugs apply (Intel). */
    bool amd = r0.ebx == 0x68747541 && r0.edx == 0x69746e65 && r0.ecx == 0x444d4163;    /* AuthenticAMD */
    bool meltdown = !amd && !(a & ARCH_CAP_RDCL_NO);
    spec.kpti = meltdown || cmdline_has("kpti=on");
    if (spec.kpti)
        user_kpti_enable();
    spec_verw_to_user = !amd && (mds || taa || mmio) && spec.md_clear;

    printk("spec: host: retpolines%s; entry: %s, %s; IBPB between VMs: %s; RSB filled after "
           "every exit\n",
           spec.eibrs ? " and enhanced IBRS" : spec.auto_ibrs ? " and automatic IBRS" : "",
           forced ? "L1D flush (forced: spec=l1d-flush)" :
           spec.l1d_flush_entry ? "L1D flush (L1TF)" :
           !vmx ? "no L1D flush (SVM: no L1TF)" :
           !l1tf ? "no L1D flush (ARCH_CAP says not needed)" :
                   "no L1D flush: L1TF-affected and no FLUSH_CMD (NOT mitigated)",
           spec_verw_on_entry ? "VERW (MDS/TAA/MMIO)" :
           forced && buffers ? "no VERW (the forced L1D flush clears the buffers)" :
           spec.l1d_flush_entry && buffers ? "buffers cleared by the L1D flush" :
           !vmx ? "no VERW (SVM: no MDS)" :
           !buffers ? "no VERW (not affected)" : "no VERW: affected and no MD_CLEAR (NOT mitigated)",
           spec.ibpb ? "yes" : "no (CPU has no IBPB)");
    printk("spec: guests get SPEC_CTRL bits %#llx, PRED_CMD %s, FLUSH_CMD %s, ARCH_CAPABILITIES "
           "%s %#llx\n", (unsigned long long)spec.spec_ctrl_bits, spec.ibpb ? "yes" : "no",
           spec.flush_cmd ? "yes" : "no", spec.has_arch_cap ? "yes" : "no",
           (unsigned long long)spec_guest_arch_cap());
    printk("spec: code at CPL 3: %s%s\n",
           !spec.kpti ? "shares the kernel's page tables (not affected by Meltdown)" :
           meltdown ? "on page tables of its own (KPTI: Meltdown, not AMD and no RDCL_NO)" :
                      "on page tables of its own (KPTI, forced: kpti=on)",
           spec_verw_to_user ? ", VERW before every return to it" : "");
    spec_init_cpu();
}

void spec_init_cpu(void)
{
    if (spec.kpti)      /* no global kernel translation across a switch to a user view */
        write_cr4(read_cr4() & ~CR4_PGE);
    if (spec.host_spec_ctrl)
        wrmsr(MSR_IA32_SPEC_CTRL, spec.host_spec_ctrl);
    if (spec.auto_ibrs)
        wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_AIBRSE);
}

uint64_t spec_guest_arch_cap(void)
{
    /* SKIP_L1DFL_VMENTRY: a guest never needs to flush for a VM of its own */
    return (spec.arch_cap & ARCH_CAP_GUEST_FACTS) | ARCH_CAP_SKIP_L1DFL;
}

void spec_guest_cpuid(uint32_t leaf, uint32_t sub, struct cpuid_regs *r)
{
    if (leaf == 7 && sub == 0) {
        uint32_t keep = CPUID7_EDX_MD_CLEAR;    /* a fact about VERW */
        if ((spec.spec_ctrl_bits & SPEC_CTRL_IBRS) && spec.ibpb)
            keep |= CPUID7_EDX_IBRS_IBPB;
        if (spec.spec_ctrl_bits & SPEC_CTRL_STIBP)
            keep |= CPUID7_EDX_STIBP;
        if (spec.spec_ctrl_bits & SPEC_CTRL_SSBD)
            keep |= CPUID7_EDX_SSBD;
        if (spec.flush_cmd)
            keep |= CPUID7_EDX_L1D_FLUSH;
        if (spec.has_arch_cap)
            keep |= CPUID7_EDX_ARCH_CAP;
        r->edx &= ~(CPUID7_EDX_MD_CLEAR | CPUID7_EDX_IBRS_IBPB | CPUID7_EDX_STIBP |
                    CPUID7_EDX_L1D_FLUSH | CPUID7_EDX_ARCH_CAP | CPUID7_EDX_CORE_CAP |
                    CPUID7_EDX_SSBD) | keep;
    } else if (leaf == 0x80000008) {
        /* AMD: the controls that work, and SSB_NO; not the "always on" and
         * "preferred" hints, nor VIRT_SSBD (no VIRT_SPEC_CTRL MSR here) */
        uint32_t keep = CPUIDX8_EBX_SSB_NO;
        if (spec.ibpb)
            keep |= CPUIDX8_EBX_IBPB;
        if (spec.spec_ctrl_bits & SPEC_CTRL_IBRS)
            keep |= CPUIDX8_EBX_IBRS;
        if (spec.spec_ctrl_bits & SPEC_CTRL_STIBP)
            keep |= CPUIDX8_EBX_STIBP;
        if (spec.spec_ctrl_bits & SPEC_CTRL_SSBD)
            keep |= CPUIDX8_EBX_SSBD;
        r->ebx &= keep | ~(CPUIDX8_EBX_SPEC_ALL);
    } else if (leaf == 7 && sub == 2) {
        /* PSFD, IPRED/RRSBA/BHI controls, DDPD: SPEC_CTRL bits a guest
         * would set and nethv refuses (spec_ctrl_bits) */
        r->edx = 0;
    } else if (leaf == 0x80000021) {
        r->eax &= ~CPUIDX21_EAX_AUTO_IBRS;      /* EFER.AIBRSE is not the guest's */
    }
}

int spec_guest_rdmsr(struct vcpu_hw *v, uint32_t msr, uint64_t *val)
{
    switch (msr) {
    case MSR_IA32_SPEC_CTRL:
        if (!spec.spec_ctrl_bits)
            return SPEC_MSR_GP;
        *val = v->spec_ctrl;
        return SPEC_MSR_DONE;
    case MSR_IA32_ARCH_CAP:
        if (!spec.has_arch_cap)
            return SPEC_MSR_GP;
        *val = spec_guest_arch_cap();
        return SPEC_MSR_DONE;
    case MSR_IA32_PRED_CMD:                     /* write-only */
    case MSR_IA32_FLUSH_CMD:
        return SPEC_MSR_GP;
    default:
        return SPEC_MSR_NOT_MINE;
    }
}

int spec_guest_wrmsr(struct vcpu_hw *v, uint32_t msr, uint64_t val)
{
    switch (msr) {
    case MSR_IA32_SPEC_CTRL:
        if (!spec.spec_ctrl_bits || (val & ~spec.spec_ctrl_bits))
            return SPEC_MSR_GP;
        v->spec_ctrl = val;                     /* loaded at the next entry */
        return SPEC_MSR_DONE;
    case MSR_IA32_PRED_CMD:
        if (!spec.ibpb || (val & ~PRED_CMD_IBPB))
            return SPEC_MSR_GP;
        if (val)
            wrmsr(MSR_IA32_PRED_CMD, PRED_CMD_IBPB);
        return SPEC_MSR_DONE;
    case MSR_IA32_FLUSH_CMD:
        if (!spec.flush_cmd || (val & ~FLUSH_CMD_L1D))
            return SPEC_MSR_GP;
        if (val)
            wrmsr(MSR_IA32_FLUSH_CMD, FLUSH_CMD_L1D);
        return SPEC_MSR_DONE;
    case MSR_IA32_ARCH_CAP:                     /* read-only */
        return SPEC_MSR_GP;
    default:
        return SPEC_MSR_NOT_MINE;
    }
}

void spec_enter(struct vcpu_hw *v, unsigned cpu)
{
    if (spec.ibpb_vm_switch && last_vm[cpu] != v->vm) {
        if (last_vm[cpu])
            wrmsr(MSR_IA32_PRED_CMD, PRED_CMD_IBPB);
        last_vm[cpu] = v->vm;
    }
    if (v->spec_ctrl != spec.host_spec_ctrl)
        wrmsr(MSR_IA32_SPEC_CTRL, v->spec_ctrl);
    /* VMX's L1D flush is the entry code's (vmx_entry.S) */
}

void spec_exit(struct vcpu_hw *v)
{
    if (v->spec_ctrl != spec.host_spec_ctrl)
        wrmsr(MSR_IA32_SPEC_CTRL, spec.host_spec_ctrl);
}

void spec_vcpu_reset(struct vcpu_hw *v)
{
    /* the power-on value: the guest's bits off, whatever the host runs
     * with (a guest that wants IBRS on an eIBRS CPU sets it itself) */
    v->spec_ctrl = 0;
}
