/* Keeps running while another VM dies: sleeps, works, then reports. */
#include "../lib/guest.h"

static volatile unsigned ticks;
static void on_timer(struct guest_frame *f) { ticks++; }

int guest_main(uint32_t magic, uint32_t mbi)
{
    idt_install();
    set_handler(64, on_timer);
    for (int i = 0; i < 10; i++) {
        hypercall(HC_TIMER_ONESHOT, 20000, 64);
        __asm__ volatile("sti; hlt; cli");
    }
    CHECK(ticks == 10, "ticks %u", ticks);
    print("still alive after 10 sleeps\n");
    print("PASS: survivor\n");
    return 0;
}
