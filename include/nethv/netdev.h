/*
 * Physical NICs owned by the kernel (drivers/net/): Intel e1000 (82540EM),
 * e1000e (82574L) and virtio-net (modern PCI).  Guests never see them: the
 * monitor's PCI bus is fully emulated.
 *
 * A driver probes the host PCI bus (kernel/pci.c), sets up its RX/TX
 * descriptor rings with DMA buffers from the page allocator, takes its
 * interrupt through MSI(-X) where the device has it (otherwise the owner
 * polls it from the timer tick), and hands received frames to `rx` in
 * batches of up to PKT_BATCH (borrowed for the call, nethv/pkt.h).
 */
#ifndef NETHV_NETDEV_H
#define NETHV_NETDEV_H

#include <stdint.h>
#include <stdbool.h>
#include <nethv/pkt.h>
#include <nethv/config.h>

struct netdev;
typedef void netdev_rx_fn(struct netdev *nd, struct pkt *const *pkts, unsigned n);

struct netdev {
    const char *driver;                 /* "e1000", "e1000e", "virtio-net" */
    char pci[16];                       /* "0000:00:03.0" */
    uint8_t mac[ETH_ALEN];
    volatile bool link_up;
    bool irq;                           /* interrupt-driven (else polled) */
    /* Copy n frames into TX descriptors; returns how many were queued
     * (the rest: ring full).  Any CPU (serialized inside). */
    unsigned (*xmit)(struct netdev *nd, struct pkt *const *pkts, unsigned n);
    /* Reclaim TX, pass received frames to rx, update link_up.  Called
     * from the NIC's interrupt and from the tick when polled. */
    void (*poll)(struct netdev *nd);
    /* Receive filter: promiscuous (the switch's uplink wants every
     * unicast MAC of its VMs), all-multicast. */
    void (*set_rx_mode)(struct netdev *nd, bool promisc, bool allmulti);
    netdev_rx_fn *rx;                   /* set by the owner before start */
    void *owner;
    uint64_t rx_frames, tx_frames, rx_dropped, tx_dropped, irqs;
};

/* Find and start the first NIC of the wanted kind (CONFIG_NIC_AUTO: any
 * supported one) on the host PCI bus; NULL (with a console line saying
 * why) if there is none or it fails to come up. */
struct netdev *netdev_probe(enum config_nic want);

#endif
