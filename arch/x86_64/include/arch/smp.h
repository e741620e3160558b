#ifndef ARCH_SMP_H
#define ARCH_SMP_H
#include <stdint.h>
/* Start every CPU in apic_ids[] other than the caller's (BSP, once). */
void smp_boot(const uint32_t *apic_ids, unsigned n);
extern volatile unsigned cpus_online_count;
#endif
