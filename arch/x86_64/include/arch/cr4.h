/*
 * MOV to CR4 under the CPUID a guest sees: which CR4 bits it was given, and
 * whether a write is legal (else #GP(0)).  One set of rules for both
 * backends (VMX emulates CR4 writes through the guest/host mask, SVM
 * intercepts them); pure functions, also built for the host tests.
 */
#ifndef ARCH_CR4_H
#define ARCH_CR4_H
#include <stdint.h>

struct cpuid_regs;

/* The CR4 bits the CPUID leaves 1 and 7.0 (as the guest sees them) grant;
 * PCE is always there (SDM 3A 2.5 table: no CPUID bit). */
uint64_t cr4_guest_allowed(uint32_t l1_ecx, uint32_t l1_edx, uint32_t l7_ebx, uint32_t l7_ecx,
                           uint32_t l7_edx);

/* NULL if MOV to CR4 of `val` is legal with `allowed` and the other
 * control registers as given, else the rule it breaks (the caller injects
 * #GP(0)).  SDM 3A 2.5, 4.10.1, SDM 2 "MOV - Move to/from Control Registers". */
const char *cr4_write_check(uint64_t old, uint64_t val, uint64_t allowed, uint64_t cr0,
                            uint64_t cr3, uint64_t efer);
#endif
