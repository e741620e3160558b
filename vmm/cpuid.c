/*
 * CPUID policy: the host's values, minus what nethv does not virtualize
 * (VMX, SVM, AVX-512 and AMX, XSAVEC/XSAVES, MONITOR, PMU; x2APIC and TSC-deadline unless the
 * VM has the LAPIC model; speculation controls the kernel does not make
 * work), plus the hypervisor bit and leaf 0x40000000
 * ("nethvnethvnv").  With the LAPIC model, the TSC and APIC timer rates:
 * leaf 0x40000010 (EAX TSC kHz, EBX APIC timer kHz), leaf 0x15 (crystal =
 * APIC timer clock, TSC/crystal = EBX/EAX) and leaf 0x16 (MHz); leaf 0 then
 * says 0x16 at least, so that Linux on Intel takes the rates from there
 * instead of calibrating (basic leaves the host lacks read as zeros).
 */
#include <string.h>
#include <arch/x86.h>
#include <arch/regs.h>
#include <arch/cr4.h>
#include <arch/cpu.h>
#include <arch/spec.h>
#include "vmm.h"
#include "lapic.h"

#define CPUID1_ECX_MONITOR      (1u << 3)
#define CPUID1_ECX_PDCM         (1u << 15)
#define CPUID1_ECX_AVX          (1u << 28)
#define CPUID1_ECX_OSXSAVE      (1u << 27)
#define CPUID7_EBX_AVX2         (1u << 5)
#define CPUID7_EBX_ERMS         (1u << 9)       /* hidden: Bochs mis-emulates fast strings */
#define CPUID7_EBX_AVX512F      (1u << 16)
/* AVX-512 (F, DQ, IFMA, PF, ER, CD, BW, VL) and AMX/AVX-512 in EDX: their
 * XSAVE components (opmask, ZMM, tiles) are never offered in XCR0 */
#define CPUID7_EBX_AVX512_ALL   (CPUID7_EBX_AVX512F | (1u << 17) | (1u << 21) | (1u << 26) | \
                                 (1u << 27) | (1u << 28) | (1u << 30) | (1u << 31))
#define CPUID7_EDX_AVX512_AMX   ((1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | \
                                 (1u << 24) | (1u << 25))
#define CPUID1_ECX_FMA          (1u << 12)      /* VEX-encoded: with AVX only */
#define CPUID1_ECX_F16C         (1u << 29)
#define XCR0_AVX_BIT            (1ull << 2)
#define CPUID7_EDX_FSRM         (1u << 4)
#define CPUID_TSC_LEAF          0x15u
#define CPUID_FREQ_LEAF         0x16u           /* highest basic leaf we define */
#define CPUID_HV_LEAF           0x40000000u
#define CPUID_HV_TIMING         0x40000010u

/* What CPUID (leaf, sub) returns on the VM's vCPU `vcpu`. */
/* cr4, xcr0: the asking vCPU's (OSXSAVE, leaf 0xd's size for its XCR0) */
static struct cpuid_regs cpuid_value(const struct vmm *m, unsigned vcpu, uint64_t cr4, uint64_t xcr0,
                                     uint32_t leaf, uint32_t sub)
{
    struct cpuid_regs r;

    if (leaf == CPUID_HV_LEAF) {
        r.eax = m->lapic ? CPUID_HV_TIMING : CPUID_HV_LEAF;
        memcpy(&r.ebx, "nethvnethvnv", 4);
        memcpy(&r.ecx, "nethvnethvnv" + 4, 4);
        memcpy(&r.edx, "nethvnethvnv" + 8, 4);
    } else if (leaf == CPUID_HV_TIMING && m->lapic) {
        r = (struct cpuid_regs){ (uint32_t)vm_tsc_khz(), (uint32_t)vmm_lapic_timer_khz(m), 0, 0 };
    } else if (leaf > CPUID_HV_LEAF && leaf < 0x40010000u) {
        r = (struct cpuid_regs){ 0, 0, 0, 0 };
    } else if (m->lapic && leaf < CPUID_TSC_LEAF && leaf > cpuid(0, 0).eax) {
        r = (struct cpuid_regs){ 0, 0, 0, 0 };  /* past the host's leaves, below ours */
    } else {
        r = cpuid(leaf, sub);
        switch (leaf) {
        case 0:
            if (m->lapic && r.eax < CPUID_FREQ_LEAF)
                r.eax = CPUID_FREQ_LEAF;
            break;
        case 1: {
            /* XSAVE with x87, SSE and AVX (fpu_guest_xcr0): OSXSAVE mirrors
             * the vCPU's CR4.OSXSAVE; AVX and the VEX-encoded FMA and F16C
             * only with AVX's state in XCR0's reach */
            uint64_t gx = fpu_guest_xcr0();
            uint32_t keep = r.ecx & ((gx ? CPUID1_ECX_XSAVE : 0) |
                                     ((gx & XCR0_AVX_BIT) ? CPUID1_ECX_AVX | CPUID1_ECX_FMA |
                                                            CPUID1_ECX_F16C : 0));
            r.ecx &= ~(CPUID1_ECX_VMX | CPUID1_ECX_MONITOR | CPUID1_ECX_PDCM | CPUID1_ECX_X2APIC |
                       CPUID1_ECX_XSAVE | CPUID1_ECX_OSXSAVE | CPUID1_ECX_AVX | CPUID1_ECX_FMA |
                       CPUID1_ECX_F16C | CPUID1_ECX_TSC_DEADLINE);
            r.ecx |= keep;
            if (gx && (cr4 & CR4_OSXSAVE))
                r.ecx |= CPUID1_ECX_OSXSAVE;
            r.ecx |= CPUID1_ECX_HYPERVISOR;
            if (m->lapic)
                r.ecx |= CPUID1_ECX_X2APIC | CPUID1_ECX_TSC_DEADLINE;
            /* initial APIC id = vCPU index; logical count = vCPUs */
            r.ebx = (r.ebx & 0x0000ffffu) | ((uint32_t)m->vcpus << 16) | ((uint32_t)vcpu << 24);
            break;
        }
        case 7:
            if (sub == 0) {
                r.ebx &= ~(CPUID7_EBX_AVX512_ALL | CPUID7_EBX_ERMS |
                           ((fpu_guest_xcr0() & XCR0_AVX_BIT) ? 0 : CPUID7_EBX_AVX2));
                r.ecx = 0;
                r.edx &= ~(CPUID7_EDX_FSRM | CPUID7_EDX_AVX512_AMX);
            }
            break;
        case CPUID_TSC_LEAF:        /* the APIC timer clock as the crystal */
            if (m->lapic)
                r = (struct cpuid_regs){ 1, (uint32_t)m->lapic->tsc_per_count,
                                         (uint32_t)(vmm_lapic_timer_khz(m) * 1000), 0 };
            break;
        case CPUID_FREQ_LEAF:
            if (m->lapic)
                r = (struct cpuid_regs){ (uint32_t)(vm_tsc_khz() / 1000), (uint32_t)(vm_tsc_khz() / 1000),
                                         (uint32_t)(vmm_lapic_timer_khz(m) / 1000), 0 };
            break;
        case 0xd: {                 /* XSAVE: x87, SSE, AVX; XSAVEOPT only (SDM 1 13.2) */
            uint64_t gx = fpu_guest_xcr0();
            if (!gx)
                r = (struct cpuid_regs){ 0, 0, 0, 0 };
            else if (sub == 0)
                r = (struct cpuid_regs){ (uint32_t)gx, fpu_xsave_size(xcr0 & gx), fpu_xsave_size(gx), 0 };
            else if (sub == 1)
                r = (struct cpuid_regs){ r.eax & 1u, 0, 0, 0 };
            else if (!(sub == 2 && (gx & XCR0_AVX_BIT)))
                r = (struct cpuid_regs){ 0, 0, 0, 0 };
            break;
        }
        case 0x80000001:
            r.ecx &= ~CPUIDX1_ECX_SVM;
            break;
        default:
            break;
        }
        /* speculation controls: only those the kernel makes work for a
         * guest (arch/x86_64/spec.c) */
        spec_guest_cpuid(leaf, sub, &r);
    }
    return r;
}

void vmm_cpuid(struct vmm *m, const struct vmm_request *rq, struct vmm_reply *rp)
{
    struct cpuid_regs r = cpuid_value(m, rq->vcpu, rq->cr4, rq->xcr0, (uint32_t)rq->regs.gpr.rax,
                                      (uint32_t)rq->regs.gpr.rcx);
    rp->regs = rq->regs;
    rp->regs.gpr.rax = r.eax;
    rp->regs.gpr.rbx = r.ebx;
    rp->regs.gpr.rcx = r.ecx;
    rp->regs.gpr.rdx = r.edx;
    rp->regs_dirty = true;
    rp->advance_rip = rq->exit.insn_len ? rq->exit.insn_len : 2;
}

/* At creation and reset: the guest may set only the CR4 bits (enforced by
 * the kernel on both backends, arch/cr4.h) and EFER bits (vmm_msr_efer)
 * that this CPUID grants (APM 2 3.1.7, SDM 4 IA32_EFER). */
void vmm_cpuid_publish(struct vmm *m)
{
    struct cpuid_regs l1 = cpuid_value(m, 0, 0, 1, 1, 0), l7 = { 0, 0, 0, 0 }, x1 = { 0, 0, 0, 0 };
    if (cpuid_value(m, 0, 0, 1, 0, 0).eax >= 7)
        l7 = cpuid_value(m, 0, 0, 1, 7, 0);
    vm_set_cr4_allowed(m->vm_id, cr4_guest_allowed(l1.ecx, l1.edx, l7.ebx, l7.ecx, l7.edx));
    if (cpuid_value(m, 0, 0, 1, 0x80000000, 0).eax >= 0x80000001)
        x1 = cpuid_value(m, 0, 0, 1, 0x80000001, 0);
    m->efer_allowed = ((x1.edx & CPUIDX1_EDX_SYSCALL) ? EFER_SCE : 0) |
                      ((x1.edx & CPUIDX1_EDX_LM) ? EFER_LME : 0) |
                      ((x1.edx & CPUIDX1_EDX_NX) ? EFER_NXE : 0) |
                      ((x1.edx & CPUIDX1_EDX_FFXSR) ? EFER_FFXSR : 0) |
                      ((x1.ecx & CPUIDX1_ECX_TCE) ? EFER_TCE : 0);
}
