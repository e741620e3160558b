/*
 * libFuzzer target for the device side of the split virtqueue
 * (kernel/virtq.c, unity build).
 *
 * Build: `make fuzz-build` (build/fuzz/fuzz_virtq)
 * Run:   build/fuzz/fuzz_virtq -max_total_time=60 [corpus dir]
 *
 * The input is a hostile guest: it picks the negotiated features and the
 * queue size, fills the descriptor table, the avail ring and its indices,
 * and then drives a sequence of device calls (rx_put, tx_get, publish,
 * enable/disable_notify, setup again) interleaved with guest writes into
 * the rings.  Guest RAM is two malloc'd blocks of exact size (rings,
 * buffers), so ASan reports any access past what gmem_ptr allowed.
 * Invariants of the queue are checked after every call.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernel/virtq.c"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

#define RING_GPA 0x1000ull
#define BUF_GPA  0x100000ull
#define BUF_SIZE 0x3000u                /* not a power of two on purpose */

#include "fuzz_input.h"

/* a guest address: mostly inside one of the ranges, sometimes anywhere */
static uint64_t get_gpa(struct in *in)
{
    unsigned sel = get8(in);
    switch (sel & 3) {
    case 0: return BUF_GPA + get16(in) % (BUF_SIZE + 16);
    case 1: return RING_GPA + get16(in);
    case 2: return BUF_GPA + (get16(in) & 0xff0);
    default: return (uint64_t)get32(in) << 32 | get32(in);
    }
}
static uint32_t get_len(struct in *in)
{
    unsigned sel = get8(in);
    switch (sel & 3) {
    case 0: return get8(in);
    case 1: return get16(in) % 2048;
    case 2: return 16 * (get8(in) % 20);          /* indirect table sizes */
    default: return get32(in);
    }
}

static uint8_t frame[65536 + 64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct in in = { data, size };
    struct gmem m = { 0 };
    struct virtq q;
    unsigned f = get8(&in);
    uint16_t qsize = (uint16_t)(1u << (get8(&in) % 9));        /* 1 .. 256 */
    uint64_t features = ((f & 1) ? VIRTIO_BIT(VIRTIO_F_EVENT_IDX) : 0) |
                        ((f & 2) ? VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) : 0) |
                        ((f & 4) ? VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) : 0);
    uint64_t avail_off = VRING_DESC_BYTES(qsize);
    uint64_t used_off = (avail_off + VRING_AVAIL_BYTES(qsize) + 3) & ~3ull;
    size_t ring_size = used_off + VRING_USED_BYTES(qsize);
    uint8_t *ring = malloc(ring_size), *bufs = malloc(BUF_SIZE);

    CHECK(ring && bufs);
    memset(ring, 0, ring_size);
    memset(bufs, 0, BUF_SIZE);
    m.n = 2;
    m.r[0].gpa = RING_GPA; m.r[0].size = ring_size; m.r[0].hva = ring;
    m.r[1].gpa = BUF_GPA; m.r[1].size = BUF_SIZE; m.r[1].hva = bufs;

    CHECK(virtq_setup(&q, &m, qsize, RING_GPA, RING_GPA + avail_off, RING_GPA + used_off, features) == 0);

    /* the guest's ring contents */
    struct vring_desc *desc = (struct vring_desc *)ring;
    struct vring_avail *avail = (struct vring_avail *)(ring + avail_off);
    unsigned ndesc = get8(&in) % (qsize + 1u);
    for (unsigned i = 0; i < ndesc; i++) {
        desc[i].addr = get_gpa(&in);
        desc[i].len = get_len(&in);
        desc[i].flags = (uint16_t)(get8(&in) & 7);
        desc[i].next = (uint16_t)(get8(&in) % (qsize + 2u));
    }
    for (unsigned i = 0; i < qsize; i++)
        avail->ring[i] = (uint16_t)(get8(&in) % (qsize + 1u));
    uint16_t start = (uint16_t)get16(&in);
    q.last_avail = q.used_idx = q.signalled_used = q.avail_cache = start;
    ((struct vring_used *)(ring + used_off))->idx = start;
    avail->idx = (uint16_t)(start + get8(&in) % (qsize + 2u));
    avail->flags = (uint16_t)(get8(&in) & 1);
    avail->ring[qsize] = (uint16_t)(start + get8(&in));         /* used_event */

    unsigned ops = 0;
    while (in.n && ops++ < 256) {
        unsigned op = get8(&in);
        uint16_t last_avail = q.last_avail, used_idx = q.used_idx;
        bool was_broken = q.broken;

        switch (op % 9) {
        case 0:
        case 1: {
            struct virtio_net_hdr h = { .flags = (uint8_t)op };
            uint32_t len = get16(&in), visits_left = q.rx_visits_left;
            if (op & 0x80)
                virtq_rx_batch_start(&q);
            else        /* the bound on one frame's walk (virtq.h) */
                CHECK(visits_left - q.rx_visits_left <= VIRTQ_RX_FRAME_VISITS);
            enum virtq_status st = virtq_rx_put(&q, &h, frame, len);
            if (!(op & 0x80))
                CHECK(visits_left - q.rx_visits_left <= VIRTQ_RX_FRAME_VISITS);
            if (st == VIRTQ_OK)
                CHECK((uint16_t)(q.used_idx - used_idx) >= 1 &&
                      (q.mrg_rxbuf || (uint16_t)(q.used_idx - used_idx) == 1));
            else if (st != VIRTQ_BROKEN)
                CHECK(q.used_idx == used_idx && q.last_avail == last_avail);
            break;
        }
        case 2:
        case 3: {
            uint32_t cap = get16(&in) % 10000, len = 0;
            uint8_t *buf = malloc(cap ? cap : 1);
            struct virtio_net_hdr h;
            CHECK(buf);
            enum virtq_status st = virtq_tx_get(&q, &h, buf, cap, &len);
            if (st == VIRTQ_OK)
                CHECK(len >= ETH_HLEN && len <= cap);
            else
                CHECK(len == 0);
            if (st == VIRTQ_OK || st == VIRTQ_DROPPED || st == VIRTQ_RUNT)
                CHECK((uint16_t)(q.used_idx - used_idx) == 1);
            free(buf);
            break;
        }
        case 4:
            if (op & 0x80) {    /* the RX batch's write-touch: never moves anything */
                struct virtq before = q;
                virtq_rx_prefetch(&q, 1 + get8(&in) % 64);
                CHECK(memcmp(&before, &q, sizeof(q)) == 0);
                break;
            }
            virtq_publish(&q);
            break;
        case 5:
            virtq_enable_notify(&q);
            break;
        case 6:
            virtq_disable_notify(&q);
            break;
        case 7: {   /* the guest writes into its rings meanwhile */
            uint32_t off = get16(&in) % ring_size;
            unsigned n = 1 + get8(&in) % 8;
            for (unsigned i = 0; i < n && off + i < ring_size; i++)
                ring[off + i] = (uint8_t)get8(&in);
            break;
        }
        default: {  /* set up again, sometimes with bad parameters */
            unsigned sel = get8(&in);
            uint64_t d = RING_GPA, a = RING_GPA + avail_off, u = RING_GPA + used_off;
            if (sel & 1) d = get_gpa(&in);
            if (sel & 2) a = get_gpa(&in);
            if (sel & 4) u = get_gpa(&in);
            uint16_t sz = (sel & 8) ? (uint16_t)get16(&in) : qsize;
            if (virtq_setup(&q, &m, sz, d, a, u, features) == 0)
                CHECK(!q.broken && q.last_avail == 0 && q.used_idx == 0);
            else
                CHECK(q.broken);
            was_broken = false;
            break;
        }
        }
        /* invariants: every consumed chain is completed at once; a broken
         * queue stays broken; indices only move while healthy */
        CHECK(q.used_idx == q.last_avail || q.broken);
        if (was_broken)
            CHECK(q.broken && q.last_avail == last_avail && q.used_idx == used_idx);
    }
    free(ring);
    free(bufs);
    return 0;
}
