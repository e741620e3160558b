/* The monitor's device registry: port, MMIO and MSR ranges -> device models. */
#include <string.h>
#include <nethv/kernel.h>
#include "vmm.h"

void *vmm_alloc(struct vmm *m, size_t size)
{
    size = ALIGN_UP(size, 64);
    if (size > sizeof(m->arena) - m->arena_used)
        return NULL;
    void *p = m->arena + m->arena_used;
    m->arena_used += size;
    memset(p, 0, size);
    return p;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen && blen && a < b + blen && b < a + alen;
}

int vmm_add_device(struct vmm *m, const struct vmm_dev *d)
{
    if (m->ndevs == VMM_MAX_DEVS)
        return -1;
    for (unsigned i = 0; i < m->ndevs; i++) {
        const struct vmm_dev *o = &m->devs[i];
        if (overlaps(d->port_base, d->port_count, o->port_base, o->port_count) ||
            overlaps(d->mmio_base, d->mmio_size, o->mmio_base, o->mmio_size)) {
            printk("vmm %s: device %s overlaps %s\n", m->name, d->name, o->name);
            return -1;
        }
    }
    m->devs[m->ndevs++] = *d;
    return 0;
}

int vmm_add_msrs(struct vmm *m, const struct vmm_msr *r)
{
    if (m->nmsrs == VMM_MAX_MSRS)
        return -1;
    m->msrs[m->nmsrs++] = *r;
    return 0;
}

int vmm_add_timer(struct vmm *m, void (*expired)(struct vmm *m, void *state), void *state)
{
    if (m->ntimers == VMM_DEV_TIMERS)
        return -1;
    m->timers[m->ntimers] = (struct vmm_timer){ expired, state };
    return (int)m->ntimers++;
}

/* The kernel's call for an expired device timer (vmm_if.h), vCPU 0's CPU. */
void vmm_timer_expired(struct vmm *m, unsigned id)
{
    if (!m || id >= m->ntimers || !m->timers[id].expired)
        return;
    uint64_t f = spin_lock_irqsave(&m->lock);
    m->timers[id].expired(m, m->timers[id].state);
    spin_unlock_irqrestore(&m->lock, f);
}

bool vmm_dev_io(struct vmm *m, uint16_t port, bool write, unsigned size, uint32_t *val)
{
    for (unsigned i = 0; i < m->ndevs; i++) {
        const struct vmm_dev *d = &m->devs[i];
        if (d->port_count && d->io && port >= d->port_base && port - d->port_base < d->port_count) {
            uint64_t f = spin_lock_irqsave(&m->lock);
            d->io(m, d->state, port, write, size, val);
            spin_unlock_irqrestore(&m->lock, f);
            return true;
        }
    }
    return false;
}

bool vmm_dev_mmio(struct vmm *m, uint64_t gpa, bool write, unsigned size, uint64_t *val)
{
    for (unsigned i = 0; i < m->ndevs; i++) {
        const struct vmm_dev *d = &m->devs[i];
        if (d->mmio_size && d->mmio && gpa >= d->mmio_base && gpa - d->mmio_base < d->mmio_size) {
            uint64_t f = spin_lock_irqsave(&m->lock);
            d->mmio(m, d->state, gpa, write, size, val);
            spin_unlock_irqrestore(&m->lock, f);
            return true;
        }
    }
    return false;
}
