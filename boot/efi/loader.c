/*
 * nethv UEFI loader: efi_main.
 *
 * Reserves the embedded kernel's physical range, gathers modules, the
 * command line, the ACPI RSDP and the memory map into a struct boot_info,
 * exits boot services, places the kernel and enters its 64-bit entry with
 * RDI = BOOT_INFO_MAGIC, RSI = &boot_info (handoff.c; the entry contract is
 * in include/nethv/bootinfo.h).
 */
#include "loader.h"

#define MAP_SLACK   32                  /* descriptors of head room */

static EFI_GUID acpi20_guid = ACPI_20_TABLE_GUID;
static EFI_GUID acpi10_guid = ACPI_TABLE_GUID;

static void find_rsdp(struct boot_info *bi)
{
    const UINT8 *rsdp = NULL;
    int v2 = 0;

    for (UINTN i = 0; i < ST->NumberOfTableEntries; i++) {
        EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];
        if (!CompareGuid(&t->VendorGuid, &acpi20_guid)) {
            rsdp = t->VendorTable;
            v2 = 1;
            break;
        }
        if (!rsdp && !CompareGuid(&t->VendorGuid, &acpi10_guid))
            rsdp = t->VendorTable;
    }
    if (!rsdp || CompareMem(rsdp, "RSD PTR ", 8)) {
        UINTN n = acpi_fallback(bi);
        if (n)
            Print(L"nethv-efi: no ACPI tables from the firmware: built RSDP/XSDT/MADT"
                  L" for %ld CPUs from MP Services\n", n);
        else
            Print(L"nethv-efi: warning: no ACPI RSDP\n");
        return;
    }
    /* The 2.0 GUID normally points at a revision >= 2 RSDP (36 bytes). */
    bi->rsdp_len = (v2 && rsdp[15] >= 2) ? 36 : 20;
    CopyMem(bi->rsdp, (void *)rsdp, bi->rsdp_len);
}

static void set_loader_name(struct boot_info *bi)
{
    char vendor[BOOT_LOADER_NAME];
    ascii_from_ucs2(vendor, sizeof(vendor), ST->FirmwareVendor ? ST->FirmwareVendor : L"?", 32);
    ascii_copy(bi->loader, sizeof(bi->loader), "UEFI ");
    ascii_append(bi->loader, sizeof(bi->loader), vendor);
    ascii_append(bi->loader, sizeof(bi->loader), " ");
    ascii_append_hex(bi->loader, sizeof(bi->loader), ST->FirmwareRevision);
}

struct mapbuf {
    const struct kimage *k;
    int kernel_ok;                      /* kernel range free in the final map */
    UINT8 *map;
    UINTN cap, size, key, dsize;
    UINT32 dver;
    struct boot_mem_range *scratch;
    UINTN scratch_cap;
};

static EFI_STATUS get_map(struct mapbuf *m)
{
    m->size = m->cap;
    return uefi_call_wrapper(BS->GetMemoryMap, 5, &m->size, (EFI_MEMORY_DESCRIPTOR *)m->map,
                             &m->key, &m->dsize, &m->dver);
}

/* Buffers for the memory map and its conversion, sized once up front so
 * nothing is allocated between the final GetMemoryMap and ExitBootServices. */
static EFI_STATUS prepare_map(struct mapbuf *m, const struct kimage *k)
{
    m->k = k;
    m->cap = 0;
    m->map = NULL;
    EFI_STATUS st = get_map(m);
    if (st != EFI_BUFFER_TOO_SMALL)
        return EFI_ERROR(st) ? st : EFI_LOAD_ERROR;
    m->cap = m->size + MAP_SLACK * m->dsize;
    m->scratch_cap = m->cap / m->dsize + 2;
    m->map = alloc_pages(m->cap);
    m->scratch = alloc_pages(m->scratch_cap * sizeof(struct boot_mem_range));
    return (m->map && m->scratch) ? EFI_SUCCESS : EFI_OUT_OF_RESOURCES;
}

static UINT32 convert_map(struct mapbuf *m, struct boot_info *bi)
{
    return memmap_convert(m->map, m->size, m->dsize, m->k->start, m->k->end,
                          m->scratch, m->scratch_cap, bi->mem, BOOT_MAX_MEM);
}

/* After the first ExitBootServices attempt only GetMemoryMap and
 * ExitBootServices may be called: no Print, no allocation. */
static EFI_STATUS exit_boot_services(EFI_HANDLE image, struct mapbuf *m, struct boot_info *bi)
{
    EFI_STATUS st = EFI_LOAD_ERROR;
    for (int tries = 0; tries < 16; tries++) {
        st = get_map(m);
        if (EFI_ERROR(st))
            return st;
        bi->nmem = convert_map(m, bi);
        /* Deferred placement: the range must hold nothing live but our
         * reservations once boot services are gone. */
        m->kernel_ok = memmap_range_ok(m->map, m->size, m->dsize, m->k->start, m->k->end,
                                       (1u << EfiConventionalMemory) | (1u << EfiLoaderData) |
                                       (1u << EfiBootServicesCode) | (1u << EfiBootServicesData));
        st = uefi_call_wrapper(BS->ExitBootServices, 2, image, m->key);
        if (st != EFI_INVALID_PARAMETER)    /* success, or a real error */
            return st;
    }
    return st;
}

static EFI_STATUS fail(const CHAR16 *what, EFI_STATUS st)
{
    Print(L"nethv-efi: error: %s: %r\n", what, st);
    return st;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
    struct kimage k;
    struct mapbuf m;
    EFI_STATUS st;

    InitializeLib(image, systab);
    Print(L"nethv-efi: UEFI loader, firmware %s rev 0x%x\n",
          ST->FirmwareVendor, ST->FirmwareRevision);

    st = kimage_load(nethv_kernel_start, nethv_kernel_end - nethv_kernel_start, &k);
    if (EFI_ERROR(st))
        return st;

    struct boot_info *bi = alloc_pages(sizeof(*bi));
    if (!bi)
        return fail(L"allocating boot_info", EFI_OUT_OF_RESOURCES);
    bi->magic = BOOT_INFO_MAGIC;
    bi->version = BOOT_INFO_VERSION;
    set_loader_name(bi);
    find_rsdp(bi);
    load_boot_files(image, bi);
    cmdline_from_load_options(image, bi);

    st = prepare_map(&m, &k);
    if (!EFI_ERROR(st))
        st = get_map(&m);
    if (!EFI_ERROR(st))
        st = handoff_prepare(&k, bi, memmap_top(m.map, m.size, m.dsize));
    if (!EFI_ERROR(st))
        st = get_map(&m);               /* a preview, for the log line only */
    if (EFI_ERROR(st))
        return fail(L"preparing the hand-off", st);
    Print(L"nethv-efi: kernel 0x%lx-0x%lx entry 0x%lx, %d modules, %d memory ranges\n",
          k.start, k.end, k.entry64, bi->nmod, convert_map(&m, bi));
    Print(L"nethv-efi: cmdline \"%a\", rsdp %d bytes, boot_info at 0x%lx\n",
          bi->cmdline, bi->rsdp_len, (UINT64)bi);
    Print(L"nethv-efi: exiting boot services\n");

    st = exit_boot_services(image, &m, bi);
    if (EFI_ERROR(st))
        return st;      /* firmware state unknown: not even Print is safe */
    if (!m.kernel_ok) {
        serial_puts("nethv-efi: error: kernel range taken after the check; halting\n");
        for (;;)
            __asm__ volatile("cli; hlt");
    }
    handoff_go();
}
