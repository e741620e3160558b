/* The test devices every VM has (include/nethv/guestabi.h). */
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/guestabi.h>
#include "vmm.h"

static void debug_byte(struct vmm *m, char c)
{
    uint64_t f = spin_lock_irqsave(&m->lock);
    if (c == '\n' || m->dbg_len == sizeof(m->dbg_line) - 1) {
        m->dbg_line[m->dbg_len] = 0;
        vm_console_line(m->vm_id, m->dbg_line);
        m->dbg_len = 0;
    }
    if (c != '\n' && c != '\r')
        m->dbg_line[m->dbg_len++] = c;
    spin_unlock_irqrestore(&m->lock, f);
}

bool testdev_io(struct vmm *m, const struct vmm_request *rq, struct vmm_reply *rp)
{
    uint16_t port = rq->exit.io.port;
    if (port == TESTDEV_DEBUG_PORT) {
        if (rq->exit.io.in) {
            rp->regs = rq->regs;
            rp->regs.gpr.rax = (rp->regs.gpr.rax & ~0xffull) | TESTDEV_DEBUG_PORT;
            rp->regs_dirty = true;
        } else {
            debug_byte(m, (char)rq->regs.gpr.rax);
        }
        return true;
    }
    if (port == TESTDEV_EXIT_PORT && !rq->exit.io.in) {
        rp->action = VMM_STOP_VM;
        rp->exit_code = (int)(uint32_t)rq->regs.gpr.rax;
        return true;
    }
    return false;
}

/* The test MMIO device: on "test" VMs only (a PC has no such device; its
 * window then reads as unclaimed).  The debug port 0xE9 and the exit port
 * 0xF4 are on every platform: QEMU's isa-debug-exit and Bochs' port E9
 * hack, which the PC conformance guest relies on; a guest can only print
 * (rate-limited like any console) or stop itself with them. */
bool testdev_mmio(struct vmm *m, uint64_t gpa, bool write, unsigned size, uint64_t *val)
{
    if (m->platform != VMM_PLATFORM_TEST)
        return false;
    if (gpa < TESTDEV_MMIO_BASE || gpa >= TESTDEV_MMIO_BASE + TESTDEV_MMIO_SIZE)
        return false;
    uint64_t f = spin_lock_irqsave(&m->lock);
    uint32_t off = (uint32_t)(gpa - TESTDEV_MMIO_BASE);
    m->testdev_accesses++;
    if (write) {
        if (off == 0)
            m->testdev_scratch = (uint32_t)*val;
    } else {
        *val = off == 0 ? m->testdev_scratch : off == 4 ? TESTDEV_MMIO_ID
             : off == 8 ? m->testdev_accesses : 0;
    }
    spin_unlock_irqrestore(&m->lock, f);
    return true;
}
