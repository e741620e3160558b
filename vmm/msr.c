/*
 * MSR policy: MSRs claimed by a device model (vmm_add_msrs) are emulated by
 * it; every other intercepted access raises #GP in the guest, as an
 * unimplemented MSR does on hardware.
 */
#include "vmm.h"

void vmm_msr(struct vmm *m, const struct vmm_request *rq, struct vmm_reply *rp)
{
    uint32_t msr = rq->exit.msr.index;
    bool write = rq->exit.reason == VCPU_EXIT_MSR_WRITE;

    if (vmm_msr_efer(m, rq, rp))
        return;

    for (unsigned i = 0; i < m->nmsrs; i++) {
        const struct vmm_msr *r = &m->msrs[i];
        if (msr < r->first || msr - r->first >= r->count)
            continue;
        uint64_t val = (rq->regs.gpr.rdx << 32) | (uint32_t)rq->regs.gpr.rax;
        uint64_t f = spin_lock_irqsave(&m->lock);
        int rc = write ? (r->wrmsr ? r->wrmsr(m, r->state, rq->vcpu, msr, val) : -1)
                       : (r->rdmsr ? r->rdmsr(m, r->state, rq->vcpu, msr, &val) : -1);
        spin_unlock_irqrestore(&m->lock, f);
        if (rc)
            break;
        rp->advance_rip = rq->exit.insn_len ? rq->exit.insn_len : 2;
        if (!write) {
            rp->regs = rq->regs;
            rp->regs.gpr.rax = (uint32_t)val;
            rp->regs.gpr.rdx = val >> 32;
            rp->regs_dirty = true;
        }
        return;
    }
    m->unhandled_msr++;
    vmm_inject_exception(rp, EXC_GP, true, 0);
}
