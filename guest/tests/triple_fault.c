/* A guest that triple-faults: an empty IDT, then an exception. */
#include "../lib/guest.h"

int guest_main(uint32_t magic, uint32_t mbi)
{
    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) none = { 0, 0 };
    print("about to triple-fault\n");
    __asm__ volatile("lidt %0; int3" :: "m"(none));
    print("FAIL: still running after the triple fault\n");
    return 1;
}
