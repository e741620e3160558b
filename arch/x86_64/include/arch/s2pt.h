/*
 * Second-level (guest-physical -> host-physical) 4-level page tables, shared
 * by EPT (VMX) and NPT (SVM).  The radix walk is common; each backend gives
 * the entry encodings (EPT: SDM 3C 29.3.2; NPT: the x86-64 long-mode format,
 * AMD APM 2 15.25.5, with U=1 on every level).
 * Caller: the VM's creator, before its vCPUs run (no lock).
 */
#ifndef ARCH_S2PT_H
#define ARCH_S2PT_H
#include <stdint.h>
#include <stdbool.h>

struct s2pt_format {
    uint64_t (*table)(uint64_t pa);                         /* non-leaf entry */
    uint64_t (*leaf)(uint64_t pa, unsigned prot, unsigned level);   /* level 1: 4K, 2: 2M */
    bool     (*present)(uint64_t e);
    bool     (*is_leaf)(uint64_t e, unsigned level);        /* large page at level 2/3 */
};

/* Map [gpa, gpa+len) to [hpa, hpa+len) with S2_* prot; 2 MiB pages where
 * both addresses and the remaining length allow.  0, or -1 out of memory /
 * an overlapping large mapping.  *root is allocated on first use. */
int s2pt_map(uint64_t *root, unsigned *pages, const struct s2pt_format *f,
             uint64_t gpa, uint64_t hpa, uint64_t len, unsigned prot);
/* Walk: host-physical address for gpa, or ~0ull if unmapped. */
uint64_t s2pt_lookup(uint64_t root, const struct s2pt_format *f, uint64_t gpa);
#endif
