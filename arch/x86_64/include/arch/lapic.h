/* Local APIC, xAPIC (MMIO) or x2APIC (MSR) mode (SDM 3A ch. 11). */
#ifndef ARCH_LAPIC_H
#define ARCH_LAPIC_H
#include <stdint.h>
#include <stdbool.h>

/* Register offsets (xAPIC MMIO; x2APIC MSR = 0x800 + (offset >> 4)), SDM 3A table 11-1 */
#define LAPIC_ID        0x020
#define LAPIC_TPR       0x080
#define LAPIC_EOI       0x0b0
#define LAPIC_SVR       0x0f0
#define  LAPIC_SVR_ENABLE   (1u << 8)
#define LAPIC_ESR       0x280
#define LAPIC_ICR_LO    0x300
#define LAPIC_ICR_HI    0x310
#define  ICR_FIXED          (0u << 8)
#define  ICR_NMI            (4u << 8)
#define  ICR_INIT           (5u << 8)
#define  ICR_STARTUP        (6u << 8)
#define  ICR_PENDING        (1u << 12)   /* xAPIC only */
#define  ICR_ASSERT         (1u << 14)
#define  ICR_LEVEL          (1u << 15)
#define LAPIC_LVT_TIMER 0x320
#define  LVT_MASKED         (1u << 16)
#define  LVT_TIMER_PERIODIC (1u << 17)
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_ICR 0x380
#define LAPIC_TIMER_CCR 0x390
#define LAPIC_TIMER_DCR 0x3e0
#define  TIMER_DIV_16       0x3

#define LAPIC_DEFAULT_BASE  0xfee00000ull

void lapic_init_bsp(uint64_t mmio_base);
void lapic_init_cpu(void);
bool lapic_x2apic(void);
uint32_t lapic_id(void);
void lapic_eoi(void);
void lapic_send_ipi(uint32_t apic_id, uint32_t vector);
void lapic_send_init(uint32_t apic_id);
void lapic_send_sipi(uint32_t apic_id, uint8_t page);
/* Timer: count rate in Hz is measured once on the BSP (tsc.c). */
extern uint64_t lapic_timer_hz;
void lapic_timer_periodic(uint32_t hz, uint8_t vector);
uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t v);
#endif
