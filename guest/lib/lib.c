/* Test-guest runtime: debug-port printing, hypercalls, IDT. */
#include <stdarg.h>
#include "guest.h"

void puts_(const char *s)
{
    while (*s)
        outb(TESTDEV_DEBUG_PORT, (uint8_t)*s++);
}

static void put_uint(uint32_t v, unsigned base)
{
    char buf[12];
    int i = 0;
    do {
        buf[i++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (i--)
        outb(TESTDEV_DEBUG_PORT, (uint8_t)buf[i]);
}

void print(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            outb(TESTDEV_DEBUG_PORT, (uint8_t)*fmt);
            continue;
        }
        switch (*++fmt) {
        case 's': puts_(va_arg(ap, const char *)); break;
        case 'u': put_uint(va_arg(ap, uint32_t), 10); break;
        case 'x': put_uint(va_arg(ap, uint32_t), 16); break;
        case 'd': {
            int32_t v = va_arg(ap, int32_t);
            if (v < 0) { outb(TESTDEV_DEBUG_PORT, '-'); v = -v; }
            put_uint((uint32_t)v, 10);
            break;
        }
        default: outb(TESTDEV_DEBUG_PORT, (uint8_t)*fmt); break;
        }
    }
    va_end(ap);
}

/* VMCALL on Intel, VMMCALL on AMD: pick by the CPUID vendor once. */
uint32_t hypercall(uint32_t nr, uint32_t b, uint32_t c)
{
    static int amd = -1;
    uint32_t r[4], ret;
    if (amd < 0) {
        cpuid(0, 0, r);
        amd = r[1] == 0x68747541;       /* "Auth" */
    }
    if (amd)
        __asm__ volatile("vmmcall" : "=a"(ret) : "a"(nr), "b"(b), "c"(c) : "memory");
    else
        __asm__ volatile("vmcall" : "=a"(ret) : "a"(nr), "b"(b), "c"(c) : "memory");
    return ret;
}

void guest_exit(int code)
{
    outl(TESTDEV_EXIT_PORT, (uint32_t)code);
    /* not under nethv or QEMU's isa-debug-exit: Bochs' shutdown port ends a
     * bare Bochs run (a write nobody claims elsewhere) */
    for (const char *p = "Shutdown"; *p; p++)
        outb(0x8900, (uint8_t)*p);
    for (;;)
        __asm__ volatile("cli; hlt");
}

struct idt_entry { uint16_t off_lo, sel; uint8_t zero, type; uint16_t off_hi; } __attribute__((packed));
static struct idt_entry idt[256] __attribute__((aligned(8)));
static guest_handler handlers[256];
/* null, flat code 0x08, flat data 0x10, and 0x18: a data segment with P=0
 * (loading it raises #NP, guest/tests/conform.c) */
static uint64_t gdt[4] = { 0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull, 0x00cf12000000ffffull };

#define STUB(n) extern char vec_##n[];
STUB(0) STUB(1) STUB(2) STUB(3) STUB(4) STUB(5) STUB(6) STUB(7) STUB(8) STUB(10) STUB(11)
STUB(12) STUB(13) STUB(14) STUB(16) STUB(17) STUB(18) STUB(19) STUB(32) STUB(48) STUB(64)
STUB(80) STUB(96)

static void gate(unsigned v, void *fn)
{
    uint32_t a = (uint32_t)fn;
    idt[v] = (struct idt_entry){ (uint16_t)a, 0x08, 0, 0x8e, (uint16_t)(a >> 16) };
}

void idt_install(void)
{
    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) gd = { sizeof(gdt) - 1, (uint32_t)gdt },
        id = { sizeof(idt) - 1, (uint32_t)idt };
    __asm__ volatile("lgdt %0; ljmp $0x08, $1f; 1: mov $0x10, %%ax; mov %%ax, %%ds; mov %%ax, %%es; mov %%ax, %%ss"
                     :: "m"(gd) : "eax", "memory");
    gate(0, vec_0); gate(1, vec_1); gate(2, vec_2); gate(3, vec_3); gate(4, vec_4);
    gate(5, vec_5); gate(6, vec_6); gate(7, vec_7); gate(8, vec_8); gate(10, vec_10);
    gate(11, vec_11); gate(12, vec_12); gate(13, vec_13); gate(14, vec_14); gate(16, vec_16);
    gate(17, vec_17); gate(18, vec_18); gate(19, vec_19); gate(32, vec_32); gate(48, vec_48);
    gate(64, vec_64); gate(80, vec_80); gate(96, vec_96);
    __asm__ volatile("lidt %0" :: "m"(id));
}

void set_handler(unsigned vector, guest_handler h)
{
    handlers[vector & 255] = h;
}

void guest_trap(struct guest_frame *f);
void guest_trap(struct guest_frame *f)
{
    if (handlers[f->vector & 255]) {
        handlers[f->vector & 255](f);
        return;
    }
    print("FAIL: unexpected vector %u error %x at eip %x\n", f->vector, f->error, f->eip);
    guest_exit(2);
}

/* ---- a second vCPU (INIT-SIPI-SIPI, SDM 3A 9.4.4) ----------------------------
 * The AP starts in real mode at AP_BASE (SIPI vector AP_BASE >> 12), loads
 * the BSP's GDT and IDT, switches to protected mode and calls the entry
 * function on its own stack; if that returns, it halts. */
#define AP_BASE     0x8000u
#define LAPIC_BASE  0xfee00000u
#define STR_(x) #x
#define STR(x) STR_(x)
extern char ap_blob[], ap_blob_end[], ap_gdtr[];
uint32_t ap_stack_top;
uint8_t ap_idtr[6];
static void (*volatile ap_fn)(void);
static volatile uint32_t ap_running;
void ap_c_entry(void);

__asm__(
    "   .data\n"
    "   .code16\n"
    "   .globl ap_blob, ap_gdtr, ap_blob_end\n"
    "ap_blob:\n"
    "   cli\n"
    "   xorw %ax, %ax\n"
    "   movw %ax, %ds\n"
    "   lgdtl (" STR(AP_BASE) " + ap_gdtr - ap_blob)\n"
    "   movl %cr0, %eax\n"
    "   orl $1, %eax\n"
    "   movl %eax, %cr0\n"
    "   ljmpl $0x08, $ap_pm32\n"
    "   .balign 4\n"
    "ap_gdtr:   .word 0\n   .long 0\n"
    "ap_blob_end:\n"
    "   .code32\n"
    "   .text\n"
    "ap_pm32:\n"
    "   movw $0x10, %ax\n"
    "   movw %ax, %ds\n   movw %ax, %es\n   movw %ax, %fs\n   movw %ax, %gs\n   movw %ax, %ss\n"
    "   movl ap_stack_top, %esp\n"
    "   lidt ap_idtr\n"
    "   call ap_c_entry\n"
    "1: cli\n   hlt\n   jmp 1b\n");

void ap_c_entry(void)
{
    mmio_write32(LAPIC_BASE + 0xf0, (1u << 8) | 0xff);     /* SVR: enabled */
    __atomic_store_n(&ap_running, 1, __ATOMIC_RELEASE);
    ap_fn();
}

void icr_send(uint32_t dest, uint32_t lo)
{
    mmio_write32(LAPIC_BASE + 0x310, dest << 24);
    mmio_write32(LAPIC_BASE + 0x300, lo);
    for (int i = 0; i < 100000 && (mmio_read32(LAPIC_BASE + 0x300) & (1u << 12)); i++)
        ;                               /* delivery status: send pending */
}

static bool ap_wait(void)
{
    for (uint32_t i = 0; i < 50000000u; i++)
        if (__atomic_load_n(&ap_running, __ATOMIC_ACQUIRE))
            return true;
    return false;
}

bool ap_start(void (*fn)(void), uint8_t *stack, uint32_t size)
{
    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) gd, id;
    __asm__ volatile("sgdt %0; sidt %1" : "=m"(gd), "=m"(id));
    uintptr_t at = AP_BASE;
    __asm__("" : "+r"(at));             /* a plain pointer, not a constant */
    volatile uint8_t *dst = (volatile uint8_t *)at;
    for (uint32_t i = 0; i < (uint32_t)(ap_blob_end - ap_blob); i++)
        dst[i] = (uint8_t)ap_blob[i];
    volatile uint8_t *g = dst + (ap_gdtr - ap_blob);
    for (unsigned i = 0; i < 6; i++)
        g[i] = ((uint8_t *)&gd)[i];
    for (unsigned i = 0; i < 6; i++)
        ap_idtr[i] = ((uint8_t *)&id)[i];
    ap_stack_top = (uint32_t)(stack + size);
    ap_fn = fn;
    ap_running = 0;
    icr_send(0, 0xc4500);               /* INIT, assert, all excluding self */
    for (volatile int i = 0; i < 100000; i++)
        ;
    icr_send(0, 0xc4600 | (AP_BASE >> 12));     /* SIPI, twice (SDM 3A 9.4.4.1) */
    if (!ap_wait())
        icr_send(0, 0xc4600 | (AP_BASE >> 12));
    return ap_wait();
}
