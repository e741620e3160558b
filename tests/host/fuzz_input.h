/*
 * The fuzzers' input reader: consume the libFuzzer buffer a byte at a time,
 * reading zeros once it is exhausted (so every input is a complete run).
 * Multi-byte values are little endian, bytes taken in order.
 */
#ifndef TESTS_FUZZ_INPUT_H
#define TESTS_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct in {
    const uint8_t *p;
    size_t n;
};

static inline unsigned get8(struct in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static inline unsigned get16(struct in *in)
{
    unsigned lo = get8(in);
    return lo | get8(in) << 8;
}

static inline uint32_t get32(struct in *in)
{
    uint32_t lo = get16(in);
    return lo | (uint32_t)get16(in) << 16;
}

#endif
