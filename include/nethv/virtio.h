/*
 * virtio 1.x facts (OASIS "Virtual I/O Device (VIRTIO) Version 1.1"):
 * feature bits, split-ring layout, the virtio-net header, the PCI
 * transport's capabilities and common configuration layout.
 * All multi-byte fields are little endian (VERSION_1).
 */
#ifndef NETHV_VIRTIO_H
#define NETHV_VIRTIO_H

#include <stdint.h>

/* device status (2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE       0x01
#define VIRTIO_STATUS_DRIVER            0x02
#define VIRTIO_STATUS_DRIVER_OK         0x04
#define VIRTIO_STATUS_FEATURES_OK       0x08
#define VIRTIO_STATUS_NEEDS_RESET       0x40
#define VIRTIO_STATUS_FAILED            0x80

/* reserved feature bits (6) */
#define VIRTIO_F_INDIRECT_DESC          28
#define VIRTIO_F_EVENT_IDX              29
#define VIRTIO_F_VERSION_1              32

/* virtio-net feature bits (5.1.3) */
#define VIRTIO_NET_F_CSUM               0   /* device takes partial checksums (TX) */
#define VIRTIO_NET_F_GUEST_CSUM         1   /* driver takes partial checksums (RX) */
#define VIRTIO_NET_F_MTU                3   /* the device's maximum MTU in config `mtu` */
#define VIRTIO_NET_F_GUEST_TSO4         7   /* driver takes TSO frames (RX), needs GUEST_CSUM */
#define VIRTIO_NET_F_GUEST_TSO6         8
#define VIRTIO_NET_F_GUEST_ECN          9   /* ... with ECN's CWR, needs GUEST_TSO4 or 6 */
#define VIRTIO_NET_F_HOST_TSO4          11  /* device takes TSO frames (TX), needs CSUM */
#define VIRTIO_NET_F_HOST_TSO6          12
#define VIRTIO_NET_F_HOST_ECN           13  /* ... with ECN's CWR, needs HOST_TSO4 or 6 */
#define VIRTIO_NET_F_MAC                5
#define VIRTIO_NET_F_MRG_RXBUF          15
#define VIRTIO_NET_F_STATUS             16
#define VIRTIO_NET_F_CTRL_VQ            17
#define VIRTIO_NET_F_CTRL_RX            18  /* receive filtering commands */
#define VIRTIO_NET_F_CTRL_GUEST_OFFLOADS 2  /* the driver turns GUEST_* offloads on/off */
#define VIRTIO_NET_F_GUEST_ANNOUNCE     21  /* the driver announces itself on request */
#define VIRTIO_NET_F_CTRL_MAC_ADDR      23  /* the driver sets the MAC by command */

#define VIRTIO_BIT(b)                   (1ull << (b))
/* the RX offloads CTRL_GUEST_OFFLOADS turns on and off (5.1.6.5.6.1) */
#define VIRTIO_NET_GUEST_OFFLOADS (VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | \
                                   VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN))

/* virtio-net device id and PCI ids (4.1.2: modern device id 0x1040 + id) */
#define VIRTIO_ID_NET                   1
#define VIRTIO_PCI_VENDOR               0x1af4
#define VIRTIO_PCI_DEVICE_MODERN(id)    (0x1040 + (id))
#define VIRTIO_PCI_SUBSYS_VENDOR        0x1af4

/* virtio-net config space (5.1.4) */
#define VIRTIO_NET_CFG_MAC              0   /* u8[6] */
#define VIRTIO_NET_CFG_STATUS           6   /* le16 */
#define VIRTIO_NET_CFG_MAX_VQ_PAIRS     8   /* le16 */
#define VIRTIO_NET_CFG_MTU              10  /* le16, with VIRTIO_NET_F_MTU (5.1.4.1: 68..65535) */
#define VIRTIO_NET_S_LINK_UP            1
#define VIRTIO_NET_S_ANNOUNCE           2

/* control virtqueue (5.1.6.5): class, command, data (driver to device),
 * then one ack byte (device to driver) */
#define VIRTIO_NET_OK                   0
#define VIRTIO_NET_ERR                  1
#define VIRTIO_NET_CTRL_RX              0   /* with CTRL_RX */
#define VIRTIO_NET_CTRL_RX_PROMISC      0   /* u8 on */
#define VIRTIO_NET_CTRL_RX_ALLMULTI     1   /* u8 on */
#define VIRTIO_NET_CTRL_MAC             1
#define VIRTIO_NET_CTRL_MAC_TABLE_SET   0   /* (CTRL_RX) le32 n, n unicast MACs, le32 m, m multicast */
#define VIRTIO_NET_CTRL_MAC_ADDR_SET    1   /* (CTRL_MAC_ADDR) u8 mac[6] */
#define VIRTIO_NET_CTRL_ANNOUNCE        3
#define VIRTIO_NET_CTRL_ANNOUNCE_ACK    0   /* (GUEST_ANNOUNCE) no data */
#define VIRTIO_NET_CTRL_GUEST_OFFLOADS  5
#define VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET 0    /* (CTRL_GUEST_OFFLOADS) le64 offloads */

/* virtio-net header (5.1.6), 12 bytes with VERSION_1 (num_buffers always present) */
struct virtio_net_hdr {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
    uint16_t num_buffers;
} __attribute__((packed));
#define VIRTIO_NET_HDR_F_NEEDS_CSUM     1
#define VIRTIO_NET_HDR_F_DATA_VALID     2
#define VIRTIO_NET_HDR_GSO_NONE         0
#define VIRTIO_NET_HDR_GSO_TCPV4        1   /* = PKT_GSO_TCPV4 (nethv/pkt.h) */
#define VIRTIO_NET_HDR_GSO_TCPV6        4   /* = PKT_GSO_TCPV6 */
#define VIRTIO_NET_HDR_GSO_ECN          0x80
#define VIRTIO_NET_HDR_LEN              12

/* split virtqueue (2.6) */
#define VIRTQ_MAX_SIZE                  32768
#define VRING_DESC_F_NEXT               1
#define VRING_DESC_F_WRITE              2
#define VRING_DESC_F_INDIRECT           4
#define VRING_AVAIL_F_NO_INTERRUPT      1
#define VRING_USED_F_NO_NOTIFY          1
#define VRING_DESC_ALIGN                16
#define VRING_AVAIL_ALIGN               2
#define VRING_USED_ALIGN                4

struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};
struct vring_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[];            /* size entries, then used_event (EVENT_IDX) */
};
struct vring_used_elem {
    uint32_t id;
    uint32_t len;
};
struct vring_used {
    uint16_t flags;
    uint16_t idx;
    struct vring_used_elem ring[];  /* size entries, then avail_event (EVENT_IDX) */
};
/* ring area sizes for a queue of `n` entries (2.6) */
#define VRING_DESC_BYTES(n)             (16ull * (n))
#define VRING_AVAIL_BYTES(n)            (6ull + 2ull * (n))
#define VRING_USED_BYTES(n)             (6ull + 8ull * (n))

/* 2.6.7.2: does the driver want a notification/interrupt, given its
 * event index, the new index and the old one (wrap-safe) */
static inline int vring_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old)
{
    return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old);
}

/* ---- PCI transport (4.1) ---- */
#define VIRTIO_PCI_CAP_COMMON_CFG       1
#define VIRTIO_PCI_CAP_NOTIFY_CFG       2
#define VIRTIO_PCI_CAP_ISR_CFG          3
#define VIRTIO_PCI_CAP_DEVICE_CFG       4
#define VIRTIO_PCI_CAP_PCI_CFG          5
/* struct virtio_pci_cap (4.1.4), a vendor-specific capability */
#define VIRTIO_PCI_CAP_LEN              16  /* cap_vndr, cap_next, cap_len, cfg_type, bar, id, pad[2], offset, length */
#define VIRTIO_PCI_CAP_CAP_LEN          2   /* u8 cap_len */
#define VIRTIO_PCI_CAP_CFG_TYPE         3
#define VIRTIO_PCI_CAP_BAR              4
#define VIRTIO_PCI_CAP_OFFSET           8
#define VIRTIO_PCI_CAP_LENGTH           12
#define VIRTIO_PCI_NOTIFY_CAP_LEN       20  /* + notify_off_multiplier */
#define VIRTIO_PCI_NOTIFY_MULT          16
#define VIRTIO_PCI_CFG_CAP_LEN          20  /* + pci_cfg_data[4] */
#define VIRTIO_PCI_CFG_DATA             16

/* common configuration structure offsets (4.1.4.3) */
#define VIRTIO_PCI_COMMON_DFSELECT      0x00    /* le32 device_feature_select */
#define VIRTIO_PCI_COMMON_DF            0x04    /* le32 device_feature, RO */
#define VIRTIO_PCI_COMMON_GFSELECT      0x08    /* le32 driver_feature_select */
#define VIRTIO_PCI_COMMON_GF            0x0c    /* le32 driver_feature */
#define VIRTIO_PCI_COMMON_MSIX          0x10    /* le16 config_msix_vector */
#define VIRTIO_PCI_COMMON_NUMQ          0x12    /* le16 num_queues, RO */
#define VIRTIO_PCI_COMMON_STATUS        0x14    /* u8 device_status */
#define VIRTIO_PCI_COMMON_CFGGENERATION 0x15    /* u8 config_generation, RO */
#define VIRTIO_PCI_COMMON_Q_SELECT      0x16    /* le16 */
#define VIRTIO_PCI_COMMON_Q_SIZE        0x18    /* le16 */
#define VIRTIO_PCI_COMMON_Q_MSIX        0x1a    /* le16 */
#define VIRTIO_PCI_COMMON_Q_ENABLE      0x1c    /* le16 */
#define VIRTIO_PCI_COMMON_Q_NOFF        0x1e    /* le16 queue_notify_off, RO */
#define VIRTIO_PCI_COMMON_Q_DESCLO      0x20    /* le64 queue_desc */
#define VIRTIO_PCI_COMMON_Q_DESCHI      0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO     0x28    /* le64 queue_driver */
#define VIRTIO_PCI_COMMON_Q_AVAILHI     0x2c
#define VIRTIO_PCI_COMMON_Q_USEDLO      0x30    /* le64 queue_device */
#define VIRTIO_PCI_COMMON_Q_USEDHI      0x34
#define VIRTIO_PCI_COMMON_SIZE          0x38
#define VIRTIO_MSI_NO_VECTOR            0xffff

#endif
