/*
 * libFuzzer target for kernel/acpi.c.
 *
 * The input is fake physical memory starting at address 0; the RSDP copy
 * handed to acpi_parse() is its first min(size, 36) bytes.  map() returns a
 * malloc'd copy of exactly the requested range, so ASan reports any read
 * past what the parser asked for.  Each input runs twice: as is, and with
 * checksums repaired on the fly (RSDP copy, and any mapped range whose
 * length field equals the mapped length) so the fuzzer gets past them.
 *
 * Build and run (from the repository root):
 *   mkdir -p build/host build/fuzz-acpi-corpus
 *   clang -std=gnu11 -g -O1 -Wall -Wextra -Werror -Wshadow -Wundef \
 *     -Wno-unused-parameter -Iinclude -DNETHV_HOST=1 \
 *     -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *     -o build/host/fuzz_acpi tests/host/fuzz_acpi.c
 *   # optional seeds: synthetic table images written by the unit test
 *   NETHV_ACPI_SEED=build/fuzz-acpi-corpus build/host/test_acpi
 *   build/host/fuzz_acpi -max_total_time=30 -max_len=16384 build/fuzz-acpi-corpus
 */
#include "../../kernel/acpi.c"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *fz_mem;
static size_t fz_size;
static bool fz_fixup;
static void **fz_maps;
static size_t fz_nmaps, fz_cap;

static void fix_sum(uint8_t *p, size_t len, size_t at)
{
    p[at] = 0;
    p[at] = (uint8_t)-sum8(p, len);
}

static const void *fz_map(uint64_t phys, size_t len)
{
    uint8_t *p;

    if (phys > fz_size || len > fz_size - phys)
        return NULL;
    if (fz_nmaps == fz_cap) {
        size_t ncap = fz_cap ? fz_cap * 2 : 64;
        void **n = realloc(fz_maps, ncap * sizeof *n);
        if (!n)
            abort();
        fz_maps = n;
        fz_cap = ncap;
    }
    p = malloc(len ? len : 1);
    if (!p)
        abort();
    memcpy(p, fz_mem + phys, len);
    if (fz_fixup && len >= ACPI_SDT_HDR_LEN && rd(p + ACPI_SDT_LENGTH, 4) == len)
        fix_sum(p, len, 9);
    fz_maps[fz_nmaps++] = p;
    return p;
}

static char fz_log_buf[512];

static void fz_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fz_log_buf, sizeof fz_log_buf, fmt, ap);
    va_end(ap);
}

static uint16_t fz_pm1;

static uint16_t fz_in16(void *ctx, uint16_t port) { return fz_pm1; }
static void fz_out16(void *ctx, uint16_t port, uint16_t val) { fz_pm1 = val; }
static void fz_out8(void *ctx, uint16_t port, uint8_t val) { (void)val; }
static void fz_delay(void *ctx, uint32_t ms) { (void)ms; }

static void run_once(const uint8_t *data, size_t size, bool fixup)
{
    static struct acpi_info info;
    const struct acpi_port_ops io = { fz_in16, fz_out16, fz_out8, fz_delay, NULL };
    uint8_t rsdp[36];
    size_t rlen = size < sizeof rsdp ? size : sizeof rsdp;
    uint8_t *rcopy;

    fz_mem = data;
    fz_size = size;
    fz_fixup = fixup;
    memcpy(rsdp, data, rlen);
    if (fixup && rlen >= ACPI_RSDP_V1_LEN) {
        fix_sum(rsdp, ACPI_RSDP_V1_LEN, 8);
        if (rlen == sizeof rsdp)
            fix_sum(rsdp, sizeof rsdp, 32);
    }
    /* exact-size RSDP copy too */
    rcopy = malloc(rlen ? rlen : 1);
    if (!rcopy)
        abort();
    memcpy(rcopy, rsdp, rlen);

    if (acpi_parse(rcopy, rlen, fz_map, &info, fz_log) == ACPI_OK) {
        acpi_print_summary(&info, fz_log);
        fz_pm1 = 0;
        (void)acpi_poweroff(&info, &io);
        (void)acpi_reset(&info, &io);
    }
    free(rcopy);
    for (size_t i = 0; i < fz_nmaps; i++)
        free(fz_maps[i]);
    fz_nmaps = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t a, b;
    uint8_t *copy = malloc(size ? size : 1);

    if (!copy)
        abort();
    memcpy(copy, data, size);
    (void)acpi_find_s5(copy, size, &a, &b);     /* raw AML scanner */
    run_once(copy, size, false);
    run_once(copy, size, true);
    free(copy);
    return 0;
}
