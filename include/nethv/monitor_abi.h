/*
 * A VM's monitor as a program at CPL 3 (issue 14; arch/x86_64/include/arch/
 * user.h for the mechanism): its address space, its calls, its system calls.
 *
 * The kernel calls the monitor on the exiting vCPU's CPU, with that vCPU's
 * message page (struct mon_msg) as the argument; the monitor answers in the
 * same page and replies.  Everything the monitor asks of the kernel is a
 * system call below, on its own VM only: no call carries a VM id, and
 * every vCPU index, guest address and length is checked by the kernel.
 *
 * Layout of a monitor's address space (all in USER_SLOT):
 *   MON_IMAGE      its program (text read-only, data), shared text
 *   MON_ARENA      MON_ARENA_SIZE of zeroed pages for page_alloc
 *   MON_STACKS     one MON_STACK_SIZE stack per vCPU, unmapped guards between
 *   MON_MSG        one page per vCPU: struct mon_msg
 *   MON_VAPIC      one page per vCPU: its virtual-APIC page (vm_vapic_page)
 */
#ifndef NETHV_MONITOR_ABI_H
#define NETHV_MONITOR_ABI_H
#include <stdint.h>
#include <nethv/vmm_if.h>

#define MON_IMAGE       0x00007f8000200000ull
#define MON_ARENA       0x00007f8040000000ull
#define MON_ARENA_SIZE  (256ull << 10)    /* struct vmm is 68 KiB today */
#define MON_STACKS      0x00007f8080000000ull
#define MON_STACK_SIZE  (32ull << 10)
#define MON_STACK_STRIDE (MON_STACK_SIZE + 4096)
#define MON_MSG         0x00007f80c0000000ull
#define MON_VAPIC       0x00007f80c0400000ull
#define MON_MAX_VCPUS   32

enum mon_op {
    MON_CREATE = 1,         /* vmm_create(&create), vmm_load_guest(&load, &boot); reply 0, or -1 */
    MON_EXIT,               /* vmm_handle_exit(&rq, &rp) */
    MON_RESET,              /* vmm_reset(&create), vmm_load_guest(&load, &boot): reply 0 or -1 */
    MON_STATS,              /* vmm_print_stats */
    MON_TIMER,              /* vmm_timer_expired(timer) */
    MON_UART_INPUT,         /* vmm_uart_input(timer: the byte): reply 1 if taken */
};

struct mon_msg {
    uint32_t op;
    uint32_t timer;                     /* MON_TIMER */
    struct vmm_create_args create;      /* MON_CREATE, MON_RESET: .name points at name[] */
    char name[32];
    uint32_t vapic_mask;                /* MON_CREATE: the vCPUs whose vAPIC page is at MON_VAPIC */
    uint32_t fault;                     /* MON_CREATE: enum config_monitor_fault (tests): fail
                                           on purpose at the first MON_EXIT */
    struct vmm_load load;               /* MON_CREATE, MON_RESET: the images (vmm_load_guest) */
    struct vmm_boot boot;               /* ... and, replied, where the guest starts */
    struct vmm_request rq;              /* MON_EXIT */
    struct vmm_reply rp;
};
_Static_assert(sizeof(struct mon_msg) <= 4096, "one page per vCPU");

/* System calls (the number in RAX; 0 is the reply).  Results: >= 0, or a
 * negative errno (USER_EFAULT, USER_EINVAL, USER_ENOSYS). */
enum mon_sys {
    MON_SYS_CONSOLE = 1,    /* (buf, len <= 256): one console line, shown escaped */
    MON_SYS_GPA_READ,       /* (gpa, buf, len <= 64 KiB) */
    MON_SYS_GPA_WRITE,      /* (gpa, buf, len <= 64 KiB) */
    MON_SYS_POST_IRQ,       /* (vcpu, vector) */
    MON_SYS_POST_NMI,       /* (vcpu) */
    MON_SYS_LAPIC_BASE,     /* (vcpu, apic_base) */
    MON_SYS_VCPU_START,     /* (vcpu, sipi_vector) */
    MON_SYS_VCPU_TIMER,     /* (vcpu, deadline, period, vector) */
    MON_SYS_TSC_DEADLINE,   /* (vcpu): the value */
    MON_SYS_SET_TSC_DEADLINE, /* (vcpu, guest_tsc) */
    MON_SYS_SET_TSC_AUX,    /* (vcpu, aux) */
    MON_SYS_SET_CR4_ALLOWED, /* (bits) */
    MON_SYS_IO_CLOCK,       /* (port, hz, tsc0) */
    MON_SYS_GUEST_TSC,      /* (vcpu): the value */
    MON_SYS_TSC_KHZ,        /* (): the value */
    MON_SYS_DEV_TIMER,      /* (id, deadline_tsc, period) */
    MON_SYS_NET_START,      /* (port, features, queues[VMM_NET_QUEUES]) */
    MON_SYS_NET_STOP,       /* (port) */
    MON_SYS_NET_SET_MSI,    /* (port, queue, msi) */
    MON_SYS_NET_MSI_PENDING, /* (port, queue): 0 or 1 */
    MON_SYS_NET_SET_NOTIFY, /* (port, gpa, stride) */
    MON_SYS_NET_PORT_INFO,  /* (port, out: struct mon_port_info) */
    MON_SYS_HOST_CPUID,     /* (leaf, subleaf, in/out: struct cpuid_regs): the
                               monitor's values of a leaf, filtered as the kernel
                               offers guests the host's speculation controls (spec.c) */
    MON_SYS_GUEST_XCR0,     /* (): the XCR0 bits guests may set (fpu.c) */
    MON_SYS_XSAVE_SIZE,     /* (xcr0): the XSAVE area's size for it */
    MON_SYS_PRINT,          /* (buf, len <= 256): one line of the monitor's own
                               (its printk), shown as "vmm NAME: ...", rate-limited */
    MON_SYS_MODULE_READ,    /* (mod, off, buf, len <= 64 KiB): a boot module's bytes */
    MON_SYS_MODULE_LOAD,    /* (mod, off, gpa, len <= VMM_MODULE_CHUNK): ... into guest RAM */
    MON_SYS_NET_CTRL,       /* (port, struct vmm_net_ctrl): 0 or refused */
    MON_SYS__COUNT
};

struct mon_port_info { uint8_t mac[6]; uint8_t link_up; uint8_t present; uint16_t mtu; };
#endif
