/*
 * Memory isolation: fill our RAM with a per-VM pattern, then look for any
 * other VM's pattern (two copies run, "iso-a" and "iso-b") in all of our
 * RAM, and check that guest-physical memory above our RAM is not RAM at all
 * (reads float high, writes vanish).
 */
#include "../lib/guest.h"

#define MAGIC 0x150150a0u
extern char _end[];

int guest_main(uint32_t magic, uint32_t mbi)
{
    uint32_t mem_upper = ((volatile uint32_t *)mbi)[2];     /* KiB above 1 MiB */
    uint32_t top = 0x100000 + mem_upper * 1024;
    const char *cmd = (const char *)((volatile uint32_t *)mbi)[4];  /* "a" or "b" */
    uint32_t mine = MAGIC | (uint8_t)cmd[0];
    uint32_t start = ((uint32_t)_end + 4095) & ~4095u;
    for (uint32_t a = start; a < top; a += 4)
        *(volatile uint32_t *)a = mine;
    print("filled %x-%x with %x\n", start, top, mine);
    for (int pass = 0; pass < 3; pass++) {
        hypercall(HC_TIMER_ONESHOT, 10000, 64);             /* let the other VM run */
        for (uint32_t a = 0x1000; a < top; a += 4) {
            uint32_t v = *(volatile uint32_t *)a;
            CHECK(v == mine || (v & 0xffffff00u) != MAGIC, "found foreign pattern %x at %x", v, a);
        }
    }
    volatile uint32_t *beyond = (volatile uint32_t *)(top + 0x100000);
    *beyond = 0x11111111;
    CHECK(*beyond == 0xffffffffu, "memory above RAM reads %x", *beyond);
    print("no foreign memory visible; above-RAM reads float\n");
    print("PASS: isolation\n");
    return 0;
}
