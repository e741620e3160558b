/* Instruction length by decoding, for CPUs that do not report it (SVM
 * without NRIP-save), and the kernel fast paths' check that an MMIO exit
 * was a plain store. */
#include <nethv/vm.h>
#include <nethv/vmm_if.h>
#include <arch/decode.h>

unsigned vcpu_decode_len(struct vcpu *v, const struct vmm_request *rq);
unsigned vcpu_decode_len(struct vcpu *v, const struct vmm_request *rq)
{
    struct insn in;
    if (decode_insn(rq->insn, rq->insn_avail, vmm_decode_mode(rq->mode), &in))
        return 0;
    return in.len;
}

/* The length of a plain store (MOV to memory, no REP): what a doorbell or
 * an EOI write is, and what a fast path may step over without emulating
 * it; 0 for anything else (left to the monitor's emulator). */
unsigned vcpu_decode_store_len(struct vcpu *v, const struct vmm_request *rq);
unsigned vcpu_decode_store_len(struct vcpu *v, const struct vmm_request *rq)
{
    struct insn in;
    if (decode_insn(rq->insn, rq->insn_avail, vmm_decode_mode(rq->mode), &in) ||
        in.mmio.op != INSN_OP_MOV || !in.mmio.mem_dst || in.mmio.rep)
        return 0;
    return in.len;
}

/* MOV to CRn (0F 22 /r) at CS:RIP: 0 with the CR number, the source GPR and
 * the length; -1 if the bytes are something else or cannot be decoded. */
int vcpu_decode_mov_to_cr(const struct vmm_request *rq, unsigned *cr, unsigned *gpr, unsigned *len);
int vcpu_decode_mov_to_cr(const struct vmm_request *rq, unsigned *cr, unsigned *gpr, unsigned *len)
{
    struct insn in;
    if (decode_insn(rq->insn, rq->insn_avail, vmm_decode_mode(rq->mode), &in) ||
        in.map != INSN_MAP_0F || in.opcode != 0x22 || !in.has_modrm)
        return -1;
    *cr = ((in.modrm >> 3) & 7) | (in.rex_r ? 8 : 0);
    *gpr = (in.modrm & 7) | (in.rex_b ? 8 : 0);
    *len = in.len;
    return 0;
}
