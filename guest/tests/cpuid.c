/* CPUID policy as a guest sees it: hypervisor bit and leaf, no nested virtualization. */
#include "../lib/guest.h"

int guest_main(uint32_t magic, uint32_t mbi)
{
    uint32_t r[4];
    char sig[13];
    CHECK(magic == 0x2badb002, "multiboot magic %x", magic);
    cpuid(1, 0, r);
    CHECK(r[2] & (1u << 31), "CPUID.1:ECX.hypervisor clear");
    CHECK(!(r[2] & (1u << 5)), "VMX visible to the guest");
    cpuid(0x80000001, 0, r);
    CHECK(!(r[2] & (1u << 2)), "SVM visible to the guest");
    cpuid(0x40000000, 0, r);
    for (int i = 0; i < 4; i++) {
        sig[i] = (char)(r[1] >> (8 * i));
        sig[4 + i] = (char)(r[2] >> (8 * i));
        sig[8 + i] = (char)(r[3] >> (8 * i));
    }
    sig[12] = 0;
    print("hypervisor leaf %x: %s\n", r[0], sig);
    for (int i = 0; i < 12; i++)
        CHECK(sig[i] == "nethvnethvnv"[i], "signature %s", sig);
    print("PASS: cpuid\n");
    return 0;
}
