/*
 * Identity map of [0, max(4 GiB, top of RAM)): 2 MiB pages where the chunk
 * is uniformly RAM or uniformly not, 4 KiB pages where it is mixed.  RAM is
 * write-back; everything else (MMIO, holes) uncached (PCD|PWT).
 * Paging structures: SDM 3A 4.5.
 */
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <arch/paging.h>
#include <arch/regs.h>
#include <arch/x86.h>

#define PT_ENTRIES      512
#define SZ_2M           (2ull << 20)
#define SZ_1G           (1ull << 30)
#define PT_LIMIT        (1ull << 32)    /* tables below 4 GiB: the AP trampoline loads CR3 in 32 bits */
#define ATTR_UC         (PTE_PCD | PTE_PWT)

uint64_t kernel_cr3;
static unsigned n_2m, n_4k;

static uint64_t *new_table(void)
{
    uint64_t pa = page_alloc(1, PAGE_SIZE, PT_LIMIT);
    if (!pa)
        panic("paging: out of memory for page tables");
    return phys_to_virt(pa);
}

static uint64_t *next_level(uint64_t *table, unsigned idx)
{
    if (!(table[idx] & PTE_P))
        table[idx] = virt_to_phys(new_table()) | PTE_P | PTE_W;
    return phys_to_virt(table[idx] & PTE_ADDR_MASK);
}

static void map_2m_chunk(uint64_t *pml4, uint64_t va)
{
    uint64_t *pdpt = next_level(pml4, (va >> 39) & 511);
    uint64_t *pd = next_level(pdpt, (va >> 30) & 511);
    int ram = mem_range_is_ram(va, SZ_2M);
    if (ram >= 0) {
        pd[(va >> 21) & 511] = va | PTE_P | PTE_W | PTE_PS | PTE_G | (ram ? 0 : ATTR_UC);
        n_2m++;
        return;
    }
    uint64_t *pt = next_level(pd, (va >> 21) & 511);
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        uint64_t a = va + (uint64_t)i * PAGE_SIZE;
        pt[i] = a | PTE_P | PTE_W | PTE_G | (mem_range_is_ram(a, PAGE_SIZE) == 1 ? 0 : ATTR_UC);
    }
    n_4k += PT_ENTRIES;
}

void paging_init(void)
{
    uint64_t top = mem_top_of_ram();
    if (top < 4 * SZ_1G)
        top = 4 * SZ_1G;
    top = ALIGN_UP(top, SZ_2M);

    uint64_t *pml4 = new_table();
    for (uint64_t va = 0; va < top; va += SZ_2M)
        map_2m_chunk(pml4, va);
    kernel_cr3 = virt_to_phys(pml4);
    write_cr4(read_cr4() | CR4_PGE);
    write_cr3(kernel_cr3);
    printk("paging: identity map 0-%llu MiB, %u 2M pages, %u 4K pages\n",
           (unsigned long long)(top >> 20), n_2m, n_4k);
}
