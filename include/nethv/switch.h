/*
 * The kernel's learning Ethernet switch (kernel/switch.c).  Host-testable:
 * no arch headers; time comes in as an argument.
 *
 * Ports are the uplink NIC(s) and each VM's virtio-net device, created from
 * the config (struct config_port).  A port's xmit() delivers a batch out of
 * the switch (into the guest's RX ring, or onto the wire) and reports how
 * many frames it could not take by cause through sw_port_drop().
 *
 * - Source policy: a VM port with a MAC (has_mac) is bound to it and to its
 *   allowed MACs (config `allowed-macs`): those are static table entries of
 *   the port, nothing is learned on it, and a frame from it with any other
 *   source is dropped (SW_DROP_SPOOF).  So no VM takes a MAC learned on
 *   another port (the gateway's on the uplink) or floods the table.
 * - Learning: on the other ports (the uplink; VM ports without a MAC in
 *   host tests) source MAC -> ingress port, with ageing (SW_AGE_MS), at
 *   most SW_LEARN_MAX entries per port: at its cap a port only replaces its
 *   own entries, so a source-MAC flood evicts nobody else's.  switch_sweep
 *   frees aged-out entries (bounded work per call).  A frame whose source is
 *   another port's static MAC (same VLAN) is dropped at ingress
 *   (SW_DROP_SPOOF); group source MACs are malformed.
 * - Flooding: broadcast, multicast and unknown unicast go to every other
 *   port of the same VLAN -- but for a VM port with a receive filter
 *   (switch_set_rx_filter: its guest negotiated CTRL_RX), which takes a
 *   multicast frame only in all-multicast or promiscuous mode or when the
 *   group is in its list (virtio 5.1.6.5.1, as a NIC's multicast filter);
 *   the others are counted (mc_filtered).  Broadcast always passes.
 * - Promiscuous VM ports (switch_set_rx_filter, where the config allows
 *   it) also get a copy of their VLAN's unicast for other ports.
 * - MAC change (switch_set_mac): a VM port's static MAC moves, when the
 *   new one is nobody's (no static or live learned entry of another port).
 * - VLANs: a VM port has an access VLAN (0 = untagged); the uplink is a
 *   trunk: frames of VLAN n leave it tagged n, untagged ones untagged.
 *   Tagged frames from a VM port are dropped (malformed); a tag arriving on
 *   the trunk is removed towards VM ports (VID 0 = VLAN 0).  Pushing or
 *   popping a tag copies the frame; untagged forwarding never copies.
 * - No hairpin: a frame never leaves by its ingress port; a frame with no
 *   other port to go to is counted as SW_DROP_NO_DEST at ingress.
 * - Batches: frames are grouped by destination port, one xmit() call per
 *   port and batch, batch order kept within each call.  xmit() returning k
 *   means the first k frames were taken (tx counters count those).
 * - Checksums: PKT_CSUM_PARTIAL frames pass through to ports with
 *   `partial_csum_ok`; for the others (the wire, guests without
 *   GUEST_CSUM) the switch completes the checksum first.
 * - Runt (< ETH_HLEN) and oversize (over the ingress port's MTU, + 4 with
 *   a tag) frames are dropped and counted at the ingress port; a frame
 *   over a destination's MTU is dropped for it ("mtu").
 * - GSO (TSO) frames from VM ports (pkt_gso_check at ingress, malformed
 *   otherwise; their segments must fit the port's MTU) pass whole to ports
 *   whose gso_ok takes their type; for the others (the uplink, guests
 *   without GUEST_TSO) they are segmented in software, each segment a
 *   complete TCP/IP packet (pkt_gso_segment), tagged as the port needs.
 * - Concurrency: switch_input may run on several CPUs at once; the MAC
 *   table is updated with atomics, each port's xmit serializes itself,
 *   counters are relaxed atomics.
 */
#ifndef NETHV_SWITCH_H
#define NETHV_SWITCH_H

#include <stdint.h>
#include <stdbool.h>
#include <nethv/pkt.h>

#define SW_MAX_PORTS    32
#define SW_AGE_MS       300000u         /* 802.1D default ageing time, 300 s */
#define SW_LEARN_MAX    4096u           /* learned entries per port: half the table (2048 x 4) */
#define SW_ALLOWED_MACS 8               /* = CONFIG_MAX_ALLOWED_MACS */
#define SW_MC_MAX       64              /* multicast groups a receive filter lists */
#define SW_GSO_TCPV4    0x01            /* sw_port.gso_ok */
#define SW_GSO_TCPV6    0x02
#define SW_GSO_ECN      0x04
/* The SW_GSO_* bits a port must have to take a frame of PKT_GSO_* type t
 * whole (or a guest to send it); 0xff for a type no port takes. */
static inline uint8_t sw_gso_need(uint8_t t)
{
    uint8_t base = t & (uint8_t)~PKT_GSO_ECN;
    uint8_t need = base == PKT_GSO_TCPV4 ? SW_GSO_TCPV4 : base == PKT_GSO_TCPV6 ? SW_GSO_TCPV6 : 0xff;
    return t & PKT_GSO_ECN ? need | SW_GSO_ECN : need;
}

enum sw_drop {
    SW_DROP_NO_BUF,         /* destination had no RX buffer (guest ring empty / NIC ring full) */
    SW_DROP_MALFORMED,      /* runt, bad checksum offsets, bad descriptor chain */
    SW_DROP_OVERSIZE,       /* longer than the port takes */
    SW_DROP_DOWN,           /* destination not ready (driver not up, queue broken, link down) */
    SW_DROP_SPOOF,          /* source MAC is another port's static MAC (ingress) */
    SW_DROP_NO_DEST,        /* nowhere to go: learned on the ingress port itself
                             * (no hairpin) or no other port in the VLAN */
    SW_DROP_BUDGET,         /* the guest's RX buffers would cost more descriptor
                             * visits than a frame or batch may spend (virtq.h) */
    SW_DROP_MTU,            /* more payload than the destination port's MTU (egress) */
    SW_DROP__COUNT
};
/* Short name of a drop cause ("no_buf", ...) for statistics. */
const char *sw_drop_name(enum sw_drop c);

struct sw_port_stats {
    uint64_t rx_frames, rx_bytes;       /* into the switch from this port */
    uint64_t tx_frames, tx_bytes;       /* out of the switch through this port */
    uint64_t drops[SW_DROP__COUNT];
    uint64_t jumbo_in;                  /* frames in with more than ETH_DATA_MAX of payload (not GSO) */
    uint64_t gso_whole;                 /* GSO frames out of this port in one piece */
    uint64_t gso_split, gso_segs;       /* GSO frames segmented for it, and their segments */
    uint64_t mc_filtered;               /* multicast frames its receive filter refused */
    uint64_t promisc_in;                /* other ports' unicast it took in promiscuous mode */
};

struct sw_port;
/* Deliver `n` frames out of port p; returns how many were delivered (the
 * rest counted with sw_port_drop by the port). */
typedef unsigned sw_xmit_fn(struct sw_port *p, struct pkt *const *pkts, unsigned n);

struct sw_port {
    char name[16];
    uint16_t id;                /* set by switch_add_port */
    uint16_t vlan;              /* VM ports: access VLAN, 0 = none */
    uint16_t mtu;               /* payload bytes a frame may carry each way; 0: ETH_DATA_MAX
                                   (the uplink's: tag push/pop copies fit SW_SCRATCH_BUF) */
    bool uplink;                /* trunk port (the NIC) */
    bool partial_csum_ok;       /* takes PKT_CSUM_PARTIAL frames (guest negotiated GUEST_CSUM) */
    uint8_t gso_ok;             /* SW_GSO_*: GSO frames it takes whole (GUEST_TSO4/6, GUEST_ECN);
                                   others are segmented in software for it */
    bool has_mac;
    uint8_t mac[ETH_ALEN];      /* VM ports: static MAC table entry, the bound source */
    uint8_t nallowed;           /* VM ports: more sources it may use (static entries) */
    uint8_t allowed[SW_ALLOWED_MACS][ETH_ALEN];
    uint32_t learned;           /* entries learned on this port (atomic) */
    /* receive filter (switch_set_rx_filter): mc_n groups in mc[] (MAC keys,
     * atomics; mc_n is stored last) */
    uint32_t mc_n;
    uint64_t mc_bloom;          /* one bit per listed group (a hash's): clear = not listed */
    uint64_t mc[SW_MC_MAX];
    sw_xmit_fn *xmit;
    void *priv;
    struct sw_port_stats st;
};

void switch_init(void);
/* A per-boot random seed for the MAC table's hash (before any port). */
void switch_set_hash_seed(uint64_t seed);
/* Register a port (its fields set); its id, or -1 when full. */
int switch_add_port(struct sw_port *p);
/* Forward a batch received on port `in` (its rx counters are updated
 * here); `now_ms` is a monotonic time in milliseconds for ageing.  The
 * frames are borrowed (nethv/pkt.h). */
void switch_input(struct sw_port *in, struct pkt *const *pkts, unsigned n, uint64_t now_ms);
/* Count n frames dropped at port p for cause c (any CPU). */
void sw_port_drop(struct sw_port *p, enum sw_drop c, unsigned n);
/* A VM port's receive filter, from its guest's CTRL_RX and MAC_TABLE_SET
 * commands (vmm/virtio_net.c via kernel/vnet.c): !active is no filter
 * (every multicast, no promiscuous copies: the port as created). */
struct sw_rx_filter {
    bool active;                /* CTRL_RX negotiated */
    bool promisc;               /* other ports' unicast too (the caller checked the policy) */
    bool allmulti;              /* every multicast group */
    unsigned nmc;               /* > SW_MC_MAX: every multicast group (the list overflowed) */
    uint8_t mc[SW_MC_MAX][ETH_ALEN];
};
/* Any CPU, serialized per port by the caller.  Frames in flight meanwhile
 * may see either filter, or an empty list. */
void switch_set_rx_filter(struct sw_port *p, const struct sw_rx_filter *f);
/* Move VM port p's MAC (its static entry) to mac: 0, or -1 if mac is a
 * group or zero address, is another port's (static, or -- unless
 * `reclaim`, a port taking back its configured MAC -- learned and alive),
 * or (unless `reclaim`) not locally administered: a guest never takes a
 * vendor MAC that a host on the wire may use.  Serialized across CPUs.
 * The caller keeps p's own frames out of switch_input meanwhile (vnet: the
 * port's tx_lock). */
int switch_set_mac(struct sw_port *p, const uint8_t mac[ETH_ALEN], bool reclaim, uint64_t now_ms);
/* Free learned entries that have aged out, in the next `nbuckets` buckets
 * of the table (round robin); any CPU, bounded by nbuckets x 4 slots. */
void switch_sweep(uint64_t now_ms, unsigned nbuckets);
#define SW_BUCKETS_PER_TICK 64          /* kernel/net.c: per CPU 0 tick */
/* Print per-port counters and the MAC table through pr (printf-like). */
void switch_print(void (*pr)(const char *fmt, ...), uint64_t now_ms);

#endif
