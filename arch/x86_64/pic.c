/*
 * Legacy 8259A pair: remapped away from the exception vectors (the BIOS
 * leaves IRQ0 on vector 8, which would look like a #DF) and fully masked.
 * nethv uses the LAPIC and IOAPIC only.  Intel 8259A datasheet (ICW1-4).
 */
#include <arch/x86.h>
#include <arch/regs.h>
#include <arch/pic.h>

#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xa0
#define PIC2_DATA 0xa1
#define ICW1_INIT_ICW4 0x11
#define ICW4_8086      0x01

void pic_disable(void)
{
    outb(PIC1_CMD, ICW1_INIT_ICW4);
    outb(PIC2_CMD, ICW1_INIT_ICW4);
    outb(PIC1_DATA, VEC_PIC_BASE);          /* ICW2: vector base */
    outb(PIC2_DATA, VEC_PIC_BASE + 8);
    outb(PIC1_DATA, 1u << 2);               /* ICW3: slave on IRQ2 */
    outb(PIC2_DATA, 2);
    outb(PIC1_DATA, ICW4_8086);
    outb(PIC2_DATA, ICW4_8086);
    outb(PIC1_DATA, 0xff);                  /* mask everything */
    outb(PIC2_DATA, 0xff);
}
