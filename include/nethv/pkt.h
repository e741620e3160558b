/*
 * Frames in flight through the kernel datapath (switch, virtio-net ports,
 * uplink NIC drivers).  Host-testable: no arch headers.
 *
 * Ownership rule: a batch handed to switch_input() or to a port's xmit()
 * is borrowed for the duration of the call.  The callee copies what it
 * keeps (a guest RX buffer, a NIC TX DMA buffer); the caller recycles the
 * buffers as soon as the call returns.  The only in-place change allowed is
 * completing a partial checksum (pkt_csum_complete), which is valid for
 * every later receiver of the same frame.
 */
#ifndef NETHV_PKT_H
#define NETHV_PKT_H

#include <stdint.h>
#include <stdbool.h>

#define ETH_ALEN        6
#define MAC_FMT         "%02x:%02x:%02x:%02x:%02x:%02x"     /* printf a MAC: */
#define MAC_ARGS(m)     (m)[0], (m)[1], (m)[2], (m)[3], (m)[4], (m)[5]
#define ETH_HLEN        14
#define ETH_VLAN_HLEN   4
#define ETH_DATA_MAX    1500
#define ETH_FRAME_MAX   (ETH_HLEN + ETH_DATA_MAX)           /* 1514, no FCS */
#define PKT_FRAME_MAX   (ETH_FRAME_MAX + ETH_VLAN_HLEN)     /* 1518: one 802.1Q tag */
#define PKT_BUF_SIZE    2048                                /* a frame buffer */
#define PKT_BATCH       32                                  /* frames per batch */

#define ETH_P_IP        0x0800
#define ETH_P_ARP       0x0806
#define ETH_P_8021Q     0x8100
#define ETH_P_IPV6      0x86dd

/* csum_flags */
#define PKT_CSUM_PARTIAL 0x01   /* virtio NEEDS_CSUM: the 16-bit ones'-complement
                                 * sum from csum_start to the end goes at
                                 * csum_start + csum_offset (seeded with the
                                 * pseudo-header sum already stored there) */
#define PKT_CSUM_VALID   0x02   /* virtio DATA_VALID: checksums known good */

/* gso_type: a TCP segmentation offload frame (virtio 5.1.6.2's values) */
#define PKT_GSO_NONE     0
#define PKT_GSO_TCPV4    1
#define PKT_GSO_TCPV6    4
#define PKT_GSO_ECN      0x80   /* the sender set ECN's CWR (virtio HOST_ECN) */
#define PKT_GSO_MAX_LEN  65550u /* a GSO frame: 64 KiB of IP packet and Ethernet's header */
#define PKT_GSO_MAX_SEGS 1400u  /* segments of one GSO frame: more is malformed
                                 * (64 KiB over Linux's smallest MSS, tcp_min_snd_mss 48) */

struct pkt {
    uint8_t *data;              /* Ethernet frame, no FCS */
    uint32_t len;
    uint16_t in_port;           /* switch port id it entered by */
    uint8_t csum_flags;
    uint16_t csum_start, csum_offset;
    uint8_t gso_type;           /* PKT_GSO_*: len may exceed any MTU, each segment */
    uint16_t gso_size;          /* carries gso_size bytes of TCP payload (the last fewer) */
    uint16_t hdr_len;           /* GSO: Ethernet + IP + TCP headers (set by pkt_gso_check) */
};

/* Complete a PKT_CSUM_PARTIAL frame in software and clear the flag;
 * false if csum_start/offset do not lie inside the frame (the caller drops
 * it as malformed).  kernel/pkt.c. */
bool pkt_csum_complete(struct pkt *p);

/* A GSO frame as a guest hands it over (gso_type, gso_size and the partial
 * checksum set from its virtio header): untagged Ethernet, IPv4 (no options
 * past the header length, not a fragment) or IPv6 (no extension header),
 * TCP, lengths consistent with the frame, the partial checksum on the TCP
 * header, gso_size > 0, at most PKT_GSO_MAX_SEGS segments.  Sets hdr_len;
 * false if anything is off (the caller drops it as malformed, nothing
 * else is read). */
bool pkt_gso_check(struct pkt *p);
/* Segments of a checked GSO frame. */
unsigned pkt_gso_segments(const struct pkt *p);
/* Segment i (< pkt_gso_segments) into buf (cap bytes) as *seg: the headers
 * with IP lengths, the IPv4 ID (+i) and header checksum, TCP sequence
 * number and flags (CWR on the first only, FIN and PSH on the last only)
 * made right, and the TCP checksum complete -- or left partial, seeded
 * with the pseudo-header sum, if `partial_ok`.  The segment's length, or 0
 * if it does not fit cap. */
uint32_t pkt_gso_segment(const struct pkt *p, unsigned i, uint8_t *buf, uint32_t cap,
                         bool partial_ok, struct pkt *seg);

#endif
