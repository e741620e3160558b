/*
 * virtio-net, control plane: one modern (virtio 1.x, non-transitional)
 * virtio-pci function per net port of the VM, at PCI slots 3, 4, ...
 * (OASIS virtio 1.1, 4.1 "Virtio Over PCI Bus" and 5.1 "Network Device").
 *
 * The monitor runs config space, feature negotiation, queue set-up, device
 * status and reset, and the MSI-X table; the kernel (kernel/vnet.c) runs
 * the rings and moves the packets.  The interface between the two is the
 * "virtio-net data plane" section of nethv/vmm_if.h: DRIVER_OK hands the
 * queues over (vm_net_start), reset takes them back (vm_net_stop), every
 * change of a queue's interrupt route is passed on (vm_net_set_msi), and so
 * is every move of the notify area (vm_net_set_notify) -- notify writes are
 * the kernel's fast path and should never reach this file.
 *
 * BAR 0, 64-bit non-prefetchable memory, 32 KiB, one 4 KiB page per part:
 *   0x0000  common configuration (4.1.4.3), 0x38 bytes
 *   0x1000  ISR status (4.1.4.5), 1 byte
 *   0x2000  device configuration (5.1.4): mac, status, max_virtqueue_pairs, mtu
 *   0x3000  notifications (4.1.4.4): notify_off_multiplier 4, queue_notify_off =
 *           queue index, so queue n's doorbell is the dword at 0x3000 + 4n
 *   0x4000  MSI-X table, 3 entries (16 bytes each: address lo/hi, data, control)
 *   0x5000  MSI-X PBA
 * Capabilities: MSI-X, then the vendor capabilities COMMON, NOTIFY, ISR,
 * DEVICE and PCI_CFG (4.1.4).  Interrupt pin 0: no INTx, MSI-X only, so the
 * ISR status is never set (reads return 0; read-to-clear of nothing).  The
 * link is always reported as the kernel says (vm_net_port_info); a change
 * bumps config_generation, but no config interrupt is sent (config_msix_vector
 * is kept only as a register).
 *
 * PCI_CFG access capability (4.1.4.8): a write to pci_cfg_data performs the
 * write of cap.length bytes at cap.offset of cap.bar; pci_cfg_data is
 * refreshed with the BAR's contents (without side effects) after every
 * config write and every register write, since the PCI framework has no
 * config read hook.  A write through it into the notify area is counted
 * (notify_via_pci_cfg) and dropped: the doorbell belongs to the kernel,
 * and Linux never notifies that way.
 *
 * Guest errors (offsets outside a structure, accesses of the wrong width,
 * settings at the wrong time) are counted in bad_access: writes are
 * ignored, reads return 0.
 *
 * Locking: the PCI framework hooks run under m->lock (irqs off) on the CPU
 * of the exiting vCPU, and make their vm_net_* calls with it held;
 * vmm_virtio_net_init runs from vmm_create, before the VM's first entry.
 */
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/virtio.h>
#include <arch/x86.h>
#include <arch/time.h>
#include "vmm.h"
#include "pci.h"
#include "lapic.h"
#include "vnet_ctrl.h"

#define VNET_FIRST_SLOT     3
#define VNET_CLASS_REV      0x02000001u         /* class 02.00.00 (Ethernet), revision 1 */
/* 4.1.2.1: non-transitional devices SHOULD have a subsystem device ID >= 0x40 */
#define VNET_SUBSYS_ID      (0x40 + VIRTIO_ID_NET)

#define VNET_BAR            0
#define VNET_BAR_SIZE       0x8000u
#define VNET_PART_SIZE      0x1000u             /* one page per part of the BAR */
#define VNET_COMMON_OFF     0x0000u
#define VNET_ISR_OFF        0x1000u
#define VNET_ISR_LEN        1u
#define VNET_DEVCFG_OFF     0x2000u
#define VNET_DEVCFG_LEN     12u                 /* mac, status, max_virtqueue_pairs, mtu */
#define VNET_NOTIFY_OFF     0x3000u
#define VNET_NOTIFY_MULT    4u
#define VNET_NQ             3               /* receiveq1, transmitq1, controlq */
#define VNET_CTRLQ          2
#define VNET_NOTIFY_LEN     (VNET_NQ * VNET_NOTIFY_MULT)
#define VNET_MSIX_OFF       0x4000u
#define VNET_PBA_OFF        0x5000u
#define VNET_NVEC           (1 + VNET_NQ)   /* config + one per queue */
#define VNET_QUEUE_MAX      256u

/* MSI-X table entry (PCI 3.0, 6.8.2.6-9) */
#define VNET_MSIX_ENTRY     16u
#define VNET_MSIX_CTRL_MASKED 1u

#define VNET_FEATURES (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MAC) |        \
                       VIRTIO_BIT(VIRTIO_NET_F_STATUS) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | \
                       VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_NET_F_CSUM) |       \
                       VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_NET_F_MTU) |    \
                       VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) | \
                       VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | \
                       VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN) | \
                       VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) |  \
                       VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) | \
                       VIRTIO_BIT(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) |                           \
                       VIRTIO_BIT(VIRTIO_NET_F_GUEST_ANNOUNCE))

/* GUEST_ANNOUNCE after a VM restart: the device asks the driver (status
 * ANNOUNCE and a config interrupt) VNET_ANNOUNCE_ROUNDS times, 1, 2, 4, 8
 * and 16 s after DRIVER_OK -- the guest only announces the addresses it has
 * by then, and a restarted Linux configures eth0 seconds after its driver
 * starts; a round whose request is still not acked is skipped. */
#define VNET_ANNOUNCE_ROUNDS 5

/* Control queue bounds: descriptors per chain (an indirect table's
 * included: Linux uses 3 or 4), and so at most VNET_CTRL_DESCS guest reads
 * a chain; every available chain is taken per kick (<= the queue size). */
#define VNET_CTRL_DESCS     16

struct vnet_queue {
    uint16_t size;                      /* 256 after reset; the driver may lower it */
    uint16_t vector;                    /* queue_msix_vector */
    bool enabled;
    uint64_t desc, driver, device;
};

struct vnet_msix_entry {
    uint32_t addr_lo, addr_hi, data, ctrl;
};

struct vmm_vnet {
    struct vmm_pci_fn *f;
    unsigned port;
    unsigned msix_cap, cfg_cap;         /* capability offsets in f->cfg */
    /* common configuration */
    uint32_t dfselect, gfselect;
    uint64_t driver_features;
    uint16_t config_vector, queue_select;
    uint8_t status, generation;
    bool link_up;                       /* as last shown to the driver */
    bool started;                       /* vm_net_start succeeded, no stop since */
    struct vnet_queue q[VNET_NQ];
    struct vnet_msix_entry msix[VNET_NVEC];
    /* the control queue, run here (vnet_ctrl_kick) */
    uint16_t ctrl_avail, ctrl_used;     /* next avail entry to take, next used entry */
    bool ctrl_broken;                   /* a malformed chain: NEEDS_RESET until reset */
    bool ctrl_pending;                  /* its interrupt, held while masked (PBA bit) */
    struct vmm_net_ctrl rx;             /* the receive mode in force (CTRL_RX, MAC_TABLE_SET) */
    struct vring_desc ctrl_desc[VNET_QUEUE_MAX];    /* a kick's snapshot of the table */
    bool cfg_pending;                   /* the config interrupt, held while masked */
    bool announce;                      /* status ANNOUNCE: asked, not yet acked */
    unsigned announce_rounds;           /* rounds still to come (after a restart) */
    uint64_t announce_next;             /* TSC of the next round */
    uint64_t announces, announce_acks;  /* requests made, acks taken */
    uint64_t notify_gpa;                /* as last given to vm_net_set_notify */
    /* counters */
    uint64_t acc[VNET_BAR_SIZE / VNET_PART_SIZE];   /* accesses per BAR part (BAR or PCI_CFG) */
    uint64_t notify_in_monitor;         /* notify area accesses that exited to the monitor */
    uint64_t notify_via_pci_cfg;        /* notify writes through the PCI_CFG window (dropped) */
    uint64_t bad_access;                /* guest errors: see the top of the file */
    uint64_t start_failed;              /* vm_net_start refused the queues */
    uint64_t ctrl_ok, ctrl_err;         /* control commands acked OK / VIRTIO_NET_ERR */
    uint64_t ctrl_breaks;               /* control queue broken (malformed chains) */
};

static void vnet_put16(uint8_t *b, uint16_t v) { b[0] = (uint8_t)v; b[1] = (uint8_t)(v >> 8); }
static void vnet_put32(uint8_t *b, uint32_t v)
{
    vnet_put16(b, (uint16_t)v);
    vnet_put16(b + 2, (uint16_t)(v >> 16));
}
static uint32_t vnet_get32(const uint8_t *b)
{
    return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}
/* does the access [off, off + size) touch [reg, reg + len)? */
static bool touches(unsigned off, unsigned size, unsigned reg, unsigned len)
{
    return off < reg + len && reg < off + size;
}

/* ---- interrupt routes and the notify area --------------------------------------- */

/* Is vector v (< VNET_NVEC) masked: its entry, the function, or MSI-X off? */
static bool vnet_vector_masked(const struct vmm_vnet *d, unsigned v)
{
    const uint8_t *mc = &d->f->cfg[d->msix_cap + 2];
    uint16_t ctl = (uint16_t)(mc[0] | mc[1] << 8);
    return !(ctl & PCI_MSIX_ENABLE) || (ctl & PCI_MSIX_MASKALL) ||
           (d->msix[v].ctrl & VNET_MSIX_CTRL_MASKED);
}

/* Tell the kernel queue qi's MSI-X route: masked when it has no vector or
 * the vector is masked. */
static void vnet_route(struct vmm *m, struct vmm_vnet *d, unsigned qi)
{
    unsigned v = d->q[qi].vector;
    struct vmm_net_msi msi = { .masked = true };
    if (v < VNET_NVEC) {
        const struct vnet_msix_entry *e = &d->msix[v];
        msi.addr = (uint64_t)e->addr_hi << 32 | e->addr_lo;
        msi.data = e->data;
        msi.masked = vnet_vector_masked(d, v);
    }
    vm_net_set_msi(m->vm_id, d->port, qi, &msi);
}

/* An interrupt the monitor itself sends (the control queue's, the config
 * change's) on MSI-X vector v, or held as *pending while masked. */
static void vnet_msix_send(struct vmm *m, struct vmm_vnet *d, unsigned v, bool *pending)
{
    if (v >= VNET_NVEC)
        return;
    const struct vnet_msix_entry *e = &d->msix[v];
    *pending = vnet_vector_masked(d, v);
    if (!*pending)
        vmm_msi(m, (uint64_t)e->addr_hi << 32 | e->addr_lo, e->data);
}

static void vnet_ctrl_irq(struct vmm *m, struct vmm_vnet *d)
{
    vnet_msix_send(m, d, d->q[VNET_CTRLQ].vector, &d->ctrl_pending);
}

/* Every queue whose vector is `vec` (or all for VNET_NVEC). */
static void vnet_route_vector(struct vmm *m, struct vmm_vnet *d, unsigned vec)
{
    for (unsigned qi = 0; qi < VMM_NET_QUEUES; qi++)
        if (vec == VNET_NVEC || d->q[qi].vector == vec)
            vnet_route(m, d, qi);
    if (d->ctrl_pending && (vec == VNET_NVEC || d->q[VNET_CTRLQ].vector == vec))
        vnet_ctrl_irq(m, d);
    if (d->cfg_pending && (vec == VNET_NVEC || d->config_vector == vec))
        vnet_msix_send(m, d, d->config_vector, &d->cfg_pending);
}

/* After a BAR move or a change of memory decoding: the notify area's GPA,
 * 0 when decoding is off or the BAR lies outside the PCI window (where the
 * monitor does not route accesses to the device either). */
static void vnet_update_notify(struct vmm *m, struct vmm_vnet *d, bool force)
{
    const struct vmm_pci_bar *b = &d->f->bar[VNET_BAR];
    uint64_t gpa = b->addr + VNET_NOTIFY_OFF;
    if (!(d->f->cfg[PCI_COMMAND] & PCI_COMMAND_MEMORY) || b->addr < VMM_PCI_MMIO_BASE ||
        b->addr + VNET_BAR_SIZE > VMM_PCI_MMIO_BASE + VMM_PCI_MMIO_SIZE)
        gpa = 0;
    if (gpa == d->notify_gpa && !force)
        return;
    d->notify_gpa = gpa;
    vm_net_set_notify(m->vm_id, d->port, gpa, VNET_NOTIFY_MULT);
}

/* ---- status, reset, DRIVER_OK ----------------------------------------------------- */

static void vnet_reset_registers(struct vmm_vnet *d)
{
    d->dfselect = d->gfselect = 0;
    d->driver_features = 0;
    d->config_vector = VIRTIO_MSI_NO_VECTOR;
    d->queue_select = 0;
    d->status = 0;
    for (unsigned qi = 0; qi < VNET_NQ; qi++)
        d->q[qi] = (struct vnet_queue){ .size = VNET_QUEUE_MAX, .vector = VIRTIO_MSI_NO_VECTOR };
    d->ctrl_avail = d->ctrl_used = 0;
    d->ctrl_broken = d->ctrl_pending = d->cfg_pending = d->announce = false;
    d->announce_rounds = 0;
    memset(&d->rx, 0, sizeof(d->rx));
    d->rx.kind = VMM_NET_CTRL_RX_MODE;
}

/* Device reset (status 0): the kernel lets go of the queues first.  The
 * MSI-X table is PCI function state and survives; the queue vectors do not,
 * so both routes become masked. */
static void vnet_reset(struct vmm *m, struct vmm_vnet *d)
{
    vm_net_stop(m->vm_id, d->port);
    d->started = false;
    vnet_reset_registers(d);
    vnet_route_vector(m, d, VNET_NVEC);
}

/* 3.1.1: the driver's features must be a subset of the offer, with VERSION_1
 * (no legacy interface), and none without what it needs (5.1.3.1: TSO the
 * checksum feature of its direction, ECN TSO). */
static bool vnet_features_ok(uint64_t features)
{
#define HAS(f) ((features & VIRTIO_BIT(VIRTIO_NET_F_##f)) != 0)
    bool ok = !(features & ~VNET_FEATURES) && (features & VIRTIO_BIT(VIRTIO_F_VERSION_1)) &&
              (!(HAS(HOST_TSO4) || HAS(HOST_TSO6)) || HAS(CSUM)) &&
              (!(HAS(GUEST_TSO4) || HAS(GUEST_TSO6)) || HAS(GUEST_CSUM)) &&
              (!HAS(HOST_ECN) || HAS(HOST_TSO4) || HAS(HOST_TSO6)) &&
              (!HAS(GUEST_ECN) || HAS(GUEST_TSO4) || HAS(GUEST_TSO6)) &&
              (HAS(CTRL_VQ) || !(HAS(CTRL_RX) || HAS(CTRL_MAC_ADDR) || HAS(CTRL_GUEST_OFFLOADS) ||
                                 HAS(GUEST_ANNOUNCE)));
#undef HAS
    return ok;
}

/* The VM's announce timer at the earliest round due on any device. */
static void vnet_announce_arm(struct vmm *m)
{
    uint64_t next = 0;
    for (unsigned i = 0; i < m->nvnets; i++) {
        const struct vmm_vnet *d = m->vnet[i];
        if (d->announce_rounds && (!next || d->announce_next < next))
            next = d->announce_next;
    }
    if (m->vnet_timer >= 0)
        vm_dev_timer(m->vm_id, (unsigned)m->vnet_timer, next, 0);
}

/* The announce timer (m->lock held): each device with a round due asks its
 * driver to announce itself (5.1.6.5.4), unless the last ask is unacked. */
static void vnet_announce_expired(struct vmm *m, void *state)
{
    uint64_t now = rdtsc(), hz = tsc_hz ? tsc_hz : 1;
    for (unsigned i = 0; i < m->nvnets; i++) {
        struct vmm_vnet *d = m->vnet[i];
        if (!d->announce_rounds || d->announce_next > now)
            continue;
        d->announce_rounds--;
        d->announce_next = now + (hz << (VNET_ANNOUNCE_ROUNDS - d->announce_rounds));
        if (!d->started || d->announce)
            continue;
        d->announce = true;
        d->announces++;
        d->generation++;                /* 4.1.4.3.1: the config changed */
        vnet_msix_send(m, d, d->config_vector, &d->cfg_pending);
    }
    vnet_announce_arm(m);
}

static void vnet_start(struct vmm *m, struct vmm_vnet *d)
{
    struct vmm_net_queue q[VMM_NET_QUEUES];
    for (unsigned qi = 0; qi < VMM_NET_QUEUES; qi++) {
        const struct vnet_queue *s = &d->q[qi];
        q[qi] = s->enabled ? (struct vmm_net_queue){ s->size, s->desc, s->driver, s->device }
                           : (struct vmm_net_queue){ 0 };
    }
    if ((d->status & VIRTIO_STATUS_FEATURES_OK) &&
        !vm_net_start(m->vm_id, d->port, d->driver_features, q)) {
        d->started = true;
        if (m->boots && (d->driver_features & VIRTIO_BIT(VIRTIO_NET_F_GUEST_ANNOUNCE))) {
            d->announce_rounds = VNET_ANNOUNCE_ROUNDS;
            d->announce_next = rdtsc() + (tsc_hz ? tsc_hz : 1);
            vnet_announce_arm(m);
        }
        return;
    }
    /* 2.1.2: the device can no longer work until reset (no config
     * interrupt: the driver sees it at its next status read) */
    d->status |= VIRTIO_STATUS_NEEDS_RESET;
    d->start_failed++;
    if (d->start_failed == 1)
        vm_console_line(m->vm_id, "virtio-net: DRIVER_OK refused (bad queues or features), "
                                  "device needs reset");
}

/* ---- the control queue (5.1.6.5) ---------------------------------------------------- */

/* One command: parsed here, carried out by the kernel (which checks the
 * port's policy); the ack byte. */
static uint8_t vnet_ctrl_exec(struct vmm *m, struct vmm_vnet *d, const uint8_t *cmd, size_t len,
                              bool truncated)
{
    struct vmm_net_ctrl c;
    enum vnet_ctrl_result r = vnet_ctrl_parse(cmd, len, truncated, d->driver_features, &d->rx, &c);
    if (r == VNET_CTRL_ANNOUNCE_ACK) {  /* 5.1.6.5.4: the driver announced itself */
        d->announce = false;
        d->announce_acks++;
        d->generation++;
        d->ctrl_ok++;
        return VIRTIO_NET_OK;
    }
    if (r == VNET_CTRL_KERNEL && !vm_net_ctrl(m->vm_id, d->port, &c)) {
        if (c.kind == VMM_NET_CTRL_RX_MODE)
            d->rx = c;
        d->ctrl_ok++;
        return VIRTIO_NET_OK;
    }
    d->ctrl_err++;
    return VIRTIO_NET_ERR;
}

/* Chain `head` of the table snapshot: its readable bytes are the command
 * (the first VNET_CTRL_CMD_MAX of them: vnet_ctrl_parse), its first
 * writable byte takes the ack.  -1: malformed (out of the table, too long, no ack byte, readable
 * after writable, a bad indirect table, guest memory unreadable). */
static int vnet_ctrl_chain(struct vmm *m, struct vmm_vnet *d, uint16_t head)
{
    const struct vnet_queue *q = &d->q[VNET_CTRLQ];
    struct vring_desc ind[VNET_CTRL_DESCS];
    const struct vring_desc *t = d->ctrl_desc;
    unsigned tn = q->size, idx = head;
    uint8_t cmd[VNET_CTRL_CMD_MAX];
    size_t clen = 0;
    uint64_t ack_gpa = 0;
    bool have_ack = false, too_long = false;

    for (unsigned steps = 0;; steps++) {    /* bound: VNET_CTRL_DESCS */
        if (idx >= tn || steps >= VNET_CTRL_DESCS)
            return -1;
        struct vring_desc e = t[idx];
        if (e.flags & VRING_DESC_F_INDIRECT) {      /* 2.6.5.3: alone, once, whole entries */
            if (t != d->ctrl_desc || !(d->driver_features & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC)) ||
                (e.flags & VRING_DESC_F_NEXT) || !e.len || e.len % sizeof(ind[0]) ||
                e.len > sizeof(ind) || vm_gpa_read(m->vm_id, e.addr, ind, e.len))
                return -1;
            t = ind;
            tn = e.len / sizeof(ind[0]);
            idx = 0;
            continue;
        }
        if (e.flags & VRING_DESC_F_WRITE) {
            if (!have_ack) {
                if (!e.len)
                    return -1;
                ack_gpa = e.addr;
                have_ack = true;
            }
        } else if (have_ack) {
            return -1;                  /* 2.6.4.2: readable ones come first */
        } else if (e.len) {
            uint32_t n = e.len < sizeof(cmd) - clen ? e.len : (uint32_t)(sizeof(cmd) - clen);
            too_long |= n < e.len;
            if (n && vm_gpa_read(m->vm_id, e.addr, cmd + clen, n))
                return -1;
            clen += n;
        }
        if (!(e.flags & VRING_DESC_F_NEXT))
            break;
        idx = e.next;
    }
    if (!have_ack)
        return -1;
    uint8_t ack = vnet_ctrl_exec(m, d, cmd, clen, too_long);
    return vm_gpa_write(m->vm_id, ack_gpa, &ack, 1);
}

/* A notify of the control queue: every available chain, in order (at most
 * the queue size), each completed with 1 byte written; then the interrupt
 * if the driver wants one.  A malformed chain breaks the queue: the device
 * needs reset (2.1.2), as the kernel's queues do. */
static void vnet_ctrl_kick(struct vmm *m, struct vmm_vnet *d)
{
    struct vnet_queue *q = &d->q[VNET_CTRLQ];
    unsigned id = m->vm_id;
    bool event_idx = d->driver_features & VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
    uint16_t avail, old = d->ctrl_used;
    bool again = false;
    if (!d->started || !q->enabled || d->ctrl_broken)
        return;
more:
    if (vm_gpa_read(id, q->driver + 2, &avail, 2) || (uint16_t)(avail - d->ctrl_avail) > q->size ||
        vm_gpa_read(id, q->desc, d->ctrl_desc, VRING_DESC_BYTES(q->size)))
        goto broken;
    while (d->ctrl_avail != avail) {    /* bound: q->size (checked above) */
        uint16_t head;
        struct vring_used_elem u = { .len = 1 };
        if (vm_gpa_read(id, q->driver + 4 + 2 * (d->ctrl_avail % q->size), &head, 2) ||
            vnet_ctrl_chain(m, d, head))
            goto broken;
        u.id = head;
        if (vm_gpa_write(id, q->device + 4 + 8 * (d->ctrl_used % q->size), &u, sizeof(u)))
            goto broken;
        d->ctrl_avail++;
        d->ctrl_used++;
        if (vm_gpa_write(id, q->device + 2, &d->ctrl_used, 2))
            goto broken;
    }
    /* the next buffer notifies us again (2.6.7.2: avail_event); one that
     * came meanwhile may not have: take it now (Linux sends one command at
     * a time, so this is a bound of one more pass) */
    if (event_idx && vm_gpa_write(id, q->device + 4 + 8 * q->size, &d->ctrl_avail, 2))
        goto broken;
    if (!again) {
        again = true;
        goto more;
    }
    if (d->ctrl_used == old)
        return;
    uint16_t flags = 0, used_event = 0;
    if (vm_gpa_read(id, q->driver, &flags, 2) ||
        (event_idx && vm_gpa_read(id, q->driver + 4 + 2 * q->size, &used_event, 2)))
        goto broken;
    if (event_idx ? vring_need_event(used_event, d->ctrl_used, old) : !(flags & VRING_AVAIL_F_NO_INTERRUPT))
        vnet_ctrl_irq(m, d);
    return;
broken:
    d->ctrl_broken = true;
    d->status |= VIRTIO_STATUS_NEEDS_RESET;
    if (d->ctrl_breaks++ == 0)          /* (a guest breaking it in a loop: counted) */
        vm_console_line(id, "virtio-net: control queue broken (a malformed chain), device needs reset");
}

static void vnet_set_status(struct vmm *m, struct vmm_vnet *d, uint8_t v)
{
    if (!v) {
        vnet_reset(m, d);
        return;
    }
    uint8_t old = d->status;
    v = (uint8_t)((v & ~VIRTIO_STATUS_NEEDS_RESET) | (old & VIRTIO_STATUS_NEEDS_RESET));
    /* 3.1.1 step 5-6: FEATURES_OK reads back clear when the set is refused */
    if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
        !vnet_features_ok(d->driver_features))
        v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
    d->status = v;
    /* a driver that clears DRIVER_OK/FEATURES_OK (not allowed) or gives up
     * (FAILED) loses its queues as at reset */
    if (d->started && (!(v & VIRTIO_STATUS_DRIVER_OK) || !(v & VIRTIO_STATUS_FEATURES_OK) ||
                       (v & VIRTIO_STATUS_FAILED))) {
        vm_net_stop(m->vm_id, d->port);     /* (the kernel forgets the receive mode) */
        d->started = false;
        memset(&d->rx, 0, sizeof(d->rx));
        d->rx.kind = VMM_NET_CTRL_RX_MODE;
    }
    if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK) &&
        !(v & VIRTIO_STATUS_FAILED))
        vnet_start(m, d);
}

/* ---- common configuration (4.1.4.3) ---------------------------------------------- */

/* Width of the field at `off` (0: none); 64-bit fields are two dwords. */
static unsigned common_width(unsigned off)
{
    switch (off) {
    case VIRTIO_PCI_COMMON_STATUS:
    case VIRTIO_PCI_COMMON_CFGGENERATION:
        return 1;
    case VIRTIO_PCI_COMMON_MSIX:
    case VIRTIO_PCI_COMMON_NUMQ:
    case VIRTIO_PCI_COMMON_Q_SELECT:
    case VIRTIO_PCI_COMMON_Q_SIZE:
    case VIRTIO_PCI_COMMON_Q_MSIX:
    case VIRTIO_PCI_COMMON_Q_ENABLE:
    case VIRTIO_PCI_COMMON_Q_NOFF:
        return 2;
    default:
        return off < VIRTIO_PCI_COMMON_SIZE && !(off & 3) ? 4 : 0;
    }
}

static uint16_t vnet_vector(uint32_t v)
{
    return v < VNET_NVEC ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

/* feature bits 32 * sel ... 32 * sel + 31 (none beyond 63) */
static uint32_t feature_word(uint64_t features, uint32_t sel)
{
    return sel < 2 ? (uint32_t)(features >> (32 * sel)) : 0;
}

static uint32_t common_read(struct vmm_vnet *d, unsigned off)
{
    unsigned sel = d->queue_select;
    switch (off) {
    case VIRTIO_PCI_COMMON_DFSELECT:    return d->dfselect;
    case VIRTIO_PCI_COMMON_DF:          return feature_word(VNET_FEATURES, d->dfselect);
    case VIRTIO_PCI_COMMON_GFSELECT:    return d->gfselect;
    case VIRTIO_PCI_COMMON_GF:          return feature_word(d->driver_features, d->gfselect);
    case VIRTIO_PCI_COMMON_MSIX:        return d->config_vector;
    case VIRTIO_PCI_COMMON_NUMQ:        return VNET_NQ;
    case VIRTIO_PCI_COMMON_STATUS:      return d->status;
    case VIRTIO_PCI_COMMON_CFGGENERATION: return d->generation;
    case VIRTIO_PCI_COMMON_Q_SELECT:    return sel;
    }
    if (sel >= VNET_NQ)                 /* queue_size 0: no such queue */
        return 0;
    const struct vnet_queue *q = &d->q[sel];
    switch (off) {
    case VIRTIO_PCI_COMMON_Q_SIZE:      return q->size;
    case VIRTIO_PCI_COMMON_Q_MSIX:      return q->vector;
    case VIRTIO_PCI_COMMON_Q_ENABLE:    return q->enabled;
    case VIRTIO_PCI_COMMON_Q_NOFF:      return sel;
    case VIRTIO_PCI_COMMON_Q_DESCLO:    return (uint32_t)q->desc;
    case VIRTIO_PCI_COMMON_Q_DESCHI:    return (uint32_t)(q->desc >> 32);
    case VIRTIO_PCI_COMMON_Q_AVAILLO:   return (uint32_t)q->driver;
    case VIRTIO_PCI_COMMON_Q_AVAILHI:   return (uint32_t)(q->driver >> 32);
    case VIRTIO_PCI_COMMON_Q_USEDLO:    return (uint32_t)q->device;
    case VIRTIO_PCI_COMMON_Q_USEDHI:    return (uint32_t)(q->device >> 32);
    }
    return 0;
}

static void set_half(uint64_t *r, bool hi, uint32_t v)
{
    *r = hi ? (*r & 0xffffffffull) | (uint64_t)v << 32 : (*r & ~0xffffffffull) | v;
}

static void common_write(struct vmm *m, struct vmm_vnet *d, unsigned off, uint32_t v)
{
    switch (off) {
    case VIRTIO_PCI_COMMON_DFSELECT:
        d->dfselect = v;
        return;
    case VIRTIO_PCI_COMMON_GFSELECT:
        d->gfselect = v;
        return;
    case VIRTIO_PCI_COMMON_GF:
        if (d->gfselect < 2 && !(d->status & VIRTIO_STATUS_FEATURES_OK))
            set_half(&d->driver_features, d->gfselect, v);
        else
            d->bad_access++;
        return;
    case VIRTIO_PCI_COMMON_MSIX:
        d->config_vector = vnet_vector(v);
        return;
    case VIRTIO_PCI_COMMON_STATUS:
        vnet_set_status(m, d, (uint8_t)v);
        return;
    case VIRTIO_PCI_COMMON_Q_SELECT:
        d->queue_select = (uint16_t)v;
        return;
    case VIRTIO_PCI_COMMON_DF:
    case VIRTIO_PCI_COMMON_NUMQ:
    case VIRTIO_PCI_COMMON_CFGGENERATION:
    case VIRTIO_PCI_COMMON_Q_NOFF:
        d->bad_access++;                /* read-only */
        return;
    }
    /* queue settings: only for an existing queue, before DRIVER_OK, and
     * (but for the vector) before the queue is enabled */
    unsigned sel = d->queue_select;
    if (sel >= VNET_NQ || (d->status & VIRTIO_STATUS_DRIVER_OK)) {
        d->bad_access++;
        return;
    }
    struct vnet_queue *q = &d->q[sel];
    if (off == VIRTIO_PCI_COMMON_Q_MSIX) {
        q->vector = vnet_vector(v);
        if (sel < VMM_NET_QUEUES)
            vnet_route(m, d, sel);
        return;
    }
    if (q->enabled) {
        d->bad_access++;
        return;
    }
    switch (off) {
    case VIRTIO_PCI_COMMON_Q_SIZE:      /* a power of two up to the maximum */
        if (v && v <= VNET_QUEUE_MAX && !(v & (v - 1)))
            q->size = (uint16_t)v;
        else
            d->bad_access++;
        return;
    case VIRTIO_PCI_COMMON_Q_ENABLE:    /* 4.1.4.3.2: the driver never writes 0 */
        if (v == 1)
            q->enabled = true;
        else
            d->bad_access++;
        return;
    case VIRTIO_PCI_COMMON_Q_DESCLO:
    case VIRTIO_PCI_COMMON_Q_DESCHI:
        set_half(&q->desc, off == VIRTIO_PCI_COMMON_Q_DESCHI, v);
        return;
    case VIRTIO_PCI_COMMON_Q_AVAILLO:
    case VIRTIO_PCI_COMMON_Q_AVAILHI:
        set_half(&q->driver, off == VIRTIO_PCI_COMMON_Q_AVAILHI, v);
        return;
    case VIRTIO_PCI_COMMON_Q_USEDLO:
    case VIRTIO_PCI_COMMON_Q_USEDHI:
        set_half(&q->device, off == VIRTIO_PCI_COMMON_Q_USEDHI, v);
        return;
    }
}

static void common_access(struct vmm *m, struct vmm_vnet *d, unsigned off, bool write,
                          unsigned size, uint64_t *val)
{
    /* a 64-bit field in one access: low dword, then high dword */
    if (size == 8 && (off == VIRTIO_PCI_COMMON_Q_DESCLO || off == VIRTIO_PCI_COMMON_Q_AVAILLO ||
                      off == VIRTIO_PCI_COMMON_Q_USEDLO)) {
        if (write) {
            common_write(m, d, off, (uint32_t)*val);
            common_write(m, d, off + 4, (uint32_t)(*val >> 32));
        } else {
            *val = common_read(d, off) | (uint64_t)common_read(d, off + 4) << 32;
        }
        return;
    }
    if (common_width(off) != size) {    /* 4.1.3.1: natural width only */
        d->bad_access++;
        return;
    }
    if (write)
        common_write(m, d, off, (uint32_t)*val);
    else
        *val = common_read(d, off);
}

/* ---- device configuration (5.1.4) ----------------------------------------------- */

static void devcfg_read(struct vmm *m, struct vmm_vnet *d, unsigned off, unsigned size, uint64_t *val)
{
    uint8_t cfg[VNET_DEVCFG_LEN] = { 0 };
    bool link = false;
    uint16_t mtu = 0;
    if (!vm_net_port_info(m->vm_id, d->port, &cfg[VIRTIO_NET_CFG_MAC], &link, &mtu))
        memset(cfg, 0, sizeof(cfg));
    if (link != d->link_up) {           /* 4.1.4.3.1: config changed */
        d->link_up = link;
        d->generation++;
    }
    vnet_put16(&cfg[VIRTIO_NET_CFG_STATUS], (link ? VIRTIO_NET_S_LINK_UP : 0) |
                                            (d->announce ? VIRTIO_NET_S_ANNOUNCE : 0));
    vnet_put16(&cfg[VIRTIO_NET_CFG_MAX_VQ_PAIRS], 1);
    /* the port's MTU (config `mtu`); 1500 should the kernel not say */
    vnet_put16(&cfg[VIRTIO_NET_CFG_MTU], mtu >= 68 ? mtu : 1500);
    for (unsigned i = 0; i < size; i++)
        *val |= (uint64_t)cfg[off + i] << (8 * i);
}

/* ---- MSI-X table and PBA ---------------------------------------------------------- */

static void msix_table_access(struct vmm *m, struct vmm_vnet *d, unsigned off, bool write,
                              unsigned size, uint64_t *val)
{
    if (size == 8 && !(off & 7)) {      /* a qword is two dwords (address lo/hi) */
        uint64_t lo = *val, hi = *val >> 32;
        msix_table_access(m, d, off, write, 4, &lo);
        msix_table_access(m, d, off + 4, write, 4, &hi);
        if (!write)
            *val = (lo & 0xffffffffull) | hi << 32;
        return;
    }
    if (size != 4 || (off & 3)) {
        d->bad_access++;
        return;
    }
    struct vnet_msix_entry *e = &d->msix[off / VNET_MSIX_ENTRY];
    uint32_t *regs[] = { &e->addr_lo, &e->addr_hi, &e->data, &e->ctrl };
    uint32_t *r = regs[(off % VNET_MSIX_ENTRY) / 4];
    if (!write) {
        *val = *r;
        return;
    }
    /* control: only the mask bit is defined; the address is dword aligned */
    if (r == &e->ctrl)
        *r = (uint32_t)*val & VNET_MSIX_CTRL_MASKED;
    else if (r == &e->addr_lo)
        *r = (uint32_t)*val & ~3u;
    else
        *r = (uint32_t)*val;
    vnet_route_vector(m, d, off / VNET_MSIX_ENTRY);
}

/* Pending bits: a queue's interrupt held by the kernel while masked.  The
 * config vector never has one (no config interrupts). */
static uint64_t msix_pba(struct vmm *m, struct vmm_vnet *d)
{
    uint64_t bits = 0;
    for (unsigned qi = 0; qi < VMM_NET_QUEUES; qi++)
        if (d->q[qi].vector < VNET_NVEC && vm_net_msi_pending(m->vm_id, d->port, qi))
            bits |= 1ull << d->q[qi].vector;
    if (d->ctrl_pending && d->q[VNET_CTRLQ].vector < VNET_NVEC)
        bits |= 1ull << d->q[VNET_CTRLQ].vector;
    if (d->cfg_pending && d->config_vector < VNET_NVEC)
        bits |= 1ull << d->config_vector;
    return bits;
}

/* ---- the BAR ----------------------------------------------------------------------- */

enum vnet_via { VIA_BAR, VIA_PCI_CFG, VIA_PEEK };

/* One access at `off` of BAR 0.  Reads start from *val = 0.  VIA_PEEK is a
 * read without side effects (for the PCI_CFG window's data). */
static void vnet_io(struct vmm *m, struct vmm_vnet *d, uint64_t off, bool write, unsigned size,
                    uint64_t *val, enum vnet_via via)
{
    unsigned part = (unsigned)(off & ~(uint64_t)(VNET_PART_SIZE - 1));
    unsigned o = (unsigned)(off & (VNET_PART_SIZE - 1));
    if (!write)
        *val = 0;
    if (via != VIA_PEEK && off < VNET_BAR_SIZE)
        d->acc[off / VNET_PART_SIZE]++;
    if (off >= VNET_BAR_SIZE || o + size > VNET_PART_SIZE || !size || size > 8 || (size & (size - 1)))
        goto bad;
    switch (part) {
    case VNET_COMMON_OFF:
        if (o + size > VIRTIO_PCI_COMMON_SIZE)
            goto bad;
        common_access(m, d, o, write, size, val);
        return;
    case VNET_ISR_OFF:                  /* never set: no INTx, no config interrupt */
        if (o + size > VNET_ISR_LEN)
            goto bad;
        return;
    case VNET_DEVCFG_OFF:               /* read-only: no CTRL_MAC_ADDR */
        if (o + size > VNET_DEVCFG_LEN || write)
            goto bad;
        devcfg_read(m, d, o, size, val);
        return;
    case VNET_NOTIFY_OFF:
        if (via == VIA_PEEK)
            return;
        if (via == VIA_PCI_CFG) {       /* the doorbell is the kernel's: dropped */
            d->notify_via_pci_cfg++;
            return;
        }
        if (write && o == VNET_CTRLQ * VNET_NOTIFY_MULT && (size == 2 || size == 4)) {
            vnet_ctrl_kick(m, d);       /* the control queue is the monitor's */
            return;
        }
        /* the kernel's fast path should have taken it (vm_net_set_notify) */
        if (d->notify_in_monitor++ == 0)
            vm_console_line(m->vm_id, "virtio-net: a notify reached the monitor "
                                      "(kernel fast path missed; counted)");
        return;
    case VNET_MSIX_OFF:
        if (o + size > VNET_NVEC * VNET_MSIX_ENTRY)
            goto bad;
        msix_table_access(m, d, o, write, size, val);
        return;
    case VNET_PBA_OFF:
        if (o + size > 8 || write)
            goto bad;
        *val = msix_pba(m, d) >> (8 * o);
        if (size < 8)
            *val &= (1ull << (8 * size)) - 1;
        return;
    }
bad:
    if (via != VIA_PEEK)
        d->bad_access++;
}

/* ---- PCI_CFG access window (4.1.4.8) ---------------------------------------------- */

static bool cfgwin_args(struct vmm_vnet *d, uint32_t *off, unsigned *len)
{
    const uint8_t *c = &d->f->cfg[d->cfg_cap];
    *off = vnet_get32(&c[VIRTIO_PCI_CAP_OFFSET]);
    *len = vnet_get32(&c[VIRTIO_PCI_CAP_LENGTH]);
    return c[VIRTIO_PCI_CAP_BAR] == VNET_BAR && (*len == 1 || *len == 2 || *len == 4) &&
           !(*off & (*len - 1)) && *off < VNET_BAR_SIZE;
}

static void cfgwin_refresh(struct vmm *m, struct vmm_vnet *d)
{
    uint32_t off;
    unsigned len;
    uint64_t v = 0;
    if (cfgwin_args(d, &off, &len))
        vnet_io(m, d, off, false, len, &v, VIA_PEEK);
    vnet_put32(&d->f->cfg[d->cfg_cap + VIRTIO_PCI_CFG_DATA], (uint32_t)v);
}

static void cfgwin_write(struct vmm *m, struct vmm_vnet *d)
{
    uint32_t off;
    unsigned len;
    if (!cfgwin_args(d, &off, &len)) {
        d->bad_access++;
        return;
    }
    uint64_t v = vnet_get32(&d->f->cfg[d->cfg_cap + VIRTIO_PCI_CFG_DATA]);
    if (len < 4)
        v &= (1ull << (8 * len)) - 1;
    vnet_io(m, d, off, true, len, &v, VIA_PCI_CFG);
}

/* ---- PCI framework hooks ------------------------------------------------------------ */

static void vnet_bar_access(struct vmm *m, struct vmm_pci_fn *f, unsigned bar, uint64_t off,
                            bool write, unsigned size, uint64_t *val)
{
    struct vmm_vnet *d = f->priv;
    vnet_io(m, d, off, write, size, val, VIA_BAR);
    if (write)
        cfgwin_refresh(m, d);
}

static void vnet_bar_moved(struct vmm *m, struct vmm_pci_fn *f, unsigned bar, uint64_t addr)
{
    vnet_update_notify(m, f->priv, false);
}

static void vnet_cfg_written(struct vmm *m, struct vmm_pci_fn *f, unsigned off, unsigned size)
{
    struct vmm_vnet *d = f->priv;
    if (touches(off, size, PCI_COMMAND, 2))
        vnet_update_notify(m, d, false);
    if (touches(off, size, d->msix_cap + 2, 2))        /* MSI-X enable / function mask */
        vnet_route_vector(m, d, VNET_NVEC);
    if (touches(off, size, d->cfg_cap + VIRTIO_PCI_CFG_DATA, 4))
        cfgwin_write(m, d);
    cfgwin_refresh(m, d);
}

/* ---- creation -------------------------------------------------------------------------- */

/* A virtio vendor capability (4.1.4) of `len` bytes describing [off, off + length) of BAR 0. */
static unsigned vnet_add_cap(struct vmm_pci_fn *f, uint8_t type, unsigned len, uint32_t off,
                             uint32_t length)
{
    unsigned c = vmm_pci_add_cap(f, PCI_CAP_ID_VNDR, len);
    if (!c)
        return 0;
    f->cfg[c + VIRTIO_PCI_CAP_CAP_LEN] = (uint8_t)len;
    f->cfg[c + VIRTIO_PCI_CAP_CFG_TYPE] = type;
    f->cfg[c + VIRTIO_PCI_CAP_BAR] = VNET_BAR;
    vnet_put32(&f->cfg[c + VIRTIO_PCI_CAP_OFFSET], off);
    vnet_put32(&f->cfg[c + VIRTIO_PCI_CAP_LENGTH], length);
    return c;
}

static int vnet_create(struct vmm *m, unsigned port)
{
    struct vmm_vnet *d = vmm_alloc(m, sizeof(*d));
    struct vmm_pci_fn *f = vmm_pci_add_function(m, VNET_FIRST_SLOT + port, 0, VIRTIO_PCI_VENDOR,
                                                VIRTIO_PCI_DEVICE_MODERN(VIRTIO_ID_NET), VNET_CLASS_REV);
    if (!d || !f || vmm_pci_set_bar(m, f, VNET_BAR, VNET_BAR_SIZE, VMM_PCI_BAR_MEM64))
        return -1;
    vnet_put16(&f->cfg[PCI_SUBSYS_VENDOR], VIRTIO_PCI_SUBSYS_VENDOR);
    vnet_put16(&f->cfg[PCI_SUBSYS_ID], VNET_SUBSYS_ID);
    d->f = f;
    d->port = port;
    d->msix_cap = vmm_pci_add_msix_cap(f, VNET_NVEC, VNET_BAR, VNET_MSIX_OFF, VNET_BAR, VNET_PBA_OFF);
    unsigned notify = vnet_add_cap(f, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_CAP_LEN,
                                   VNET_NOTIFY_OFF, VNET_NOTIFY_LEN);
    if (!d->msix_cap || !notify ||
        !vnet_add_cap(f, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_CAP_LEN, VNET_COMMON_OFF,
                      VIRTIO_PCI_COMMON_SIZE) ||
        !vnet_add_cap(f, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_CAP_LEN, VNET_ISR_OFF, VNET_ISR_LEN) ||
        !vnet_add_cap(f, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_CAP_LEN, VNET_DEVCFG_OFF,
                      VNET_DEVCFG_LEN))
        return -1;
    vnet_put32(&f->cfg[notify + VIRTIO_PCI_NOTIFY_MULT], VNET_NOTIFY_MULT);
    /* PCI_CFG window: bar, offset, length and data are the driver's */
    d->cfg_cap = vnet_add_cap(f, VIRTIO_PCI_CAP_PCI_CFG, VIRTIO_PCI_CFG_CAP_LEN, 0, 0);
    if (!d->cfg_cap)
        return -1;
    f->wmask[d->cfg_cap + VIRTIO_PCI_CAP_BAR] = 0xff;
    memset(&f->wmask[d->cfg_cap + VIRTIO_PCI_CAP_OFFSET], 0xff, 12);   /* offset, length, data */
    for (unsigned v = 0; v < VNET_NVEC; v++)        /* PCI 3.0 6.8.2.9: masked at reset */
        d->msix[v].ctrl = VNET_MSIX_CTRL_MASKED;
    vnet_reset_registers(d);
    uint8_t mac[6];
    uint16_t mtu;
    if (!vm_net_port_info(m->vm_id, port, mac, &d->link_up, &mtu))
        d->link_up = false;
    f->bar_access = vnet_bar_access;
    f->bar_moved = vnet_bar_moved;
    f->cfg_written = vnet_cfg_written;
    f->priv = d;
    m->vnet[m->nvnets++] = d;
    vnet_update_notify(m, d, true);     /* where the firmware-like placement put it */
    return 0;
}

/* The VM's virtio-net devices: net port n at PCI 00:(3+n).0. */
int vmm_virtio_net_init(struct vmm *m, const struct vmm_create_args *a)
{
    m->vnet_timer = a->net_ports ? vmm_add_timer(m, vnet_announce_expired, NULL) : -1;
    for (unsigned port = 0; port < a->net_ports && port < VMM_NET_MAX_PORTS; port++) {
        if (vnet_create(m, port)) {
            printk("vmm %s: virtio-net port %u: no room for the PCI function\n", m->name, port);
            return -1;
        }
    }
    return 0;
}

/* Every exit the monitor handled for each device: config space and each
 * part of BAR 0 (the notify and ISR parts should stay at 0: the datapath is
 * the kernel's); tests/boot/qemu-net.sh compares two of these lines. */
void vmm_virtio_net_print_stats(struct vmm *m)
{
    for (unsigned i = 0; i < m->nvnets; i++) {
        const struct vmm_vnet *d = m->vnet[i];
        if (!d)
            continue;                   /* racing a reset (vmm_reset) */
        const uint64_t *a = d->acc;
        printk("vmm %s: virtio-net %u: accesses in the monitor: pci-config %llu common %llu "
               "isr %llu devcfg %llu notify %llu msix %llu pba %llu (bad %llu); "
               "control commands ok %llu err %llu, queue breaks %llu, announces %llu acked %llu\n",
               m->name, d->port, (unsigned long long)d->f->cfg_accesses,
               (unsigned long long)a[VNET_COMMON_OFF / VNET_PART_SIZE],
               (unsigned long long)a[VNET_ISR_OFF / VNET_PART_SIZE],
               (unsigned long long)a[VNET_DEVCFG_OFF / VNET_PART_SIZE],
               (unsigned long long)a[VNET_NOTIFY_OFF / VNET_PART_SIZE],
               (unsigned long long)a[VNET_MSIX_OFF / VNET_PART_SIZE],
               (unsigned long long)a[VNET_PBA_OFF / VNET_PART_SIZE],
               (unsigned long long)d->bad_access, (unsigned long long)d->ctrl_ok,
               (unsigned long long)d->ctrl_err, (unsigned long long)d->ctrl_breaks,
               (unsigned long long)d->announces, (unsigned long long)d->announce_acks);
    }
}

#ifdef NETHV_KERNEL
/* Until kernel/vnet.c provides the data plane: a device that accepts its
 * queues and moves nothing (the real definitions override these). */
__attribute__((weak)) int vm_net_start(unsigned vm_id, unsigned port, uint64_t features,
                                       const struct vmm_net_queue q[VMM_NET_QUEUES])
{
    return 0;
}
__attribute__((weak)) void vm_net_stop(unsigned vm_id, unsigned port) {}
__attribute__((weak)) void vm_net_set_msi(unsigned vm_id, unsigned port, unsigned queue,
                                          const struct vmm_net_msi *msi) {}
__attribute__((weak)) bool vm_net_msi_pending(unsigned vm_id, unsigned port, unsigned queue)
{
    return false;
}
__attribute__((weak)) void vm_net_set_notify(unsigned vm_id, unsigned port, uint64_t gpa,
                                             uint32_t stride) {}
__attribute__((weak)) bool vm_net_port_info(unsigned vm_id, unsigned port, uint8_t mac[6],
                                            bool *link_up, uint16_t *mtu)
{
    return false;
}
#endif
