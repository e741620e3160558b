/* An exception injected into the guest: RDMSR of an unimplemented MSR -> #GP. */
#include "../lib/guest.h"

static volatile unsigned gp_count;
static volatile uint32_t gp_error;
static void on_gp(struct guest_frame *f)
{
    gp_count++;
    gp_error = f->error;
    f->eip += 2;                            /* skip the 2-byte RDMSR */
}
static void on_ud(struct guest_frame *f)
{
    gp_count += 100;
    f->eip += 3;                            /* skip the 3-byte VMX/SVM instruction */
}

int guest_main(uint32_t magic, uint32_t mbi)
{
    idt_install();
    set_handler(13, on_gp);
    set_handler(6, on_ud);
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x4b564d99u));
    CHECK(gp_count == 1, "no #GP for an unknown MSR (count %u)", gp_count);
    CHECK(gp_error == 0, "#GP error code %x", gp_error);
    uint32_t r[4];
    cpuid(0, 0, r);
    if (r[1] == 0x68747541)
        __asm__ volatile(".byte 0x0f, 0x01, 0xdc");  /* STGI (SVM) */
    else
        __asm__ volatile(".byte 0x0f, 0x01, 0xc4");  /* VMXOFF */
    CHECK(gp_count == 101, "no #UD for a virtualization instruction (count %u)", gp_count);
    print("#GP and #UD injected and handled\n");
    print("PASS: exception\n");
    return 0;
}
