/* Time: TSC frequency and the LAPIC timer rate. */
#ifndef ARCH_TIME_H
#define ARCH_TIME_H
#include <stdint.h>
extern uint64_t tsc_hz;
/* Measure TSC and LAPIC-timer (divide-by-16) rates; BSP, interrupts off. */
void time_calibrate(void);
void udelay(uint64_t us);
#endif
