/*
 * The kernel's network set-up (kernel/net.c): the switch, its uplink port
 * (a physical NIC, drivers/net/) and one port per VM virtio-net device
 * (kernel/vnet.c), all from the config's /net node.
 */
#ifndef NETHV_NET_H
#define NETHV_NET_H

#include <nethv/config.h>

/* BSP, after SMP bring-up and before vms_create. */
void net_init(const struct nethv_config *cfg);

#endif
