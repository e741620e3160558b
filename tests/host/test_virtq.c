/*
 * Host tests for kernel/virtq.c (unity build): the device side of a split
 * virtqueue against a simulated guest.  Guest RAM is two ranges (rings low,
 * buffers above 4 GiB); a tiny driver posts chains the way Linux's
 * virtio-net does (one buffer per chain with MRG_RXBUF, header + pages
 * without, header pushed into the frame on TX) and reads the used ring.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../../kernel/virtq.c"

#define LO_GPA  0x0ull
#define LO_SIZE 0x100000ull             /* rings */
#define HI_GPA  0x100000000ull
#define HI_SIZE 0x100000ull             /* buffers */

static uint8_t lo[LO_SIZE] __attribute__((aligned(4096)));
static uint8_t hi[HI_SIZE] __attribute__((aligned(4096)));
static struct gmem M;
static struct virtq Q;

#define F_EVT   VIRTIO_BIT(VIRTIO_F_EVENT_IDX)
#define F_MRG   VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF)
#define F_IND   VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC)
#define W       VRING_DESC_F_WRITE
#define HDR     VIRTIO_NET_HDR_LEN

/* ---- the simulated driver ------------------------------------------------ */
static struct drv {
    uint16_t size, avail_idx, used_seen, next_desc;
    uint64_t desc, avail, used;
    uint64_t brk;                       /* buffer allocator in the high range */
} D;

static void *gp(uint64_t gpa)           /* the driver's own view of its RAM */
{
    if (gpa >= HI_GPA && gpa - HI_GPA < HI_SIZE)
        return hi + (gpa - HI_GPA);
    assert_true(gpa < LO_SIZE);
    return lo + gpa;
}
static struct vring_desc *desc_at(uint16_t i) { return (struct vring_desc *)gp(D.desc) + i; }
static struct vring_avail *avail(void) { return gp(D.avail); }
static struct vring_used *used(void) { return gp(D.used); }
static uint16_t *used_event(void) { return &avail()->ring[D.size]; }
static uint16_t avail_evt(void) { return *(uint16_t *)&used()->ring[D.size]; }

static uint64_t balloc(uint32_t len)
{
    uint64_t g = HI_GPA + D.brk;
    D.brk = (D.brk + len + 63) & ~63ull;
    assert_true(D.brk <= HI_SIZE);
    return g;
}

struct seg { uint64_t gpa; uint32_t len; uint16_t flags; };

/* write descriptors for segs (chained), return the head index */
static uint16_t drv_chain(const struct seg *s, unsigned n)
{
    uint16_t head = D.next_desc;
    for (unsigned i = 0; i < n; i++) {
        uint16_t at = D.next_desc, nx = (uint16_t)((at + 1) & (D.size - 1));
        *desc_at(at) = (struct vring_desc){ s[i].gpa, s[i].len,
                                            (uint16_t)(s[i].flags | (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
                                            i + 1 < n ? nx : 0 };
        D.next_desc = nx;
    }
    return head;
}
static void drv_avail(uint16_t head)
{
    avail()->ring[D.avail_idx & (D.size - 1)] = head;
    D.avail_idx++;
    __atomic_store_n(&avail()->idx, D.avail_idx, __ATOMIC_RELEASE);
}
static uint16_t drv_post(const struct seg *s, unsigned n)
{
    uint16_t head = drv_chain(s, n);
    drv_avail(head);
    return head;
}
/* one writable buffer of len bytes (Linux with MRG_RXBUF) */
static uint64_t post_rx(uint32_t len)
{
    uint64_t g = balloc(len);
    drv_post(&(struct seg){ g, len, W }, 1);
    return g;
}
/* next used element, if published */
static bool drv_used(struct vring_used_elem *e)
{
    if (__atomic_load_n(&used()->idx, __ATOMIC_ACQUIRE) == D.used_seen)
        return false;
    *e = used()->ring[D.used_seen & (D.size - 1)];
    D.used_seen++;
    return true;
}

static void q_init(uint16_t size, uint64_t features, uint16_t start)
{
    memset(&D, 0, sizeof(D));
    D.size = size;
    D.desc = 0x1000;
    D.avail = D.desc + VRING_DESC_BYTES(size);
    D.used = (D.avail + VRING_AVAIL_BYTES(size) + 3) & ~3ull;
    assert_int_equal(virtq_setup(&Q, &M, size, D.desc, D.avail, D.used, features), 0);
    assert_false(Q.broken);
    if (start) {                        /* as if `start` buffers had gone through */
        Q.last_avail = Q.used_idx = Q.signalled_used = Q.avail_cache = start;
        avail()->idx = used()->idx = start;
        D.avail_idx = D.used_seen = start;
    }
}

static int setup(void **s)
{
    memset(lo, 0, sizeof(lo));
    memset(hi, 0xee, sizeof(hi));
    M.n = 2;
    M.r[0].gpa = LO_GPA; M.r[0].size = LO_SIZE; M.r[0].hva = lo;
    M.r[1].gpa = HI_GPA; M.r[1].size = HI_SIZE; M.r[1].hva = hi;
    memset(&Q, 0, sizeof(Q));
    return 0;
}

static uint8_t frame[70000];
static void fill_frame(uint32_t len, uint8_t seed)
{
    for (uint32_t i = 0; i < len; i++)
        frame[i] = (uint8_t)(seed + i * 7 + (i >> 8));
}
static const struct virtio_net_hdr hdr0 = { .flags = VIRTIO_NET_HDR_F_DATA_VALID, .num_buffers = 0x5555 };

static void expect_broken(enum virtq_status st, const char *why)
{
    assert_int_equal(st, VIRTQ_BROKEN);
    assert_true(Q.broken);
    if (!strstr(Q.broken_why, why))
        fail_msg("broken_why '%s', expected '%s'", Q.broken_why, why);
}

/* ---- gmem and setup ------------------------------------------------------ */
static void test_gmem_ptr(void **s)
{
    assert_ptr_equal(gmem_ptr(&M, 0, 16), lo);
    assert_ptr_equal(gmem_ptr(&M, LO_SIZE - 16, 16), lo + LO_SIZE - 16);
    assert_null(gmem_ptr(&M, LO_SIZE - 16, 17));
    assert_null(gmem_ptr(&M, LO_SIZE, 0));                  /* len 0, bad gpa */
    assert_null(gmem_ptr(&M, HI_GPA - 1, 2));               /* straddles a gap */
    assert_ptr_equal(gmem_ptr(&M, HI_GPA + 5, 0), hi + 5);
    assert_null(gmem_ptr(&M, 0xfffffffffffff000ull, 0x2000));  /* wraps */
    assert_null(gmem_ptr(&M, HI_GPA + 0x10, 0xfffffffffffffff8ull));
    assert_null(gmem_ptr(&M, 0xffffffffffffffffull, 1));
    /* a range ending at the top of the address space */
    struct gmem top = { 1, { { 0xfffffffffffff000ull, 0x1000, lo } } };
    assert_ptr_equal(gmem_ptr(&top, 0xfffffffffffff000ull, 0x1000), lo);
    assert_null(gmem_ptr(&top, 0xfffffffffffff000ull, 0x2000));
    assert_null(gmem_ptr(&top, 0xffffffffffffffffull, 2));
    top.n = 100;                                            /* bogus count is clamped */
    assert_ptr_equal(gmem_ptr(&top, 0xfffffffffffff800ull, 8), lo + 0x800);
}

static void test_setup_checks(void **s)
{
    static const uint16_t bad_sizes[] = { 0, 3, 100, 65535, 32769 };
    for (unsigned i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
        assert_int_equal(virtq_setup(&Q, &M, bad_sizes[i], 0x1000, 0x2000, 0x3000, 0), -1);
        assert_true(Q.broken);
    }
    assert_int_equal(virtq_setup(&Q, &M, 32768, 0, 0x80000, 0x91000, 0), 0);  /* max size fits */
    assert_int_equal(virtq_setup(&Q, &M, 256, 0x1008, 0x2000, 0x3000, 0), -1);     /* desc align 16 */
    assert_int_equal(virtq_setup(&Q, &M, 256, 0x1000, 0x2001, 0x3000, 0), -1);     /* avail align 2 */
    assert_int_equal(virtq_setup(&Q, &M, 256, 0x1000, 0x2002, 0x3002, 0), -1);     /* used align 4 */
    assert_int_equal(virtq_setup(&Q, &M, 256, 0x1000, 0x2002, 0x3004, 0), 0);
    /* descriptor table not in RAM / across the end of a range */
    assert_int_equal(virtq_setup(&Q, &M, 256, LO_SIZE - 0x800, 0x2000, 0x3000, 0), -1);
    assert_int_equal(virtq_setup(&Q, &M, 256, 0x40000000, 0x2000, 0x3000, 0), -1);
    /* the avail ring's trailing used_event must be inside RAM too */
    uint64_t a = LO_SIZE - VRING_AVAIL_BYTES(256);
    assert_int_equal(virtq_setup(&Q, &M, 256, 0x1000, a, 0x3000, 0), 0);
    assert_int_equal(virtq_setup(&Q, &M, 256, 0x1000, a + 2, 0x3000, 0), -1);
    /* same for the used ring's avail_event */
    uint64_t u = (HI_GPA + HI_SIZE - VRING_USED_BYTES(256)) & ~3ull;
    assert_int_equal(virtq_setup(&Q, &M, 256, 0x1000, 0x2000, u, 0), 0);
    assert_int_equal(virtq_setup(&Q, &M, 256, 0x1000, 0x2000, u + 4, 0), -1);
    assert_true(Q.broken);
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 60), VIRTQ_BROKEN);
    /* features */
    assert_int_equal(virtq_setup(&Q, &M, 256, 0x1000, 0x2000, 0x3000, F_EVT | F_MRG | F_IND), 0);
    assert_true(Q.event_idx && Q.mrg_rxbuf && Q.indirect);
    assert_false(Q.broken);
}

/* ---- RX ------------------------------------------------------------------ */
static void test_rx_single(void **s)
{
    struct vring_used_elem e;
    q_init(256, F_MRG, 0);
    uint64_t b = post_rx(1536);
    fill_frame(1514, 1);
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 1514), VIRTQ_OK);
    assert_false(drv_used(&e));                             /* not yet published */
    assert_true(virtq_publish(&Q));
    assert_true(drv_used(&e));
    assert_int_equal(e.id, 0);
    assert_int_equal(e.len, HDR + 1514);
    struct virtio_net_hdr h;
    memcpy(&h, gp(b), HDR);
    assert_int_equal(h.flags, VIRTIO_NET_HDR_F_DATA_VALID);
    assert_int_equal(h.num_buffers, 1);
    assert_memory_equal((uint8_t *)gp(b) + HDR, frame, 1514);
    assert_int_equal(*((uint8_t *)gp(b) + HDR + 1514), 0xee);   /* nothing past the frame */
    assert_int_equal(Q.frames, 1);
    assert_int_equal(Q.bytes, 1514);
    assert_false(virtq_publish(&Q));                        /* nothing new */
}

static void test_rx_no_buffer(void **s)
{
    q_init(256, 0, 0);
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 60), VIRTQ_EMPTY);
    q_init(256, F_MRG, 0);
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 60), VIRTQ_EMPTY);
    assert_int_equal(Q.last_avail, 0);
    assert_int_equal(Q.used_idx, 0);
    assert_false(virtq_publish(&Q));
    assert_false(Q.broken);
    post_rx(1536);
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 60), VIRTQ_OK);
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 60), VIRTQ_EMPTY);
    assert_int_equal(Q.frames, 1);
}

/* Linux without MRG_RXBUF, "big packets": header buffer + several pages */
static void test_rx_big_chain(void **s)
{
    struct vring_used_elem e;
    q_init(256, 0, 0);
    uint64_t h = balloc(HDR), p1 = balloc(4096), p2 = balloc(4096), p3 = balloc(4096);
    drv_post((struct seg[]){ { h, HDR, W }, { p1, 4096, W }, { p2, 4096, W }, { p3, 4096, W } }, 4);
    fill_frame(9000, 3);
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 9000), VIRTQ_OK);
    assert_true(virtq_publish(&Q));
    assert_true(drv_used(&e));
    assert_int_equal(e.len, HDR + 9000);
    assert_int_equal(((struct virtio_net_hdr *)gp(h))->num_buffers, 1);
    assert_memory_equal(gp(p1), frame, 4096);
    assert_memory_equal(gp(p2), frame + 4096, 4096);
    assert_memory_equal(gp(p3), frame + 8192, 9000 - 8192);
}

/* virtq_rx_prefetch: touches only the frame's first byte (after the
 * header) of available, device-writable buffers inside RAM and unpublished
 * used slots; no queue state moves, and what rx_put then writes is the same. */
static void test_rx_prefetch(void **s)
{
    struct vring_used_elem e;
    q_init(8, F_MRG, 0);
    uint64_t b0 = post_rx(1536), b1 = post_rx(1536);
    uint64_t ro = balloc(1536);
    drv_post(&(struct seg){ ro, 1536, 0 }, 1);                     /* read-only: not touched */
    uint64_t tiny = balloc(64);
    drv_post(&(struct seg){ tiny, HDR, W }, 1);                     /* no room for a frame byte */
    drv_post(&(struct seg){ HI_GPA + HI_SIZE - 4, 1536, W }, 1);    /* outside RAM */
    struct virtq before = Q;
    virtq_rx_prefetch(&Q, 32);                                      /* more than available */
    assert_memory_equal(&before, &Q, sizeof(Q));
    assert_int_equal(((uint8_t *)gp(b0))[HDR], 0);
    assert_int_equal(((uint8_t *)gp(b1))[HDR], 0);
    assert_int_equal(((uint8_t *)gp(b0))[HDR - 1], 0xee);           /* only that byte */
    assert_int_equal(((uint8_t *)gp(b0))[HDR + 1], 0xee);
    assert_int_equal(((uint8_t *)gp(ro))[HDR], 0xee);
    assert_int_equal(((uint8_t *)gp(tiny))[HDR], 0xee);
    assert_int_equal(used()->idx, 0);                               /* nothing published */
    fill_frame(100, 9);
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 100), VIRTQ_OK);
    assert_true(virtq_publish(&Q));
    assert_true(drv_used(&e));
    assert_int_equal(e.len, HDR + 100);
    assert_int_equal(((struct virtio_net_hdr *)gp(b0))->num_buffers, 1);
    assert_memory_equal((uint8_t *)gp(b0) + HDR, frame, 100);
    /* a head out of range stops it without breaking the queue (rx_put does that) */
    avail()->ring[D.avail_idx & 7] = 99;
    D.avail_idx++;
    avail()->idx = D.avail_idx;
    before = Q;
    virtq_rx_prefetch(&Q, 8);
    assert_memory_equal(&before, &Q, sizeof(Q));
    /* an avail index too far ahead: untouched, broken later by rx_put */
    avail()->idx = (uint16_t)(D.avail_idx + 100);
    virtq_rx_prefetch(&Q, 8);
    assert_memory_equal(&before, &Q, sizeof(Q));
    /* a broken queue: nothing at all */
    Q.broken = true;
    uint64_t b2 = post_rx(64);
    ((uint8_t *)gp(b2))[HDR] = 0x77;
    virtq_rx_prefetch(&Q, 8);
    assert_int_equal(((uint8_t *)gp(b2))[HDR], 0x77);
}

/* A header equal to what the reused buffer holds is not stored again (its
 * line stays the driver's); a different one is. */
static void test_rx_header_unchanged(void **s)
{
    struct vring_used_elem e;
    struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_DATA_VALID, .num_buffers = 1 };
    q_init(8, F_MRG, 0);
    uint64_t b = post_rx(1536);
    memcpy(gp(b), &h, HDR);                                         /* as left by the last frame */
    fill_frame(60, 4);
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 60), VIRTQ_OK);
    assert_memory_equal(gp(b), &h, HDR);
    assert_memory_equal((uint8_t *)gp(b) + HDR, frame, 60);
    /* a different header (NEEDS_CSUM) is written in full */
    uint64_t b2 = post_rx(1536);
    memcpy(gp(b2), &h, HDR);
    struct virtio_net_hdr partial = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
                                      .csum_offset = 16 };
    assert_int_equal(virtq_rx_put(&Q, &partial, frame, 60), VIRTQ_OK);
    struct virtio_net_hdr got;
    memcpy(&got, gp(b2), HDR);
    assert_int_equal(got.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    assert_int_equal(got.csum_start, 34);
    assert_int_equal(got.csum_offset, 16);
    assert_int_equal(got.num_buffers, 1);
    assert_true(virtq_publish(&Q));
    assert_true(drv_used(&e) && drv_used(&e));
}

/* Policy: without MRG_RXBUF a frame that does not fit the next chain is not
 * delivered and the chain stays available for the next frame. */
static void test_rx_chain_too_small(void **s)
{
    struct vring_used_elem e;
    q_init(256, 0, 0);
    uint64_t b = balloc(1526);
    drv_post(&(struct seg){ b, 1526, W }, 1);               /* 12 + 1514 exactly */
    fill_frame(1515, 9);
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 1515), VIRTQ_DROPPED);
    assert_int_equal(Q.last_avail, 0);
    assert_int_equal(Q.used_idx, 0);
    assert_false(virtq_publish(&Q));
    assert_false(Q.broken);
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 1514), VIRTQ_OK);
    assert_true(virtq_publish(&Q));
    assert_true(drv_used(&e));
    assert_int_equal(e.len, 1526);
    assert_memory_equal((uint8_t *)gp(b) + HDR, frame, 1514);
    assert_int_equal(Q.frames, 1);
}

static void test_rx_mergeable(void **s)
{
    struct vring_used_elem e;
    q_init(256, F_MRG, 0);
    uint64_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = post_rx(1536);
    fill_frame(4000, 5);
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 4000), VIRTQ_OK);     /* 4012 bytes: 3 buffers */
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 100), VIRTQ_OK);      /* the 4th */
    assert_true(virtq_publish(&Q));
    uint32_t lens[4] = { 1536, 1536, 4012 - 3072, HDR + 100 };
    for (int i = 0; i < 4; i++) {
        assert_true(drv_used(&e));
        assert_int_equal(e.id, i);
        assert_int_equal(e.len, lens[i]);
    }
    assert_false(drv_used(&e));
    assert_int_equal(((struct virtio_net_hdr *)gp(b[0]))->num_buffers, 3);
    assert_int_equal(((struct virtio_net_hdr *)gp(b[0]))->flags, VIRTIO_NET_HDR_F_DATA_VALID);
    assert_int_equal(((struct virtio_net_hdr *)gp(b[3]))->num_buffers, 1);
    assert_memory_equal((uint8_t *)gp(b[0]) + HDR, frame, 1536 - HDR);
    assert_memory_equal(gp(b[1]), frame + 1536 - HDR, 1536);
    assert_memory_equal(gp(b[2]), frame + 3072 - HDR, 4012 - 3072);
    assert_int_equal(Q.frames, 2);
    assert_int_equal(Q.bytes, 4100);
}

/* MRG_RXBUF: the ring runs dry mid-frame: nothing consumed, nothing visible */
static void test_rx_mergeable_rollback(void **s)
{
    struct vring_used_elem e;
    q_init(8, F_MRG, 65534);
    post_rx(1536);
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 60), VIRTQ_OK);       /* one delivered */
    post_rx(1536);
    post_rx(1536);
    fill_frame(5000, 2);
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 5000), VIRTQ_EMPTY);  /* needs 4 */
    assert_int_equal(Q.last_avail, 65535);
    assert_int_equal(Q.used_idx, 65535);
    assert_true(virtq_publish(&Q));
    assert_true(drv_used(&e));
    assert_false(drv_used(&e));                             /* only the first frame */
    uint64_t b3 = post_rx(1536), b4 = post_rx(1536);
    (void)b3;
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 5000), VIRTQ_OK);
    assert_true(virtq_publish(&Q));
    uint32_t total = 0;
    for (int i = 0; i < 4; i++) {
        assert_true(drv_used(&e));
        assert_int_equal(e.id, i + 1);
        total += e.len;
    }
    assert_int_equal(total, HDR + 5000);
    assert_memory_equal(gp(b4), frame + 3 * 1536 - HDR, HDR + 5000 - 3 * 1536);
    assert_int_equal(used()->idx, 3);                       /* wrapped */
}

/* buffers smaller than the header (spec says they must not be, 5.1.6.3.1):
 * the header, and num_buffers, split across buffers still come out right */
static void test_rx_mergeable_tiny(void **s)
{
    struct vring_used_elem e;
    q_init(16, F_MRG, 0);
    uint64_t b[6];
    for (int i = 0; i < 5; i++)
        b[i] = post_rx(5);
    fill_frame(14, 4);
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 14), VIRTQ_EMPTY);    /* 26 bytes > 5 x 5 */
    b[5] = post_rx(5);
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 14), VIRTQ_OK);
    assert_true(virtq_publish(&Q));
    uint8_t got[30];
    for (int i = 0; i < 6; i++) {
        assert_true(drv_used(&e));
        assert_int_equal(e.id, i);
        assert_int_equal(e.len, i < 5 ? 5 : 1);
        memcpy(got + 5 * i, gp(b[i]), 5);
    }
    assert_false(drv_used(&e));
    struct virtio_net_hdr h;
    memcpy(&h, got, HDR);
    assert_int_equal(h.num_buffers, 6);
    assert_int_equal(h.flags, VIRTIO_NET_HDR_F_DATA_VALID);
    assert_memory_equal(got + HDR, frame, 14);
}

static void test_rx_zero_length(void **s)
{
    struct vring_used_elem e;
    q_init(16, 0, 0);
    uint64_t a = balloc(100), z = balloc(0), c = balloc(100);
    drv_post((struct seg[]){ { a, 100, W }, { z, 0, W }, { c, 100, W } }, 3);
    fill_frame(150, 6);
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 150), VIRTQ_OK);
    assert_true(virtq_publish(&Q));
    assert_true(drv_used(&e));
    assert_int_equal(e.len, 162);
    assert_memory_equal((uint8_t *)gp(a) + HDR, frame, 88);
    assert_memory_equal(gp(c), frame + 88, 62);
    /* a zero-length buffer is still checked: outside RAM breaks the queue */
    drv_post((struct seg[]){ { a, 12, W }, { 0x7fff0000, 0, W }, { c, 100, W } }, 3);
    expect_broken(virtq_rx_put(&Q, &hdr0, frame, 60), "outside");
}

/* Hostile RX rings: the work a frame costs stays bounded (virtq.h) */
static void test_rx_no_room_chain(void **s)
{
    /* a chain of zero-length writable buffers adds no room: broken, with
     * MRG_RXBUF (every frame would walk it again) and without */
    q_init(16, F_MRG, 0);
    uint64_t z = balloc(0);
    drv_post((struct seg[]){ { z, 0, W }, { z, 0, W }, { z, 0, W } }, 3);
    fill_frame(60, 1);
    expect_broken(virtq_rx_put(&Q, &hdr0, frame, 60), "no room");
    q_init(16, 0, 0);
    drv_post((struct seg[]){ { z, 0, W } }, 1);
    expect_broken(virtq_rx_put(&Q, &hdr0, frame, 60), "no room");
}

static void test_rx_frame_visit_bound(void **s)
{
    /* MRG_RXBUF, every avail entry the same chain of 255 zero-length
     * buffers and 1 byte: without a bound one 1000-byte frame would walk
     * 256 x 256 descriptors.  It may visit VIRTQ_RX_FRAME_VISITS, then it
     * is not delivered and nothing is consumed. */
    static struct seg segs[256];
    q_init(256, F_MRG, 0);
    uint64_t z = balloc(0), one = balloc(1);
    for (unsigned i = 0; i < 255; i++)
        segs[i] = (struct seg){ z, 0, W };
    segs[255] = (struct seg){ one, 1, W };
    uint16_t head = drv_chain(segs, 256);
    for (unsigned i = 0; i < 256; i++)
        drv_avail(head);
    fill_frame(1000, 2);
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 1000), VIRTQ_BUDGET);
    assert_int_equal(Q.last_avail, 0);
    assert_int_equal(Q.used_idx, 0);
    assert_false(Q.broken);
    assert_int_equal(Q.rx_visits_left, VIRTQ_RX_BATCH_VISITS - VIRTQ_RX_FRAME_VISITS);
    /* the batch's bound: after BATCH/FRAME such frames, nothing more */
    for (unsigned i = 1; i < VIRTQ_RX_BATCH_VISITS / VIRTQ_RX_FRAME_VISITS; i++)
        assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 1000), VIRTQ_BUDGET);
    assert_int_equal(Q.rx_visits_left, 0);
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 10), VIRTQ_BUDGET);
}

static void test_rx_visits_per_batch(void **s)
{
    /* 2-descriptor chains (0 bytes, then 20): a 60-byte frame takes 4
     * chains, 8 visits; a batch holds VIRTQ_RX_BATCH_VISITS / 8 of them */
    q_init(256, F_MRG, 0);
    uint64_t z = balloc(0), b = balloc(20);
    uint16_t head = drv_chain((struct seg[]){ { z, 0, W }, { b, 20, W } }, 2);
    for (unsigned i = 0; i < 256; i++)
        drv_avail(head);
    fill_frame(60, 3);
    unsigned ok = 0;
    for (unsigned i = 0; i < 64; i++) {
        enum virtq_status st = virtq_rx_put(&Q, &hdr0, frame, 60);
        if (st == VIRTQ_EMPTY)
            break;
        assert_int_equal(st, VIRTQ_OK);
        ok++;
    }
    assert_int_equal(ok, 64);                 /* 256 chains / 4 */
    assert_int_equal(Q.rx_visits_left, VIRTQ_RX_BATCH_VISITS - 64 * 8);
    virtq_rx_batch_start(&Q);
    assert_int_equal(Q.rx_visits_left, VIRTQ_RX_BATCH_VISITS);
}

static void test_rx_readonly_buffer(void **s)
{
    q_init(16, 0, 0);
    uint64_t a = balloc(100), b = balloc(2000);
    drv_post((struct seg[]){ { a, 100, W }, { b, 2000, 0 } }, 2);
    expect_broken(virtq_rx_put(&Q, &hdr0, frame, 1000), "not writable");
}

static void test_tx_writable_buffer(void **s)
{
    uint8_t buf[2048];
    uint32_t len;
    struct virtio_net_hdr h;
    q_init(16, 0, 0);
    uint64_t a = balloc(100);
    drv_post(&(struct seg){ a, 100, W }, 1);
    expect_broken(virtq_tx_get(&Q, &h, buf, sizeof(buf), &len), "writable");
}

/* ---- TX ------------------------------------------------------------------ */
static uint64_t tx_frame(uint32_t len, uint8_t seed, uint16_t csum_start)
{
    uint64_t g = balloc(HDR + len);
    struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = csum_start,
                                .csum_offset = 16 };
    memcpy(gp(g), &h, HDR);
    fill_frame(len, seed);
    memcpy((uint8_t *)gp(g) + HDR, frame, len);
    return g;
}

static void test_tx_single(void **s)
{
    uint8_t buf[2048];
    uint32_t len;
    struct virtio_net_hdr h;
    struct vring_used_elem e;
    q_init(256, 0, 0);
    uint64_t g = tx_frame(1514, 7, 34);
    drv_post(&(struct seg){ g, HDR + 1514, 0 }, 1);         /* header pushed into the frame */
    assert_int_equal(virtq_tx_get(&Q, &h, buf, sizeof(buf), &len), VIRTQ_OK);
    assert_int_equal(len, 1514);
    assert_memory_equal(buf, frame, 1514);
    assert_int_equal(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    assert_int_equal(h.csum_start, 34);
    assert_int_equal(h.csum_offset, 16);
    assert_int_equal(virtq_tx_get(&Q, &h, buf, sizeof(buf), &len), VIRTQ_EMPTY);
    assert_true(virtq_publish(&Q));
    assert_true(drv_used(&e));
    assert_int_equal(e.id, 0);
    assert_int_equal(e.len, 0);
    assert_int_equal(Q.frames, 1);
    assert_int_equal(Q.bytes, 1514);
}

/* header in its own descriptor, split 5 + 7, header sharing with the frame */
static void test_tx_split_header(void **s)
{
    uint8_t buf[2048];
    uint32_t len;
    struct virtio_net_hdr h;
    q_init(256, 0, 0);
    uint64_t g = tx_frame(1000, 8, 50);
    drv_post((struct seg[]){ { g, HDR, 0 }, { g + HDR, 600, 0 }, { g + HDR + 600, 400, 0 } }, 3);
    drv_post((struct seg[]){ { g, 5, 0 }, { g + 5, 7, 0 }, { g + HDR, 1000, 0 } }, 3);
    drv_post((struct seg[]){ { g, 5, 0 }, { g + 5, 500, 0 }, { g + 505, 0, 0 }, { g + 505, 507, 0 } }, 4);
    for (int i = 0; i < 3; i++) {
        memset(buf, 0, sizeof(buf));
        memset(&h, 0, sizeof(h));
        assert_int_equal(virtq_tx_get(&Q, &h, buf, sizeof(buf), &len), VIRTQ_OK);
        assert_int_equal(len, 1000);
        assert_int_equal(h.csum_start, 50);
        assert_memory_equal(buf, frame, 1000);
    }
    assert_int_equal(Q.frames, 3);
}

static void test_tx_runt_and_oversize(void **s)
{
    uint8_t buf[1514];
    uint32_t len = 99;
    struct virtio_net_hdr h;
    struct vring_used_elem e;
    q_init(16, 0, 0);
    uint64_t g = tx_frame(2000, 1, 0);
    drv_post(&(struct seg){ g, HDR + 13, 0 }, 1);           /* runt */
    drv_post(&(struct seg){ g, 8, 0 }, 1);                  /* not even a header */
    drv_post(&(struct seg){ g, HDR + 1515, 0 }, 1);         /* one byte over cap */
    drv_post(&(struct seg){ g, HDR + 14, 0 }, 1);           /* smallest good */
    drv_post(&(struct seg){ g, HDR + 1514, 0 }, 1);         /* exactly cap */
    assert_int_equal(virtq_tx_get(&Q, &h, buf, sizeof(buf), &len), VIRTQ_RUNT);
    assert_int_equal(len, 0);
    assert_int_equal(virtq_tx_get(&Q, &h, buf, sizeof(buf), &len), VIRTQ_RUNT);
    assert_int_equal(virtq_tx_get(&Q, &h, buf, sizeof(buf), &len), VIRTQ_DROPPED);
    assert_int_equal(virtq_tx_get(&Q, &h, buf, sizeof(buf), &len), VIRTQ_OK);
    assert_int_equal(len, 14);
    assert_int_equal(virtq_tx_get(&Q, &h, buf, sizeof(buf), &len), VIRTQ_OK);
    assert_int_equal(len, 1514);
    assert_memory_equal(buf, frame, 1514);
    assert_false(Q.broken);
    assert_true(virtq_publish(&Q));
    for (int i = 0; i < 5; i++) {                           /* all five completed */
        assert_true(drv_used(&e));
        assert_int_equal(e.id, i);
        assert_int_equal(e.len, 0);
    }
    assert_int_equal(Q.frames, 2);
}

/* ---- wraparound ------------------------------------------------------------ */
static void test_wraparound(void **s)
{
    struct vring_used_elem e;
    uint8_t buf[2048];
    uint32_t len;
    struct virtio_net_hdr h;
    q_init(8, F_EVT, 65530);
    for (int round = 0; round < 5; round++) {
        uint64_t b[5];
        for (int i = 0; i < 5; i++)
            b[i] = post_rx(256);
        for (int i = 0; i < 5; i++) {
            fill_frame(100 + i, (uint8_t)(round * 5 + i));
            assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 100 + i), VIRTQ_OK);
            assert_memory_equal((uint8_t *)gp(b[i]) + HDR, frame, 100 + i);
        }
        *used_event() = (uint16_t)(D.used_seen + 4);       /* interrupt after the 5th */
        assert_true(virtq_publish(&Q));
        for (int i = 0; i < 5; i++) {
            assert_true(drv_used(&e));
            assert_int_equal(e.len, HDR + 100 + i);
        }
    }
    assert_int_equal(Q.last_avail, (uint16_t)(65530 + 25));
    assert_int_equal(used()->idx, (uint16_t)(65530 + 25));
    /* TX the same way */
    q_init(8, 0, 65533);
    for (int i = 0; i < 6; i++) {
        uint64_t g = tx_frame(60 + i, (uint8_t)i, 0);
        drv_post(&(struct seg){ g, HDR + 60 + i, 0 }, 1);
        assert_int_equal(virtq_tx_get(&Q, &h, buf, sizeof(buf), &len), VIRTQ_OK);
        assert_int_equal(len, 60 + i);
        assert_memory_equal(buf, frame, len);
    }
    assert_true(virtq_publish(&Q));
    assert_int_equal(used()->idx, 3);
}

/* ---- malformed rings --------------------------------------------------------- */
static void test_desc_loop(void **s)
{
    q_init(8, 0, 0);
    uint64_t b = balloc(16);
    *desc_at(0) = (struct vring_desc){ b, 16, W | VRING_DESC_F_NEXT, 1 };
    *desc_at(1) = (struct vring_desc){ b, 16, W | VRING_DESC_F_NEXT, 2 };
    *desc_at(2) = (struct vring_desc){ b, 16, W | VRING_DESC_F_NEXT, 0 };
    drv_avail(0);
    fill_frame(1000, 1);
    expect_broken(virtq_rx_put(&Q, &hdr0, frame, 1000), "loop");
    /* TX walks the whole chain: a self-loop */
    q_init(8, 0, 0);
    *desc_at(3) = (struct vring_desc){ b, 16, VRING_DESC_F_NEXT, 3 };
    drv_avail(3);
    uint8_t buf[64];
    uint32_t len;
    struct virtio_net_hdr h;
    expect_broken(virtq_tx_get(&Q, &h, buf, sizeof(buf), &len), "loop");
}

static void test_bad_addresses(void **s)
{
    static const struct { uint64_t gpa; uint32_t len; } bad[] = {
        { 0xfffffffffffff000ull, 0x2000 },  /* addr + len overflows */
        { 0xffffffffffffffffull, 1 },
        { HI_GPA + HI_SIZE - 100, 101 },    /* runs off the end */
        { LO_SIZE, 16 },                    /* in the gap */
        { HI_GPA - 8, 16 },                 /* straddles the gap */
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t buf[64];
        uint32_t len;
        struct virtio_net_hdr h;
        q_init(8, 0, 0);
        drv_post(&(struct seg){ bad[i].gpa, bad[i].len, W }, 1);
        expect_broken(virtq_rx_put(&Q, &hdr0, frame, 20), "outside");
        q_init(8, 0, 0);
        drv_post(&(struct seg){ bad[i].gpa, bad[i].len, 0 }, 1);
        expect_broken(virtq_tx_get(&Q, &h, buf, sizeof(buf), &len), "outside");
    }
}

static void test_avail_idx_jump(void **s)
{
    q_init(8, 0, 65533);
    post_rx(64);
    avail()->idx = (uint16_t)(65533 + 8);                   /* exactly a full ring: fine */
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 20), VIRTQ_OK);
    q_init(8, 0, 65533);
    avail()->idx = (uint16_t)(65533 + 9);
    expect_broken(virtq_rx_put(&Q, &hdr0, frame, 20), "avail idx");
    q_init(8, 0, 100);
    avail()->idx = 99;                                      /* moved backwards */
    expect_broken(virtq_rx_put(&Q, &hdr0, frame, 20), "avail idx");
}

static void test_head_out_of_range(void **s)
{
    q_init(8, 0, 0);
    drv_avail(8);
    expect_broken(virtq_rx_put(&Q, &hdr0, frame, 20), "head");
    q_init(8, 0, 0);
    uint64_t b = balloc(64);
    *desc_at(0) = (struct vring_desc){ b, 16, W | VRING_DESC_F_NEXT, 8 };     /* next out of range */
    drv_avail(0);
    expect_broken(virtq_rx_put(&Q, &hdr0, frame, 20), "next");
}

/* ---- indirect ------------------------------------------------------------------ */
static uint64_t ind_table(const struct seg *s, unsigned n)
{
    uint64_t t = balloc(16 * n);
    struct vring_desc *d = gp(t);
    for (unsigned i = 0; i < n; i++)
        d[i] = (struct vring_desc){ s[i].gpa, s[i].len,
                                    (uint16_t)(s[i].flags | (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
                                    (uint16_t)(i + 1) };
    return t;
}

static void test_indirect_not_negotiated(void **s)
{
    q_init(8, 0, 0);
    uint64_t b = balloc(2000);
    uint64_t t = ind_table(&(struct seg){ b, 2000, W }, 1);
    drv_post(&(struct seg){ t, 16, VRING_DESC_F_INDIRECT }, 1);
    expect_broken(virtq_rx_put(&Q, &hdr0, frame, 20), "not negotiated");
}

static void test_indirect(void **s)
{
    struct vring_used_elem e;
    uint8_t buf[2048];
    uint32_t len;
    struct virtio_net_hdr h;
    q_init(8, F_IND, 0);
    uint64_t hb = balloc(HDR), p1 = balloc(1000), p2 = balloc(1000);
    /* RX: the driver flags the table WRITE too sometimes; it is ignored (2.6.5.3.2) */
    uint64_t t = ind_table((struct seg[]){ { hb, HDR, W }, { p1, 1000, W }, { p2, 1000, W } }, 3);
    drv_post(&(struct seg){ t, 48, VRING_DESC_F_INDIRECT | W }, 1);
    fill_frame(1500, 3);
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 1500), VIRTQ_OK);
    assert_memory_equal(gp(p1), frame, 1000);
    assert_memory_equal(gp(p2), frame + 1000, 500);
    /* TX: a direct descriptor, then the indirect table (allowed by 2.6.5.3) */
    uint64_t g = tx_frame(800, 4, 0);
    uint64_t t2 = ind_table((struct seg[]){ { g + 100, 400, 0 }, { g + 500, 312, 0 } }, 2);
    drv_post((struct seg[]){ { g, 100, 0 }, { t2, 32, VRING_DESC_F_INDIRECT } }, 2);
    assert_int_equal(virtq_tx_get(&Q, &h, buf, sizeof(buf), &len), VIRTQ_OK);
    assert_int_equal(len, 800);
    assert_memory_equal(buf, frame, 800);
    assert_true(virtq_publish(&Q));
    assert_true(drv_used(&e));
    assert_int_equal(e.len, HDR + 1500);
    assert_true(drv_used(&e));
    assert_int_equal(e.id, 1);
    assert_false(Q.broken);
}

static void test_indirect_bad(void **s)
{
    uint64_t b = balloc(2000);
    uint64_t inner = ind_table(&(struct seg){ b, 2000, W }, 1);
    uint64_t nested = ind_table(&(struct seg){ inner, 16, VRING_DESC_F_INDIRECT }, 1);
    q_init(8, F_IND, 0);
    drv_post(&(struct seg){ nested, 16, VRING_DESC_F_INDIRECT }, 1);
    expect_broken(virtq_rx_put(&Q, &hdr0, frame, 20), "nested");
    /* INDIRECT with NEXT */
    q_init(8, F_IND, 0);
    *desc_at(0) = (struct vring_desc){ inner, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1 };
    *desc_at(1) = (struct vring_desc){ b, 16, W, 0 };
    drv_avail(0);
    expect_broken(virtq_rx_put(&Q, &hdr0, frame, 20), "NEXT");
    /* lengths: 0, not a multiple of 16, longer than the queue, outside RAM */
    static const uint32_t lens[] = { 0, 24, 16 * 9 };
    for (unsigned i = 0; i < 3; i++) {
        q_init(8, F_IND, 0);
        drv_post(&(struct seg){ inner, lens[i], VRING_DESC_F_INDIRECT }, 1);
        expect_broken(virtq_rx_put(&Q, &hdr0, frame, 20), "length");
    }
    q_init(8, F_IND, 0);
    drv_post(&(struct seg){ HI_GPA + HI_SIZE - 16, 32, VRING_DESC_F_INDIRECT }, 1);
    expect_broken(virtq_rx_put(&Q, &hdr0, frame, 20), "outside");
    /* a loop inside the table, and next past its end */
    q_init(8, F_IND, 0);
    uint64_t t = ind_table((struct seg[]){ { b, 4, W }, { b, 4, W } }, 2);
    ((struct vring_desc *)gp(t))[1].flags |= VRING_DESC_F_NEXT;
    ((struct vring_desc *)gp(t))[1].next = 0;
    drv_post(&(struct seg){ t, 32, VRING_DESC_F_INDIRECT }, 1);
    expect_broken(virtq_rx_put(&Q, &hdr0, frame, 100), "loop");
    q_init(8, F_IND, 0);
    t = ind_table((struct seg[]){ { b, 4, W }, { b, 4, W } }, 2);
    ((struct vring_desc *)gp(t))[1].flags |= VRING_DESC_F_NEXT;
    ((struct vring_desc *)gp(t))[1].next = 2;
    drv_post(&(struct seg){ t, 32, VRING_DESC_F_INDIRECT }, 1);
    expect_broken(virtq_rx_put(&Q, &hdr0, frame, 100), "next");
}

/* ---- interrupts and notifications ------------------------------------------------- */
static void test_interrupt_flags(void **s)
{
    q_init(16, 0, 0);
    for (int i = 0; i < 4; i++)
        post_rx(256);
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 60), VIRTQ_OK);
    assert_true(virtq_publish(&Q));
    avail()->flags = VRING_AVAIL_F_NO_INTERRUPT;
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 60), VIRTQ_OK);
    assert_false(virtq_publish(&Q));
    assert_int_equal(used()->idx, 2);                       /* published all the same */
    avail()->flags = 0;
    assert_false(virtq_publish(&Q));                        /* nothing new */
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 60), VIRTQ_OK);
    assert_true(virtq_publish(&Q));
}

static void test_interrupt_event_idx(void **s)
{
    q_init(16, F_EVT, 65534);
    for (int i = 0; i < 8; i++)
        post_rx(256);
    /* the driver asks for an interrupt when used idx passes 65535 -> 0 */
    *used_event() = 65535;
    avail()->flags = VRING_AVAIL_F_NO_INTERRUPT;            /* ignored with EVENT_IDX */
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 60), VIRTQ_OK);    /* used 65535 */
    assert_true(virtq_publish(&Q));                         /* first publish: always */
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 60), VIRTQ_OK);    /* used 0 */
    assert_true(virtq_publish(&Q));                         /* crossed used_event 65535 */
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 60), VIRTQ_OK);
    assert_false(virtq_publish(&Q));                        /* event already passed */
    *used_event() = 3;
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 60), VIRTQ_OK);    /* used 2 */
    assert_false(virtq_publish(&Q));
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 60), VIRTQ_OK);
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 60), VIRTQ_OK);    /* used 4, batch */
    assert_true(virtq_publish(&Q));                         /* 3 inside (2, 4] */
    assert_int_equal(used()->idx, 4);
}

/* TX: drain, disable, re-enable; a buffer posted in the window is found */
static void test_tx_notify_race(void **s)
{
    uint8_t buf[2048];
    uint32_t len;
    struct virtio_net_hdr h;
    for (int evt = 0; evt < 2; evt++) {
        q_init(16, evt ? F_EVT : 0, 65535);
        uint64_t g = tx_frame(100, 1, 0);
        drv_post(&(struct seg){ g, HDR + 100, 0 }, 1);
        virtq_disable_notify(&Q);
        assert_int_equal(used()->flags, evt ? 0 : VRING_USED_F_NO_NOTIFY);
        assert_int_equal(virtq_tx_get(&Q, &h, buf, sizeof(buf), &len), VIRTQ_OK);
        assert_int_equal(virtq_tx_get(&Q, &h, buf, sizeof(buf), &len), VIRTQ_EMPTY);
        /* the driver adds a buffer but (seeing suppression) does not notify */
        drv_post(&(struct seg){ g, HDR + 100, 0 }, 1);
        assert_true(virtq_enable_notify(&Q));               /* caught by the re-check */
        if (evt)
            assert_int_equal(avail_evt(), 0);               /* = last_avail, wrapped */
        else
            assert_int_equal(used()->flags, 0);
        assert_int_equal(virtq_tx_get(&Q, &h, buf, sizeof(buf), &len), VIRTQ_OK);
        assert_false(virtq_enable_notify(&Q));              /* really empty now */
        if (evt) {
            assert_int_equal(avail_evt(), 1);
            /* the driver's side of the handshake: notify iff avail idx passes avail_event */
            uint16_t old = D.avail_idx;
            drv_post(&(struct seg){ g, HDR + 100, 0 }, 1);
            assert_true(vring_need_event(avail_evt(), D.avail_idx, old));
        }
        assert_true(virtq_publish(&Q));
    }
}

static void test_broken_stays_broken(void **s)
{
    uint8_t buf[2048];
    uint32_t len;
    struct virtio_net_hdr h;
    q_init(8, 0, 0);
    post_rx(256);
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 60), VIRTQ_OK);
    drv_avail(9);
    expect_broken(virtq_rx_put(&Q, &hdr0, frame, 60), "head");
    /* the driver repairs the ring: the queue stays broken */
    avail()->ring[1] = 0;
    post_rx(256);
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 60), VIRTQ_BROKEN);
    assert_int_equal(virtq_tx_get(&Q, &h, buf, sizeof(buf), &len), VIRTQ_BROKEN);
    assert_false(virtq_publish(&Q));
    assert_false(virtq_enable_notify(&Q));
    assert_int_equal(used()->idx, 0);
    /* until set up again */
    q_init(8, 0, 0);
    post_rx(256);
    assert_int_equal(virtq_rx_put(&Q, &hdr0, frame, 60), VIRTQ_OK);
    assert_true(virtq_publish(&Q));
}

/* load_desc: one copy of all four fields, any alignment */
static void test_load_desc(void **s)
{
    uint8_t raw[17];
    struct vring_desc d = { 0x1234, 77, W | VRING_DESC_F_NEXT, 5 };
    memcpy(raw + 1, &d, sizeof(d));
    struct vring_desc c = load_desc(raw + 1);
    assert_int_equal(c.addr, 0x1234);
    assert_int_equal(c.len, 77);
    assert_int_equal(c.flags, W | VRING_DESC_F_NEXT);
    assert_int_equal(c.next, 5);
}

/* Linux-like traffic: random frame sizes through 1536-byte mergeable
 * buffers, reassembled by the driver and checked byte for byte; then TX
 * chains cut at random points */
static void test_mixed_traffic(void **s)
{
    static uint8_t got[9100 + HDR];
    struct vring_used_elem e;
    uint8_t buf[9100];
    uint32_t len, seed = 12345;
    struct virtio_net_hdr h;
    struct { uint32_t len; uint8_t seed; } sent[64];

    q_init(64, F_MRG | F_EVT, 65000);
    for (int round = 0; round < 200; round++) {
        unsigned ns = 0, nr = 0;
        D.brk = 0;
        virtq_rx_batch_start(&Q);           /* each round is one batch */
        for (int i = 0; i < 40; i++)
            post_rx(1536);
        for (;;) {
            seed = seed * 1103515245 + 12345;
            uint32_t fl = 14 + (seed >> 8) % 9000;
            fill_frame(fl, (uint8_t)seed);
            enum virtq_status st = virtq_rx_put(&Q, &hdr0, frame, fl);
            if (st == VIRTQ_EMPTY)
                break;
            assert_int_equal(st, VIRTQ_OK);
            sent[ns].len = fl;
            sent[ns++].seed = (uint8_t)seed;
        }
        virtq_publish(&Q);
        while (drv_used(&e)) {              /* first buffer of a frame */
            uint32_t at = 0;
            struct virtio_net_hdr fh;
            assert_true(e.len >= HDR && e.len <= 1536);
            memcpy(got, gp(desc_at((uint16_t)e.id)->addr), e.len);
            at = e.len;
            memcpy(&fh, got, HDR);
            assert_true(fh.num_buffers >= 1);
            for (unsigned k = 1; k < fh.num_buffers; k++) {
                assert_true(drv_used(&e));
                assert_true(e.len <= 1536);
                memcpy(got + at, gp(desc_at((uint16_t)e.id)->addr), e.len);
                at += e.len;
            }
            assert_true(nr < ns);
            assert_int_equal(at, HDR + sent[nr].len);
            fill_frame(sent[nr].len, sent[nr].seed);
            assert_memory_equal(got + HDR, frame, sent[nr].len);
            nr++;
        }
        assert_int_equal(nr, ns);
        assert_true(ns > 0);
        /* drop what is left in the ring (fewer than a frame's worth) */
        D.next_desc = 0;
        Q.last_avail = Q.avail_cache = D.avail_idx;
        Q.used_idx = Q.signalled_used = D.used_seen = D.avail_idx;
        used()->idx = D.avail_idx;
    }
    assert_false(Q.broken);
    q_init(64, 0, 65500);
    for (int i = 0; i < 500; i++) {
        seed = seed * 1103515245 + 12345;
        uint32_t fl = 14 + (seed >> 8) % 9000, cut = (seed >> 3) % (HDR + fl);
        D.brk = 0;
        uint64_t g = tx_frame(fl, (uint8_t)i, 0);
        drv_post((struct seg[]){ { g, cut, 0 }, { g + cut, HDR + fl - cut, 0 } }, 2);
        assert_int_equal(virtq_tx_get(&Q, &h, buf, sizeof(buf), &len), VIRTQ_OK);
        assert_int_equal(len, fl);
        assert_memory_equal(buf, frame, fl);
        virtq_publish(&Q);
        while (drv_used(&e))
            assert_int_equal(e.len, 0);
    }
    assert_int_equal(Q.frames, 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_gmem_ptr, setup),
        cmocka_unit_test_setup(test_setup_checks, setup),
        cmocka_unit_test_setup(test_rx_single, setup),
        cmocka_unit_test_setup(test_rx_no_buffer, setup),
        cmocka_unit_test_setup(test_rx_big_chain, setup),
        cmocka_unit_test_setup(test_rx_chain_too_small, setup),
        cmocka_unit_test_setup(test_rx_prefetch, setup),
        cmocka_unit_test_setup(test_rx_header_unchanged, setup),
        cmocka_unit_test_setup(test_rx_mergeable, setup),
        cmocka_unit_test_setup(test_rx_mergeable_rollback, setup),
        cmocka_unit_test_setup(test_rx_mergeable_tiny, setup),
        cmocka_unit_test_setup(test_rx_zero_length, setup),
        cmocka_unit_test_setup(test_rx_no_room_chain, setup),
        cmocka_unit_test_setup(test_rx_frame_visit_bound, setup),
        cmocka_unit_test_setup(test_rx_visits_per_batch, setup),
        cmocka_unit_test_setup(test_rx_readonly_buffer, setup),
        cmocka_unit_test_setup(test_tx_writable_buffer, setup),
        cmocka_unit_test_setup(test_tx_single, setup),
        cmocka_unit_test_setup(test_tx_split_header, setup),
        cmocka_unit_test_setup(test_tx_runt_and_oversize, setup),
        cmocka_unit_test_setup(test_wraparound, setup),
        cmocka_unit_test_setup(test_desc_loop, setup),
        cmocka_unit_test_setup(test_bad_addresses, setup),
        cmocka_unit_test_setup(test_avail_idx_jump, setup),
        cmocka_unit_test_setup(test_head_out_of_range, setup),
        cmocka_unit_test_setup(test_indirect_not_negotiated, setup),
        cmocka_unit_test_setup(test_indirect, setup),
        cmocka_unit_test_setup(test_indirect_bad, setup),
        cmocka_unit_test_setup(test_interrupt_flags, setup),
        cmocka_unit_test_setup(test_interrupt_event_idx, setup),
        cmocka_unit_test_setup(test_tx_notify_race, setup),
        cmocka_unit_test_setup(test_broken_stays_broken, setup),
        cmocka_unit_test_setup(test_load_desc, setup),
        cmocka_unit_test_setup(test_mixed_traffic, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
