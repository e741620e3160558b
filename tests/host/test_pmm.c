/* Host tests: the physical page allocator (kernel/pmm.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "../../kernel/pmm.c"

#define P PMM_PAGE

/* is addr in a free range? */
static bool pmm_is_free(const struct pmm *p, uint64_t addr)
{
    for (unsigned i = 0; i < p->n; i++)
        if (addr >= p->r[i].base && addr < p->r[i].end)
            return true;
    return false;
}

static void invariants(const struct pmm *p)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < p->n; i++) {
        assert_true(p->r[i].base < p->r[i].end);
        assert_int_equal(p->r[i].base % P, 0);
        assert_int_equal(p->r[i].end % P, 0);
        if (i)
            assert_true(p->r[i - 1].end < p->r[i].base);   /* sorted, merged */
        sum += p->r[i].end - p->r[i].base;
    }
    assert_int_equal(sum, p->free_bytes);
}

static void test_add_merges_and_rounds(void **s)
{
    static struct pmm p;
    pmm_init(&p);
    pmm_add(&p, 0x1000 + 1, 0x3000);        /* -> [0x2000, 0x4000) */
    pmm_add(&p, 0x4000, 0x2000);            /* adjacent: merge */
    pmm_add(&p, 0x3000, 0x2000);            /* overlapping: no double count */
    invariants(&p);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.r[0].base, 0x2000);
    assert_int_equal(p.r[0].end, 0x6000);
    pmm_add(&p, 0, 0x2000);                 /* page 0 never becomes free */
    invariants(&p);
    assert_false(pmm_is_free(&p, 0));
    assert_int_equal(p.n, 1);
    assert_int_equal(p.r[0].base, 0x1000);
}

static void test_reserve_splits(void **s)
{
    static struct pmm p;
    pmm_init(&p);
    pmm_add(&p, 0x100000, 0x100000);
    pmm_reserve(&p, 0x140000 + 5, 0x10);    /* grows outward to one page */
    invariants(&p);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.r[0].end, 0x140000);
    assert_int_equal(p.r[1].base, 0x141000);
    assert_false(pmm_is_free(&p, 0x140000));
    pmm_reserve(&p, 0, UINT64_MAX);         /* everything, no overflow */
    assert_int_equal(p.n, 0);
    assert_int_equal(p.free_bytes, 0);
}

static void test_alloc_align_limit(void **s)
{
    static struct pmm p;
    pmm_init(&p);
    pmm_add(&p, 0x1000, 0x9f000);           /* low memory */
    pmm_add(&p, 0x100000, 0x7f00000);       /* 1 MiB .. 128 MiB */
    uint64_t low = pmm_alloc(&p, 1, P, 0x100000);
    assert_true(low && low < 0x100000);
    uint64_t big = pmm_alloc(&p, 512, 2 << 20, 0);  /* 2 MiB aligned */
    assert_int_equal(big % (2 << 20), 0);
    assert_true(big >= 0x100000);
    assert_int_equal(pmm_alloc(&p, 0x100000, P, 0), 0);   /* 4 GiB: too big */
    assert_int_equal(pmm_alloc(&p, 1, 3 * P, 0), 0);      /* not a power of two */
    assert_int_equal(pmm_alloc(&p, 0, P, 0), 0);
    assert_int_equal(pmm_alloc(&p, UINT64_MAX, P, 0), 0); /* overflow */
    assert_int_equal(pmm_alloc(&p, 0x200, P, 0x1000), 0); /* nothing under the limit */
    invariants(&p);
    uint64_t before = p.free_bytes;
    pmm_free(&p, big, 512);
    assert_int_equal(p.free_bytes, before + 512 * P);
    invariants(&p);
}

static void test_exhaust_and_refill(void **s)
{
    static struct pmm p;
    pmm_init(&p);
    pmm_add(&p, 0x10000, 16 * P);
    uint64_t got[16];
    for (int i = 0; i < 16; i++) {
        got[i] = pmm_alloc(&p, 1, P, 0);
        assert_true(got[i] != 0);
        for (int j = 0; j < i; j++)
            assert_true(got[i] != got[j]);
    }
    assert_int_equal(pmm_alloc(&p, 1, P, 0), 0);
    for (int i = 0; i < 16; i += 2)
        pmm_free(&p, got[i], 1);
    invariants(&p);
    assert_int_equal(p.n, 8);
    for (int i = 1; i < 16; i += 2)
        pmm_free(&p, got[i], 1);
    invariants(&p);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.free_bytes, 16 * P);
}

static void test_table_full_is_counted(void **s)
{
    static struct pmm p;
    pmm_init(&p);
    for (uint64_t i = 0; i < PMM_MAX_RANGES + 10; i++)
        pmm_add(&p, (2 * i + 1) * P, P);    /* disjoint single pages */
    assert_int_equal(p.n, PMM_MAX_RANGES);
    assert_int_equal(p.lost_ranges, 10);
    invariants(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_merges_and_rounds),
        cmocka_unit_test(test_reserve_splits),
        cmocka_unit_test(test_alloc_align_limit),
        cmocka_unit_test(test_exhaust_and_refill),
        cmocka_unit_test(test_table_full_is_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
