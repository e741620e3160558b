/*
 * libFuzzer target for virtio-net control-queue commands (vmm/vnet_ctrl.c).
 *
 * Build: `make fuzz-build` (build/fuzz/fuzz_vnet_ctrl)
 * Run:   build/fuzz/fuzz_vnet_ctrl -max_total_time=60 [corpus dir]
 *
 * The input is a hostile driver: 8 bytes of negotiated features, then a
 * sequence of commands (a length byte pair, then the command bytes, copied
 * into an exactly sized heap buffer so ASan sees any read past it), each
 * parsed against the receive mode the previous accepted ones left.
 * Checked: a KERNEL result is one of the kinds, with an RX mode's flags 0/1
 * and its list inside the command's bytes; offloads only negotiated GUEST_*
 * bits; a refused command leaves the mode alone; nothing is accepted
 * without CTRL_VQ or the command's own feature.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../vmm/vnet_ctrl.c"
#include "fuzz_input.h"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct in in = { data, size };
    uint64_t features = (uint64_t)get32(&in) | (uint64_t)get32(&in) << 32;
    struct vmm_net_ctrl rx = { .kind = VMM_NET_CTRL_RX_MODE }, out;
    for (unsigned n = 0; n < 64 && in.n; n++) {
        size_t len = get16(&in) % (VNET_CTRL_CMD_MAX + 1);
        bool truncated = len == VNET_CTRL_CMD_MAX && (get8(&in) & 1);
        uint8_t *b = malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++)
            b[i] = (uint8_t)get8(&in);
        struct vmm_net_ctrl before = rx;
        enum vnet_ctrl_result r = vnet_ctrl_parse(b, len, truncated, features, &rx, &out);
        CHECK(r == VNET_CTRL_REFUSE || r == VNET_CTRL_KERNEL || r == VNET_CTRL_ANNOUNCE_ACK);
        CHECK(!memcmp(&before, &rx, sizeof(rx)));                 /* parse never writes the mode */
        if (r != VNET_CTRL_REFUSE) {
            CHECK(len >= 2 && (features & VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ)));
        }
        if (r == VNET_CTRL_ANNOUNCE_ACK)
            CHECK((features & VIRTIO_BIT(VIRTIO_NET_F_GUEST_ANNOUNCE)) && len == 2);
        if (r == VNET_CTRL_KERNEL) {
            switch (out.kind) {
            case VMM_NET_CTRL_RX_MODE:
                CHECK(features & VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX));
                CHECK(out.promisc <= 1 && out.allmulti <= 1);
                /* MAC_TABLE_SET: a list that fits came from the command's
                 * bytes; RX: the list is the previous mode's */
                if (truncated)
                    CHECK(b[0] == VIRTIO_NET_CTRL_MAC && out.nmc > VMM_NET_MC_MAX);
                else if (b[0] == VIRTIO_NET_CTRL_MAC)
                    CHECK(out.nmc > VMM_NET_MC_MAX || 6 * (size_t)out.nmc <= len);
                else
                    CHECK(out.nmc == rx.nmc && !memcmp(out.mc, rx.mc, sizeof(rx.mc)));
                for (uint32_t i = 0; out.nmc <= VMM_NET_MC_MAX && i < out.nmc; i++)
                    CHECK(out.mc[i][0] & 1);        /* a list in force: groups only */
                rx = out;
                break;
            case VMM_NET_CTRL_MAC:
                CHECK((features & VIRTIO_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR)) && len == 8);
                CHECK(!memcmp(out.mac, b + 2, 6));
                break;
            case VMM_NET_CTRL_OFFLOADS:
                CHECK(features & VIRTIO_BIT(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS));
                CHECK(!(out.offloads & ~features));
                CHECK(!(out.offloads & ~(VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
                                         VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN))));
                break;
            default:
                CHECK(0);
            }
        }
        free(b);
    }
    return 0;
}
