/*
 * Network set-up from the config: the uplink NIC.  (Switch and VM ports:
 * work in progress, see nethv/net.h.)
 */
#include <nethv/kernel.h>
#include <nethv/net.h>
#include <nethv/netdev.h>
#include <nethv/vm.h>

struct netdev *netdev_probe(enum config_nic want) __attribute__((weak));

void net_init(const struct nethv_config *cfg)
{
    for (unsigned i = 0; i < cfg->nports; i++) {
        const struct config_port *p = &cfg->port[i];
        if (p->type != CONFIG_PORT_UPLINK)
            continue;
        if (!netdev_probe) {
            printk("net: port %s: no NIC drivers built in\n", p->name);
            continue;
        }
        struct netdev *nd = netdev_probe(p->nic);
        if (!nd)
            printk("net: port %s: no usable %s NIC; the uplink stays down\n", p->name,
                   config_nic_name(p->nic));
    }
}

/* Placeholder until kernel/vnet.c lands: no VM has a notify area. */
bool vnet_notify_exit(struct vcpu *v, const struct vcpu_exit *e) __attribute__((weak));
bool vnet_notify_exit(struct vcpu *v, const struct vcpu_exit *e)
{
    return false;
}
