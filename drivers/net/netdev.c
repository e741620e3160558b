/*
 * netdev_probe: find the uplink NIC on the host PCI bus and start its
 * driver; with `net.arping=A.B.C.D` on the command line the test image's
 * self-test (netdev_selftest.c) then tries it on its own.  BSP, boot,
 * interrupts off (enabled only while waiting for an interrupt).
 */
#include <nethv/kernel.h>
#include <nethv/virtio.h>
#include <arch/time.h>
#include <arch/x86.h>
#include "nic.h"
#include "e1000_regs.h"

#define VIRTIO_DEV_NET_TRANS    0x1000  /* transitional (virtio 1.1 4.1.2.1) */

#define LINK_WAIT_MS            2000

struct probe {
    enum config_nic want;
    struct pci_dev found;
    enum config_nic kind;
};

static enum config_nic kind_of(const struct pci_dev *d)
{
    if (d->vendor == E1000_VENDOR_INTEL && d->device == E1000_DEV_82540EM)
        return CONFIG_NIC_E1000;
    if (d->vendor == E1000_VENDOR_INTEL && d->device == E1000_DEV_82574L)
        return CONFIG_NIC_E1000E;
    if (d->vendor == VIRTIO_PCI_VENDOR &&
        (d->device == VIRTIO_PCI_DEVICE_MODERN(VIRTIO_ID_NET) || d->device == VIRTIO_DEV_NET_TRANS))
        return CONFIG_NIC_VIRTIO_NET;
    return CONFIG_NIC_AUTO;                     /* not ours */
}

static bool match(const struct pci_dev *d, void *arg)
{
    struct probe *p = arg;
    enum config_nic k = kind_of(d);
    if (k == CONFIG_NIC_AUTO || (p->want != CONFIG_NIC_AUTO && p->want != k))
        return false;
    p->found = *d;
    p->kind = k;
    return true;
}

uint64_t netdev_ms_since(uint64_t t0)
{
    return (rdtsc() - t0) * 1000 / (tsc_hz ? tsc_hz : 1);
}

/* ---- waiting for the NIC ---------------------------------------------------------- */

void netdev_wait_for(struct netdev *nd, bool (*done)(struct netdev *), uint64_t t0, uint64_t ms)
{
    while (!done(nd) && netdev_ms_since(t0) < ms) {
        if (nd->irq) {
            irq_enable_and_halt();
            irq_disable();
        } else {
            nd->poll(nd);
            udelay(100);
        }
    }
}

static bool link_is_up(struct netdev *nd)
{
    if (!nd->irq)
        nd->poll(nd);
    return nd->link_up;
}

/* ---- probe ----------------------------------------------------------------------- */

struct netdev *netdev_probe(enum config_nic want)
{
    struct probe p = { .want = want };
    if (!pci_scan(match, &p)) {
        printk("net: no %s NIC on the host PCI bus\n",
               want == CONFIG_NIC_AUTO ? "supported" : config_nic_name(want));
        return NULL;
    }
    struct netdev *nd = p.kind == CONFIG_NIC_VIRTIO_NET ? virtio_net_start(&p.found)
                                                        : e1000_start(&p.found);
    if (!nd)
        return NULL;

    char arg[32];
    bool test = cmdline_get("net.arping", arg, sizeof(arg)) != NULL;
    if (test)
        netdev_wait_for(nd, link_is_up, rdtsc(), LINK_WAIT_MS);
    else if (!nd->irq)
        nd->poll(nd);
    printk("net: uplink %s %s mac " MAC_FMT " link %s irq %s\n", nd->driver, nd->pci,
           MAC_ARGS(nd->mac), nd->link_up ? "up" : "down", netdev_irq_mode(nd));
    if (test && netdev_selftest)
        netdev_selftest(nd, arg);
    else if (test)
        printk("net: net.arping: not in this image (nethv-test.elf has the self-tests)\n");
    return nd;
}
