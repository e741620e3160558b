/*
 * Exit-handling benchmark (make bench: tests/bench/cpu-exits.sh, scenario
 * config/bench.dts): N null hypercalls (the kernel's fast path), then N
 * port writes to an unclaimed port and N 32-bit stores to an unclaimed
 * guest-physical address (both handled by the per-VM monitor).  Each loop is
 * bracketed by "BENCH-START NAME" / "BENCH-END NAME N" console lines
 * that the host timestamps by wall clock.  N from the command line ("n=N",
 * the VM's bootargs), default 100000.
 */
#include "../lib/guest.h"

#define BENCH_PORT 0x3e3            /* unclaimed: writes are dropped and counted */
/* Unclaimed MMIO: not RAM (the VM has 4 MiB from GPA 0; this guest runs
 * flat 32-bit protected mode without paging, so the address is the GPA),
 * not the test device at 0xfeb00000 (a test VM's only MMIO device), nor the
 * PC platform's ECAM, PCI window, IOAPIC or LAPIC.  Each store is an EPT
 * violation / NPF that the kernel forwards to the monitor (the VM has no
 * virtio notify area and no LAPIC for its fast paths), which decodes the
 * MOV, drops the write, counts it (unhandled_mmio) and resumes the guest
 * past it (vmm/mmio.c). */
#define BENCH_MMIO 0xa0000000u
#define WARMUP     100u

static uint32_t arg_n(uint32_t magic, uint32_t mbi, uint32_t def)
{
    if (magic != 0x2badb002u || !(((volatile uint32_t *)mbi)[0] & 4))
        return def;
    const char *s = (const char *)((volatile uint32_t *)mbi)[4];
    for (; *s; s++) {
        if (s[0] != 'n' || s[1] != '=')
            continue;
        uint32_t v = 0;
        for (s += 2; *s >= '0' && *s <= '9'; s++)
            v = v * 10 + (uint32_t)(*s - '0');
        return v ? v : def;
    }
    return def;
}

int guest_main(uint32_t magic, uint32_t mbi)
{
    uint32_t n = arg_n(magic, mbi, 100000);

    CHECK(hypercall(HC_NULL, 0, 0) == 0, "null hypercall");
    for (uint32_t i = 0; i < WARMUP; i++) {
        hypercall(HC_NULL, 0, 0);
        outb(BENCH_PORT, 0);
        mmio_write32(BENCH_MMIO, 0);
    }

    print("BENCH-START hypercall\n");
    for (uint32_t i = 0; i < n; i++)
        hypercall(HC_NULL, 0, 0);
    print("BENCH-END hypercall %u\n", n);

    print("BENCH-START io\n");
    for (uint32_t i = 0; i < n; i++)
        outb(BENCH_PORT, (uint8_t)i);
    print("BENCH-END io %u\n", n);

    print("BENCH-START mmio\n");
    for (uint32_t i = 0; i < n; i++)
        mmio_write32(BENCH_MMIO, i);
    print("BENCH-END mmio %u\n", n);

    print("PASS: bench\n");
    return 0;
}
