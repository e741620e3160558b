/*
 * Frame helpers of the datapath (nethv/pkt.h): software completion of a
 * partial (virtio NEEDS_CSUM) TCP/UDP checksum.  Host-testable.
 *
 * The Internet checksum (RFC 1071) is the ones'-complement sum of 16-bit
 * words.  That sum does not depend on byte order (RFC 1071 2.B): summing
 * the words as little-endian loads and storing the folded result the same
 * way yields the correct big-endian bytes, so no byte swaps are needed.
 * General registers only (the kernel builds with -mgeneral-regs-only).
 */
#include <stdint.h>
#include <string.h>
#include <nethv/pkt.h>

/* Ones'-complement partial sum of [p, p+len) in the machine's byte order,
 * not yet folded: 32-bit halves into a 64-bit accumulator cannot carry out
 * for any frame length (2^31 words). */
static uint64_t csum_partial(const uint8_t *p, uint32_t len)
{
    uint64_t acc = 0;
    while (len >= 32) {
        uint64_t w[4];
        memcpy(w, p, sizeof(w));        /* unaligned loads, no UB */
        acc += (w[0] & 0xffffffffu) + (w[0] >> 32);
        acc += (w[1] & 0xffffffffu) + (w[1] >> 32);
        acc += (w[2] & 0xffffffffu) + (w[2] >> 32);
        acc += (w[3] & 0xffffffffu) + (w[3] >> 32);
        p += 32;
        len -= 32;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, sizeof(w));
        acc += (w & 0xffffffffu) + (w >> 32);
        p += 8;
        len -= 8;
    }
    while (len >= 2) {
        uint16_t w;
        memcpy(&w, p, sizeof(w));
        acc += w;
        p += 2;
        len -= 2;
    }
    if (len) {
        /* the odd last byte is padded with a zero byte after it (RFC 1071) */
        uint8_t tail[2] = { p[0], 0 };
        uint16_t w;
        memcpy(&w, tail, sizeof(w));
        acc += w;
    }
    return acc;
}

static uint16_t csum_fold(uint64_t acc)
{
    acc = (acc & 0xffffffffu) + (acc >> 32);
    acc = (acc & 0xffffffffu) + (acc >> 32);
    acc = (acc & 0xffffu) + (acc >> 16);
    acc = (acc & 0xffffu) + (acc >> 16);
    return (uint16_t)acc;
}

bool pkt_csum_complete(struct pkt *p)
{
    uint32_t start = p->csum_start, field = start + p->csum_offset;

    if (!(p->csum_flags & PKT_CSUM_PARTIAL))
        return true;
    if (field + 2 > p->len)             /* also covers start >= len */
        return false;
    /* the field holds the pseudo-header sum: it is part of the range */
    uint16_t c = (uint16_t)~csum_fold(csum_partial(p->data + start, p->len - start));
    /* UDP (its checksum field is 6 bytes in): a computed 0 is sent as 0xffff,
     * since 0 means "no checksum" (RFC 768); TCP keeps 0 (RFC 1624 3) */
    if (c == 0 && p->csum_offset == 6)
        c = 0xffff;
    memcpy(p->data + field, &c, sizeof(c));
    p->csum_flags &= (uint8_t)~PKT_CSUM_PARTIAL;
    return true;
}

/* ---- TCP segmentation offload in software (GSO) --------------------------------- */

#define IPV4_HLEN_MIN   20
#define IPV6_HLEN       40
#define TCP_HLEN_MIN    20
#define IP_PROTO_TCP    6
#define IPV4_DF_MASK    0x4000u     /* flags + fragment offset: only DF may be set */
#define TCP_CSUM_OFF    16          /* the checksum's offset in the TCP header */
#define TCP_FIN         0x01
#define TCP_PSH         0x08
#define TCP_CWR         0x80

static uint16_t pkt_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t pkt_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void pkt_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void pkt_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

bool pkt_gso_check(struct pkt *p)
{
    const uint8_t *d = p->data;
    uint32_t len = p->len, l3 = ETH_HLEN, l4;
    uint8_t type = p->gso_type & (uint8_t)~PKT_GSO_ECN;

    if (len < ETH_HLEN || len > PKT_GSO_MAX_LEN || !p->gso_size ||
        !(p->csum_flags & PKT_CSUM_PARTIAL))
        return false;
    if (type == PKT_GSO_TCPV4 && pkt_be16(d + 12) == ETH_P_IP) {
        if (len < l3 + IPV4_HLEN_MIN)
            return false;
        uint32_t ihl = (d[l3] & 0xfu) * 4u;
        if ((d[l3] >> 4) != 4 || ihl < IPV4_HLEN_MIN || d[l3 + 9] != IP_PROTO_TCP ||
            (pkt_be16(d + l3 + 6) & ~IPV4_DF_MASK) || pkt_be16(d + l3 + 2) != len - l3)
            return false;
        l4 = l3 + ihl;
    } else if (type == PKT_GSO_TCPV6 && pkt_be16(d + 12) == ETH_P_IPV6) {
        if (len < l3 + IPV6_HLEN || (d[l3] >> 4) != 6 || d[l3 + 6] != IP_PROTO_TCP ||
            pkt_be16(d + l3 + 4) != len - l3 - IPV6_HLEN)
            return false;
        l4 = l3 + IPV6_HLEN;
    } else {
        return false;                   /* unknown type (UDP too), or not the type's IP */
    }
    if (len < l4 + TCP_HLEN_MIN)
        return false;
    uint32_t hdr = l4 + (d[l4 + 12] >> 4) * 4u;
    if (hdr < l4 + TCP_HLEN_MIN || hdr >= len || p->csum_start != l4 ||
        p->csum_offset != TCP_CSUM_OFF)
        return false;
    /* CWR set: only as an ECN frame (virtio 5.1.6.4.1: a driver without
     * GUEST_ECN never gets one); a group destination: TCP has none */
    if (((d[l4 + 13] & TCP_CWR) && !(p->gso_type & PKT_GSO_ECN)) || (d[0] & 1))
        return false;
    p->hdr_len = (uint16_t)hdr;
    return pkt_gso_segments(p) <= PKT_GSO_MAX_SEGS;
}

unsigned pkt_gso_segments(const struct pkt *p)
{
    uint32_t payload = p->len - p->hdr_len;
    return p->gso_size ? (payload + p->gso_size - 1) / p->gso_size : 0;
}

uint32_t pkt_gso_segment(const struct pkt *p, unsigned i, uint8_t *buf, uint32_t cap,
                         bool partial_ok, struct pkt *seg)
{
    const uint32_t hdr = p->hdr_len, l3 = ETH_HLEN, l4 = p->csum_start;
    const uint32_t payload = p->len - hdr, off = i * (uint32_t)p->gso_size;
    const unsigned n = pkt_gso_segments(p);
    if (i >= n)
        return 0;
    const uint32_t part = payload - off < p->gso_size ? payload - off : p->gso_size;
    const uint32_t len = hdr + part;
    if (len > cap)
        return 0;
    memcpy(buf, p->data, hdr);
    memcpy(buf + hdr, p->data + hdr + off, part);
    uint8_t *tcp = buf + l4;
    bool v4 = (buf[l3] >> 4) == 4;
    uint64_t pseudo;                    /* the pseudo-header's partial sum (RFC 793, RFC 8200 8.1) */
    uint8_t lenw[4] = { 0, 0, (uint8_t)((len - l4) >> 8), (uint8_t)(len - l4) };
    uint8_t proto[4] = { 0, 0, 0, IP_PROTO_TCP };
    if (v4) {
        uint8_t *ip = buf + l3;
        pkt_put16(ip + 2, (uint16_t)(len - l3));
        pkt_put16(ip + 4, (uint16_t)(pkt_be16(ip + 4) + i));            /* IDs in sequence */
        pkt_put16(ip + 10, 0);
        uint16_t c = (uint16_t)~csum_fold(csum_partial(ip, l4 - l3));
        memcpy(ip + 10, &c, 2);
        pseudo = csum_partial(ip + 12, 8) + csum_partial(lenw + 2, 2) + csum_partial(proto + 2, 2);
    } else {
        pkt_put16(buf + l3 + 4, (uint16_t)(len - l3 - IPV6_HLEN));
        pseudo = csum_partial(buf + l3 + 8, 32) + csum_partial(lenw, 4) + csum_partial(proto, 4);
    }
    pkt_put32(tcp + 4, pkt_be32(tcp + 4) + off);
    if (i != 0)
        tcp[13] &= (uint8_t)~TCP_CWR;
    if (i != n - 1)
        tcp[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
    uint16_t seed = csum_fold(pseudo);  /* not complemented: a partial checksum's seed */
    memcpy(tcp + TCP_CSUM_OFF, &seed, 2);
    *seg = (struct pkt){ .data = buf, .len = len, .in_port = p->in_port, .csum_flags = PKT_CSUM_PARTIAL,
                         .csum_start = (uint16_t)l4, .csum_offset = TCP_CSUM_OFF };
    if (!partial_ok)
        pkt_csum_complete(seg);
    return len;
}
