/* The hypervisor's own 4-level page tables: an identity map of RAM and MMIO
 * with W^X, NX and guard pages (paging.c). */
#ifndef ARCH_PAGING_H
#define ARCH_PAGING_H
#include <stdbool.h>
#include <stdint.h>
extern uint64_t kernel_cr3;
extern uint64_t paging_nx;      /* PTE_NX, or 0 on a CPU without NX */
/* Build and load the identity map (BSP, after mem_init). */
void paging_init(void);
/* EFER.NXE, CR0.WP, CR4.PGE/SMEP/SMAP on this CPU (each AP, on arrival). */
void paging_init_cpu(void);
/* Set and clear PTE bits on [va, va+len), splitting 2 MiB pages; flushes
 * this CPU's TLB entries only. */
void paging_protect(uint64_t va, uint64_t len, uint64_t set, uint64_t clear);
/* Unmap one page at the bottom of a stack: an overflow faults. */
void paging_guard_stack(uint64_t lowest_page);
/* The AP trampoline's page executable or not. */
void paging_trampoline(uint64_t pa, bool executable);
#endif
