/*
 * virtio-net over modern virtio-pci (virtio 1.1: 4.1 PCI transport, 2.6
 * split virtqueues, 5.1 network device): the host's own NIC, not a guest's.
 *
 * Features: VERSION_1 | MAC | STATUS, and CTRL_VQ | CTRL_RX when offered
 * (for set_rx_mode; the control queue is polled), nothing else (no
 * offloads, no mergeable buffers): every buffer carries the 12-byte
 * virtio_net_hdr (5.1.6, num_buffers included with VERSION_1) in front of
 * the frame.  Queue 0 receives, queue 1 transmits; one MSI-X vector (table
 * entry 0) serves both queues and configuration changes; without MSI-X the
 * NIC is polled.
 *
 * Rings: RX descriptor i always holds buffer i (device-writable); each
 * used RX element is handed to the owner and its descriptor put back on
 * the avail ring.  TX descriptor i holds TX buffer i; free descriptors are
 * kept on a stack and come back from the used ring.
 *
 * Locks: rx_lock around poll's RX part, tx_lock around xmit and TX
 * reclaim (any CPU, irqsave); the owner's rx runs under rx_lock.
 */
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <nethv/spinlock.h>
#include <nethv/virtio.h>
#include <arch/time.h>
#include "nic.h"

/* control queue commands (5.1.6.5): class, command, data..., then the
 * device writes one ack byte */
#define VIRTIO_NET_CTRL_RX      0
#define  VIRTIO_NET_CTRL_RX_PROMISC  0
#define  VIRTIO_NET_CTRL_RX_ALLMULTI 1
#define VIRTIO_NET_OK           0
#define CTRL_ACK_OFF            64      /* in the command buffer */
#define CTRL_WAIT_US            100000

#define QSIZE_MAX   256
#define RXQ         0
#define TXQ         1
#define CTRLQ       2                  /* 2 x max_virtqueue_pairs, no MQ (5.1.2) */
#define CTRLQ_SIZE  16
#define BUF_SIZE    PKT_BUF_SIZE

struct vq {
    uint16_t size;
    struct vring_desc *desc;
    volatile uint16_t *avail;          /* flags, idx, ring[size] */
    volatile uint16_t *used;           /* flags, idx, then vring_used_elem[size] */
    volatile uint16_t *notify;
    uint16_t avail_idx, used_last;
    uint8_t *buf;                      /* size x BUF_SIZE */
    uint16_t free[QSIZE_MAX];          /* TX: free descriptor stack */
    unsigned nfree;
};

struct vnic {
    struct nic nic;
    struct pci_dev pd;
    volatile uint8_t *common, *device;
    volatile uint8_t *notify_base;
    uint32_t notify_mul;
    struct vq q[3];
    spinlock_t rx_lock, tx_lock, ctrl_lock;
    bool has_status, has_ctrl_rx;
};

static struct vnic vnic_dev;            /* the one instance (the uplink) */

static volatile struct vring_used_elem *used_ring(struct vq *q)
{
    return (volatile struct vring_used_elem *)(q->used + 2);
}

static uint8_t c8(struct vnic *v, unsigned off) { return v->common[off]; }
static uint16_t c16(struct vnic *v, unsigned off) { return *(volatile uint16_t *)(v->common + off); }
static uint32_t c32(struct vnic *v, unsigned off) { return *(volatile uint32_t *)(v->common + off); }
static void w8(struct vnic *v, unsigned off, uint8_t x) { v->common[off] = x; }
static void w16(struct vnic *v, unsigned off, uint16_t x) { *(volatile uint16_t *)(v->common + off) = x; }
static void w32(struct vnic *v, unsigned off, uint32_t x) { *(volatile uint32_t *)(v->common + off) = x; }
static void w64(struct vnic *v, unsigned off, uint64_t x)
{
    w32(v, off, (uint32_t)x);               /* 4.1.3.1: two 32-bit halves */
    w32(v, off + 4, (uint32_t)(x >> 32));
}

static void kick(struct vq *q, unsigned idx)
{
    /* the avail index store before the flags load (and before the UC
     * notify write): a full fence */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!(q->used[0] & VRING_USED_F_NO_NOTIFY))
        *q->notify = (uint16_t)idx;
}

static void avail_push(struct vq *q, uint16_t id)
{
    q->avail[2 + q->avail_idx % q->size] = id;
    q->avail_idx++;
    /* the ring entry before the index that publishes it (2.6.13) */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    q->avail[1] = q->avail_idx;
}

/* ---- capabilities ------------------------------------------------------------- */

static volatile uint8_t *cap_ptr(struct vnic *v, unsigned cap, uint32_t *len)
{
    unsigned bar = pci_read8(&v->pd, cap + VIRTIO_PCI_CAP_BAR);
    uint32_t off = pci_read32(&v->pd, cap + VIRTIO_PCI_CAP_OFFSET);
    *len = pci_read32(&v->pd, cap + VIRTIO_PCI_CAP_LENGTH);
    if (bar >= 6 || v->pd.bar[bar].io || (uint64_t)off + *len > v->pd.bar[bar].size)
        return NULL;
    volatile uint8_t *base = pci_map_bar(&v->pd, bar);
    return base ? base + off : NULL;
}

static bool find_caps(struct vnic *v)
{
    uint32_t len;
    for (unsigned cap = pci_find_cap(&v->pd, PCI_CAP_VENDOR, 0); cap;
         cap = pci_find_cap(&v->pd, PCI_CAP_VENDOR, cap)) {
        switch (pci_read8(&v->pd, cap + VIRTIO_PCI_CAP_CFG_TYPE)) {
        case VIRTIO_PCI_CAP_COMMON_CFG:
            if (!v->common && (v->common = cap_ptr(v, cap, &len)) && len < VIRTIO_PCI_COMMON_SIZE)
                v->common = NULL;
            break;
        case VIRTIO_PCI_CAP_NOTIFY_CFG:
            if (!v->notify_base) {
                v->notify_base = cap_ptr(v, cap, &len);
                v->notify_mul = pci_read32(&v->pd, cap + VIRTIO_PCI_NOTIFY_MULT);
            }
            break;
        case VIRTIO_PCI_CAP_DEVICE_CFG:
            if (!v->device && (v->device = cap_ptr(v, cap, &len)) && len < 8)
                v->device = NULL;
            break;
        default:                            /* ISR: not needed with MSI-X or polling */
            break;
        }
    }
    return v->common && v->notify_base && v->device;
}

/* ---- queues -------------------------------------------------------------------- */

static bool setup_queue(struct vnic *v, unsigned qi, bool msix)
{
    struct vq *q = &v->q[qi];
    w16(v, VIRTIO_PCI_COMMON_Q_SELECT, (uint16_t)qi);
    uint16_t max = c16(v, VIRTIO_PCI_COMMON_Q_SIZE);
    if (!max)
        return false;
    unsigned cap = qi == CTRLQ ? CTRLQ_SIZE : QSIZE_MAX;
    q->size = max < cap ? max : (uint16_t)cap;
    if (q->size & (q->size - 1))            /* split rings: a power of 2 */
        return false;
    w16(v, VIRTIO_PCI_COMMON_Q_SIZE, q->size);
    /* desc 16*size, avail 6+2*size, used 6+8*size: a page each is plenty
     * up to 256 entries except used (2054 bytes) which also fits one page */
    uint64_t d = page_alloc(1, PAGE_SIZE, 0), a = page_alloc(1, PAGE_SIZE, 0),
             u = page_alloc(1, PAGE_SIZE, 0);
    uint64_t b = page_alloc((uint64_t)q->size * BUF_SIZE / PAGE_SIZE, PAGE_SIZE, 0);
    if (!d || !a || !u || !b)
        return false;
    q->desc = phys_to_virt(d);
    q->avail = phys_to_virt(a);
    q->used = phys_to_virt(u);
    q->buf = phys_to_virt(b);
    for (unsigned i = 0; i < q->size; i++) {
        q->desc[i].addr = b + (uint64_t)i * BUF_SIZE;
        q->desc[i].len = BUF_SIZE;
        q->desc[i].flags = qi == RXQ ? VRING_DESC_F_WRITE : 0;
        q->desc[i].next = 0;
    }
    w64(v, VIRTIO_PCI_COMMON_Q_DESCLO, d);
    w64(v, VIRTIO_PCI_COMMON_Q_AVAILLO, a);
    w64(v, VIRTIO_PCI_COMMON_Q_USEDLO, u);
    w16(v, VIRTIO_PCI_COMMON_Q_MSIX, msix ? 0 : VIRTIO_MSI_NO_VECTOR);
    if (msix && c16(v, VIRTIO_PCI_COMMON_Q_MSIX) != 0)
        return false;                       /* the device did not take entry 0 */
    q->notify = (volatile uint16_t *)(v->notify_base +
                                      (uint32_t)c16(v, VIRTIO_PCI_COMMON_Q_NOFF) * v->notify_mul);
    w16(v, VIRTIO_PCI_COMMON_Q_ENABLE, 1);
    return true;
}

/* ---- TX --------------------------------------------------------------------------- */

static void tx_reclaim(struct vnic *v)
{
    struct vq *q = &v->q[TXQ];
    uint16_t used_idx = q->used[1];
    __atomic_thread_fence(__ATOMIC_ACQUIRE);        /* index before the elements */
    while (q->used_last != used_idx) {
        uint32_t id = used_ring(q)[q->used_last % q->size].id;
        q->used_last++;
        if (id < q->size && q->nfree < q->size)
            q->free[q->nfree++] = (uint16_t)id;
    }
}

static unsigned vnet_xmit(struct netdev *nd, struct pkt *const *pkts, unsigned n)
{
    struct vnic *v = (struct vnic *)nd;
    struct vq *q = &v->q[TXQ];
    unsigned sent = 0, queued = 0;
    uint64_t f = spin_lock_irqsave(&v->tx_lock);
    tx_reclaim(v);
    for (; sent < n && q->nfree; sent++) {
        const struct pkt *p = pkts[sent];
        if (!nic_tx_ok(p)) {
            nd->tx_dropped++;
            continue;
        }
        uint16_t id = q->free[--q->nfree];
        uint8_t *buf = q->buf + (size_t)id * BUF_SIZE;
        memset(buf, 0, VIRTIO_NET_HDR_LEN);         /* no offloads */
        memcpy(buf + VIRTIO_NET_HDR_LEN, p->data, p->len);
        q->desc[id].len = VIRTIO_NET_HDR_LEN + p->len;
        avail_push(q, id);
        queued++;
        nd->tx_frames++;
    }
    if (queued)
        kick(q, TXQ);
    spin_unlock_irqrestore(&v->tx_lock, f);
    return sent;
}

/* ---- RX and poll ------------------------------------------------------------------ */

static void rx_poll(struct vnic *v)
{
    struct netdev *nd = &v->nic.nd;
    struct vq *q = &v->q[RXQ];
    struct pkt pkt[PKT_BATCH], *batch[PKT_BATCH];
    uint16_t ids[PKT_BATCH];
    for (;;) {
        uint16_t used_idx = q->used[1];
        __atomic_thread_fence(__ATOMIC_ACQUIRE);    /* index before the elements */
        unsigned n = 0, taken = 0;
        while (q->used_last != used_idx && taken < PKT_BATCH) {
            volatile struct vring_used_elem *u = &used_ring(q)[q->used_last % q->size];
            uint32_t id = u->id, len = u->len;
            q->used_last++;
            if (id >= q->size)
                continue;                           /* device bug: nothing to give back */
            ids[taken++] = (uint16_t)id;
            if (len < VIRTIO_NET_HDR_LEN + ETH_HLEN || len > VIRTIO_NET_HDR_LEN + PKT_FRAME_MAX) {
                nd->rx_dropped++;
                continue;
            }
            pkt[n] = (struct pkt){ .data = q->buf + (size_t)id * BUF_SIZE + VIRTIO_NET_HDR_LEN,
                                   .len = len - VIRTIO_NET_HDR_LEN };
            batch[n] = &pkt[n];
            n++;
        }
        if (!taken)
            return;
        netdev_deliver(nd, batch, n);
        for (unsigned i = 0; i < taken; i++)
            avail_push(q, ids[i]);
        kick(q, RXQ);
    }
}

static void vnet_link(struct vnic *v)
{
    struct netdev *nd = &v->nic.nd;
    nd->link_up = !v->has_status ||
                  (*(volatile uint16_t *)(v->device + VIRTIO_NET_CFG_STATUS) & VIRTIO_NET_S_LINK_UP);
}

static void vnet_poll(struct netdev *nd)
{
    struct vnic *v = (struct vnic *)nd;
    vnet_link(v);
    uint64_t f = spin_lock_irqsave(&v->rx_lock);
    rx_poll(v);
    spin_unlock_irqrestore(&v->rx_lock, f);
    f = spin_lock_irqsave(&v->tx_lock);
    tx_reclaim(v);
    spin_unlock_irqrestore(&v->tx_lock, f);
}

/* One control command with a one-byte argument, waited for by polling the
 * control queue's used ring (descriptors 0 and 1 of its buffer 0: the
 * command, then the device-written ack).  Any CPU, ctrl_lock. */
static bool ctrl_cmd(struct vnic *v, uint8_t cls, uint8_t cmd, uint8_t arg)
{
    struct vq *q = &v->q[CTRLQ];
    bool ok = false;
    uint64_t f = spin_lock_irqsave(&v->ctrl_lock);
    uint8_t *b = q->buf;
    b[0] = cls;
    b[1] = cmd;
    b[2] = arg;
    b[CTRL_ACK_OFF] = 0xff;
    q->desc[0] = (struct vring_desc){ virt_to_phys(b), 3, VRING_DESC_F_NEXT, 1 };
    q->desc[1] = (struct vring_desc){ virt_to_phys(b + CTRL_ACK_OFF), 1, VRING_DESC_F_WRITE, 0 };
    avail_push(q, 0);
    kick(q, CTRLQ);
    for (unsigned us = 0; us < CTRL_WAIT_US; us += 10) {
        if (q->used[1] != q->used_last) {
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            q->used_last = q->used[1];
            ok = *(volatile uint8_t *)(b + CTRL_ACK_OFF) == VIRTIO_NET_OK;
            break;
        }
        udelay(10);
    }
    spin_unlock_irqrestore(&v->ctrl_lock, f);
    return ok;
}

/* Receive filtering (5.1.6.5.1) needs VIRTIO_NET_F_CTRL_RX; without it
 * there is nothing to set (QEMU's device, for one, then takes every frame). */
static void vnet_set_rx_mode(struct netdev *nd, bool promisc, bool allmulti)
{
    struct vnic *v = (struct vnic *)nd;
    if (!v->has_ctrl_rx)
        return;
    if (!ctrl_cmd(v, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, promisc) ||
        !ctrl_cmd(v, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, allmulti || promisc))
        printk("net: %s: virtio-net: receive mode command failed\n", nd->pci);
}

static void vnet_irq(struct trap_frame *tf)
{
    vnic_dev.nic.nd.irqs++;
    vnet_poll(&vnic_dev.nic.nd);
}

/* ---- start ------------------------------------------------------------------------ */

static struct netdev *fail(struct vnic *v, const char *why)
{
    printk("net: %s: virtio-net: %s\n", v->pd.name, why);
    if (v->common)
        w8(v, VIRTIO_PCI_COMMON_STATUS, c8(v, VIRTIO_PCI_COMMON_STATUS) | VIRTIO_STATUS_FAILED);
    v->common = NULL;
    return NULL;
}

struct netdev *virtio_net_start(const struct pci_dev *pd)
{
    struct vnic *v = &vnic_dev;
    struct netdev *nd = &v->nic.nd;
    if (v->common) {
        printk("net: %s: only one virtio-net is supported\n", pd->name);
        return NULL;
    }
    memset(v, 0, sizeof(*v));
    v->pd = *pd;
    pci_read_bars(&v->pd);
    if (!find_caps(v))
        return fail(v, "no usable modern (virtio 1.x) capabilities");
    pci_enable(&v->pd);

    /* initialization (3.1.1): reset, ACKNOWLEDGE, DRIVER, features */
    w8(v, VIRTIO_PCI_COMMON_STATUS, 0);
    for (unsigned i = 0; i < 1000 && c8(v, VIRTIO_PCI_COMMON_STATUS); i++)
        udelay(100);
    if (c8(v, VIRTIO_PCI_COMMON_STATUS))
        return fail(v, "reset did not complete");
    w8(v, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    w8(v, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    w32(v, VIRTIO_PCI_COMMON_DFSELECT, 0);
    uint64_t feat = c32(v, VIRTIO_PCI_COMMON_DF);
    w32(v, VIRTIO_PCI_COMMON_DFSELECT, 1);
    feat |= (uint64_t)c32(v, VIRTIO_PCI_COMMON_DF) << 32;
    uint64_t want = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MAC) |
                    VIRTIO_BIT(VIRTIO_NET_F_STATUS) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) |
                    VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX);
    uint64_t use = feat & want;
    if (!(use & VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ)))  /* CTRL_RX depends on CTRL_VQ */
        use &= ~VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX);
    if (!(use & VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX)))  /* the queue is only for CTRL_RX */
        use &= ~VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ);
    if (!(use & VIRTIO_BIT(VIRTIO_F_VERSION_1)))
        return fail(v, "device does not offer VIRTIO_F_VERSION_1");
    w32(v, VIRTIO_PCI_COMMON_GFSELECT, 0);
    w32(v, VIRTIO_PCI_COMMON_GF, (uint32_t)use);
    w32(v, VIRTIO_PCI_COMMON_GFSELECT, 1);
    w32(v, VIRTIO_PCI_COMMON_GF, (uint32_t)(use >> 32));
    w8(v, VIRTIO_PCI_COMMON_STATUS,
       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    if (!(c8(v, VIRTIO_PCI_COMMON_STATUS) & VIRTIO_STATUS_FEATURES_OK))
        return fail(v, "device refused the features");
    v->has_status = use & VIRTIO_BIT(VIRTIO_NET_F_STATUS);
    v->has_ctrl_rx = use & VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX);

    /* MAC (5.1.4): from the device if offered, read stable across a
     * generation change (4.1.4.3.1); else a locally administered one */
    if (use & VIRTIO_BIT(VIRTIO_NET_F_MAC)) {
        uint8_t gen;
        do {
            gen = c8(v, VIRTIO_PCI_COMMON_CFGGENERATION);
            for (unsigned i = 0; i < ETH_ALEN; i++)
                nd->mac[i] = v->device[VIRTIO_NET_CFG_MAC + i];
        } while (gen != c8(v, VIRTIO_PCI_COMMON_CFGGENERATION));
    } else {
        static const uint8_t local[ETH_ALEN] = { 0x02, 0x6e, 0x65, 0x74, 0x68, 0x76 };
        memcpy(nd->mac, local, ETH_ALEN);
    }

    /* interrupt: MSI-X table entry 0 for configuration and both queues */
    unsigned vec = 0;
    bool msix = pci_find_cap(&v->pd, PCI_CAP_MSIX, 0) && (vec = pci_irq_alloc(vnet_irq)) &&
                pci_msix_set(&v->pd, 0, vec);
    w16(v, VIRTIO_PCI_COMMON_MSIX, msix ? 0 : VIRTIO_MSI_NO_VECTOR);
    if (msix && c16(v, VIRTIO_PCI_COMMON_MSIX) != 0) {
        msix = false;                       /* the device did not take entry 0: polled */
        w16(v, VIRTIO_PCI_COMMON_MSIX, VIRTIO_MSI_NO_VECTOR);
    }
    if (c16(v, VIRTIO_PCI_COMMON_NUMQ) < 2)
        return fail(v, "fewer than 2 queues");
    if (!setup_queue(v, RXQ, msix) || !setup_queue(v, TXQ, msix))
        return fail(v, "queue set-up failed (size, memory or MSI-X vector)");
    /* the control queue is polled (only set_rx_mode uses it) */
    if (v->has_ctrl_rx && (c16(v, VIRTIO_PCI_COMMON_NUMQ) < 3 || !setup_queue(v, CTRLQ, false)))
        return fail(v, "control queue set-up failed");

    struct vq *rq = &v->q[RXQ], *tq = &v->q[TXQ];
    for (unsigned i = 0; i < tq->size; i++)
        tq->free[tq->nfree++] = (uint16_t)(tq->size - 1 - i);
    for (unsigned i = 0; i < rq->size; i++)
        avail_push(rq, (uint16_t)i);

    w8(v, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
       VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
    kick(rq, RXQ);

    nd->driver = "virtio-net";
    memcpy(nd->pci, pd->name, sizeof(nd->pci));
    nd->pci[sizeof(nd->pci) - 1] = 0;
    nd->xmit = vnet_xmit;
    nd->poll = vnet_poll;
    nd->set_rx_mode = vnet_set_rx_mode;
    nd->irq = msix;
    v->nic.irq_mode = msix ? "msix" : "polled";
    vnet_link(v);
    return nd;
}
