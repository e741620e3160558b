/* Instruction length by decoding, for CPUs that do not report it (SVM without NRIP-save). */
#include <nethv/vm.h>
#include <nethv/vmm_if.h>
#include <arch/decode.h>

enum cpu_mode vmm_decode_mode(enum cpu_exec_mode m);
enum cpu_mode vmm_decode_mode(enum cpu_exec_mode m)
{
    return m == MODE_LONG64 ? CPU_MODE_64 : m == MODE_PROT32 ? CPU_MODE_32 : CPU_MODE_16;
}

unsigned vcpu_decode_len(struct vcpu *v, const struct vmm_request *rq);
unsigned vcpu_decode_len(struct vcpu *v, const struct vmm_request *rq)
{
    struct insn in;
    if (decode_insn(rq->insn, rq->insn_avail, vmm_decode_mode(rq->mode), &in))
        return 0;
    return in.len;
}
