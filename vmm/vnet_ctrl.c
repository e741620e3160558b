/*
 * virtio-net control-queue commands (vnet_ctrl.h): every length checked
 * against the command's own, counts against the bytes present; a command
 * without its feature negotiated is refused (5.1.6.5: the device MUST
 * NOT act on it).  No loop runs longer than the command's bytes.
 */
#include <string.h>
#include <nethv/virtio.h>
#include "vnet_ctrl.h"

#define HAS(f) ((features & VIRTIO_BIT(VIRTIO_NET_F_##f)) != 0)

static uint32_t le32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* MAC_TABLE_SET (5.1.6.5.2): le32 entries, entries MACs, twice (unicast,
 * then multicast); exactly the bytes of both.  Unicast entries are taken
 * and not kept: the switch floods unknown unicast to the port anyway.  A
 * multicast list over VMM_NET_MC_MAX is "every group". */
static enum vnet_ctrl_result mac_table(const uint8_t *d, size_t len, struct vmm_net_ctrl *out)
{
    if (len < 4)
        return VNET_CTRL_REFUSE;
    uint32_t nuc = le32(d);
    if (nuc > (len - 4) / 6 || len - 4 - 6 * (size_t)nuc < 4)
        return VNET_CTRL_REFUSE;
    const uint8_t *m = d + 4 + 6 * (size_t)nuc;
    size_t left = len - 4 - 6 * (size_t)nuc - 4;
    uint32_t nmc = le32(m);
    if (nmc > left / 6 || left != 6 * (size_t)nmc)
        return VNET_CTRL_REFUSE;
    for (uint32_t i = 0; i < nuc; i++)
        if (d[4 + 6 * i] & 1)
            return VNET_CTRL_REFUSE;    /* a group address in the unicast table */
    for (uint32_t i = 0; i < nmc; i++)
        if (!(m[4 + 6 * i] & 1))
            return VNET_CTRL_REFUSE;    /* a unicast address in the multicast table */
    out->nmc = nmc;
    if (nmc <= VMM_NET_MC_MAX)
        memcpy(out->mc, m + 4, 6 * (size_t)nmc);
    return VNET_CTRL_KERNEL;
}

enum vnet_ctrl_result vnet_ctrl_parse(const uint8_t *b, size_t len, bool truncated, uint64_t features,
                                      const struct vmm_net_ctrl *rx, struct vmm_net_ctrl *out)
{
    if (len < 2 || !HAS(CTRL_VQ))
        return VNET_CTRL_REFUSE;
    if (truncated) {
        if (b[0] != VIRTIO_NET_CTRL_MAC || b[1] != VIRTIO_NET_CTRL_MAC_TABLE_SET || !HAS(CTRL_RX))
            return VNET_CTRL_REFUSE;
        *out = *rx;
        out->kind = VMM_NET_CTRL_RX_MODE;
        out->nmc = VMM_NET_MC_MAX + 1;
        return VNET_CTRL_KERNEL;
    }
    const uint8_t *d = b + 2;
    size_t dl = len - 2;
    memset(out, 0, sizeof(*out));
    switch (b[0] << 8 | b[1]) {
    case VIRTIO_NET_CTRL_RX << 8 | VIRTIO_NET_CTRL_RX_PROMISC:
    case VIRTIO_NET_CTRL_RX << 8 | VIRTIO_NET_CTRL_RX_ALLMULTI:
        if (!HAS(CTRL_RX) || dl != 1 || d[0] > 1)
            return VNET_CTRL_REFUSE;
        *out = *rx;
        out->kind = VMM_NET_CTRL_RX_MODE;
        if (b[1] == VIRTIO_NET_CTRL_RX_PROMISC)
            out->promisc = d[0];
        else
            out->allmulti = d[0];
        return VNET_CTRL_KERNEL;
    case VIRTIO_NET_CTRL_MAC << 8 | VIRTIO_NET_CTRL_MAC_TABLE_SET:
        if (!HAS(CTRL_RX))
            return VNET_CTRL_REFUSE;
        *out = *rx;
        out->kind = VMM_NET_CTRL_RX_MODE;
        return mac_table(d, dl, out);
    case VIRTIO_NET_CTRL_MAC << 8 | VIRTIO_NET_CTRL_MAC_ADDR_SET:
        if (!HAS(CTRL_MAC_ADDR) || dl != 6)
            return VNET_CTRL_REFUSE;
        out->kind = VMM_NET_CTRL_MAC;
        memcpy(out->mac, d, 6);
        return VNET_CTRL_KERNEL;
    case VIRTIO_NET_CTRL_ANNOUNCE << 8 | VIRTIO_NET_CTRL_ANNOUNCE_ACK:
        return HAS(GUEST_ANNOUNCE) && dl == 0 ? VNET_CTRL_ANNOUNCE_ACK : VNET_CTRL_REFUSE;
    case VIRTIO_NET_CTRL_GUEST_OFFLOADS << 8 | VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET:
        if (!HAS(CTRL_GUEST_OFFLOADS) || dl != 8)
            return VNET_CTRL_REFUSE;
        out->kind = VMM_NET_CTRL_OFFLOADS;
        out->offloads = le32(d) | (uint64_t)le32(d + 4) << 32;
        /* 5.1.6.5.6.2: only offloads that were negotiated */
        if (out->offloads & ~(features & VIRTIO_NET_GUEST_OFFLOADS))
            return VNET_CTRL_REFUSE;
        return VNET_CTRL_KERNEL;
    }
    return VNET_CTRL_REFUSE;            /* VLAN, MQ, RX_EXTRA ...: not offered */
}
