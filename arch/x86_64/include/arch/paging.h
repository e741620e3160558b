/* The hypervisor's own 4-level page tables: an identity map of RAM and MMIO. */
#ifndef ARCH_PAGING_H
#define ARCH_PAGING_H
#include <stdint.h>
extern uint64_t kernel_cr3;
/* Build and load the identity map (BSP, after mem_init). */
void paging_init(void);
#endif
