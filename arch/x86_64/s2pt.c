/* Shared second-level page-table walker (see arch/s2pt.h). */
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <arch/s2pt.h>
#include <arch/regs.h>

#define SZ_4K   0x1000ull
#define SZ_2M   0x200000ull

static unsigned idx(uint64_t gpa, unsigned level)   /* level 4 = PML4 */
{
    return (unsigned)(gpa >> (12 + 9 * (level - 1))) & 511;
}

static uint64_t *walk(uint64_t *root, unsigned *pages, const struct s2pt_format *f,
                      uint64_t gpa, unsigned stop_level)
{
    if (!*root) {
        *root = page_alloc(1, PAGE_SIZE, 0);
        if (!*root)
            return NULL;
        (*pages)++;
    }
    uint64_t *t = phys_to_virt(*root);
    for (unsigned level = 4; level > stop_level; level--) {
        uint64_t *e = &t[idx(gpa, level)];
        if (!f->present(*e)) {
            uint64_t pa = page_alloc(1, PAGE_SIZE, 0);
            if (!pa)
                return NULL;
            (*pages)++;
            *e = f->table(pa);
        } else if (f->is_leaf(*e, level)) {
            return NULL;        /* a large page already covers this range */
        }
        t = phys_to_virt(*e & PTE_ADDR_MASK);
    }
    return &t[idx(gpa, stop_level)];
}

int s2pt_map(uint64_t *root, unsigned *pages, const struct s2pt_format *f,
             uint64_t gpa, uint64_t hpa, uint64_t len, unsigned prot)
{
    if ((gpa | hpa | len) & (SZ_4K - 1) || gpa + len < gpa)
        return -1;
    while (len) {
        bool big = !((gpa | hpa) & (SZ_2M - 1)) && len >= SZ_2M;
        unsigned level = big ? 2 : 1;
        uint64_t *e = walk(root, pages, f, gpa, level);
        if (!e)
            return -1;
        *e = f->leaf(hpa, prot, level);
        uint64_t step = big ? SZ_2M : SZ_4K;
        gpa += step;
        hpa += step;
        len -= step;
    }
    return 0;
}

uint64_t s2pt_lookup(uint64_t root, const struct s2pt_format *f, uint64_t gpa)
{
    if (!root)
        return ~0ull;
    const uint64_t *t = phys_to_virt(root);
    for (unsigned level = 4; level >= 1; level--) {
        uint64_t e = t[idx(gpa, level)];
        if (!f->present(e))
            return ~0ull;
        if (level == 1 || f->is_leaf(e, level)) {
            uint64_t size = 1ull << (12 + 9 * (level - 1));
            return (e & PTE_ADDR_MASK & ~(size - 1)) | (gpa & (size - 1));
        }
        t = phys_to_virt(e & PTE_ADDR_MASK);
    }
    return ~0ull;
}
