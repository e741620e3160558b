/* HLT yields the CPU; an injected timer interrupt wakes the guest. */
#include "../lib/guest.h"

static volatile unsigned ticks;
static void on_timer(struct guest_frame *f) { ticks++; }

int guest_main(uint32_t magic, uint32_t mbi)
{
    idt_install();
    set_handler(64, on_timer);
    for (int i = 0; i < 3; i++) {
        unsigned before = ticks;
        CHECK(hypercall(HC_TIMER_ONESHOT, 20000, 64) == 0, "timer hypercall");
        __asm__ volatile("sti; hlt; cli");
        CHECK(ticks == before + 1, "woke without the timer interrupt (ticks %u)", ticks);
    }
    print("woke %u times from HLT by the injected timer\n", ticks);
    print("PASS: hlt_timer\n");
    return 0;
}
