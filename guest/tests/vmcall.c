/* Hypercalls: the null call in the kernel's fast path, unknown numbers fail. */
#include "../lib/guest.h"

int guest_main(uint32_t magic, uint32_t mbi)
{
    CHECK(hypercall(HC_NULL, 0, 0) == 0, "null hypercall");
    CHECK(hypercall(0x7777, 0, 0) == (uint32_t)HC_INVALID, "unknown hypercall");
    CHECK(hypercall(HC_VCPU_ID, 0, 0) == 0, "vcpu id");
    for (int i = 0; i < 10000; i++)
        hypercall(HC_NULL, 0, 0);
    print("10000 null hypercalls done\n");
    print("PASS: vmcall\n");
    return 0;
}
