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
