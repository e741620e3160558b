/*
 * Network set-up from the config: the learning switch, one port per VM
 * virtio-net device (kernel/vnet.c) and the uplink NIC as the switch's
 * trunk port.
 */
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/net.h>
#include <nethv/netdev.h>
#include <nethv/switch.h>
#include <arch/cpu.h>
#include <arch/time.h>
#include <arch/x86.h>

static struct sw_port uplink_port;
static struct netdev *uplink;
static uint64_t tsc_per_ms;

uint64_t net_now_ms(void)
{
    return tsc_per_ms ? rdtsc() / tsc_per_ms : 0;
}

/* Switch -> wire: the uplink port's xmit (any CPU). */
static unsigned uplink_xmit(struct sw_port *p, struct pkt *const *pkts, unsigned n)
{
    struct netdev *nd = p->priv;
    if (!nd->link_up) {
        sw_port_drop(p, SW_DROP_DOWN, n);
        return 0;
    }
    unsigned sent = nd->xmit(nd, pkts, n);
    if (sent < n)
        sw_port_drop(p, SW_DROP_NO_BUF, n - sent);     /* TX ring full */
    return sent;
}

/* Wire -> switch: the driver's receive batches (its interrupt or poll). */
static void uplink_rx(struct netdev *nd, struct pkt *const *pkts, unsigned n)
{
    switch_input(nd->owner, pkts, n, net_now_ms());
}

static void uplink_attach(const struct config_port *cp)
{
    struct netdev *nd = netdev_probe(cp->nic);
    if (!nd) {
        printk("net: port %s: no usable %s NIC; the uplink stays down\n", cp->name,
               config_nic_name(cp->nic));
        return;
    }
    struct sw_port *p = &uplink_port;
    strncpy(p->name, cp->name, sizeof(p->name) - 1);
    p->uplink = true;
    p->xmit = uplink_xmit;
    p->priv = nd;
    if (switch_add_port(p) < 0) {
        printk("net: port %s: the switch refused the uplink port\n", cp->name);
        return;
    }
    nd->owner = p;
    nd->rx = uplink_rx;
    /* the VMs' MACs are not the NIC's: take every unicast and multicast */
    if (nd->set_rx_mode)
        nd->set_rx_mode(nd, true, true);
    __atomic_store_n(&uplink, nd, __ATOMIC_RELEASE);
    printk("net: port %s: %s %s is the switch's uplink (%s)\n", cp->name, nd->driver, nd->pci,
           nd->irq ? "interrupt-driven" : "polled from CPU 0's tick");
}

void net_init(const struct nethv_config *cfg)
{
    tsc_per_ms = tsc_hz / 1000;
    switch_init();
    /* RDRAND where the CPU has it (CPUID.1:ECX[30]), and the TSC in any case */
    uint64_t seed = rdtsc() * 0x9e3779b97f4a7c15ull;
    if (cpuid(1, 0).ecx & (1u << 30)) {
        uint64_t r = 0;
        unsigned char ok = 0;
        for (int i = 0; i < 10 && !ok; i++)
            __asm__ volatile("rdrand %0; setc %1" : "=r"(r), "=qm"(ok));
        seed ^= r;
    }
    switch_set_hash_seed(seed);
    vnet_init(cfg);
    for (unsigned i = 0; i < cfg->nports; i++)
        if (cfg->port[i].type == CONFIG_PORT_UPLINK)
            uplink_attach(&cfg->port[i]);
}

void net_tick(void)
{
    struct netdev *nd = __atomic_load_n(&uplink, __ATOMIC_ACQUIRE);
    if (nd && !nd->irq && this_cpu()->cpu == 0)
        nd->poll(nd);
    /* aged-out learned MACs: the whole table every 32 ticks of CPU 0 */
    if (this_cpu()->cpu == 0)
        switch_sweep(net_now_ms(), SW_BUCKETS_PER_TICK);
}

void net_print_stats(void)
{
    switch_print(printk, net_now_ms());
    struct netdev *nd = __atomic_load_n(&uplink, __ATOMIC_ACQUIRE);
    if (nd)
        printk("uplink %s %s: rx %llu tx %llu frames, rx dropped %llu, tx dropped %llu, "
               "irqs %llu, link %s\n", nd->driver, nd->pci, (unsigned long long)nd->rx_frames,
               (unsigned long long)nd->tx_frames, (unsigned long long)nd->rx_dropped,
               (unsigned long long)nd->tx_dropped, (unsigned long long)nd->irqs,
               nd->link_up ? "up" : "down");
}
