/* The kernel's physical memory: one locked page allocator (any CPU). */
#ifndef NETHV_MEM_H
#define NETHV_MEM_H
#include <stdint.h>
#include <nethv/bootinfo.h>

void mem_init(const struct boot_info *bi);
/* Zeroed pages; 0 on failure.  limit: highest address + 1 (0 = any). */
uint64_t page_alloc(uint64_t npages, uint64_t align, uint64_t limit);
void page_free(uint64_t phys, uint64_t npages);
/* Identity map: a physical address is the kernel's pointer to it. */
static inline void *phys_to_virt(uint64_t pa) { return (void *)(uintptr_t)pa; }
static inline uint64_t virt_to_phys(const void *va) { return (uint64_t)(uintptr_t)va; }
/* What the firmware map says of [base, base+len): 1 all RAM, 0 none, -1 mixed. */
int mem_range_is_ram(uint64_t base, uint64_t len);
uint64_t mem_top_of_ram(void);
#endif
