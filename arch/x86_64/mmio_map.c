/*
 * MMIO beyond the boot-time identity map (paging.c maps [0, max(4 GiB, top
 * of RAM))): firmware may put 64-bit BARs above it.  Adds identity 4 KiB
 * entries, uncached, to the kernel's tables; ranges already mapped are left
 * as they are.  Paging structures: SDM 3A 4.5.
 */
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <nethv/hostpci.h>
#include <arch/paging.h>
#include <arch/regs.h>
#include <arch/user.h>
#include <arch/x86.h>

#define MMIO_ATTR  (PTE_P | PTE_W | PTE_G | PTE_PCD | PTE_PWT)
/* 4-level paging, lower half, below the monitors' slot (arch/user.h) */
#define VA_LIMIT   USER_BASE

/* The next-level table behind entry idx, created if absent; NULL if the
 * entry maps a large page (the address is mapped already) or no memory. */
static uint64_t *table_of(uint64_t *table, unsigned idx, bool *mapped)
{
    uint64_t e = table[idx];
    if (e & PTE_P) {
        if (e & PTE_PS) {
            *mapped = true;
            return NULL;
        }
        return phys_to_virt(e & PTE_ADDR_MASK);
    }
    uint64_t pa = page_alloc(1, PAGE_SIZE, 1ull << 32);
    if (!pa)
        return NULL;
    table[idx] = pa | PTE_P | PTE_W;
    return phys_to_virt(pa);
}

bool mmio_map(uint64_t pa, uint64_t len)
{
    if (!len)
        return true;
    uint64_t first = ALIGN_DOWN(pa, PAGE_SIZE), end = ALIGN_UP(pa + len, PAGE_SIZE);
    if (end < first || end > VA_LIMIT || first < PAGE_SIZE)   /* page 0 stays unmapped */
        return false;
    uint64_t *pml4 = phys_to_virt(kernel_cr3 & PTE_ADDR_MASK);
    for (uint64_t va = first; va < end; va += PAGE_SIZE) {
        bool mapped = false;
        /* a monitor's address space copies the kernel's top level once
         * (uspace_init): no new top-level entry after the first */
        if (!(pml4[(va >> 39) & 511] & PTE_P) && uspace_count) {
            printk("mmio: %#llx needs a new top-level entry, and monitor address spaces exist\n",
                   (unsigned long long)va);
            return false;
        }
        uint64_t *pdpt = table_of(pml4, (va >> 39) & 511, &mapped);
        uint64_t *pd = pdpt ? table_of(pdpt, (va >> 30) & 511, &mapped) : NULL;
        uint64_t *pt = pd ? table_of(pd, (va >> 21) & 511, &mapped) : NULL;
        if (mapped || mem_range_is_ram(va, PAGE_SIZE) == 1)
            continue;                   /* RAM (a stack guard page, too) is not MMIO */
        if (!pt)
            return false;
        if (!(pt[(va >> 12) & 511] & PTE_P)) {
            pt[(va >> 12) & 511] = va | MMIO_ATTR | paging_nx;
            invlpg(va);
        }
    }
    return true;
}
