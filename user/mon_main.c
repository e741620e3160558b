/* A VM's monitor at CPL 3 (include/nethv/monitor_abi.h): every call from
 * the kernel lands here with the calling vCPU's message page. */
#include <stddef.h>
#include <string.h>
#include <nethv/config.h>
#include <nethv/monitor_abi.h>
#include <arch/time.h>
#include "sys.h"

static struct vmm *monitor;             /* this program's one VM */
static uint32_t fault;                  /* monitor-fault (tests): at the first exit */

/* monitor-fault = "wild-syscall": what a compromised monitor might try,
 * each refused by the kernel (counted), then a reply the kernel must not
 * apply (an action it does not know): its VM stops, nothing else */
static uint64_t wild_syscalls(struct mon_msg *msg)
{
    static const uint64_t kernel_va = 0x100000, unmapped = MON_ARENA - 4096;
    sys4(999, 0, 0, 0, 0);
    sys4((uint64_t)-1, 0, 0, 0, 0);
    sys4(MON_SYS__COUNT, 0, 0, 0, 0);
    sys4(MON_SYS_CONSOLE, kernel_va, 16, 0, 0);
    sys4(MON_SYS_CONSOLE, unmapped, 16, 0, 0);
    sys4(MON_SYS_CONSOLE, (uint64_t)msg, 1ull << 40, 0, 0);
    sys4(MON_SYS_GPA_READ, 0, kernel_va, 4096, 0);
    sys4(MON_SYS_GPA_READ, ~0ull - 100, (uint64_t)msg, 200, 0);
    sys4(MON_SYS_GPA_WRITE, 0, (uint64_t)msg, 1ull << 32, 0);
    sys4(MON_SYS_POST_IRQ, 1000, 32, 0, 0);
    sys4(MON_SYS_VCPU_TIMER, 7, 1, 1, 32);
    sys4(MON_SYS_DEV_TIMER, 99, 1, 1, 0);
    sys4(MON_SYS_NET_START, 99, 0, (uint64_t)msg, 0);
    sys4(MON_SYS_NET_SET_MSI, 0, 9, kernel_va, 0);
    sys4(MON_SYS_HOST_CPUID, 0, 0, kernel_va, 0);
    sys4(MON_SYS_IO_CLOCK, 0xffff, 0, 0, 0);
    sys4(MON_SYS_MODULE_READ, 7, 0, (uint64_t)msg, 16);         /* no such module */
    sys4(MON_SYS_MODULE_READ, 0, ~0ull - 8, (uint64_t)msg, 16); /* past its end */
    sys4(MON_SYS_MODULE_LOAD, 0, 0, ~0ull - 4096, 4096);        /* outside guest RAM */
    sys4(MON_SYS_MODULE_LOAD, 0, 0, 0, 1ull << 40);             /* too long */
    memset(&msg->rp, 0xff, sizeof(msg->rp));   /* garbage everywhere */
    msg->rp.action = (enum vmm_action)99;
    return 0;
}
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
            fault = msg->fault;
            monitor = vmm_create(&msg->create);
        } else if (!monitor || vmm_reset(monitor, &msg->create)) {
            return (uint64_t)-1;
        }
        if (!monitor)
            return (uint64_t)-1;
        msg->load.cmdline[sizeof(msg->load.cmdline) - 1] = 0;
        return vmm_load_guest(msg->create.vm_id, msg->name, &msg->load, &msg->boot) ? (uint64_t)-1 : 0;
    }
    case MON_EXIT:
        if (!monitor)
            return (uint64_t)-1;
        if (fault == CONFIG_MONFAULT_NULL)
            return *(volatile uint64_t *)0;             /* #PF */
        if (fault == CONFIG_MONFAULT_LOOP)
            for (;;)                                    /* the watchdog */
                __asm__ volatile("" ::: "memory");
        if (fault == CONFIG_MONFAULT_WILD_SYSCALL)
            return wild_syscalls(msg);
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
