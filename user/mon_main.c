/* A VM's monitor at CPL 3 (include/nethv/monitor_abi.h): every call from
 * the kernel lands here with the calling vCPU's message page. */
#include <stddef.h>
#include <string.h>
#include <nethv/monitor_abi.h>
#include <arch/time.h>
#include "sys.h"

static struct vmm *monitor;             /* this program's one VM */
uint32_t mon_vapic_mask;                /* user/mon_sys.c: vm_vapic_page */

uint64_t user_main(uint64_t arg)
{
    struct mon_msg *msg = (struct mon_msg *)arg;
    switch (msg->op) {
    case MON_CREATE:
    case MON_RESET: {
        msg->name[sizeof(msg->name) - 1] = 0;
        msg->create.name = msg->name;
        if (msg->op == MON_CREATE) {
            if (monitor)
                return (uint64_t)-1;
            tsc_hz = vm_tsc_khz() * 1000;
            mon_vapic_mask = msg->vapic_mask;
            monitor = vmm_create(&msg->create);
            return monitor ? 0 : (uint64_t)-1;
        }
        return monitor ? (uint64_t)(int64_t)vmm_reset(monitor, &msg->create) : (uint64_t)-1;
    }
    case MON_EXIT:
        if (!monitor)
            return (uint64_t)-1;
        vmm_handle_exit(monitor, &msg->rq, &msg->rp);
        return 0;
    case MON_STATS:
        if (monitor)
            vmm_print_stats(monitor);
        return 0;
    case MON_UART_INPUT:
        return monitor && vmm_uart_input(monitor, (char)msg->timer) ? 1 : 0;
    case MON_TIMER:
        if (monitor && msg->timer < VMM_DEV_TIMERS)
            vmm_timer_expired(monitor, msg->timer);
        return 0;
    }
    return (uint64_t)-1;
}
