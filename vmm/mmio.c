/*
 * MMIO emulation: the kernel forwards EPT-violation / NPF exits on
 * guest-physical addresses that are not RAM, with the instruction bytes at
 * CS:RIP; the monitor decodes the access, performs it on the device model
 * and completes the instruction in the guest's registers.
 */
#include <stdio.h>
#include "decode.h"
#include "vmm.h"
#include "lapic.h"


static void device_access(struct vmm *m, unsigned vcpu, uint64_t gpa, bool write, unsigned size,
                          uint64_t *val)
{
    if (m->lapic && gpa - LAPIC_MMIO_BASE < LAPIC_MMIO_SIZE) {     /* per vCPU: not a vmm_dev */
        vmm_lapic_mmio(m, vcpu, gpa, write, size, val);
        return;
    }
    if (testdev_mmio(m, gpa, write, size, val) || vmm_dev_mmio(m, gpa, write, size, val))
        return;
    /* no device: reads float high, writes vanish (counted) */
    m->unhandled_mmio++;
    if (!write)
        *val = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

void vmm_mmio(struct vmm *m, const struct vmm_request *rq, struct vmm_reply *rp)
{
    struct insn in;
    uint64_t gpa = rq->exit.gpa;
    int rc = decode_insn(rq->insn, rq->insn_avail, vmm_decode_mode(rq->mode), &in);

    if (rc || in.mmio.op == INSN_OP_NONE || in.mmio.op >= INSN_OP_MOVS) {
        snprintf(rp->why, sizeof(rp->why), "MMIO at %#llx: cannot emulate (%s, %u bytes at rip)",
                 (unsigned long long)gpa, rc ? decode_strerror(rc) : "unsupported instruction",
                 rq->insn_avail);
        rp->action = VMM_FAULT_VM;
        return;
    }
    rp->regs = rq->regs;
    uint64_t old = 0;
    if (in.mmio.read)
        device_access(m, rq->vcpu, gpa, false, in.mmio.size, &old);
    if (in.mmio.write) {
        uint64_t v = insn_mmio_store_value(&in, &rp->regs, old);
        device_access(m, rq->vcpu, gpa, true, in.mmio.size, &v);
    }
    insn_mmio_apply(&in, &rp->regs, old);
    rp->regs_dirty = true;
    rp->advance_rip = in.len;
}
