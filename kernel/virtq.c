/*
 * Device side of a virtio 1.x split virtqueue (virtio 1.1, 2.6) for the
 * virtio-net datapath; contract in nethv/virtq.h.
 *
 * Guest memory is only reached through gmem_ptr().  Every value the guest
 * writes (avail->idx, avail ring entries, descriptors, flags, used_event)
 * is loaded once into a local and checked there; host pointers to the
 * three ring areas are checked once, at setup.
 */
#include <string.h>
#include <stdint.h>
#include <stdbool.h>
#include <nethv/virtq.h>
#include <nethv/pkt.h>

void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len)
{
    unsigned n = m->n < GMEM_MAX_RANGES ? m->n : GMEM_MAX_RANGES;

    for (unsigned i = 0; i < n; i++) {
        uint64_t off = gpa - m->r[i].gpa;       /* wraps if gpa < base: refused below */

        if (gpa >= m->r[i].gpa && off < m->r[i].size && len <= m->r[i].size - off)
            return m->r[i].hva + off;
    }
    return NULL;
}

__attribute__((cold, noinline))
static enum virtq_status virtq_break(struct virtq *q, const char *why)
{
    size_t n = strlen(why);

    if (n >= sizeof(q->broken_why))
        n = sizeof(q->broken_why) - 1;
    memcpy(q->broken_why, why, n);
    q->broken_why[n] = 0;
    q->broken = true;
    return VIRTQ_BROKEN;
}

static inline uint16_t load16(const uint16_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* One copy of a descriptor (any alignment), as two 64-bit loads.  The
 * empty asm makes the loaded values opaque, so the compiler cannot re-read
 * guest memory in place of the copy (no double fetch).  Little endian. */
static inline struct vring_desc load_desc(const uint8_t *p)
{
    uint64_t lo, hi;

    memcpy(&lo, p, 8);
    memcpy(&hi, p + 8, 8);
    __asm__ volatile("" : "+r"(lo), "+r"(hi));
    return (struct vring_desc){ .addr = lo, .len = (uint32_t)hi, .flags = (uint16_t)(hi >> 32),
                                .next = (uint16_t)(hi >> 48) };
}

/* avail_event: the u16 after used->ring[size] (2.6.8, 2.6.10, EVENT_IDX) */
static inline uint16_t *avail_event(struct virtq *q)
{
    return (uint16_t *)&q->used->ring[q->size];
}

int virtq_setup(struct virtq *q, const struct gmem *m, uint16_t size, uint64_t desc_gpa,
                uint64_t avail_gpa, uint64_t used_gpa, uint64_t features)
{
    memset(q, 0, sizeof(*q));
    q->mem = m;
    q->size = size;
    /* 2.6: Queue Size is a power of 2, at most 32768 */
    if (size == 0 || size > VIRTQ_MAX_SIZE || (size & (size - 1))) {
        virtq_break(q, "queue size not a power of two <= 32768");
        return -1;
    }
    /* 2.6: alignment 16 / 2 / 4 for descriptor table / driver area / device area */
    if (desc_gpa % VRING_DESC_ALIGN || avail_gpa % VRING_AVAIL_ALIGN || used_gpa % VRING_USED_ALIGN) {
        virtq_break(q, "ring area misaligned");
        return -1;
    }
    /* area sizes include used_event / avail_event (2.6) */
    q->desc = gmem_ptr(m, desc_gpa, VRING_DESC_BYTES(size));
    q->avail = gmem_ptr(m, avail_gpa, VRING_AVAIL_BYTES(size));
    q->used = gmem_ptr(m, used_gpa, VRING_USED_BYTES(size));
    if (!q->desc || !q->avail || !q->used) {
        virtq_break(q, "ring area outside guest RAM");
        return -1;
    }
    /* the host mapping must keep the alignment the atomic accesses need */
    if (((uintptr_t)q->avail & (VRING_AVAIL_ALIGN - 1)) || ((uintptr_t)q->used & (VRING_USED_ALIGN - 1))) {
        virtq_break(q, "ring area misaligned in host memory");
        return -1;
    }
    q->event_idx = features & VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
    q->mrg_rxbuf = features & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
    q->indirect = features & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
    /* a fresh queue: all indices 0, notifications enabled */
    __atomic_store_n(&q->used->flags, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&q->used->idx, 0, __ATOMIC_RELAXED);
    __atomic_store_n(avail_event(q), 0, __ATOMIC_RELAXED);
    virtq_rx_batch_start(q);
    return 0;
}

/* Next chain head from the avail ring (2.6.6): VIRTQ_OK, _EMPTY or _BROKEN. */
static inline enum virtq_status pop_head(struct virtq *q, uint16_t *head)
{
    if (q->last_avail == q->avail_cache) {
        /* acquire: ring entries and descriptors are read after the index
         * (pairs with the driver's barrier before its avail->idx store, 2.6.13) */
        uint16_t idx = __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE);

        if ((uint16_t)(idx - q->last_avail) > q->size)
            return virtq_break(q, "avail idx more than queue size ahead");
        q->avail_cache = idx;
        if (idx == q->last_avail)
            return VIRTQ_EMPTY;
    }
    uint16_t h = load16(&q->avail->ring[q->last_avail & (q->size - 1)]);

    if (h >= q->size)
        return virtq_break(q, "avail ring head out of range");
    *head = h;
    q->last_avail++;
    return VIRTQ_OK;
}

/* used element for a completed chain, not yet published (2.6.8) */
static inline void put_used(struct virtq *q, uint16_t head, uint32_t len)
{
    struct vring_used_elem *e = &q->used->ring[q->used_idx & (q->size - 1)];

    e->id = head;
    e->len = len;
    q->used_idx++;
}

/* ---- walking one descriptor chain (2.6.5, 2.6.5.3) ------------------------- */
struct walk {
    const uint8_t *tbl;         /* current table: the ring's or an indirect one */
    uint32_t tsize;             /* its entries */
    uint32_t left;              /* descriptors we may still visit (loop bound) */
    uint32_t *visits;           /* RX: the frame's remaining visits; NULL: none kept */
    uint16_t i;                 /* next entry */
    bool in_indirect, more;
};

static inline void walk_start(const struct virtq *q, struct walk *w, uint16_t head)
{
    w->tbl = (const uint8_t *)q->desc;
    w->tsize = q->size;
    w->left = q->size;
    w->i = head;
    w->in_indirect = false;
    w->more = true;
    w->visits = NULL;
}

/* Next buffer of the chain: 1 with *p / *len set, 0 at the end of the chain,
 * -1 when the chain broke the rules (the queue is then broken), -2 when the
 * frame's visit budget (w->visits) is spent (the queue is fine).
 * want_write: VRING_DESC_F_WRITE for RX, 0 for TX. */
__attribute__((always_inline))
static inline int walk_next(struct virtq *q, struct walk *w, uint16_t want_write, uint8_t **p,
                            uint32_t *len)
{
    struct vring_desc d;

    if (!w->more)
        return 0;
    for (;;) {
        if (w->left == 0) {
            virtq_break(q, "descriptor chain longer than queue (loop)");
            return -1;
        }
        w->left--;
        if (w->visits) {
            if (*w->visits == 0)
                return -2;
            (*w->visits)--;
        }
        d = load_desc(w->tbl + (uint32_t)w->i * sizeof(struct vring_desc));
        if (!(d.flags & VRING_DESC_F_INDIRECT))
            break;
        /* 2.6.5.3.1: only if negotiated, not nested, not with NEXT, chain
         * no longer than the queue; the table is whole descriptors in RAM */
        if (!q->indirect) {
            virtq_break(q, "INDIRECT descriptor not negotiated");
            return -1;
        }
        if (w->in_indirect || (d.flags & VRING_DESC_F_NEXT)) {
            virtq_break(q, "nested INDIRECT or INDIRECT with NEXT");
            return -1;
        }
        if (d.len == 0 || d.len % sizeof(struct vring_desc) ||
            d.len / sizeof(struct vring_desc) > q->size) {
            virtq_break(q, "bad indirect table length");
            return -1;
        }
        w->tbl = gmem_ptr(q->mem, d.addr, d.len);
        if (!w->tbl) {
            virtq_break(q, "indirect table outside guest RAM");
            return -1;
        }
        w->tsize = w->left = d.len / sizeof(struct vring_desc);
        w->i = 0;
        w->in_indirect = true;
        q->indirect_chains++;
    }
    /* 2.6.5: RX buffers are device-writable, TX buffers device-readable */
    if ((d.flags & VRING_DESC_F_WRITE) != want_write) {
        virtq_break(q, want_write ? "RX buffer not writable" : "TX buffer writable");
        return -1;
    }
    *p = gmem_ptr(q->mem, d.addr, d.len);
    if (!*p) {
        virtq_break(q, "buffer outside guest RAM");
        return -1;
    }
    if (d.flags & VRING_DESC_F_NEXT) {
        if (d.next >= w->tsize) {
            virtq_break(q, "descriptor next out of range");
            return -1;
        }
        w->i = d.next;
    } else {
        w->more = false;
    }
    *len = d.len;
    return 1;
}

/* ---- RX ------------------------------------------------------------------- */
/* the byte stream header + frame being written into guest buffers */
struct rx_src {
    const uint8_t *hdr, *frame; /* hdr: the caller's, num_buffers (1) added here */
    uint32_t total, off;        /* bytes in the stream, bytes written */
    uint8_t *nb[2];             /* where the bytes of num_buffers landed */
};

#define NUM_BUFFERS_OFF 10      /* offsetof(struct virtio_net_hdr, num_buffers) */

static inline uint32_t rx_copy(struct rx_src *s, uint8_t *p, uint32_t room)
{
    uint32_t n = s->total - s->off, done = 0;

    if (n > room)
        n = room;
    if (s->off == 0 && n >= VIRTIO_NET_HDR_LEN) {
        /* the usual case: the whole header in the first buffer.  Stored
         * only if it differs from what the buffer holds: a reused buffer
         * usually has this very header, and its line is one the driver has
         * read, so a store would have to take it back from the driver's
         * CPU (DPDK's vhost does the same, ASSIGN_UNLESS_EQUAL).  The
         * bytes read are only compared, never acted on. */
        uint64_t lo, glo;
        uint32_t hi, ghi;
        memcpy(&lo, s->hdr, 8);
        memcpy(&hi, s->hdr + 8, 4);
        hi = (hi & 0xffffu) | (1u << 16);       /* num_buffers (bytes 10-11) = 1 */
        memcpy(&glo, p, 8);
        memcpy(&ghi, p + 8, 4);
        if (lo != glo || hi != ghi) {
            memcpy(p, &lo, 8);
            memcpy(p + 8, &hi, 4);
        }
        s->nb[0] = p + NUM_BUFFERS_OFF;
        s->nb[1] = p + NUM_BUFFERS_OFF + 1;
        done = VIRTIO_NET_HDR_LEN;
    } else if (s->off < VIRTIO_NET_HDR_LEN) {
        uint8_t hdr[VIRTIO_NET_HDR_LEN];

        memcpy(hdr, s->hdr, NUM_BUFFERS_OFF);
        hdr[NUM_BUFFERS_OFF] = 1;
        hdr[NUM_BUFFERS_OFF + 1] = 0;
        done = VIRTIO_NET_HDR_LEN - s->off;
        if (done > n)
            done = n;
        memcpy(p, hdr + s->off, done);
        for (uint32_t k = NUM_BUFFERS_OFF; k < NUM_BUFFERS_OFF + 2; k++)
            if (k >= s->off && k < s->off + done)
                s->nb[k - NUM_BUFFERS_OFF] = p + (k - s->off);
    }
    if (n > done)
        memcpy(p + done, s->frame + (s->off + done - VIRTIO_NET_HDR_LEN), n - done);
    s->off += n;
    return n;
}

/* Fill the chain at `head` from s until either ends: bytes written, -1
 * broken (a chain with no room at all breaks the queue), -2 out of visits. */
static inline int64_t rx_fill_chain(struct virtq *q, uint16_t head, struct rx_src *s,
                                    uint32_t *visits)
{
    struct walk w;
    uint32_t written = 0;

    walk_start(q, &w, head);
    w.visits = visits;
    while (s->off < s->total) {
        uint8_t *p;
        uint32_t len;
        int r = walk_next(q, &w, VRING_DESC_F_WRITE, &p, &len);

        if (r < 0)
            return r;
        if (r == 0)
            break;
        written += rx_copy(s, p, len);
    }
    if (written == 0) {
        /* only zero-length buffers: no driver does this, and with MRG_RXBUF
         * every frame would walk all of them again */
        virtq_break(q, "RX chain with no room");
        return -1;
    }
    return written;
}

/* One frame into the chains, at most *visits descriptor visits (spent
 * visits are taken off *visits, whatever the outcome). */
static inline enum virtq_status rx_put_frame(struct virtq *q, const struct virtio_net_hdr *h,
                                             const void *frame, uint32_t len, uint32_t *visits)
{
    struct rx_src s;
    uint16_t last_avail = q->last_avail, used_idx = q->used_idx, nbufs = 0;

    if (q->broken)
        return VIRTQ_BROKEN;
    if (len > UINT32_MAX - VIRTIO_NET_HDR_LEN)
        return VIRTQ_DROPPED;
    /* 5.1.6.4.1: num_buffers is 1 without MRG_RXBUF; patched below with it */
    s.hdr = (const uint8_t *)h;
    s.frame = frame;
    s.total = VIRTIO_NET_HDR_LEN + len;
    s.off = 0;
    s.nb[0] = s.nb[1] = NULL;
    do {
        uint16_t head = 0;
        enum virtq_status st = pop_head(q, &head);
        int64_t n;

        if (st != VIRTQ_OK) {
            /* out of chains mid-frame (MRG_RXBUF): nothing becomes visible */
            q->last_avail = last_avail;
            q->used_idx = used_idx;
            return st;
        }
        n = rx_fill_chain(q, head, &s, visits);
        if (n == -2) {
            /* over the frame's or the batch's bound: nothing visible */
            q->last_avail = last_avail;
            q->used_idx = used_idx;
            return VIRTQ_BUDGET;
        }
        if (n < 0)
            return VIRTQ_BROKEN;
        if (!q->mrg_rxbuf && s.off < s.total) {
            /* 5.1.6.3.1: without MRG_RXBUF one chain holds the whole packet;
             * this one is too small: leave it for the next frame */
            q->last_avail = last_avail;
            return VIRTQ_DROPPED;
        }
        put_used(q, head, (uint32_t)n);
        nbufs++;
    } while (s.off < s.total);
    if (nbufs > 1) {
        /* 5.1.6.4.1: num_buffers = chains used, little endian, in the header */
        *s.nb[0] = (uint8_t)nbufs;
        *s.nb[1] = (uint8_t)(nbufs >> 8);
    }
    q->frames++;
    q->bytes += len;
    return VIRTQ_OK;
}

enum virtq_status virtq_rx_put(struct virtq *q, const struct virtio_net_hdr *h, const void *frame,
                               uint32_t len)
{
    /* the frame's bound, within what is left of the batch's; every visit
     * counts against the batch, whatever became of the frame */
    uint32_t visits = q->rx_visits_left < VIRTQ_RX_FRAME_VISITS ? q->rx_visits_left
                                                                : VIRTQ_RX_FRAME_VISITS;
    uint32_t had = visits;
    enum virtq_status st = rx_put_frame(q, h, frame, len, &visits);
    q->rx_visits_left -= had - visits;
    return st;
}

/* Before a batch of up to n frames: write-touch what the batch will store
 * into, back to back -- the line of each of the next n available buffers
 * where the frame starts (right after the header: with Linux's buffers the
 * header's line, which the driver read last, so each store needs the line
 * back from the driver's CPU; the header itself is stored only if it
 * changes, see rx_copy) and the used elements.
 * One store per line, so that the cross-core ownership requests of a whole
 * batch are in flight together instead of one per frame in turn; a
 * PREFETCHW did not do this on the AMD host of tests/bench/datapath.c
 * (5 Mpps at 64 B with it, 9-12 with the stores; touching the next batch's
 * buffers too was slower, 8.5-9).  The stores are ones rx_put makes
 * anyway (the frame's first byte, a used element's len), into buffers and
 * slots the device owns until it publishes them (2.6.8), so a frame that
 * ends up not delivered leaves nothing the driver may look at.  Buffers
 * are checked as rx_put checks them (device-writable, inside RAM, room
 * for the header); no queue state changes. */
void virtq_rx_prefetch(struct virtq *q, unsigned n)
{
    uint16_t avail = q->avail_cache, i = q->last_avail;

    if (q->broken)
        return;
    if ((uint16_t)(avail - i) < n)
        avail = __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE);
    if ((uint16_t)(avail - i) > q->size)
        return;                                 /* pop_head breaks the queue */
    if ((uint16_t)(avail - i) < n)
        n = (uint16_t)(avail - i);
    for (unsigned k = 0; k < n; k++, i++) {
        uint16_t h = load16(&q->avail->ring[i & (q->size - 1)]);
        struct vring_desc d;
        uint8_t *p;

        if (h >= q->size)
            return;
        d = load_desc((const uint8_t *)q->desc + (uint32_t)h * sizeof(struct vring_desc));
        if ((d.flags & (VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE)) != VRING_DESC_F_WRITE ||
            d.len <= VIRTIO_NET_HDR_LEN)
            continue;
        p = gmem_ptr(q->mem, d.addr, VIRTIO_NET_HDR_LEN + 1);
        if (p)
            __atomic_store_n(&p[VIRTIO_NET_HDR_LEN], 0, __ATOMIC_RELAXED);
    }
    for (unsigned k = 0; k < n; k += 8)
        __atomic_store_n(&q->used->ring[(q->used_idx + k) & (q->size - 1)].len, 0,
                         __ATOMIC_RELAXED);
}

/* ---- TX ------------------------------------------------------------------- */
enum virtq_status virtq_tx_get(struct virtq *q, struct virtio_net_hdr *h, void *buf, uint32_t cap,
                               uint32_t *len)
{
    uint8_t hdr[VIRTIO_NET_HDR_LEN];
    uint8_t *out = buf;
    uint64_t total = 0;         /* bytes in the chain, header included */
    struct walk w;
    uint16_t head = 0;
    uint8_t *p;
    uint32_t n;
    int r;
    enum virtq_status st;

    *len = 0;
    if (q->broken)
        return VIRTQ_BROKEN;
    st = pop_head(q, &head);
    if (st != VIRTQ_OK)
        return st;
    walk_start(q, &w, head);
    /* 5.1.6.2: header then frame, split across descriptors in any way */
    while ((r = walk_next(q, &w, 0, &p, &n)) > 0) {
        uint32_t skip = 0;

        if (total == 0 && n >= VIRTIO_NET_HDR_LEN) {
            memcpy(hdr, p, VIRTIO_NET_HDR_LEN);     /* the usual case */
            skip = VIRTIO_NET_HDR_LEN;
        } else if (total < VIRTIO_NET_HDR_LEN) {
            skip = VIRTIO_NET_HDR_LEN - (uint32_t)total;
            if (skip > n)
                skip = n;
            memcpy(hdr + total, p, skip);
        }
        if (n > skip) {
            uint64_t foff = total + skip - VIRTIO_NET_HDR_LEN;

            if (foff < cap) {
                uint64_t c = n - skip;

                if (c > cap - foff)
                    c = cap - foff;
                memcpy(out + foff, p + skip, c);
            }
        }
        total += n;
    }
    if (r < 0)
        return VIRTQ_BROKEN;
    put_used(q, head, 0);
    if (total < VIRTIO_NET_HDR_LEN + ETH_HLEN)
        return VIRTQ_RUNT;
    if (total - VIRTIO_NET_HDR_LEN > cap)
        return VIRTQ_DROPPED;
    memcpy(h, hdr, sizeof(hdr));
    *len = (uint32_t)(total - VIRTIO_NET_HDR_LEN);
    q->frames++;
    q->bytes += *len;
    return VIRTQ_OK;
}

/* ---- publishing (2.6.8) and notification suppression (2.6.7, 2.6.10) -------- */
bool virtq_publish(struct virtq *q)
{
    uint16_t old = q->signalled_used, new_idx = q->used_idx;
    bool valid = q->signalled_valid;

    if (q->broken || new_idx == old)
        return false;
    /* release: the used elements (and buffer contents) before the index (2.6.8) */
    __atomic_store_n(&q->used->idx, new_idx, __ATOMIC_RELEASE);
    q->signalled_used = new_idx;
    q->signalled_valid = true;
    /* the index store before reading flags / used_event; pairs with the
     * driver's barrier between writing them and reading used->idx (2.6.7.2) */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (q->event_idx)
        return !valid || vring_need_event(load16(&q->avail->ring[q->size]), new_idx, old);
    return !(load16(&q->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
}

bool virtq_enable_notify(struct virtq *q)
{
    if (q->broken)
        return false;
    if (q->event_idx)
        __atomic_store_n(avail_event(q), q->last_avail, __ATOMIC_RELAXED);
    else
        __atomic_store_n(&q->used->flags, 0, __ATOMIC_RELAXED);
    /* the store above before re-reading avail->idx: a buffer added meanwhile
     * was either seen here or the driver sees the request and notifies (2.6.10) */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE) != q->last_avail;
}

void virtq_disable_notify(struct virtq *q)
{
    if (!q->broken && !q->event_idx)
        __atomic_store_n(&q->used->flags, VRING_USED_F_NO_NOTIFY, __ATOMIC_RELAXED);
}
