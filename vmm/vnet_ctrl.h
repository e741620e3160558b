/*
 * virtio-net control-queue commands (virtio 1.1, 5.1.6.5), parsed: pure
 * code, host-tested and fuzzed (tests/host/test_vnet_ctrl.c, fuzz_vnet_ctrl.c).
 * The queue itself is walked by vmm/virtio_net.c.
 */
#ifndef VMM_VNET_CTRL_H
#define VMM_VNET_CTRL_H

#include <stdint.h>
#include <stddef.h>
#include <nethv/vmm_if.h>

#define VNET_CTRL_CMD_MAX   1024        /* command bytes read from a chain: class, command and a
                                           MAC table of 64 + 64 entries fit (2 + 8 + 768) */

enum vnet_ctrl_result {
    VNET_CTRL_REFUSE = -1,              /* malformed, unknown or not negotiated: VIRTIO_NET_ERR */
    VNET_CTRL_KERNEL = 1,               /* *out is for the kernel (vm_net_ctrl); its answer is the ack */
    VNET_CTRL_ANNOUNCE_ACK = 2,         /* the driver announced itself: clear S_ANNOUNCE, OK */
};

/* One command of len bytes (class, command, data) under the negotiated
 * features; `rx` is the receive mode now in force (kind RX_MODE), which an
 * RX or MAC_TABLE_SET command changes one part of: *out is then the whole
 * new mode, to be kept once the kernel accepts it.  `truncated`: the
 * command was longer than VNET_CTRL_CMD_MAX and b holds its first len
 * bytes: refused, but for a MAC_TABLE_SET, taken as "every group" (Linux
 * sends every address it has, however many: ERR would leave the old list
 * filtering the groups it joins later). */
enum vnet_ctrl_result vnet_ctrl_parse(const uint8_t *b, size_t len, bool truncated, uint64_t features,
                                      const struct vmm_net_ctrl *rx, struct vmm_net_ctrl *out);

#endif
