/*
 * The kernel half of each VM's virtio-net device: its data plane.
 *
 * The VM's monitor (vmm/virtio_net.c) runs the virtio-pci control plane and
 * tells us, through the vm_net_* calls of nethv/vmm_if.h, where the two
 * queues are, which features were negotiated, where the notify window is
 * and how each queue's MSI-X vector is routed.  From then on frames move
 * without the monitor:
 *
 *   RX (switch -> guest): the switch calls the port's xmit (vnet_xmit) on
 *      any CPU; it fills the guest's receiveq, publishes once per batch and
 *      raises the queue's MSI straight into the guest's virtual LAPIC.
 *   TX (guest -> switch): a guest write to the notify window exits to the
 *      kernel (kernel/exit.c -> vnet_notify_exit); we advance RIP, drain the
 *      transmitq into a per-CPU batch and hand it to switch_input.
 *
 * Locks, always taken in this order: tx_lock (TX path, start/stop), then
 * rx_lock (RX path, start/stop), then msi_lock (interrupt route).  A TX
 * drain holds its port's tx_lock while the switch delivers into other
 * ports (their rx_lock); no path holds two tx_locks or waits for a tx_lock
 * while holding an rx_lock.  All are irqsave: an uplink NIC interrupt may
 * deliver into a guest on any CPU.
 */
#include <stdio.h>
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <nethv/net.h>
#include <nethv/pkt.h>
#include <nethv/spinlock.h>
#include <nethv/switch.h>
#include <nethv/virtio.h>
#include <nethv/virtq.h>
#include <nethv/vlapic.h>
#include <nethv/vm.h>
#include <nethv/vmm_if.h>
#include <arch/cpu.h>
#include <arch/smp.h>
#include <arch/vcpu.h>

enum { VQ_RX = 0, VQ_TX = 1 };
_Static_assert(CONFIG_MAX_ALLOWED_MACS == SW_ALLOWED_MACS, "allowed-macs: config and switch agree");
_Static_assert(VMM_NET_MC_MAX == SW_MC_MAX, "multicast lists: monitor and switch agree");

/* Whether a vCPU of the VM runs on another CPU than this one: only then do
 * the guest's ring and buffers sit in another CPU's cache, which is what
 * virtq_rx_prefetch's write-touch is for (on the same CPU it is pure cost,
 * ~10% of the one-CPU datapath bench). */
static bool guest_elsewhere(const struct vm *vm)
{
    unsigned cpu = this_cpu()->cpu;
    for (unsigned i = 0; i < vm->nvcpus; i++)
        if (vm->vcpu[i].hw.host_cpu != cpu)
            return true;
    return false;
}

static const char *const vq_name[VMM_NET_QUEUES] = { "RX", "TX" };

struct vnet {
    struct sw_port port;                /* port.priv = this */
    unsigned cfg_vm;                    /* index in nethv_config.vm[] */
    struct vm *vm;                      /* set by the monitor's first vm_net_* call */
    struct gmem mem;                    /* the VM's RAM, for both queues */
    spinlock_t tx_lock, rx_lock, msi_lock;
    struct virtq q[VMM_NET_QUEUES];     /* q[VQ_RX] under rx_lock, q[VQ_TX] under tx_lock */
    bool up[VMM_NET_QUEUES];            /* queue in use: under its lock */
    bool guest_csum;                    /* VIRTIO_NET_F_GUEST_CSUM negotiated (rx_lock) */
    uint8_t host_gso;                   /* SW_GSO_*: the TSO frames it may send (HOST_TSO4/6,
                                           HOST_ECN; tx_lock) */
    bool broken_said[VMM_NET_QUEUES];   /* the console line was printed */
    /* notify window: written by the monitor (any vCPU's CPU), read on every
     * MMIO exit of this VM; relaxed atomics (it moves only with the BAR) */
    uint64_t notify_gpa;
    uint32_t notify_stride;
    struct vmm_net_msi msi[VMM_NET_QUEUES];   /* under msi_lock */
    bool msi_pending[VMM_NET_QUEUES];         /* raised while masked (PBA bit) */
    /* cumulative over device resets; rx_* under rx_lock, tx_* under
     * tx_lock, the rest relaxed atomics: read racily by the stats print */
    uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
    uint64_t notifies, irqs[VMM_NET_QUEUES];
    uint64_t tx_budget_hits;            /* drains cut short by VNET_TX_BUDGET */
    uint64_t msi_refused;               /* MSIs the VM's LAPICs cannot take (vector < 16, ...) */
    uint64_t breaks;                    /* queues broken (vnet_broke) */
    uint64_t gso_tx;                    /* TSO frames the guest sent */
    uint64_t ctrl_done, ctrl_refused;   /* control-queue commands carried out / refused */
    uint64_t guest_offers;              /* the GUEST_* offloads negotiated (tx_lock + rx_lock) */
    uint8_t cfg_mac[ETH_ALEN];          /* the config's `mac`: the MAC again at every reset */
    bool allow_promisc, allow_mac_change;   /* the config's policy */
    bool tx_resume;                     /* a drain stopped at its budget (atomic) */
};

/* Bound on one TX drain: chains taken (sent or dropped) before it returns
 * to the guest.  Each chain's walk is bounded by the queue size (virtq.c),
 * so one drain -- with interrupts off, under tx_lock -- visits at most
 * VNET_TX_BUDGET x 256 descriptors and copies VNET_TX_BUDGET frames' worth
 * of bytes (a TSO or jumbo frame counts as its size in 1514-byte frames).  A
 * ring holds 256 chains: a guest refilling it from another vCPU while we
 * drain is what meets the bound.  The rest is drained at the VM's next
 * exit (vnet_tx_resume), with notifications still off meanwhile. */
#define VNET_TX_BUDGET 256u

static struct vnet vnets[CONFIG_MAX_PORTS];
static unsigned nvnets;
/* the n-th VM port of config VM i (its virtio-net device n) */
static struct vnet *vm_ports[CONFIG_MAX_VMS][VMM_NET_MAX_PORTS];
static unsigned vm_nports[CONFIG_MAX_VMS];
/* per-CPU TX batch: PKT_BATCH buffers of VNET_TX_BUF, used under a tx_lock
 * with interrupts off; a frame of any port's MTU fits one */
#define VNET_TX_BUF    ALIGN_UP(PKT_GSO_MAX_LEN, 4096u)          /* a TSO frame */
#define TX_BATCH_PAGES (PKT_BATCH * VNET_TX_BUF / PAGE_SIZE)
static uint8_t *tx_bufs[MAX_CPUS];

static void stat_inc(uint64_t *c, uint64_t n)
{
    __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static unsigned long long stat_ld(const uint64_t *c)      /* (for the stats' %llu) */
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* The VM's port n, for the vm_net_* calls: vm_id may be the VM its
 * monitor is being created for (vm_id == nvms). */
static struct vnet *vnet_of(unsigned vm_id, unsigned port)
{
    if (vm_id >= VM_MAX || vm_id > nvms)
        return NULL;
    unsigned ci = vms[vm_id].cfg_index;
    if (ci >= CONFIG_MAX_VMS || port >= vm_nports[ci])
        return NULL;
    struct vnet *vn = vm_ports[ci][port];
    /* the VM outlives its ports' use: any of its calls may set it */
    __atomic_store_n(&vn->vm, &vms[vm_id], __ATOMIC_RELAXED);
    return vn;
}

/* ---- interrupts ---------------------------------------------------------------- */

/* Raise queue qi's MSI, or hold it while the vector is masked; the
 * queue's lock held (so vm_net_stop also waits for this). */
static void vnet_raise(struct vnet *vn, unsigned qi)
{
    uint64_t f = spin_lock_irqsave(&vn->msi_lock);
    if (vn->msi[qi].masked || !vn->vm) {
        vn->msi_pending[qi] = true;
    } else if (vlapic_deliver_msi(vn->vm, vn->msi[qi].addr, vn->msi[qi].data) == 0) {
        stat_inc(&vn->irqs[qi], 1);
    } else {
        stat_inc(&vn->msi_refused, 1);  /* a vector 0-15, no such APIC, a bad address */
    }
    spin_unlock_irqrestore(&vn->msi_lock, f);
}

void vm_net_set_msi(unsigned vm_id, unsigned port, unsigned queue, const struct vmm_net_msi *msi)
{
    struct vnet *vn = vnet_of(vm_id, port);
    if (!vn || queue >= VMM_NET_QUEUES)
        return;
    uint64_t f = spin_lock_irqsave(&vn->msi_lock);
    vn->msi[queue] = *msi;
    if (!msi->masked && vn->msi_pending[queue] && vn->vm) {
        vn->msi_pending[queue] = false;
        if (vlapic_deliver_msi(vn->vm, msi->addr, msi->data) == 0)
            stat_inc(&vn->irqs[queue], 1);
        else
            stat_inc(&vn->msi_refused, 1);
    }
    spin_unlock_irqrestore(&vn->msi_lock, f);
}

bool vm_net_msi_pending(unsigned vm_id, unsigned port, unsigned queue)
{
    struct vnet *vn = vnet_of(vm_id, port);
    if (!vn || queue >= VMM_NET_QUEUES)
        return false;
    return __atomic_load_n(&vn->msi_pending[queue], __ATOMIC_RELAXED);
}

/* ---- start / stop ----------------------------------------------------------------- */

/* A queue went broken (its lock held): down, counted, and a console line
 * -- for the first VNET_BROKEN_SAID breakages of the port only: a guest
 * that resets and breaks its queues in a loop must not flood the console
 * (the rest show in the stats' "queue breaks"). */
#define VNET_BROKEN_SAID 3
static void vnet_broke(struct vnet *vn, unsigned qi)
{
    vn->up[qi] = false;
    if (!vn->broken_said[qi]) {
        vn->broken_said[qi] = true;
        uint64_t n = __atomic_add_fetch(&vn->breaks, 1, __ATOMIC_RELAXED);
        if (n <= VNET_BROKEN_SAID)
            printk("vnet %s: vm %s: %s queue broken (%s); port down until the driver resets it%s\n",
                   vn->port.name, vn->vm ? vn->vm->name : "?", vq_name[qi],
                   vn->q[qi].broken_why[0] ? vn->q[qi].broken_why : "no reason given",
                   n == VNET_BROKEN_SAID ? " (further breakages are counted, not printed)" : "");
    }
}

_Static_assert(VIRTIO_NET_HDR_GSO_TCPV4 == PKT_GSO_TCPV4 && VIRTIO_NET_HDR_GSO_TCPV6 == PKT_GSO_TCPV6 &&
               VIRTIO_NET_HDR_GSO_ECN == PKT_GSO_ECN, "virtio's gso_type passes through as PKT_GSO_*");

/* SW_GSO_* from a virtio feature set: TCPv4, TCPv6 and ECN's bits, each
 * only with what it needs (virtio 5.1.3.1: TSO needs the checksum feature,
 * ECN needs TSO) */
static uint8_t gso_bits(uint64_t features, unsigned tso4, unsigned tso6, unsigned ecn, unsigned csum)
{
    if (!(features & VIRTIO_BIT(csum)))
        return 0;
    uint8_t b = (features & VIRTIO_BIT(tso4) ? SW_GSO_TCPV4 : 0) | (features & VIRTIO_BIT(tso6) ? SW_GSO_TCPV6 : 0);
    return b && (features & VIRTIO_BIT(ecn)) ? b | SW_GSO_ECN : b;
}

/* The RX offloads now on (negotiated at start, CTRL_GUEST_OFFLOADS after);
 * both locks held. */
static void vnet_guest_offloads(struct vnet *vn, uint64_t on)
{
    vn->guest_csum = on & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM);
    __atomic_store_n(&vn->port.partial_csum_ok, vn->guest_csum, __ATOMIC_RELAXED);
    __atomic_store_n(&vn->port.gso_ok,
                     gso_bits(on, VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_TSO6,
                              VIRTIO_NET_F_GUEST_ECN, VIRTIO_NET_F_GUEST_CSUM),
                     __ATOMIC_RELAXED);
}

int vm_net_start(unsigned vm_id, unsigned port, uint64_t features,
                 const struct vmm_net_queue q[VMM_NET_QUEUES])
{
    struct vnet *vn = vnet_of(vm_id, port);
    if (!vn)
        return -1;
    struct vm *vm = &vms[vm_id];
    int rc = 0;

    uint64_t f = spin_lock_irqsave(&vn->tx_lock);
    spin_lock(&vn->rx_lock);
    vn->up[VQ_RX] = vn->up[VQ_TX] = false;
    vn->vm = vm;
    memset(&vn->mem, 0, sizeof(vn->mem));
    for (unsigned i = 0; i < vm->nram && i < GMEM_MAX_RANGES; i++) {
        vn->mem.r[i].gpa = vm->ram[i].gpa;
        vn->mem.r[i].size = vm->ram[i].size;
        vn->mem.r[i].hva = phys_to_virt(vm->ram[i].hpa);
        vn->mem.n = i + 1;
    }
    for (unsigned qi = 0; qi < VMM_NET_QUEUES; qi++) {
        vn->broken_said[qi] = false;
        if (!q[qi].size) {              /* the driver did not enable it */
            memset(&vn->q[qi], 0, sizeof(vn->q[qi]));
            continue;
        }
        if (virtq_setup(&vn->q[qi], &vn->mem, q[qi].size, q[qi].desc, q[qi].avail, q[qi].used,
                        features)) {
            printk("vnet %s: vm %s: %s queue set-up refused: %s\n", vn->port.name, vm->name,
                   vq_name[qi], vn->q[qi].broken_why);
            rc = -1;
        }
    }
    if (!rc) {
        vn->host_gso = gso_bits(features, VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_HOST_TSO6,
                                VIRTIO_NET_F_HOST_ECN, VIRTIO_NET_F_CSUM);
        vn->guest_offers = features & VIRTIO_NET_GUEST_OFFLOADS;
        vnet_guest_offloads(vn, vn->guest_offers);
        vn->up[VQ_RX] = q[VQ_RX].size != 0;
        vn->up[VQ_TX] = q[VQ_TX].size != 0;
    }
    spin_unlock(&vn->rx_lock);
    spin_unlock_irqrestore(&vn->tx_lock, f);
    return rc;
}

void vm_net_stop(unsigned vm_id, unsigned port)
{
    struct vnet *vn = vnet_of(vm_id, port);
    if (!vn)
        return;
    /* holding both locks: no CPU is inside this port's RX or TX path */
    uint64_t f = spin_lock_irqsave(&vn->tx_lock);
    spin_lock(&vn->rx_lock);
    vn->up[VQ_RX] = vn->up[VQ_TX] = false;
    vn->host_gso = 0;
    vn->guest_offers = 0;
    vnet_guest_offloads(vn, 0);
    /* the control queue's changes undone: no filter, the config's MAC
     * (which no other port may take: vm_net_ctrl) */
    switch_set_rx_filter(&vn->port, &(struct sw_rx_filter){ .active = false });
    if (switch_set_mac(&vn->port, vn->cfg_mac, true, net_now_ms()))
        printk("vnet %s: cannot take back its MAC at reset\n", vn->port.name);
    spin_lock(&vn->msi_lock);
    vn->msi_pending[VQ_RX] = vn->msi_pending[VQ_TX] = false;
    spin_unlock(&vn->msi_lock);
    spin_unlock(&vn->rx_lock);
    spin_unlock_irqrestore(&vn->tx_lock, f);
}

void vm_net_set_notify(unsigned vm_id, unsigned port, uint64_t gpa, uint32_t stride)
{
    struct vnet *vn = vnet_of(vm_id, port);
    if (!vn)
        return;
    __atomic_store_n(&vn->notify_gpa, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&vn->notify_stride, stride, __ATOMIC_RELEASE);
    __atomic_store_n(&vn->notify_gpa, gpa, __ATOMIC_RELEASE);
}

bool vm_net_port_info(unsigned vm_id, unsigned port, uint8_t mac[6], bool *link_up, uint16_t *mtu)
{
    struct vnet *vn = vnet_of(vm_id, port);
    if (!vn)
        return false;
    uint64_t f = spin_lock_irqsave(&vn->tx_lock);     /* (vm_net_ctrl may be moving it) */
    memcpy(mac, vn->port.mac, ETH_ALEN);
    spin_unlock_irqrestore(&vn->tx_lock, f);
    *link_up = true;                    /* the switch is always there */
    *mtu = vn->port.mtu;
    return true;
}

static bool mac_of_another_port(const struct vnet *vn, const uint8_t *mac)
{
    for (unsigned i = 0; i < nvnets; i++) {
        const struct vnet *o = &vnets[i];
        bool hit = !memcmp(o->cfg_mac, mac, ETH_ALEN);
        for (unsigned k = 0; k < o->port.nallowed; k++)
            hit |= !memcmp(o->port.allowed[k], mac, ETH_ALEN);
        if (o != vn && hit)
            return true;
    }
    return false;
}

/* The control queue's commands (the monitor parsed them), under both locks:
 * no frame of this port is in the switch or its RX ring meanwhile. */
int vm_net_ctrl(unsigned vm_id, unsigned port, const struct vmm_net_ctrl *c)
{
    struct vnet *vn = vnet_of(vm_id, port);
    if (!vn)
        return -1;
    int rc = -1;
    uint64_t f = spin_lock_irqsave(&vn->tx_lock);
    spin_lock(&vn->rx_lock);
    switch (c->kind) {
    case VMM_NET_CTRL_RX_MODE: {
        struct sw_rx_filter flt = { .active = true, .promisc = c->promisc != 0,
                                    .allmulti = c->allmulti != 0, .nmc = c->nmc };
        if (flt.promisc && !vn->allow_promisc)
            break;
        if (flt.nmc <= SW_MC_MAX)
            memcpy(flt.mc, c->mc, flt.nmc * (size_t)ETH_ALEN);
        switch_set_rx_filter(&vn->port, &flt);
        rc = 0;
        break;
    }
    case VMM_NET_CTRL_MAC:                /* (its own MAC again: no change) */
        if (!memcmp(c->mac, vn->port.mac, ETH_ALEN))
            rc = 0;
        else if (vn->allow_mac_change && !mac_of_another_port(vn, c->mac))
            rc = switch_set_mac(&vn->port, c->mac, false, net_now_ms());
        break;
    case VMM_NET_CTRL_OFFLOADS:
        if (!(c->offloads & ~vn->guest_offers)) {
            vnet_guest_offloads(vn, c->offloads);
            rc = 0;
        }
        break;
    }
    spin_unlock(&vn->rx_lock);
    spin_unlock_irqrestore(&vn->tx_lock, f);
    stat_inc(rc ? &vn->ctrl_refused : &vn->ctrl_done, 1);
    return rc;
}

/* ---- RX: switch -> guest ----------------------------------------------------------- */

/* The port's xmit: any CPU, any context. */
static unsigned vnet_xmit(struct sw_port *p, struct pkt *const *pkts, unsigned n)
{
    struct vnet *vn = p->priv;
    struct virtq *q = &vn->q[VQ_RX];
    unsigned done = 0, drops[SW_DROP__COUNT] = { 0 };

    uint64_t f = spin_lock_irqsave(&vn->rx_lock);
    if (vn->up[VQ_RX] && vn->vm->state != VM_RUNNING)
        vn->up[VQ_RX] = false;          /* the guest is gone: stop writing its RAM */
    virtq_rx_batch_start(q);            /* bound: VIRTQ_RX_BATCH_VISITS for these n */
    if (vn->up[VQ_RX] && guest_elsewhere(vn->vm))
        virtq_rx_prefetch(q, n);        /* the batch's cache misses, together */
    for (unsigned i = 0; i < n; i++) {
        struct pkt *k = pkts[i];
        struct virtio_net_hdr h = { .gso_type = VIRTIO_NET_HDR_GSO_NONE };
        if (!vn->up[VQ_RX]) {
            drops[SW_DROP_DOWN] += n - i;
            break;
        }
        if (k->gso_type) {              /* whole: the port's gso_ok took it (switch.c) */
            uint8_t need = sw_gso_need(k->gso_type);
            if ((vn->port.gso_ok & need) != need || !vn->guest_csum) {
                drops[SW_DROP_DOWN]++;  /* the guest renegotiated since: not for it now */
                continue;
            }
            h.gso_type = k->gso_type;
            h.gso_size = k->gso_size;
            h.hdr_len = k->hdr_len;
        }
        if (k->csum_flags & PKT_CSUM_PARTIAL) {
            if (vn->guest_csum) {
                h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
                h.csum_start = k->csum_start;
                h.csum_offset = k->csum_offset;
            } else if (!pkt_csum_complete(k)) {
                drops[SW_DROP_MALFORMED]++;
                continue;
            }
        } else if ((k->csum_flags & PKT_CSUM_VALID) && vn->guest_csum) {
            h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
        }
        switch (virtq_rx_put(q, &h, k->data, k->len)) {
        case VIRTQ_OK:
            done++;
            vn->rx_frames++;
            vn->rx_bytes += k->len;
            break;
        case VIRTQ_EMPTY:                   /* the rest too: no re-reading of avail->idx */
            drops[SW_DROP_NO_BUF] += n - i;     /* per frame while the guest writes it */
            i = n;
            break;
        case VIRTQ_DROPPED:                 /* larger than the guest's buffers */
            drops[SW_DROP_OVERSIZE]++;
            break;
        case VIRTQ_BUDGET:                  /* the guest's chains cost too many visits */
            drops[SW_DROP_BUDGET]++;
            break;
        case VIRTQ_BROKEN:
        default:
            vnet_broke(vn, VQ_RX);
            i--;                            /* it and the rest: down, next turn */
            break;
        }
    }
    if (done && virtq_publish(q))
        vnet_raise(vn, VQ_RX);
    spin_unlock_irqrestore(&vn->rx_lock, f);

    for (unsigned c = 0; c < SW_DROP__COUNT; c++)
        if (drops[c])
            sw_port_drop(p, (enum sw_drop)c, drops[c]);
    return done;
}

/* ---- TX: guest -> switch ------------------------------------------------------------ */

static uint8_t *cpu_tx_bufs(void)
{
    unsigned cpu = this_cpu()->cpu;
    if (cpu >= MAX_CPUS)
        return NULL;
    return tx_bufs[cpu];                /* (vnet_init) */
}

/* Drain the guest's transmitq into the switch; the notifying vCPU's CPU. */
static void vnet_tx_drain(struct vnet *vn)
{
    struct virtq *q = &vn->q[VQ_TX];
    struct pkt pk[PKT_BATCH];
    struct pkt *batch[PKT_BATCH];
    unsigned big = 0, malformed = 0, taken = 0;
    bool irq = false;

    uint64_t f = spin_lock_irqsave(&vn->tx_lock);
    uint8_t *bufs = cpu_tx_bufs();
    if (!bufs || !vn->up[VQ_TX] || vn->vm->state != VM_RUNNING) {
        spin_unlock_irqrestore(&vn->tx_lock, f);
        return;
    }
    virtq_disable_notify(q);            /* we are looking: no kicks meanwhile */
    for (;;) {
        unsigned n = 0;
        bool more = true;
        while (n < PKT_BATCH) {
            struct virtio_net_hdr h;
            uint32_t len;
            uint8_t *buf = bufs + n * VNET_TX_BUF;
            if (taken >= VNET_TX_BUDGET) {
                more = false;
                break;
            }
            /* over the port's MTU (a TSO frame's: 64 KiB): VIRTQ_DROPPED, "oversize" */
            uint32_t cap = vn->host_gso ? PKT_GSO_MAX_LEN : ETH_HLEN + (uint32_t)vn->port.mtu;
            enum virtq_status st = virtq_tx_get(q, &h, buf, cap, &len);
            if (st == VIRTQ_OK || st == VIRTQ_DROPPED || st == VIRTQ_RUNT)
                taken += st == VIRTQ_OK && len > ETH_FRAME_MAX ?    /* a TSO or jumbo frame: */
                         (len + ETH_FRAME_MAX - 1) / ETH_FRAME_MAX : 1;  /* its size in frames */
            if (st == VIRTQ_RUNT || st == VIRTQ_DROPPED) {      /* completed, not sent */
                malformed += st == VIRTQ_RUNT;
                big += st == VIRTQ_DROPPED;
                continue;
            }
            if (st != VIRTQ_OK) {
                if (st == VIRTQ_BROKEN)
                    vnet_broke(vn, VQ_TX);
                more = false;
                break;
            }
            pk[n] = (struct pkt){ .data = buf, .len = len, .in_port = vn->port.id };
            if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
                /* TSO: only the types negotiated, hdr_len within the frame;
                 * the switch checks the rest (pkt_gso_check) */
                uint8_t need = sw_gso_need(h.gso_type);   /* (virtio's values are PKT_GSO_*'s) */
                if ((vn->host_gso & need) != need || h.hdr_len > len) {
                    malformed++;
                    continue;
                }
                pk[n].gso_type = h.gso_type;
                pk[n].gso_size = h.gso_size;
                stat_inc(&vn->gso_tx, 1);
            }
            if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
                pk[n].csum_flags = PKT_CSUM_PARTIAL;
                pk[n].csum_start = h.csum_start;
                pk[n].csum_offset = h.csum_offset;
            } else if (h.flags & VIRTIO_NET_HDR_F_DATA_VALID) {
                pk[n].csum_flags = PKT_CSUM_VALID;
            }
            batch[n] = &pk[n];
            vn->tx_frames++;
            vn->tx_bytes += len;
            n++;
        }
        if (n)
            switch_input(&vn->port, batch, n, net_now_ms());
        /* Linux frees transmitted skbs on the TX interrupt */
        if (virtq_publish(q))
            irq = true;
        if (more)
            continue;
        if (taken >= VNET_TX_BUDGET && vn->up[VQ_TX]) {
            /* the budget is spent: back to the guest, resumed at the VM's
             * next exit; notifications stay off until the ring is empty */
            vn->tx_budget_hits++;
            __atomic_store_n(&vn->tx_resume, true, __ATOMIC_RELEASE);
            __atomic_store_n(&vn->vm->tx_resume, true, __ATOMIC_RELEASE);
            break;
        }
        if (!vn->up[VQ_TX] || !virtq_enable_notify(q))
            break;
        virtq_disable_notify(q);        /* buffers arrived meanwhile: drain them too */
    }
    if (irq)
        vnet_raise(vn, VQ_TX);
    spin_unlock_irqrestore(&vn->tx_lock, f);
    if (malformed)              /* a runt, or GSO metadata never offered */
        sw_port_drop(&vn->port, SW_DROP_MALFORMED, malformed);
    if (big)
        sw_port_drop(&vn->port, SW_DROP_OVERSIZE, big);
}

/* kernel/exit.c, at an exit of a VM whose vm.tx_resume is set: go on with
 * the drains that stopped at their budget, each with a budget again. */
void vnet_tx_resume(struct vm *vm)
{
    unsigned ci = vm->cfg_index;
    if (ci >= CONFIG_MAX_VMS)
        return;
    __atomic_store_n(&vm->tx_resume, false, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < vm_nports[ci]; i++) {
        struct vnet *vn = vm_ports[ci][i];
        if (__atomic_exchange_n(&vn->tx_resume, false, __ATOMIC_ACQ_REL))
            vnet_tx_drain(vn);
    }
}

/* kernel/exit.c, for every MMIO exit, on the exiting vCPU's CPU: a write to
 * one of this VM's notify windows is a doorbell handled here. */
bool vnet_notify_exit(struct vcpu *v, const struct vcpu_exit *e)
{
    unsigned ci = v->vm->cfg_index;
    if (ci >= CONFIG_MAX_VMS)
        return false;
    for (unsigned i = 0; i < vm_nports[ci]; i++) {
        struct vnet *vn = vm_ports[ci][i];
        uint64_t base = __atomic_load_n(&vn->notify_gpa, __ATOMIC_ACQUIRE);
        uint32_t stride = __atomic_load_n(&vn->notify_stride, __ATOMIC_RELAXED);
        /* stride 0: every queue notifies at `base` (a 16-bit write) */
        uint64_t span = stride ? (uint64_t)stride * VMM_NET_QUEUES : 2;
        if (!base || e->gpa < base || e->gpa - base >= span)
            continue;
        if (!e->mmio.write)
            return false;               /* a read: the monitor answers 0 */
        unsigned len = vcpu_store_len(v, e);
        if (!len)
            return false;               /* not a plain store: the monitor emulates it */
        vcpu_advance_rip(v, len);
        stat_inc(&vn->notifies, 1);
        unsigned queue = stride ? (unsigned)((e->gpa - base) / stride) : VQ_TX;
        if (queue == VQ_TX)
            vnet_tx_drain(vn);
        /* VQ_RX: the guest added receive buffers; nothing is held back */
        return true;
    }
    return false;
}

/* ---- set-up and statistics ---------------------------------------------------------- */

void vnet_init(const struct nethv_config *cfg)
{
    for (unsigned i = 0; i < cfg->nports; i++) {
        const struct config_port *cp = &cfg->port[i];
        if (cp->type != CONFIG_PORT_VM || cp->vm >= CONFIG_MAX_VMS)
            continue;
        if (vm_nports[cp->vm] >= VMM_NET_MAX_PORTS) {
            printk("net: port %s: VM %s has %u virtio-net ports already; not created\n",
                   cp->name, cfg->vm[cp->vm].name, VMM_NET_MAX_PORTS);
            continue;
        }
        struct vnet *vn = &vnets[nvnets];
        memset(vn, 0, sizeof(*vn));
        vn->cfg_vm = cp->vm;
        strncpy(vn->port.name, cp->name, sizeof(vn->port.name) - 1);
        vn->port.vlan = cp->vlan;
        vn->port.mtu = (uint16_t)cp->mtu;
        vn->port.has_mac = true;
        memcpy(vn->port.mac, cp->mac, ETH_ALEN);
        vn->port.nallowed = (uint8_t)cp->nallowed;
        memcpy(vn->cfg_mac, cp->mac, ETH_ALEN);
        vn->allow_promisc = cp->allow_promisc;
        vn->allow_mac_change = cp->allow_mac_change;
        memcpy(vn->port.allowed, cp->allowed, sizeof(vn->port.allowed));
        vn->port.xmit = vnet_xmit;
        vn->port.priv = vn;
        for (unsigned qi = 0; qi < VMM_NET_QUEUES; qi++)
            vn->msi[qi].masked = true;
        if (switch_add_port(&vn->port) < 0) {
            printk("net: port %s: the switch refused it (full, or a bad MAC/VLAN)\n", cp->name);
            continue;
        }
        vm_ports[cp->vm][vm_nports[cp->vm]++] = vn;
        nvnets++;
        const uint8_t *m = cp->mac;
        printk("net: port %s: VM %s virtio-net %u, mac %02x:%02x:%02x:%02x:%02x:%02x, vlan %u\n",
               cp->name, cfg->vm[cp->vm].name, vm_nports[cp->vm] - 1, m[0], m[1], m[2], m[3],
               m[4], m[5], cp->vlan);
    }
    /* every CPU's TX batch now (2.2 MiB each: a TSO frame per slot), not
     * inside a drain with interrupts off; a CPU without one drains nothing */
    for (unsigned c = 0; nvnets && c < cpus_online_count && c < MAX_CPUS; c++) {
        uint64_t pa = page_alloc(TX_BATCH_PAGES, PAGE_SIZE, 0);
        tx_bufs[c] = pa ? phys_to_virt(pa) : NULL;
        if (!pa)
            printk("net: CPU %u: no memory for its TX batch (%u KiB): ports drained there send nothing\n",
                   c, (unsigned)(TX_BATCH_PAGES * 4));
    }
}

void vnet_print_stats(const struct vm *vm)
{
    unsigned ci = vm->cfg_index;
    if (ci >= CONFIG_MAX_VMS)
        return;
    for (unsigned i = 0; i < vm_nports[ci]; i++) {
        struct vnet *vn = vm_ports[ci][i];
        char drops[224];
        int n = 0;
        for (unsigned c = 0; c < SW_DROP__COUNT && n < (int)sizeof(drops); c++)
            n += snprintf(drops + n, sizeof(drops) - n, " %s %llu", sw_drop_name((enum sw_drop)c),
                          stat_ld(&vn->port.st.drops[c]));
        printk("vnet %s: vm %s: rx %llu frames %llu bytes, tx %llu frames %llu bytes, "
               "kernel notifies %llu, interrupts rxq %llu txq %llu (refused %llu), "
               "tx drains at budget %llu, queue breaks %llu, indirect chains %llu, "
               "jumbo in %llu, tso sent %llu, tso in whole %llu, tso segmented %llu into %llu, "
               "ctrl done %llu denied %llu, multicast filtered %llu, promiscuous copies %llu, drops%s\n",
               vn->port.name, vm->name, stat_ld(&vn->rx_frames), stat_ld(&vn->rx_bytes),
               stat_ld(&vn->tx_frames), stat_ld(&vn->tx_bytes), stat_ld(&vn->notifies),
               stat_ld(&vn->irqs[VQ_RX]), stat_ld(&vn->irqs[VQ_TX]), stat_ld(&vn->msi_refused),
               stat_ld(&vn->tx_budget_hits), stat_ld(&vn->breaks),
               (unsigned long long)(__atomic_load_n(&vn->q[VQ_RX].indirect_chains, __ATOMIC_RELAXED) +
                                    __atomic_load_n(&vn->q[VQ_TX].indirect_chains, __ATOMIC_RELAXED)),
               stat_ld(&vn->port.st.jumbo_in), stat_ld(&vn->gso_tx), stat_ld(&vn->port.st.gso_whole),
               stat_ld(&vn->port.st.gso_split), stat_ld(&vn->port.st.gso_segs), stat_ld(&vn->ctrl_done),
               stat_ld(&vn->ctrl_refused), stat_ld(&vn->port.st.mc_filtered),
               stat_ld(&vn->port.st.promisc_in), drops);
    }
}
