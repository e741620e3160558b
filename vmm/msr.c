/* MSR policy: nothing is emulated yet; every intercepted access raises #GP
 * in the guest (as an unimplemented MSR does on hardware). */
#include "vmm.h"

void vmm_msr(struct vmm *m, const struct vmm_request *rq, struct vmm_reply *rp)
{
    m->unhandled_msr++;
    vmm_inject_exception(rp, EXC_GP, true, 0);
}
