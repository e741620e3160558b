/* An MMIO page trapped through EPT/NPT and emulated by the monitor. */
#include "../lib/guest.h"

int guest_main(uint32_t magic, uint32_t mbi)
{
    uint32_t id = mmio_read32(TESTDEV_MMIO_BASE + 4);
    CHECK(id == TESTDEV_MMIO_ID, "device id %x", id);
    mmio_write32(TESTDEV_MMIO_BASE, 0x12345678);
    CHECK(mmio_read32(TESTDEV_MMIO_BASE) == 0x12345678, "scratch register");
    volatile uint8_t *b = (volatile uint8_t *)TESTDEV_MMIO_BASE;
    CHECK(b[0] == 0x78, "byte read of scratch: %x", b[0]);
    uint32_t n = mmio_read32(TESTDEV_MMIO_BASE + 8);
    CHECK(n == 5, "access counter %u, want 5", n);
    print("mmio: id %x, scratch ok, %u accesses\n", id, n);
    print("PASS: mmio\n");
    return 0;
}
