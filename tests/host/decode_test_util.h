/*
 * Shared by the decoder's host tests (test_decode.c, test_decode_mmio.c):
 * hex strings to bytes, and decoding from an exactly-sized heap copy so
 * ASan sees any read past `avail`.  Include after cmocka.h and decode.c.
 */
#ifndef DECODE_TEST_UTIL_H
#define DECODE_TEST_UTIL_H

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int hexval(char c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* "0f a2" or "0fa2" -> bytes; returns the count */
static size_t unhex(const char *h, uint8_t *b, size_t max)
{
    size_t n = 0;

    while (*h) {
        if (*h == ' ') {
            h++;
            continue;
        }
        assert_true(h[1] && n < max);
        b[n++] = (uint8_t)(hexval(h[0]) << 4 | hexval(h[1]));
        h += 2;
    }
    return n;
}

/* Decode from an exactly-sized heap copy, so ASan sees any read past avail. */
static int decode_exact(const uint8_t *b, size_t n, int mode, struct insn *in)
{
    uint8_t *copy = malloc(n ? n : 1);
    int rc;

    assert_non_null(copy);
    memcpy(copy, b, n);
    rc = decode_insn(copy, n, (enum cpu_mode)mode, in);
    free(copy);
    return rc;
}

static inline int decode_hex(const char *hex, int mode, struct insn *in)
{
    uint8_t b[64];

    return decode_exact(b, unhex(hex, b, sizeof(b)), mode, in);
}

#endif
