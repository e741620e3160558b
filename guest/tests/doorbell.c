/*
 * Cross-CPU interrupt posting: two VMs on different host CPUs ring each
 * other (HC_DOORBELL) 200 times; each waits in HLT for the other's ring.
 * The command line names the peer and the role: "ping pong" / "pong ping".
 */
#include "../lib/guest.h"

#define VEC_RING 64
#define ROUNDS   200

static volatile unsigned rings;
static void on_ring(struct guest_frame *f) { rings++; }

static void wait_ring(unsigned want)
{
    while (rings < want)
        __asm__ volatile("sti; hlt; cli");
}

int guest_main(uint32_t magic, uint32_t mbi)
{
    const char *cmd = (const char *)((volatile uint32_t *)mbi)[4];
    static char peer[16];
    bool ping = cmd[1] == 'i';
    unsigned i = 0;
    while (cmd[i] && cmd[i] != ' ')
        i++;
    for (unsigned j = 0; cmd[i] && cmd[i + 1 + j] && j < sizeof(peer) - 1; j++)
        peer[j] = cmd[i + 1 + j];
    idt_install();
    set_handler(VEC_RING, on_ring);
    for (unsigned n = 1; n <= ROUNDS; n++) {
        if (ping) {
            while (hypercall(HC_DOORBELL, (uint32_t)peer, VEC_RING) != 0)
                hypercall(HC_TIMER_ONESHOT, 1000, 32);   /* peer not up yet */
            wait_ring(n);
        } else {
            wait_ring(n);
            CHECK(hypercall(HC_DOORBELL, (uint32_t)peer, VEC_RING) == 0, "ring %s", peer);
        }
    }
    print("%u rings exchanged with %s\n", rings, peer);
    print("PASS: doorbell\n");
    return 0;
}
