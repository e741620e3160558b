/* Physical memory set-up from the boot memory map; a locked pmm. */
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <nethv/pmm.h>
#include <nethv/spinlock.h>

extern char __image_start[], __image_end[];

static struct pmm pmm;
static spinlock_t pmm_lock = SPINLOCK_INIT;
static const struct boot_info *boot_map;

static bool is_ram_type(uint32_t t)
{
    return t == BOOT_MEM_USABLE || t == BOOT_MEM_ACPI_RECLAIM ||
           t == BOOT_MEM_ACPI_NVS || t == BOOT_MEM_BOOT_DATA;
}

void mem_init(const struct boot_info *bi)
{
    uint64_t usable = 0;
    unsigned ranges = 0;

    boot_map = bi;
    pmm_init(&pmm);
    for (uint32_t i = 0; i < bi->nmem; i++) {
        if (bi->mem[i].type != BOOT_MEM_USABLE)
            continue;
        pmm_add(&pmm, bi->mem[i].base, bi->mem[i].len);
        usable += bi->mem[i].len;
        ranges++;
    }
    /* never hand out what the boot path gave us */
    pmm_reserve(&pmm, (uint64_t)(uintptr_t)__image_start,
                (uint64_t)(__image_end - __image_start));
    for (uint32_t i = 0; i < bi->nmod; i++)
        pmm_reserve(&pmm, bi->mod[i].base, bi->mod[i].len);
    pmm_reserve(&pmm, (uint64_t)(uintptr_t)bi, sizeof(*bi));
    if (ranges == 0 || pmm.free_bytes == 0)
        panic("mem: the boot memory map has no usable RAM");
    printk("mem: %llu MiB usable in %u ranges, %llu MiB free after kernel and %u modules\n",
           (unsigned long long)(usable >> 20), ranges,
           (unsigned long long)(pmm.free_bytes >> 20), bi->nmod);
}

uint64_t page_alloc(uint64_t npages, uint64_t align, uint64_t limit)
{
    uint64_t f = spin_lock_irqsave(&pmm_lock);
    uint64_t pa = pmm_alloc(&pmm, npages, align, limit);
    spin_unlock_irqrestore(&pmm_lock, f);
    if (pa)
        memset(phys_to_virt(pa), 0, npages * PAGE_SIZE);
    return pa;
}

void page_free(uint64_t phys, uint64_t npages)
{
    uint64_t f = spin_lock_irqsave(&pmm_lock);
    pmm_free(&pmm, phys, npages);
    spin_unlock_irqrestore(&pmm_lock, f);
}

int mem_range_is_ram(uint64_t base, uint64_t len)
{
    uint64_t covered = 0, end = base + len;
    for (uint32_t i = 0; i < boot_map->nmem; i++) {
        const struct boot_mem_range *m = &boot_map->mem[i];
        if (!is_ram_type(m->type))
            continue;
        uint64_t b = m->base > base ? m->base : base;
        uint64_t e = m->base + m->len < end ? m->base + m->len : end;
        if (e > b)
            covered += e - b;
    }
    return covered == len ? 1 : covered == 0 ? 0 : -1;
}

uint64_t mem_top_of_ram(void)
{
    uint64_t top = 0;
    for (uint32_t i = 0; i < boot_map->nmem; i++)
        if (is_ram_type(boot_map->mem[i].type) && boot_map->mem[i].base + boot_map->mem[i].len > top)
            top = boot_map->mem[i].base + boot_map->mem[i].len;
    return top;
}
