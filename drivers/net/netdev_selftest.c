/*
 * The uplink NIC's self-test (kernel command line `net.arping=A.B.C.D`, the
 * test image nethv-test.elf): the driver on its own asks for that
 * address's MAC with ARP, as the QEMU user-network guest 10.0.2.15 would,
 * then sends a burst that wraps its rings twice.  BSP, boot.
 */
#include <string.h>
#include <nethv/kernel.h>
#include <arch/time.h>
#include <arch/x86.h>
#include "nic.h"

#define ARPING_SRC_IP           0x0a00020fu     /* 10.0.2.15 */
#define ARPING_WAIT_MS          3000
#define ARPING_RESEND_MS        1000
#define BURST_FRAMES            600     /* wraps the 256-entry rings twice */
#define BURST_BATCH             16
#define BURST_WAIT_MS           1000    /* per batch */

/* ---- self-test: ARP request / reply (RFC 826) ---------------------------------- */

#define ARP_HW_ETHER    1
#define ARP_OP_REQUEST  1
#define ARP_OP_REPLY    2
#define ARP_FRAME_LEN   (ETH_HLEN + 28)

static struct {
    uint32_t ip;
    volatile bool answered;
    volatile unsigned replies;
    uint8_t mac[ETH_ALEN];
} arping_state;

static bool parse_ip(const char *s, uint32_t *ip)
{
    uint32_t v = 0;
    for (unsigned part = 0; part < 4; part++) {
        unsigned n = 0, digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 4) {
            n = n * 10 + (unsigned)(*s++ - '0');
            digits++;
        }
        if (!digits || n > 255 || *s != (part < 3 ? '.' : 0))
            return false;
        s++;
        v = v << 8 | n;
    }
    *ip = v;
    return true;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

static void arping_rx(struct netdev *nd, struct pkt *const *pkts, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *f = pkts[i]->data;
        if (pkts[i]->len < ARP_FRAME_LEN || get16(f + 12) != ETH_P_ARP)
            continue;
        const uint8_t *a = f + ETH_HLEN;
        if (get16(a) != ARP_HW_ETHER || get16(a + 2) != ETH_P_IP || a[4] != ETH_ALEN ||
            a[5] != 4 || get16(a + 6) != ARP_OP_REPLY || get32(a + 14) != arping_state.ip ||
            get32(a + 24) != ARPING_SRC_IP)
            continue;
        memcpy(arping_state.mac, a + 8, ETH_ALEN);
        arping_state.answered = true;
        arping_state.replies++;
    }
}

static void arping_frame(struct netdev *nd, uint8_t f[60])
{
    memset(f, 0, 60);                           /* minimum frame, zero padded */
    memset(f, 0xff, ETH_ALEN);
    memcpy(f + 6, nd->mac, ETH_ALEN);
    put16(f + 12, ETH_P_ARP);
    uint8_t *a = f + ETH_HLEN;
    put16(a, ARP_HW_ETHER);
    put16(a + 2, ETH_P_IP);
    a[4] = ETH_ALEN;
    a[5] = 4;
    put16(a + 6, ARP_OP_REQUEST);
    memcpy(a + 8, nd->mac, ETH_ALEN);
    put32(a + 14, ARPING_SRC_IP);
    put32(a + 24, arping_state.ip);             /* target MAC stays zero */
}

/* n (<= BURST_BATCH) requests in one xmit call; returns how many went out */
static unsigned arping_send_n(struct netdev *nd, unsigned n)
{
    static uint8_t f[60];                       /* borrowed by xmit only for the call */
    struct pkt p[BURST_BATCH], *pp[BURST_BATCH];
    arping_frame(nd, f);
    for (unsigned i = 0; i < n; i++) {
        p[i] = (struct pkt){ .data = f, .len = sizeof(f) };
        pp[i] = &p[i];
    }
    return nd->xmit(nd, pp, n);
}

static void arping_send(struct netdev *nd)
{
    if (arping_send_n(nd, 1) != 1)
        printk("net: arping: TX ring full\n");
}

/* Wait until done() or ms elapse: halted with interrupts on when the NIC
 * interrupts (the 100 Hz tick bounds each halt), else polling it. */
static bool answered(struct netdev *nd)
{
    return arping_state.answered;
}

static unsigned burst_want;

static bool burst_done(struct netdev *nd)
{
    return arping_state.replies >= burst_want;
}

/* After the first reply: BURST_FRAMES requests in batches through both
 * rings' wrap-around; every one should be answered. */
static void arping_burst(struct netdev *nd, const char *target)
{
    uint64_t t0 = rdtsc();
    unsigned sent = 0;
    arping_state.replies = 0;
    while (sent < BURST_FRAMES) {
        unsigned n = BURST_FRAMES - sent < BURST_BATCH ? BURST_FRAMES - sent : BURST_BATCH;
        unsigned k = arping_send_n(nd, n);
        sent += k;
        burst_want = sent;
        netdev_wait_for(nd, burst_done, rdtsc(), BURST_WAIT_MS);
        if (!k || arping_state.replies < sent)
            break;
    }
    printk("net: arping %s: burst of %u requests: %u replies (%llu ms)\n", target, sent,
           arping_state.replies, (unsigned long long)netdev_ms_since(t0));
}

void netdev_selftest(struct netdev *nd, const char *target)
{
    if (!parse_ip(target, &arping_state.ip)) {
        printk("net: arping %s: not an IPv4 address\n", target);
        return;
    }
    arping_state.answered = false;
    /* the driver's receive filter in use: the replies are unicast to us */
    if (nd->set_rx_mode)
        nd->set_rx_mode(nd, false, false);
    netdev_rx_fn *saved = nd->rx;
    nd->rx = arping_rx;
    uint64_t t0 = rdtsc(), sent = t0;
    arping_send(nd);
    while (!arping_state.answered && netdev_ms_since(t0) < ARPING_WAIT_MS) {
        netdev_wait_for(nd, answered, sent, ARPING_RESEND_MS);
        if (!arping_state.answered && netdev_ms_since(t0) < ARPING_WAIT_MS) {
            sent = rdtsc();
            arping_send(nd);
        }
    }
    if (arping_state.answered) {
        printk("net: arping %s: is-at " MAC_FMT " (%llu ms)\n", target,
               MAC_ARGS(arping_state.mac), (unsigned long long)netdev_ms_since(t0));
        arping_burst(nd, target);
    } else {
        printk("net: arping %s: no reply\n", target);
    }
    nd->rx = saved;
    printk("net: uplink counters: rx %llu tx %llu rx-dropped %llu tx-dropped %llu irqs %llu\n",
           (unsigned long long)nd->rx_frames, (unsigned long long)nd->tx_frames,
           (unsigned long long)nd->rx_dropped, (unsigned long long)nd->tx_dropped,
           (unsigned long long)nd->irqs);
}

