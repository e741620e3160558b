/*
 * nethv UEFI loader: ACPI tables when the firmware has none.
 *
 * OVMF publishes ACPI tables only when QEMU's fw_cfg provides them: under
 * Bochs there is no RSDP at all, yet the kernel learns its CPUs from the
 * MADT.  The firmware's MP Services protocol knows the processors, so build
 * the minimum from it: RSDP (rev 2) -> XSDT -> MADT with one local APIC
 * (x2APIC above id 254) entry per enabled CPU, BSP first.  OEM id "NETHV"
 * marks the tables as the loader's.  Nothing else (no FADT, no IOAPIC) is
 * described: the loader does not know it.
 */
#include "loader.h"

struct mp_cpu_info {                    /* EFI_PROCESSOR_INFORMATION (PI 1.x) */
    UINT64 apic_id;
    UINT32 status;                      /* bit 0: BSP, bit 1: enabled */
    UINT32 package, core, thread;
    UINT8  extended[64];                /* newer firmware may write more */
};

struct mp_services {                    /* EFI_MP_SERVICES_PROTOCOL (prefix) */
    EFI_STATUS (EFIAPI *get_number)(struct mp_services *, UINTN *total, UINTN *enabled);
    EFI_STATUS (EFIAPI *get_info)(struct mp_services *, UINTN n, struct mp_cpu_info *);
};

static EFI_GUID mp_guid = { 0x3fdda605, 0xa76e, 0x4f46,
                            { 0xad, 0x29, 0x12, 0xf4, 0x53, 0x1b, 0x3d, 0x08 } };

struct sdt_header {
    char   sig[4];
    UINT32 len;
    UINT8  rev, sum;
    char   oem[6], table[8];
    UINT32 oem_rev, creator, creator_rev;
} __attribute__((packed));

struct rsdp {
    char   sig[8];
    UINT8  sum;
    char   oem[6];
    UINT8  rev;
    UINT32 rsdt;
    UINT32 len;
    UINT64 xsdt;
    UINT8  xsum, reserved[3];
} __attribute__((packed));

#define MAX_CPUS 256

static UINT8 checksum(const void *p, UINTN n)
{
    UINT8 s = 0;
    for (UINTN i = 0; i < n; i++)
        s += ((const UINT8 *)p)[i];
    return (UINT8)-s;
}

static void header(struct sdt_header *h, const char *sig, UINT32 len, UINT8 rev)
{
    CopyMem(h->sig, (void *)sig, 4);
    h->len = len;
    h->rev = rev;
    CopyMem(h->oem, "NETHV ", 6);
    CopyMem(h->table, "NETHVEFI", 8);
    h->oem_rev = 1;
    CopyMem(&h->creator, "NHVL", 4);
    h->creator_rev = 1;
    h->sum = 0;
    h->sum = checksum(h, len);
}

/* Returns the number of CPUs described, 0 if nothing was built. */
UINTN acpi_fallback(struct boot_info *bi)
{
    struct mp_services *mp;
    UINTN total, enabled, n = 0;
    static UINT64 ids[MAX_CPUS];

    if (EFI_ERROR(uefi_call_wrapper(BS->LocateProtocol, 3, &mp_guid, NULL, (void **)&mp)) ||
        EFI_ERROR(mp->get_number(mp, &total, &enabled)) || total == 0)
        return 0;
    for (UINTN i = 0; i < total && n < MAX_CPUS; i++) {
        struct mp_cpu_info ci;
        if (EFI_ERROR(mp->get_info(mp, i, &ci)) || !(ci.status & 2))
            continue;
        if (ci.status & 1) {            /* BSP first */
            for (UINTN j = n; j > 0; j--)
                ids[j] = ids[j - 1];
            ids[0] = ci.apic_id;
        } else {
            ids[n] = ci.apic_id;
        }
        n++;
    }
    if (n == 0)
        return 0;

    /* one page: RSDP at 0, XSDT at 64, MADT at 128 (44 + 16 per CPU) */
    UINT8 *page = alloc_pages(128 + 44 + 16 * MAX_CPUS);
    if (!page)
        return 0;
    struct rsdp *r = (void *)page;
    struct sdt_header *x = (void *)(page + 64);
    struct sdt_header *m = (void *)(page + 128);
    UINT8 *e = (UINT8 *)(m + 1);

    UINT64 apic_base_msr;
    UINT32 lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x1b));
    apic_base_msr = ((UINT64)hi << 32 | lo) & ~0xfffULL;
    *(UINT32 *)e = (UINT32)apic_base_msr;   /* local APIC address */
    *(UINT32 *)(e + 4) = 1;                 /* PCAT_COMPAT: mask the 8259s */
    e += 8;
    for (UINTN i = 0; i < n; i++) {
        if (ids[i] < 255) {                 /* processor local APIC */
            e[0] = 0, e[1] = 8, e[2] = (UINT8)i, e[3] = (UINT8)ids[i];
            *(UINT32 *)(e + 4) = 1;         /* enabled */
            e += 8;
        } else {                            /* processor local x2APIC */
            e[0] = 9, e[1] = 16, e[2] = e[3] = 0;
            *(UINT32 *)(e + 4) = (UINT32)ids[i];
            *(UINT32 *)(e + 8) = 1;
            *(UINT32 *)(e + 12) = (UINT32)i;
            e += 16;
        }
    }
    header(m, "APIC", (UINT32)(e - (UINT8 *)m), 3);
    *(UINT64 *)(x + 1) = (UINT64)m;
    header(x, "XSDT", sizeof(*x) + 8, 1);

    CopyMem(r->sig, "RSD PTR ", 8);
    CopyMem(r->oem, "NETHV ", 6);
    r->rev = 2;
    r->len = sizeof(*r);
    r->xsdt = (UINT64)x;
    r->sum = checksum(r, 20);
    r->xsum = checksum(r, sizeof(*r));
    CopyMem(bi->rsdp, r, sizeof(*r));
    bi->rsdp_len = sizeof(*r);
    return n;
}
