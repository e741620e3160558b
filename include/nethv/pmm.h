/*
 * Physical page allocator: a sorted array of free ranges.  No metadata in
 * the managed memory; first fit with alignment and an address ceiling.
 * Pure code (host-tested).  Callers serialize (pmm_* in the kernel wrap it
 * with a lock: see kernel/mem.c).
 */
#ifndef NETHV_PMM_H
#define NETHV_PMM_H

#include <stdint.h>
#include <stdbool.h>

#define PMM_PAGE        4096ull
#define PMM_MAX_RANGES  512

struct pmm_range { uint64_t base, end; };      /* [base, end), page-aligned */

struct pmm {
    struct pmm_range r[PMM_MAX_RANGES];
    unsigned n;
    uint64_t free_bytes;
    unsigned lost_ranges;       /* adds/splits refused because the table was full */
};

void pmm_init(struct pmm *p);
/* Make [base, base+len) free (shrunk inward to whole pages). */
void pmm_add(struct pmm *p, uint64_t base, uint64_t len);
/* Take [base, base+len) out of the free set (grown outward to whole pages). */
void pmm_reserve(struct pmm *p, uint64_t base, uint64_t len);
/*
 * Allocate `npages` contiguous pages aligned to `align` bytes (a power of two,
 * at least a page) lying entirely below `limit` (0 = no limit).  Returns the
 * physical address, or 0 when nothing fits (page 0 is never handed out).
 */
uint64_t pmm_alloc(struct pmm *p, uint64_t npages, uint64_t align, uint64_t limit);
void pmm_free(struct pmm *p, uint64_t base, uint64_t npages);

#endif
