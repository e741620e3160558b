/*
 * Inside drivers/net: what netdev.c (probe, self-test) needs of each
 * driver.  Each start function takes a function found by the PCI scan,
 * resets and starts the NIC (RX and TX rings live; e1000 receive filter:
 * own MAC and broadcast until set_rx_mode) and returns its netdev, or NULL with a console line saying
 * why.  BSP, boot, interrupts off.  One instance per driver (the uplink).
 */
#ifndef DRIVERS_NET_NIC_H
#define DRIVERS_NET_NIC_H

#include <nethv/netdev.h>
#include <nethv/hostpci.h>

struct netdev *e1000_start(const struct pci_dev *pd);        /* 82540EM and 82574L */
struct netdev *virtio_net_start(const struct pci_dev *pd);

/* netdev.c: for the self-test (netdev_selftest.c, in the test image only) */
uint64_t netdev_ms_since(uint64_t t0);
/* poll or wait for interrupts until done(nd) or `ms` since t0 */
void netdev_wait_for(struct netdev *nd, bool (*done)(struct netdev *), uint64_t t0, uint64_t ms);
void netdev_selftest(struct netdev *nd, const char *target) __attribute__((weak));

/* Every driver's device structure starts with this. */
struct nic {
    struct netdev nd;
    const char *irq_mode;       /* "msi", "msix" or "polled" */
};

static inline const char *netdev_irq_mode(const struct netdev *nd)
{
    return ((const struct nic *)nd)->irq_mode;
}

/* kernel/pkt.c; while it is not linked in, partial-checksum frames drop */
bool pkt_csum_complete(struct pkt *p) __attribute__((weak));

/* A frame the NIC may send: a whole Ethernet frame, its checksum filled in
 * if it was left partial (the caller counts a refusal in tx_dropped). */
static inline bool nic_tx_ok(const struct pkt *p)
{
    return p->len >= ETH_HLEN && p->len <= PKT_FRAME_MAX &&
           (!(p->csum_flags & PKT_CSUM_PARTIAL) ||
            (pkt_csum_complete && pkt_csum_complete((struct pkt *)p)));
}

/* Hand a batch to the owner; frames no owner claimed yet (rx == NULL)
 * are counted as dropped. */
static inline void netdev_deliver(struct netdev *nd, struct pkt *const *pkts, unsigned n)
{
    if (!n)
        return;
    if (nd->rx) {
        nd->rx_frames += n;
        nd->rx(nd, pkts, n);
    } else {
        nd->rx_dropped += n;
    }
}

#endif
