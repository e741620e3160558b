/*
 * nethv UEFI loader: UEFI memory map -> boot_info memory ranges.
 * Runs between the final GetMemoryMap and ExitBootServices, so it must not
 * call any boot service (no allocation, no Print): pure computation.
 */
#include "loader.h"

static UINT32 boot_type(UINT32 efi_type)
{
    switch (efi_type) {
    case EfiConventionalMemory:
    case EfiBootServicesCode:
    case EfiBootServicesData:
    case EfiLoaderCode:             /* this loader: dead once the kernel runs */
        return BOOT_MEM_USABLE;
    case EfiLoaderData:             /* kernel, boot_info, modules, stack, page tables */
        return BOOT_MEM_BOOT_DATA;
    case EfiACPIReclaimMemory:
        return BOOT_MEM_ACPI_RECLAIM;
    case EfiACPIMemoryNVS:
        return BOOT_MEM_ACPI_NVS;
    case EfiUnusableMemory:         /* RAM with detected errors */
        return BOOT_MEM_BAD;
    default:                        /* runtime services, MMIO, reserved, ... */
        return BOOT_MEM_RESERVED;
    }
}

struct sorted {
    struct boot_mem_range *r;
    UINTN n, cap;
};

/* Insertion sort: the firmware's map is nearly sorted already. */
static void put(struct sorted *s, UINT64 base, UINT64 end, UINT32 type)
{
    if (end <= base || s->n == s->cap)
        return;
    UINTN j = s->n++;
    while (j > 0 && s->r[j - 1].base > base) {
        s->r[j] = s->r[j - 1];
        j--;
    }
    s->r[j] = (struct boot_mem_range){ .base = base, .len = end - base, .type = type };
}

/*
 * Convert, sort by base and merge adjacent ranges of the same type.
 * [klo, khi) (the kernel image) is reported as BOOT_DATA whatever the
 * firmware called it.  scratch must hold map_size / desc_size + 2 entries.
 * Returns the number of ranges in out[]; beyond out_cap, the ranges at the
 * highest addresses are dropped.
 */
UINT32 memmap_convert(const UINT8 *map, UINTN map_size, UINTN desc_size,
                      UINT64 klo, UINT64 khi,
                      struct boot_mem_range *scratch, UINTN scratch_cap,
                      struct boot_mem_range *out, UINT32 out_cap)
{
    struct sorted s = { scratch, 0, scratch_cap };

    for (UINTN off = 0; off + desc_size <= map_size; off += desc_size) {
        const EFI_MEMORY_DESCRIPTOR *d = (const void *)(map + off);
        UINT64 b = d->PhysicalStart, e = b + d->NumberOfPages * PAGE_SIZE;
        UINT32 t = boot_type(d->Type);
        if (e <= klo || b >= khi) {
            put(&s, b, e, t);
            continue;
        }
        put(&s, b, klo, t);
        put(&s, b > klo ? b : klo, e < khi ? e : khi, BOOT_MEM_BOOT_DATA);
        put(&s, khi, e, t);
    }

    UINT32 m = 0;
    for (UINTN i = 0; i < s.n; i++) {
        struct boot_mem_range *prev = m ? &out[m - 1] : NULL;
        if (prev && prev->type == scratch[i].type &&
            prev->base + prev->len == scratch[i].base) {
            prev->len += scratch[i].len;
            continue;
        }
        if (m == out_cap)
            break;
        out[m++] = scratch[i];
    }
    return m;
}

/* Is every page of [lo, hi) described, with a type in the bit mask ok? */
int memmap_range_ok(const UINT8 *map, UINTN map_size, UINTN desc_size,
                    UINT64 lo, UINT64 hi, UINT32 ok)
{
    UINT64 covered = 0;
    for (UINTN off = 0; off + desc_size <= map_size; off += desc_size) {
        const EFI_MEMORY_DESCRIPTOR *d = (const void *)(map + off);
        UINT64 b = d->PhysicalStart, e = b + d->NumberOfPages * PAGE_SIZE;
        if (e <= lo || b >= hi)
            continue;
        if (d->Type >= 32 || !(ok & (1u << d->Type)))
            return 0;
        covered += (e < hi ? e : hi) - (b > lo ? b : lo);
    }
    return covered == hi - lo;              /* descriptors never overlap */
}

/* The end of the highest range the map describes. */
UINT64 memmap_top(const UINT8 *map, UINTN map_size, UINTN desc_size)
{
    UINT64 top = 0;
    for (UINTN off = 0; off + desc_size <= map_size; off += desc_size) {
        const EFI_MEMORY_DESCRIPTOR *d = (const void *)(map + off);
        UINT64 e = d->PhysicalStart + d->NumberOfPages * PAGE_SIZE;
        if (e > top)
            top = e;
    }
    return top;
}
