/*
 * Intel 82540EM (e1000) and 82574L (e1000e): one driver, legacy RX/TX
 * descriptors on both (registers and formats: e1000_regs.h).
 *
 * Per model: the 82574L has MSI (one message, all causes); the 82540EM
 * is a PCI device with INTx only, which nethv does not route, so it is
 * polled by the owner.  EEPROM read register layout differs (EERD).
 *
 * Rings (SDM 3.2.6, 3.3.6): the hardware owns RX descriptors [RDH, RDT)
 * and TX descriptors [TDH, TDT).  RX: rx_next is the next descriptor the
 * driver looks at; after a batch is handed to the owner each descriptor
 * goes back by moving RDT onto it (one descriptor is always held back so
 * that RDT == RDH means empty).  TX: tx_tail is where the next frame goes,
 * tx_clean the oldest descriptor not yet seen done; full when tail + 1 ==
 * clean.  Every TX descriptor asks for status (RS).
 *
 * Locks: rx_lock around poll's RX part (interrupt on the BSP or the tick),
 * tx_lock around xmit and TX reclaim (any CPU); both irqsave.  The owner's
 * rx callback runs under rx_lock and may call xmit.
 */
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <nethv/spinlock.h>
#include <arch/time.h>
#include "nic.h"
#include "e1000_regs.h"

#define RX_RING     256
#define TX_RING     256
#define BUF_SIZE    PKT_BUF_SIZE        /* = RCTL_BSIZE_2048 */

struct e1000 {
    struct nic nic;
    struct pci_dev pd;
    volatile uint8_t *regs;
    bool is_82574;
    struct e1000_rx_desc *rxd;
    struct e1000_tx_desc *txd;
    uint8_t *rx_buf, *tx_buf;           /* RX_RING / TX_RING x BUF_SIZE */
    unsigned rx_next, tx_tail, tx_clean;
    uint32_t rctl;
    spinlock_t rx_lock, tx_lock;
};

static struct e1000 e1000_dev;          /* the one instance (the uplink) */

static uint32_t rd(struct e1000 *e, unsigned reg)
{
    return *(volatile uint32_t *)(e->regs + reg);
}

static void wr(struct e1000 *e, unsigned reg, uint32_t v)
{
    *(volatile uint32_t *)(e->regs + reg) = v;
}

static bool eeprom_word(struct e1000 *e, unsigned addr, uint16_t *out)
{
    uint32_t done = e->is_82574 ? EERD_DONE_82574 : EERD_DONE_8254X;
    unsigned shift = e->is_82574 ? EERD_ADDR_82574 : EERD_ADDR_8254X;
    wr(e, E1000_EERD, EERD_START | addr << shift);
    for (unsigned i = 0; i < 10000; i++) {
        uint32_t v = rd(e, E1000_EERD);
        if (v & done) {
            *out = (uint16_t)(v >> EERD_DATA_SHIFT);
            return true;
        }
        udelay(1);
    }
    return false;
}

/* MAC from RAL0/RAH0 (loaded from the EEPROM at reset), else the EEPROM
 * words 0-2 (SDM 5.6.1, little-endian byte pairs). */
static bool read_mac(struct e1000 *e, uint8_t mac[ETH_ALEN])
{
    uint32_t lo = rd(e, E1000_RAL0), hi = rd(e, E1000_RAH0);
    if ((hi & RAH_AV) && (lo || (hi & 0xffff))) {
        for (unsigned i = 0; i < 4; i++)
            mac[i] = (uint8_t)(lo >> (8 * i));
        mac[4] = (uint8_t)hi;
        mac[5] = (uint8_t)(hi >> 8);
        return true;
    }
    for (unsigned w = 0; w < 3; w++) {
        uint16_t v;
        if (!eeprom_word(e, w, &v))
            return false;
        mac[2 * w] = (uint8_t)v;
        mac[2 * w + 1] = (uint8_t)(v >> 8);
    }
    wr(e, E1000_RAL0, (uint32_t)mac[0] | mac[1] << 8 | mac[2] << 16 | (uint32_t)mac[3] << 24);
    wr(e, E1000_RAH0, (uint32_t)mac[4] | mac[5] << 8 | RAH_AV);
    return true;
}

/* ---- TX ------------------------------------------------------------------- */

static void tx_reclaim(struct e1000 *e)
{
    while (e->tx_clean != e->tx_tail) {
        volatile struct e1000_tx_desc *d = &e->txd[e->tx_clean];
        if (!(d->status & TXD_STAT_DD))
            break;
        e->tx_clean = (e->tx_clean + 1) % TX_RING;
    }
}

static unsigned e1000_xmit(struct netdev *nd, struct pkt *const *pkts, unsigned n)
{
    struct e1000 *e = (struct e1000 *)nd;
    unsigned sent = 0;
    uint64_t f = spin_lock_irqsave(&e->tx_lock);
    tx_reclaim(e);
    for (; sent < n; sent++) {
        const struct pkt *p = pkts[sent];
        unsigned next = (e->tx_tail + 1) % TX_RING;
        if (next == e->tx_clean)
            break;                                  /* ring full */
        if (!nic_tx_ok(p)) {
            nd->tx_dropped++;
            continue;
        }
        uint8_t *buf = e->tx_buf + (size_t)e->tx_tail * BUF_SIZE;
        memcpy(buf, p->data, p->len);
        struct e1000_tx_desc *d = &e->txd[e->tx_tail];
        d->addr = virt_to_phys(buf);
        d->length = (uint16_t)p->len;
        d->cso = 0;
        d->css = 0;
        d->special = 0;
        d->status = 0;
        d->cmd = TXD_CMD_EOP | TXD_CMD_IFCS | TXD_CMD_RS;
        e->tx_tail = next;
        nd->tx_frames++;
    }
    /* descriptors (WB memory) are visible before the tail write reaches the
     * device: x86 keeps stores in order; the fence keeps the compiler too */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    wr(e, E1000_TDT, e->tx_tail);
    spin_unlock_irqrestore(&e->tx_lock, f);
    return sent;
}

/* ---- RX and poll ------------------------------------------------------------ */

static void rx_poll(struct e1000 *e)
{
    struct netdev *nd = &e->nic.nd;
    struct pkt pkt[PKT_BATCH], *batch[PKT_BATCH];
    for (;;) {
        unsigned n = 0, idx = e->rx_next, last = RX_RING;
        while (n < PKT_BATCH) {
            volatile struct e1000_rx_desc *d = &e->rxd[idx];
            uint8_t status = d->status;
            if (!(status & RXD_STAT_DD))
                break;
            /* read the rest of the descriptor only after DD */
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            unsigned len = d->length;
            /* 2048-byte buffers hold any frame up to PKT_FRAME_MAX: a frame
             * without EOP (longer) or with errors is dropped */
            if (!(status & RXD_STAT_EOP) || (d->errors & RXD_ERR_MASK) ||
                len < ETH_HLEN || len > PKT_FRAME_MAX) {
                nd->rx_dropped++;
            } else {
                pkt[n] = (struct pkt){ .data = e->rx_buf + (size_t)idx * BUF_SIZE, .len = len };
                batch[n] = &pkt[n];
                n++;
            }
            last = idx;
            idx = (idx + 1) % RX_RING;
        }
        if (last == RX_RING)
            return;
        netdev_deliver(nd, batch, n);
        /* the owner has copied what it keeps: hand the descriptors back */
        for (unsigned i = e->rx_next; ; i = (i + 1) % RX_RING) {
            e->rxd[i].status = 0;
            if (i == last)
                break;
        }
        e->rx_next = idx;
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        wr(e, E1000_RDT, last);
    }
}

static void e1000_poll(struct netdev *nd)
{
    struct e1000 *e = (struct e1000 *)nd;
    uint32_t icr = rd(e, E1000_ICR);            /* clears the causes */
    if ((icr & INT_LSC) || !nd->irq)
        nd->link_up = rd(e, E1000_STATUS) & STATUS_LU;
    uint64_t f = spin_lock_irqsave(&e->rx_lock);
    rx_poll(e);
    spin_unlock_irqrestore(&e->rx_lock, f);
    f = spin_lock_irqsave(&e->tx_lock);
    tx_reclaim(e);
    spin_unlock_irqrestore(&e->tx_lock, f);
}

static void e1000_set_rx_mode(struct netdev *nd, bool promisc, bool allmulti)
{
    struct e1000 *e = (struct e1000 *)nd;
    uint64_t f = spin_lock_irqsave(&e->rx_lock);
    e->rctl &= ~(RCTL_UPE | RCTL_MPE);
    if (promisc)
        e->rctl |= RCTL_UPE | RCTL_MPE;
    else if (allmulti)
        e->rctl |= RCTL_MPE;
    wr(e, E1000_RCTL, e->rctl);
    spin_unlock_irqrestore(&e->rx_lock, f);
}

static void e1000_irq(struct trap_frame *tf)
{
    e1000_dev.nic.nd.irqs++;
    e1000_poll(&e1000_dev.nic.nd);
}

/* ---- start -------------------------------------------------------------------- */

static bool alloc_rings(struct e1000 *e)
{
    uint64_t rxd = page_alloc(1, PAGE_SIZE, 0), txd = page_alloc(1, PAGE_SIZE, 0);
    uint64_t rxb = page_alloc(RX_RING * BUF_SIZE / PAGE_SIZE, PAGE_SIZE, 0);
    uint64_t txb = page_alloc(TX_RING * BUF_SIZE / PAGE_SIZE, PAGE_SIZE, 0);
    _Static_assert(RX_RING * sizeof(struct e1000_rx_desc) <= PAGE_SIZE, "RX ring in a page");
    _Static_assert(TX_RING * sizeof(struct e1000_tx_desc) <= PAGE_SIZE, "TX ring in a page");
    if (!rxd || !txd || !rxb || !txb)
        return false;
    e->rxd = phys_to_virt(rxd);
    e->txd = phys_to_virt(txd);
    e->rx_buf = phys_to_virt(rxb);
    e->tx_buf = phys_to_virt(txb);
    return true;
}

static struct netdev *fail(struct e1000 *e, const char *why)
{
    printk("net: %s: %s\n", e->pd.name, why);
    e->regs = NULL;
    return NULL;
}

struct netdev *e1000_start(const struct pci_dev *pd)
{
    struct e1000 *e = &e1000_dev;
    struct netdev *nd = &e->nic.nd;
    if (e->regs) {
        printk("net: %s: only one e1000 is supported\n", pd->name);
        return NULL;
    }
    e->pd = *pd;
    e->is_82574 = pd->device == E1000_DEV_82574L;
    pci_read_bars(&e->pd);
    e->regs = pci_map_bar(&e->pd, 0);
    if (!e->regs || e->pd.bar[0].size < 0x10000) {
        printk("net: %s: BAR 0 is not a usable memory BAR (%#llx, %llu bytes)\n", pd->name,
               (unsigned long long)e->pd.bar[0].base, (unsigned long long)e->pd.bar[0].size);
        e->regs = NULL;
        return NULL;
    }
    pci_enable(&e->pd);

    /* reset (SDM 14.3): mask everything, reset, wait for RST to clear */
    wr(e, E1000_IMC, 0xffffffffu);
    wr(e, E1000_RCTL, 0);
    wr(e, E1000_TCTL, 0);
    wr(e, E1000_CTRL, rd(e, E1000_CTRL) | CTRL_RST);
    udelay(1000);
    for (unsigned i = 0; i < 1000 && (rd(e, E1000_CTRL) & CTRL_RST); i++)
        udelay(100);
    if (rd(e, E1000_CTRL) & CTRL_RST)
        return fail(e, "reset did not complete");
    wr(e, E1000_IMC, 0xffffffffu);
    (void)rd(e, E1000_ICR);

    if (!read_mac(e, nd->mac))
        return fail(e, "no MAC address (EEPROM read timed out)");
    if (!alloc_rings(e))
        return fail(e, "out of memory for rings");

    /* link (SDM 14.5): auto-speed, set link up, no resets pending */
    wr(e, E1000_CTRL, (rd(e, E1000_CTRL) | CTRL_SLU | CTRL_ASDE) &
                      ~(CTRL_LRST | CTRL_PHY_RST));
    for (unsigned i = 0; i < E1000_MTA_N; i++)
        wr(e, E1000_MTA + 4 * i, 0);

    /* RX (SDM 14.4): every descriptor gets a buffer; all but one go to the NIC */
    for (unsigned i = 0; i < RX_RING; i++) {
        e->rxd[i].addr = virt_to_phys(e->rx_buf + (size_t)i * BUF_SIZE);
        e->rxd[i].status = 0;
    }
    uint64_t rxd = virt_to_phys(e->rxd), txd = virt_to_phys(e->txd);
    wr(e, E1000_RDBAL, (uint32_t)rxd);
    wr(e, E1000_RDBAH, (uint32_t)(rxd >> 32));
    wr(e, E1000_RDLEN, RX_RING * sizeof(struct e1000_rx_desc));
    wr(e, E1000_RDH, 0);
    wr(e, E1000_RDT, RX_RING - 1);
    wr(e, E1000_RDTR, 0);
    e->rx_next = 0;
    e->rctl = RCTL_EN | RCTL_BAM | RCTL_BSIZE_2048 | RCTL_SECRC | RCTL_RDMTS_HALF;
    wr(e, E1000_RCTL, e->rctl);

    /* TX (SDM 14.5) */
    wr(e, E1000_TDBAL, (uint32_t)txd);
    wr(e, E1000_TDBAH, (uint32_t)(txd >> 32));
    wr(e, E1000_TDLEN, TX_RING * sizeof(struct e1000_tx_desc));
    wr(e, E1000_TDH, 0);
    wr(e, E1000_TDT, 0);
    e->tx_tail = e->tx_clean = 0;
    wr(e, E1000_TIPG, TIPG_DEFAULT);
    wr(e, E1000_TCTL, TCTL_EN | TCTL_PSP | TCTL_CT(0x0f) | TCTL_COLD(0x40));

    nd->driver = e->is_82574 ? "e1000e" : "e1000";
    memcpy(nd->pci, pd->name, sizeof(nd->pci));
    nd->pci[sizeof(nd->pci) - 1] = 0;
    nd->xmit = e1000_xmit;
    nd->poll = e1000_poll;
    nd->set_rx_mode = e1000_set_rx_mode;
    nd->link_up = rd(e, E1000_STATUS) & STATUS_LU;

    /* interrupts: MSI where the function has it (82574L) */
    e->nic.irq_mode = "polled";
    unsigned vec = 0;
    if (pci_find_cap(&e->pd, PCI_CAP_MSI, 0) && (vec = pci_irq_alloc(e1000_irq)) &&
        pci_msi_enable(&e->pd, vec)) {
        nd->irq = true;
        e->nic.irq_mode = "msi";
        wr(e, E1000_ITR, 0);
        (void)rd(e, E1000_ICR);
        wr(e, E1000_IMS, INT_RXT0 | INT_RXO | INT_RXDMT0 | INT_LSC | INT_TXDW);
    }
    return nd;
}
