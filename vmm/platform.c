/*
 * The PC platform a stock OS expects, one device model per line.  Each
 * *_init registers its ports/MMIO/MSRs with vmm_add_device/vmm_add_msrs and
 * keeps its state in vmm_alloc'd memory.
 */
#include "vmm.h"
#include "lapic.h"
#include "ioapic.h"

int vmm_platform_pc_init(struct vmm *m, const struct vmm_create_args *a)
{
    (void)a;
    if (vmm_msr_pc_init(m) || vmm_acpi_tables_init(m, a))
        return -1;
    if (vmm_lapic_init(m) || vmm_ioapic_init(m))        /* interrupt controllers */
        return -1;
    if (vmm_uart_init(m, a) ||          /* legacy PC devices */
        vmm_rtc_init(m, a) ||
        vmm_pit_init(m, a) ||
        vmm_pic_init(m, a) ||
        vmm_pci_init(m, a) ||
        vmm_virtio_net_init(m, a) ||   /* after the host bridge */
        vmm_pm_init(m, a) ||
        vmm_legacy_init(m, a))
        return -1;
    return 0;
}
