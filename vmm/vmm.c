/*
 * The per-VM monitor: CPU and device emulation behind the kernel's narrow
 * interface (include/nethv/vmm_if.h).  It never touches packets.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include "vmm.h"
#include "ioapic.h"
#include "lapic.h"

/* Everything after the lock from `a`: device models registered afresh. */
static int vmm_init(struct vmm *m, const struct vmm_create_args *a)
{
    size_t keep = offsetof(struct vmm, lock) + sizeof(m->lock);
    memset((char *)m + keep, 0, sizeof(*m) - keep);
    m->vm_id = a->vm_id;
    memset(m->name, 0, sizeof(m->name));
    strncpy(m->name, a->name, sizeof(m->name) - 1);
    m->vcpus = a->vcpus;
    m->ram_bytes = a->ram_bytes;
    m->platform = a->platform;
    if (a->platform == VMM_PLATFORM_PC && vmm_platform_pc_init(m, a)) {
        printk("vmm %s: PC platform set-up failed\n", m->name);
        return -1;
    }
    vmm_cpuid_publish(m);       /* (the CPUID policy needs the devices: x2APIC) */
    return 0;
}

struct vmm *vmm_create(const struct vmm_create_args *a)
{
    uint64_t pa = page_alloc(ALIGN_UP(sizeof(struct vmm), PAGE_SIZE) / PAGE_SIZE, PAGE_SIZE, 0);
    if (!pa)
        return NULL;
    struct vmm *m = phys_to_virt(pa);
    m->lock = (spinlock_t)SPINLOCK_INIT;
    m->boots = 0;
    if (vmm_init(m, a)) {
        page_free(pa, ALIGN_UP(sizeof(struct vmm), PAGE_SIZE) / PAGE_SIZE);
        return NULL;
    }
    return m;
}

void vmm_print_stats(struct vmm *m)
{
    vmm_virtio_net_print_stats(m);
}

/* In place (the console's input path may hold m): same set-up as at
 * creation, which worked then and allocates nothing outside m. */
int vmm_reset(struct vmm *m, const struct vmm_create_args *a)
{
    uint64_t f = spin_lock_irqsave(&m->lock);
    m->boots++;
    int rc = vmm_init(m, a);
    spin_unlock_irqrestore(&m->lock, f);
    return rc;
}

void vmm_inject_exception(struct vmm_reply *rp, uint8_t vector, bool has_error, uint32_t error)
{
    rp->inject = true;
    rp->event = (struct vcpu_event){ VCPU_EVENT_EXCEPTION, vector, has_error, error };
}

/* A device asked for power-off or reset (vmm/pm.c, vmm/legacy.c): stop the
 * VM, or have the kernel restart it (VMM_RESET_VM). */
static void io_stop_check(struct vmm *m, struct vmm_reply *rp)
{
    const char *msg;
    if (m->power_off_requested) {
        msg = "guest powered off (ACPI S5)";
        rp->exit_code = 0;
        rp->action = VMM_STOP_VM;
    } else if (m->reset_requested) {
        msg = "guest requested reset";
        rp->action = VMM_RESET_VM;
    } else {
        return;
    }
    snprintf(rp->why, sizeof(rp->why), "%s", msg);
    vm_console_line(m->vm_id, msg);
}

static void io_exit(struct vmm *m, const struct vmm_request *rq, struct vmm_reply *rp)
{
    rp->advance_rip = rq->exit.insn_len;
    if (rq->exit.io.string) {
        /* no device here takes string I/O yet: a guest error, not a host one */
        snprintf(rp->why, sizeof(rp->why), "string I/O to port %#x not emulated", rq->exit.io.port);
        rp->action = VMM_FAULT_VM;
        return;
    }
    if (testdev_io(m, rq, rp))
        return;
    uint32_t val = (uint32_t)rq->regs.gpr.rax;
    if (vmm_dev_io(m, rq->exit.io.port, !rq->exit.io.in, rq->exit.io.size, &val)) {
        if (rq->exit.io.in) {
            uint64_t mask = rq->exit.io.size == 4 ? 0xffffffffull : (1ull << (8 * rq->exit.io.size)) - 1;
            rp->regs = rq->regs;
            rp->regs.gpr.rax = rq->exit.io.size == 4 ? val : (rq->regs.gpr.rax & ~mask) | (val & mask);
            rp->regs_dirty = true;
        }
        io_stop_check(m, rp);
        return;
    }
    /* unclaimed port: reads float high, writes are dropped (as on a PC bus) */
    m->unhandled_io++;
    if (rq->exit.io.in) {
        rp->regs = rq->regs;
        uint64_t mask = rq->exit.io.size == 4 ? 0xffffffffull : (1ull << (8 * rq->exit.io.size)) - 1;
        rp->regs.gpr.rax = (rp->regs.gpr.rax & ~mask) | mask;
        if (rq->exit.io.size == 4)
            rp->regs.gpr.rax &= 0xffffffffull;
        rp->regs_dirty = true;
    }
}

void vmm_handle_exit(struct vmm *m, const struct vmm_request *rq_in, struct vmm_reply *rp)
{
    const struct vmm_request *rq = rq_in;
    struct vmm_request with_len;
    struct insn in;
    /* No length from the CPU (SVM without NRIP-save): the kernel sent the
     * bytes at CS:RIP instead, and the monitor's decoder measures them. */
    if (!rq->exit.insn_len && rq->insn_avail && rq->exit.reason != VCPU_EXIT_MMIO &&
        !decode_insn(rq->insn, rq->insn_avail, vmm_decode_mode(rq->mode), &in)) {
        with_len = *rq;
        with_len.exit.insn_len = in.len;
        rq = &with_len;
    }
    rp->action = VMM_RESUME;
    switch (rq->exit.reason) {
    case VCPU_EXIT_IO:
        io_exit(m, rq, rp);
        break;
    case VCPU_EXIT_CPUID:
        vmm_cpuid(m, rq, rp);
        break;
    case VCPU_EXIT_MSR_READ:
    case VCPU_EXIT_MSR_WRITE:
        vmm_msr(m, rq, rp);
        break;
    case VCPU_EXIT_MMIO:
        vmm_mmio(m, rq, rp);
        break;
    case VCPU_EXIT_EXCEPTION:
        /* intercepted only to observe it: give it back to the guest */
        vmm_inject_exception(rp, rq->exit.exc.vector, rq->exit.exc.has_error, rq->exit.exc.error);
        break;
    case VCPU_EXIT_APIC_EOI: {  /* the CPU did the LAPIC's part of this EOI (ISR, PPR) */
        uint64_t f = spin_lock_irqsave(&m->lock);
        if (m->ioapic)
            vmm_ioapic_eoi(m, rq->exit.eoi.vector);
        spin_unlock_irqrestore(&m->lock, f);
        break;
    }
    case VCPU_EXIT_APIC_WRITE:  /* the value is already in the register page */
        vmm_lapic_apic_write(m, rq->vcpu, rq->exit.apic_write.offset);
        break;
    case VCPU_EXIT_VMINSN:
    case VCPU_EXIT_XSETBV:      /* the kernel's (kernel/exit.c, VMX's backend): never here */
    case VCPU_EXIT_INVD:
        vmm_inject_exception(rp, EXC_UD, false, 0);
        break;
    default:
        snprintf(rp->why, sizeof(rp->why), "no emulation for %s exits",
                 vcpu_exit_name(rq->exit.reason));
        rp->action = VMM_FAULT_VM;
        break;
    }
}
