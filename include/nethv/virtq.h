/*
 * Device side of a virtio 1.x split virtqueue, as the kernel datapath uses
 * it for virtio-net (kernel/virtq.c).  Host-testable: guest memory is a
 * `struct gmem` (GPA ranges -> host pointers), no arch headers.
 *
 * Every guest-controlled value (ring indices, descriptors, the avail ring
 * entries) is read once into a local copy and checked before use:
 * descriptor chains are bounded by the queue size (no loops), every
 * buffer lies inside one RAM range of the VM (overflow-safe), write-only
 * vs read-only flags are honoured, INDIRECT is refused unless negotiated.
 * A violation puts the queue in the broken state (virtq.broken, with a
 * reason); a broken queue does nothing until it is set up again.  Runt or
 * oversize TX frames are completed with length 0 and reported as dropped,
 * without breaking the queue.
 *
 * Bounds on the work guest data drives (every loop here, stated):
 * - one chain: at most the queue size (or the indirect table's) descriptors;
 * - one RX frame: at most VIRTQ_RX_FRAME_VISITS descriptors over all the
 *   chains it takes (MRG_RXBUF), and a chain that adds no room (only
 *   zero-length buffers) breaks the queue: so a frame costs O(1) however
 *   the guest fills its ring;
 * - one RX batch: at most q->rx_visits_left descriptors (the caller sets
 *   VIRTQ_RX_BATCH_VISITS per batch with virtq_rx_batch_start); frames past
 *   it are not delivered (VIRTQ_BUDGET), nothing consumed;
 * - TX: one chain per virtq_tx_get; the caller bounds the chains per kick.
 *
 * Concurrency: one CPU at a time per queue (the caller's lock); the guest
 * runs concurrently and may rewrite anything at any moment.
 * Ordering: used entries are written before the release store of used->idx
 * (virtio 1.x, 2.6.13 "Supplying Buffers to The Device" / 2.6.8).
 */
#ifndef NETHV_VIRTQ_H
#define NETHV_VIRTQ_H

#include <stdint.h>
#include <stdbool.h>
#include <nethv/virtio.h>

#define GMEM_MAX_RANGES 8

struct gmem {
    unsigned n;
    struct { uint64_t gpa, size; uint8_t *hva; } r[GMEM_MAX_RANGES];
};

/* Host pointer for [gpa, gpa+len) if it lies entirely inside one range;
 * NULL otherwise (also for len 0 at a bad gpa, and on overflow). */
void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len);

struct virtq {
    const struct gmem *mem;
    uint16_t size;                      /* power of two, <= VIRTQ_MAX_SIZE */
    struct vring_desc *desc;            /* host pointers, checked at setup */
    struct vring_avail *avail;
    struct vring_used *used;
    uint16_t last_avail;                /* next avail entry the device takes */
    uint16_t used_idx;                  /* next used entry the device writes */
    uint16_t signalled_used;            /* used_idx at the last publish (interrupt window start) */
    uint16_t avail_cache;               /* avail->idx as last read (checked), saves guest reads */
    bool signalled_valid;
    bool event_idx, mrg_rxbuf, indirect;
    bool broken;
    char broken_why[64];
    uint64_t frames, bytes;             /* moved through this queue */
    uint64_t indirect_chains;           /* chains that went through an indirect table */
    uint32_t rx_visits_left;            /* RX: descriptors this batch may still visit */
};

#define VIRTQ_RX_FRAME_VISITS   256u    /* one frame, all its chains (Linux: 1 with
                                         * MRG_RXBUF per 1.5 KiB, <= 19 in big mode) */
#define VIRTQ_RX_BATCH_VISITS   4096u   /* one batch of frames (PKT_BATCH, 32) */

enum virtq_status {
    VIRTQ_OK = 0,
    VIRTQ_EMPTY = -1,                   /* no buffer available (RX: frame not delivered) */
    VIRTQ_BROKEN = -2,                  /* queue broken (now or before) */
    VIRTQ_DROPPED = -3,                 /* TX: chain consumed, frame bad (runt/oversize);
                                         * RX: frame too big for the next chain (no MRG_RXBUF),
                                         * chain left in place for the next frame */
    VIRTQ_BUDGET = -4,                  /* RX: the frame would visit more descriptors than
                                         * its or the batch's bound; nothing consumed */
    VIRTQ_RUNT = -5,                    /* TX: chain consumed, shorter than header + an
                                         * Ethernet header (VIRTQ_DROPPED: over cap) */
};

/* Check the three ring areas (alignment, inside RAM) and reset the indices;
 * features are the negotiated ones (EVENT_IDX, MRG_RXBUF, INDIRECT_DESC). 0 or -1
 * (then q->broken is set with the reason). */
int virtq_setup(struct virtq *q, const struct gmem *m, uint16_t size, uint64_t desc_gpa,
                uint64_t avail_gpa, uint64_t used_gpa, uint64_t features);

/* RX: copy the virtio-net header and one frame into the next available
 * buffer(s) (several with MRG_RXBUF, num_buffers set), write the used
 * entries; not yet published.  h->num_buffers is ignored (set by the queue).
 * Without MRG_RXBUF, a frame that does not fit the next chain (header +
 * frame) is not delivered and the chain is not consumed: VIRTQ_DROPPED.
 * With MRG_RXBUF, if the available chains run out mid-frame nothing is
 * consumed (VIRTQ_EMPTY): a partial frame never becomes visible. */
enum virtq_status virtq_rx_put(struct virtq *q, const struct virtio_net_hdr *h, const void *frame,
                               uint32_t len);
/* RX: a new batch may visit VIRTQ_RX_BATCH_VISITS descriptors again. */
static inline void virtq_rx_batch_start(struct virtq *q)
{
    q->rx_visits_left = VIRTQ_RX_BATCH_VISITS;
}

/* RX, before a batch of up to n frames: write-touch the first line of each
 * of the next n available buffers and the used elements, so the batch's
 * cross-core cache misses overlap (stores rx_put makes anyway; no state
 * changes). */
void virtq_rx_prefetch(struct virtq *q, unsigned n);
/* TX: take the next chain, copy its header into *h and the frame into buf
 * (cap bytes), set *len, and complete the chain (used entry, length 0).
 * Frames shorter than ETH_HLEN: VIRTQ_RUNT; longer than cap: VIRTQ_DROPPED. */
enum virtq_status virtq_tx_get(struct virtq *q, struct virtio_net_hdr *h, void *buf, uint32_t cap,
                               uint32_t *len);
/* Publish the used entries written so far (release store of used->idx);
 * true if the driver wants an interrupt for them (VRING_AVAIL_F_NO_INTERRUPT,
 * or used_event with EVENT_IDX, virtio 1.x 2.6.7.2). */
bool virtq_publish(struct virtq *q);
/* TX side with EVENT_IDX: ask for a notification at the next new buffer
 * (avail_event = last_avail) and report whether buffers arrived
 * meanwhile (the caller then drains again).  Without EVENT_IDX: clears
 * VRING_USED_F_NO_NOTIFY and re-checks the same way. */
bool virtq_enable_notify(struct virtq *q);
/* TX side, while draining: without EVENT_IDX set VRING_USED_F_NO_NOTIFY;
 * with EVENT_IDX nothing to do (avail_event is simply left behind). */
void virtq_disable_notify(struct virtq *q);

#endif
