/*
 * nethv UEFI loader: validate the embedded kernel ELF and reserve its
 * physical range; the copy itself happens after ExitBootServices
 * (kimage_copy), so the range may overlap boot-services memory.
 */
#include "loader.h"

#include <nethv/elf64.h>
#define PT_LOAD    ELF_PT_LOAD
#define ET_EXEC    ELF_ET_EXEC
#define EM_X86_64  ELF_EM_X86_64

static const struct nethv_image_header *find_header(const UINT8 *elf, UINTN size)
{
    UINTN lim = size < NETHV_IMAGE_SEARCH ? size : NETHV_IMAGE_SEARCH;
    for (UINTN off = 0; off + sizeof(struct nethv_image_header) <= lim; off += 8) {
        const struct nethv_image_header *h = (const void *)(elf + off);
        if (h->magic == NETHV_IMAGE_MAGIC)
            return h;
    }
    return NULL;
}

static EFI_STATUS bad(const CHAR16 *why)
{
    Print(L"nethv-efi: error: kernel image: %s\n", why);
    return EFI_LOAD_ERROR;
}

static EFI_STATUS validate(const UINT8 *elf, UINTN size, struct kimage *k)
{
    const struct elf64_ehdr *eh = (const void *)elf;

    if (size < sizeof(*eh) || eh->ident[0] != 0x7f || eh->ident[1] != 'E' ||
        eh->ident[2] != 'L' || eh->ident[3] != 'F')
        return bad(L"not an ELF file");
    if (eh->ident[4] != 2 || eh->ident[5] != 1 || eh->machine != EM_X86_64)
        return bad(L"not ELF64 little-endian x86-64");
    if (eh->type != ET_EXEC)
        return bad(L"not an executable (ET_EXEC)");
    if (eh->phentsize != sizeof(struct elf64_phdr) || eh->phoff > size ||
        (size - eh->phoff) / sizeof(struct elf64_phdr) < eh->phnum)
        return bad(L"bad program header table");

    const struct nethv_image_header *h = find_header(elf, size);
    if (!h)
        return bad(L"no nethv image header in the first 32 KiB");
    if ((h->load_start | h->bss_end) & (PAGE_SIZE - 1) || h->load_start == 0 ||
        h->load_start > h->load_end || h->load_end > h->bss_end ||
        h->entry64 < h->load_start || h->entry64 >= h->load_end)
        return bad(L"inconsistent image header");

    const struct elf64_phdr *ph = (const void *)(elf + eh->phoff);
    k->nload = 0;
    for (UINTN i = 0; i < eh->phnum; i++) {
        if (ph[i].type != PT_LOAD || ph[i].memsz == 0)
            continue;
        if (ph[i].filesz > ph[i].memsz || ph[i].offset > size ||
            ph[i].filesz > size - ph[i].offset ||
            ph[i].paddr < h->load_start || ph[i].paddr > h->bss_end ||
            ph[i].memsz > h->bss_end - ph[i].paddr)
            return bad(L"PT_LOAD segment outside the image range");
        k->nload++;
    }
    if (k->nload == 0)
        return bad(L"no PT_LOAD segments");
    k->elf = elf;
    k->entry64 = h->entry64;
    k->start = h->load_start;
    k->end = h->bss_end;
    return EFI_SUCCESS;
}

static void dump_range(const UINT8 *map, UINTN size, UINTN dsize, UINT64 lo, UINT64 hi)
{
    for (UINTN off = 0; off + dsize <= size; off += dsize) {
        const EFI_MEMORY_DESCRIPTOR *d = (const void *)(map + off);
        UINT64 e = d->PhysicalStart + d->NumberOfPages * PAGE_SIZE;
        if (d->PhysicalStart < hi && e > lo)
            Print(L"nethv-efi:   0x%lx-0x%lx: UEFI memory type %d\n",
                  d->PhysicalStart, e, d->Type);
    }
}

/*
 * The range is not all free now.  It is still usable if every page of it is
 * boot-services code/data (free once boot services exit) or free memory:
 * reserve the free parts now, and keep the loader's own allocations out of
 * the rest (alloc_pages guard).
 */
static EFI_STATUS reserve_deferred(struct kimage *k)
{
    UINTN n, key, dsize;
    UINT32 dver;
    EFI_MEMORY_DESCRIPTOR *map = LibMemoryMap(&n, &key, &dsize, &dver);
    EFI_STATUS st = EFI_SUCCESS;

    if (!map)
        return EFI_OUT_OF_RESOURCES;
    const UINT8 *m = (const UINT8 *)map;
    UINT32 ok = (1u << EfiConventionalMemory) | (1u << EfiBootServicesCode) |
                (1u << EfiBootServicesData);
    if (!memmap_range_ok(m, n * dsize, dsize, k->start, k->end, ok)) {
        Print(L"nethv-efi: error: kernel range 0x%lx-0x%lx is in use by the firmware:\n",
              k->start, k->end);
        dump_range(m, n * dsize, dsize, k->start, k->end);
        FreePool(map);
        return EFI_NOT_FOUND;
    }
    for (UINTN i = 0; i < n && !EFI_ERROR(st); i++) {
        const EFI_MEMORY_DESCRIPTOR *d = (const void *)(m + i * dsize);
        UINT64 lo = d->PhysicalStart, hi = lo + d->NumberOfPages * PAGE_SIZE;
        if (d->Type != EfiConventionalMemory || hi <= k->start || lo >= k->end)
            continue;
        EFI_PHYSICAL_ADDRESS at = lo > k->start ? lo : k->start;
        UINTN pages = ((hi < k->end ? hi : k->end) - at) / PAGE_SIZE;
        st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAddress, EfiLoaderData, pages, &at);
    }
    FreePool(map);
    if (EFI_ERROR(st)) {
        Print(L"nethv-efi: error: reserving the kernel range: %r\n", st);
        return st;
    }
    alloc_guard(k->start, k->end);
    k->deferred = 1;
    Print(L"nethv-efi: kernel range 0x%lx-0x%lx overlaps boot-services memory:"
          L" placing the kernel after ExitBootServices\n", k->start, k->end);
    return EFI_SUCCESS;
}

EFI_STATUS kimage_load(const UINT8 *elf, UINTN size, struct kimage *k)
{
    EFI_STATUS st = validate(elf, size, k);
    if (EFI_ERROR(st))
        return st;

    EFI_PHYSICAL_ADDRESS at = k->start;
    k->deferred = 0;
    st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAddress, EfiLoaderData,
                           (k->end - k->start) / PAGE_SIZE, &at);
    return EFI_ERROR(st) ? reserve_deferred(k) : EFI_SUCCESS;
}

/* After ExitBootServices, on the loader's stack and page tables: zero the
 * range (bss, gaps), copy the file-backed parts to their p_paddr. */
void kimage_copy(const struct kimage *k)
{
    const struct elf64_ehdr *eh = (const void *)k->elf;
    const struct elf64_phdr *ph = (const void *)(k->elf + eh->phoff);
    UINT8 *p = (UINT8 *)k->start;

    for (UINT64 i = 0; i < k->end - k->start; i++)
        p[i] = 0;
    for (UINTN i = 0; i < eh->phnum; i++) {
        if (ph[i].type != PT_LOAD || ph[i].filesz == 0)
            continue;
        UINT8 *dst = (UINT8 *)ph[i].paddr;
        const UINT8 *src = k->elf + ph[i].offset;
        for (UINT64 j = 0; j < ph[i].filesz; j++)
            dst[j] = src[j];
    }
}
