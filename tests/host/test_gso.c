/*
 * Host tests for the software TCP segmentation of kernel/pkt.c
 * (pkt_gso_check, pkt_gso_segment): frames built as a Linux guest hands a
 * TSO frame over (virtio NEEDS_CSUM seeded with the pseudo-header sum),
 * segmented, and each segment checked with checksums computed here, apart
 * from pkt.c: IPv4 header checksum, TCP checksum over the pseudo-header,
 * lengths, IDs, sequence numbers, flags, and the payload put back together.
 * Then every malformed case pkt_gso_check must refuse.
 */
#include "../../kernel/pkt.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAYLOAD_MAX 64000u
static uint8_t frame[PKT_GSO_MAX_LEN + 64];
static uint8_t seg[9216];
static uint8_t joined[PAYLOAD_MAX];

/* the RFC 1071 checksum, byte by byte (big-endian words) */
static uint32_t sum_be(const uint8_t *p, uint32_t n, uint32_t acc)
{
    for (uint32_t i = 0; i + 1 < n; i += 2)
        acc += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        acc += (uint32_t)p[n - 1] << 8;
    return acc;
}
static uint16_t fold_be(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)acc;
}
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* TCP checksum of the segment at l4 (to the end), pseudo-header included:
 * 0xffff when right */
static uint16_t tcp_sum(const uint8_t *f, uint32_t len, uint32_t l4, bool v4)
{
    uint32_t acc = 0, tl = len - l4;
    if (v4) {
        acc = sum_be(f + ETH_HLEN + 12, 8, acc);
    } else {
        acc = sum_be(f + ETH_HLEN + 8, 32, acc);
    }
    acc += tl >> 16;
    acc += tl & 0xffff;
    acc += 6;
    acc = sum_be(f + l4, tl, acc);
    return fold_be(acc);
}

/* A guest's TSO frame: Ethernet, IPv4 (ID 0x1234, DF) or IPv6, TCP with
 * `opt` bytes of options, seq 1000, flags ACK|PSH|FIN|CWR as asked, the
 * TCP checksum field seeded with the pseudo-header sum. */
static struct pkt build(bool v4, uint32_t payload, uint16_t mss, uint32_t opt, uint8_t flags)
{
    memset(frame, 0, sizeof(frame));
    uint8_t *f = frame;
    memcpy(f, "\x52\x54\x00\x00\x00\x0b\x52\x54\x00\x00\x00\x0a", 12);
    uint32_t l3 = ETH_HLEN, l4, thl = 20 + opt;
    if (v4) {
        f[12] = 0x08, f[13] = 0x00;
        l4 = l3 + 20;
        f[l3] = 0x45;
        uint32_t tot = 20 + thl + payload;
        f[l3 + 2] = (uint8_t)(tot >> 8), f[l3 + 3] = (uint8_t)tot;
        f[l3 + 4] = 0x12, f[l3 + 5] = 0x34;
        f[l3 + 6] = 0x40;                                   /* DF */
        f[l3 + 8] = 64, f[l3 + 9] = 6;
        memcpy(f + l3 + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
    } else {
        f[12] = 0x86, f[13] = 0xdd;
        l4 = l3 + 40;
        f[l3] = 0x60;
        uint32_t pl = thl + payload;
        f[l3 + 4] = (uint8_t)(pl >> 8), f[l3 + 5] = (uint8_t)pl;
        f[l3 + 6] = 6, f[l3 + 7] = 64;
        for (unsigned i = 0; i < 32; i++)
            f[l3 + 8 + i] = (uint8_t)(0xfd + i);
    }
    uint8_t *t = f + l4;
    t[0] = 0x9c, t[1] = 0x40, t[2] = 0xc3, t[3] = 0x50;   /* ports 40000 -> 50000 */
    t[4] = 0, t[5] = 0, t[6] = 0x03, t[7] = 0xe8;         /* seq 1000 */
    t[12] = (uint8_t)((thl / 4) << 4);
    t[13] = flags;
    for (uint32_t i = 0; i < opt; i++)
        t[20 + i] = 1;                                      /* NOPs */
    for (uint32_t i = 0; i < payload; i++)
        t[thl + i] = (uint8_t)(i * 7 + (i >> 8));
    uint32_t len = l4 + thl + payload;
    /* seed: the pseudo-header sum, not complemented (as Linux leaves it) */
    uint32_t acc = v4 ? sum_be(f + l3 + 12, 8, 0) : sum_be(f + l3 + 8, 32, 0);
    acc += (len - l4) >> 16;
    acc += (len - l4) & 0xffff;
    acc += 6;
    uint16_t seed = fold_be(acc);
    t[16] = (uint8_t)(seed >> 8), t[17] = (uint8_t)seed;
    return (struct pkt){ .data = f, .len = len, .csum_flags = PKT_CSUM_PARTIAL, .csum_start = (uint16_t)l4,
                         .csum_offset = 16, .gso_type = v4 ? PKT_GSO_TCPV4 : PKT_GSO_TCPV6, .gso_size = mss };
}

static void segment_all(bool v4, uint32_t payload, uint16_t mss, uint32_t opt, uint8_t flags, bool partial)
{
    struct pkt p = build(v4, payload, mss, opt, flags);
    if (flags & 0x80)
        p.gso_type |= PKT_GSO_ECN;                          /* CWR: an ECN frame */
    assert_true(pkt_gso_check(&p));
    uint32_t hdr = p.csum_start + 20 + opt;
    assert_int_equal(p.hdr_len, hdr);
    unsigned n = pkt_gso_segments(&p);
    assert_int_equal(n, (payload + mss - 1) / mss);
    uint32_t got = 0;
    for (unsigned i = 0; i < n; i++) {
        struct pkt s;
        uint32_t len = pkt_gso_segment(&p, i, seg, sizeof(seg), partial, &s);
        uint32_t part = payload - i * mss < mss ? payload - i * mss : mss;
        assert_int_equal(len, hdr + part);
        assert_int_equal(s.len, len);
        assert_ptr_equal(s.data, seg);
        assert_memory_equal(seg, frame, 14);                /* Ethernet header as it was */
        if (partial) {
            assert_int_equal(s.csum_flags, PKT_CSUM_PARTIAL);
            assert_true(pkt_csum_complete(&s));
        } else {
            assert_int_equal(s.csum_flags, 0);
        }
        if (v4) {
            assert_int_equal(rd16(seg + 14 + 2), len - 14);
            assert_int_equal(rd16(seg + 14 + 4), 0x1234 + i);
            assert_int_equal(rd16(seg + 14 + 6), 0x4000);
            assert_int_equal(fold_be(sum_be(seg + 14, 20, 0)), 0xffff);
        } else {
            assert_int_equal(rd16(seg + 14 + 4), len - 14 - 40);
        }
        const uint8_t *t = seg + p.csum_start;
        assert_int_equal(rd32(t + 4), 1000 + i * mss);
        uint8_t want = flags;
        if (i != 0)
            want &= (uint8_t)~0x80;
        if (i != n - 1)
            want &= (uint8_t)~0x09;
        assert_int_equal(t[13], want);
        assert_int_equal(tcp_sum(seg, len, p.csum_start, v4), 0xffff);
        memcpy(joined + got, seg + hdr, part);
        got += part;
    }
    assert_int_equal(got, payload);
    assert_memory_equal(joined, frame + hdr, payload);
    assert_int_equal(pkt_gso_segment(&p, n, seg, sizeof(seg), partial, &(struct pkt){ 0 }), 0);
}

static void test_ipv4(void **s)
{
    segment_all(true, 10000, 1448, 12, 0x18 | 0x01 | 0x80, false);  /* ACK PSH FIN CWR, timestamps */
    segment_all(true, 64000, 1460, 0, 0x10, false);                 /* 44 segments */
    segment_all(true, 1448, 1448, 12, 0x18, false);                 /* exactly one */
    segment_all(true, 17000, 8948, 0, 0x18, true);                  /* jumbo MSS, left partial */
    segment_all(true, 3001, 1000, 40, 0x19, false);                 /* odd tail, 40 bytes of options */
}

static void test_ipv6(void **s)
{
    segment_all(false, 10000, 1428, 12, 0x18 | 0x01 | 0x80, false);
    segment_all(false, 63000, 1440, 0, 0x10, true);
    segment_all(false, 999, 1428, 0, 0x18, false);
}

static void test_cap(void **s)
{
    struct pkt p = build(true, 9000, 8960, 0, 0x10), x;
    assert_true(pkt_gso_check(&p));
    assert_int_equal(pkt_gso_segment(&p, 0, seg, 1514, false, &x), 0);     /* does not fit */
    assert_int_equal(pkt_gso_segment(&p, 0, seg, sizeof(seg), false, &x), 54 + 8960);
}

/* what pkt_gso_check refuses (each from a good frame, one thing broken) */
static void test_malformed(void **s)
{
    struct pkt p;
#define BAD(setup) do { p = build(true, 5000, 1448, 0, 0x18); setup; assert_false(pkt_gso_check(&p)); } while (0)
#define BAD6(setup) do { p = build(false, 5000, 1448, 0, 0x18); setup; assert_false(pkt_gso_check(&p)); } while (0)
    p = build(true, 5000, 1448, 0, 0x18);
    assert_true(pkt_gso_check(&p));                         /* the good one */
    BAD(p.gso_size = 0);
    BAD(p.gso_type = 3);                                    /* UDP (UFO) */
    BAD(p.gso_type = 5);                                    /* unknown */
    BAD(p.gso_type = PKT_GSO_TCPV6);                        /* not the frame's IP */
    BAD(p.csum_flags = 0);                                  /* GSO needs NEEDS_CSUM */
    BAD(p.csum_start = 14);
    BAD(p.csum_offset = 6);
    BAD(p.len = 40);                                        /* shorter than the headers */
    BAD(p.len -= 1);                                        /* IP total length disagrees */
    BAD(frame[14] = 0x44);                                  /* IHL 4 */
    BAD(frame[14] = 0x55);                                  /* version 5 */
    BAD(frame[14 + 9] = 17);                                /* UDP inside */
    BAD(frame[14 + 6] = 0x20);                              /* more fragments */
    BAD(frame[14 + 7] = 1);                                 /* a fragment's offset */
    BAD(frame[14 + 20 + 12] = 0x40);                        /* TCP data offset 4 */
    p = build(true, 5000, 1448, 0, 0x18);
    frame[14 + 20 + 12] = 0xf0;                             /* 60-byte TCP header: legal, shorter payload */
    assert_true(pkt_gso_check(&p));
    BAD(p.gso_size = 3);                                    /* 1667 segments: too many */
    BAD(frame[14 + 20 + 13] |= 0x80);                       /* CWR without the ECN type */
    BAD(frame[0] = 0xff);                                   /* to broadcast */
    BAD(frame[0] = 0x01);                                   /* to a multicast group */
    p = build(true, 5000, 1448, 0, 0x18 | 0x80);
    p.gso_type |= PKT_GSO_ECN;
    assert_true(pkt_gso_check(&p));                         /* CWR with it: fine */
    p = build(true, 1400 * 40, 40, 0, 0x10);
    assert_true(pkt_gso_check(&p));                         /* exactly PKT_GSO_MAX_SEGS */
    p.len += 1; frame[14 + 3] += 1;
    assert_false(pkt_gso_check(&p));                        /* one more */
    p = build(true, 64 * 100, 100, 0, 0x18);
    assert_true(pkt_gso_check(&p));                         /* 64 segments */
    BAD(p.len = PKT_GSO_MAX_LEN + 1);
    p = build(true, 20, 1448, 0, 0x18);
    p.len = 14 + 20 + 20;                                   /* no payload at all */
    frame[14 + 3] = 40;
    assert_false(pkt_gso_check(&p));
    BAD6(frame[14 + 6] = 0);                                /* an extension header first */
    BAD6(frame[14 + 5] += 1);                               /* payload length disagrees */
    BAD6(frame[12] = 0x08; frame[13] = 0x00);               /* IPv4's ethertype */
    BAD6(frame[12] = 0x81; frame[13] = 0x00);               /* a VLAN tag */
#undef BAD
#undef BAD6
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
