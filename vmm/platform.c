/*
 * The PC platform a stock OS expects, one device model per line.  Each
 * *_init registers its ports/MMIO/MSRs with vmm_add_device/vmm_add_msrs and
 * keeps its state in vmm_alloc'd memory.
 */
#include "vmm.h"

int vmm_platform_pc_init(struct vmm *m, const struct vmm_create_args *a)
{
    (void)a;
    return 0;
}
