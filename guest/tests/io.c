/* Port I/O exits: the debug port echoes 0xE9, unclaimed ports float high. */
#include "../lib/guest.h"

int guest_main(uint32_t magic, uint32_t mbi)
{
    CHECK(inb(TESTDEV_DEBUG_PORT) == 0xe9, "debug port read");
    CHECK(inb(0x3e3) == 0xff, "unclaimed port read %x", inb(0x3e3));
    outb(0x3e3, 0x55);                      /* dropped, counted */
    for (int i = 0; i < 1000; i++)
        outb(0x80, (uint8_t)i);
    print("1000 port writes done\n");
    print("PASS: io\n");
    return 0;
}
