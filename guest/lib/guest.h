/* The tiny runtime of nethv's bare-metal test guests (32-bit protected mode). */
#ifndef GUEST_H
#define GUEST_H
#include <stdint.h>
#include <stdbool.h>
#include "../../include/nethv/guestabi.h"

struct guest_frame {
    uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax;   /* pusha */
    uint32_t vector, error, eip, cs, eflags;
};
typedef void (*guest_handler)(struct guest_frame *f);

static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(p)); }
static inline uint8_t inb(uint16_t p) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint32_t inl(uint16_t p) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
/* IA32_SPEC_CTRL (MSR 0x48) bits CPUID offers: IBRS (0), STIBP (1), SSBD (2),
 * by Intel's leaf 7 EDX or AMD's 0x80000008 EBX; 0: no such MSR */
#define MSR_SPEC_CTRL   0x48u
#define MSR_PRED_CMD    0x49u
static inline uint32_t spec_ctrl_offered(void)
{
    uint32_t r[4], bits = 0;
    cpuid(0, 0, r);
    if (r[0] >= 7) {
        cpuid(7, 0, r);
        bits |= ((r[3] >> 26) & 1) | (((r[3] >> 27) & 1) << 1) | (((r[3] >> 31) & 1) << 2);
    }
    cpuid(0x80000000u, 0, r);
    if (r[0] >= 0x80000008u) {
        cpuid(0x80000008u, 0, r);
        bits |= ((r[1] >> 14) & 1) | (((r[1] >> 15) & 1) << 1) | (((r[1] >> 24) & 1) << 2);
    }
    return bits;
}
static inline uint32_t mmio_read32(uint32_t a) { return *(volatile uint32_t *)a; }
static inline void mmio_write32(uint32_t a, uint32_t v) { *(volatile uint32_t *)a = v; }

void puts_(const char *s);                  /* to the debug port */
void print(const char *fmt, ...);           /* %s %d %u %x only */
uint32_t hypercall(uint32_t nr, uint32_t b, uint32_t c);
void guest_exit(int code) __attribute__((noreturn));
void set_handler(unsigned vector, guest_handler h);     /* vectors with stubs: 0-8 10-14 16-19 32 48 64 80 96 */
void idt_install(void);
int guest_main(uint32_t magic, uint32_t mbi);
/* Start the other vCPU on fn (32-bit PM, this CPU's GDT/IDT, its LAPIC
 * enabled), on stack[0..size); true once it runs.  One AP only. */
bool ap_start(void (*fn)(void), uint8_t *stack, uint32_t size);
void icr_send(uint32_t dest, uint32_t lo);  /* xAPIC ICR, waits for delivery (bounded) */

#define CHECK(cond, ...) do { if (!(cond)) { print("FAIL: " __VA_ARGS__); print("\n"); guest_exit(1); } } while (0)
#endif
