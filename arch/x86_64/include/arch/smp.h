#ifndef ARCH_SMP_H
#define ARCH_SMP_H
#include <stdint.h>
/* Start every CPU in apic_ids[] other than the caller's (BSP, once). */
void smp_boot(const uint32_t *apic_ids, unsigned n);
extern volatile unsigned cpus_online_count;
/* Run fn once on every AP (they idle in between); wait for all to return. */
void smp_run_on_aps(void (*fn)(void));
void smp_wait_aps(void);
#define TICK_HZ 100     /* host timer tick on every CPU */
#endif
