/* Physical page allocator over sorted free ranges (see include/nethv/pmm.h). */
#include <string.h>
#include <nethv/pmm.h>

#define DOWN(x) ((x) & ~(PMM_PAGE - 1))
#define UP(x)   (((x) + PMM_PAGE - 1) & ~(PMM_PAGE - 1))

void pmm_init(struct pmm *p)
{
    memset(p, 0, sizeof(*p));
}

static void remove_at(struct pmm *p, unsigned i)
{
    memmove(&p->r[i], &p->r[i + 1], (p->n - i - 1) * sizeof(p->r[0]));
    p->n--;
}

static bool insert_at(struct pmm *p, unsigned i, uint64_t base, uint64_t end)
{
    if (p->n == PMM_MAX_RANGES) {
        p->lost_ranges++;
        return false;
    }
    memmove(&p->r[i + 1], &p->r[i], (p->n - i) * sizeof(p->r[0]));
    p->r[i] = (struct pmm_range){ base, end };
    p->n++;
    return true;
}

static uint64_t range_sum(const struct pmm *p)
{
    uint64_t s = 0;
    for (unsigned i = 0; i < p->n; i++)
        s += p->r[i].end - p->r[i].base;
    return s;
}

void pmm_add(struct pmm *p, uint64_t base, uint64_t len)
{
    uint64_t end = base + len < base ? DOWN(UINT64_MAX) : DOWN(base + len);
    base = UP(base);
    if (base == 0)
        base = PMM_PAGE;                /* page 0 stays out: 0 means failure */
    if (end <= base)
        return;
    /* drop what is already free, then insert and merge with neighbours */
    pmm_reserve(p, base, end - base);
    unsigned i = 0;
    while (i < p->n && p->r[i].base < base)
        i++;
    if (i > 0 && p->r[i - 1].end == base) {
        p->r[i - 1].end = end;
        if (i < p->n && p->r[i].base == end) {
            p->r[i - 1].end = p->r[i].end;
            remove_at(p, i);
        }
    } else if (i < p->n && p->r[i].base == end) {
        p->r[i].base = base;
    } else {
        insert_at(p, i, base, end);
    }
    p->free_bytes = range_sum(p);
}

void pmm_reserve(struct pmm *p, uint64_t base, uint64_t len)
{
    uint64_t end = (base + len < base || base + len > DOWN(UINT64_MAX)) ? UINT64_MAX : UP(base + len);
    base = DOWN(base);
    for (unsigned i = 0; i < p->n;) {
        struct pmm_range *r = &p->r[i];
        if (r->end <= base || r->base >= end) {
            i++;
        } else if (r->base >= base && r->end <= end) {
            remove_at(p, i);
        } else if (r->base < base && r->end > end) {
            uint64_t old_end = r->end;
            r->end = base;
            /* a full table leaks the tail (counted in lost_ranges), never double-uses it */
            insert_at(p, i + 1, end, old_end);
            i += 2;
        } else if (r->base < base) {
            r->end = base;
            i++;
        } else {
            r->base = end;
            i++;
        }
    }
    p->free_bytes = range_sum(p);
}

uint64_t pmm_alloc(struct pmm *p, uint64_t npages, uint64_t align, uint64_t limit)
{
    if (npages == 0 || npages > UINT64_MAX / PMM_PAGE)
        return 0;
    if (align < PMM_PAGE)
        align = PMM_PAGE;
    if (align & (align - 1))
        return 0;
    uint64_t size = npages * PMM_PAGE;
    for (unsigned i = 0; i < p->n; i++) {
        uint64_t b = (p->r[i].base + align - 1) & ~(align - 1);
        if (b < p->r[i].base || b >= p->r[i].end || p->r[i].end - b < size)
            continue;
        if (limit && (b >= limit || limit - b < size))
            continue;
        pmm_reserve(p, b, size);
        return b;
    }
    return 0;
}

void pmm_free(struct pmm *p, uint64_t base, uint64_t npages)
{
    pmm_add(p, base, npages * PMM_PAGE);
}

