/* Multiboot2 information -> struct boot_info (Multiboot2 spec 3.6). */
#include <string.h>
#include <nethv/multiboot2.h>

struct mb2_tag { uint32_t type, size; };
struct mb2_tag_module { uint32_t type, size, mod_start, mod_end; char name[]; };
struct mb2_tag_mmap { uint32_t type, size, entry_size, entry_version; };
struct mb2_mmap_entry { uint64_t base, len; uint32_t type, reserved; };

static void copy_str(char *dst, size_t cap, const char *src, size_t src_cap)
{
    size_t n = strnlen(src, src_cap);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

static uint32_t mb2_mem_type(uint32_t t)
{
    switch (t) {
    case MB2_MEM_AVAILABLE:    return BOOT_MEM_USABLE;
    case MB2_MEM_ACPI_RECLAIM: return BOOT_MEM_ACPI_RECLAIM;
    case MB2_MEM_NVS:          return BOOT_MEM_ACPI_NVS;
    case MB2_MEM_BAD:          return BOOT_MEM_BAD;
    default:                   return BOOT_MEM_RESERVED;
    }
}

void bootinfo_sort_mem(struct boot_info *bi)
{
    for (uint32_t i = 1; i < bi->nmem; i++) {
        struct boot_mem_range r = bi->mem[i];
        uint32_t j = i;
        while (j > 0 && bi->mem[j - 1].base > r.base) {
            bi->mem[j] = bi->mem[j - 1];
            j--;
        }
        bi->mem[j] = r;
    }
}

static int add_mmap(struct boot_info *bi, const struct mb2_tag_mmap *t, const char **why)
{
    if (t->size < sizeof(*t) || t->entry_size < sizeof(struct mb2_mmap_entry)) {
        *why = "bad memory-map tag";
        return -1;
    }
    const uint8_t *p = (const uint8_t *)(t + 1);
    const uint8_t *end = (const uint8_t *)t + t->size;
    for (; p + t->entry_size <= end; p += t->entry_size) {
        struct mb2_mmap_entry e;
        memcpy(&e, p, sizeof(e));
        if (e.len == 0)
            continue;
        if (bi->nmem == BOOT_MAX_MEM) {
            *why = "too many memory-map entries";
            return -1;
        }
        bi->mem[bi->nmem++] = (struct boot_mem_range){ e.base, e.len, mb2_mem_type(e.type), 0 };
    }
    return 0;
}

static int add_module(struct boot_info *bi, const struct mb2_tag_module *m, const char **why)
{
    if (m->size < sizeof(*m) || m->mod_end < m->mod_start) {
        *why = "bad module tag";
        return -1;
    }
    if (bi->nmod == BOOT_MAX_MOD) {
        *why = "too many modules";
        return -1;
    }
    struct boot_module *bm = &bi->mod[bi->nmod++];
    bm->base = m->mod_start;
    bm->len = m->mod_end - m->mod_start;
    /* the module's command line is its name; keep the last path element */
    const char *name = m->name;
    size_t cap = m->size - sizeof(*m);
    size_t n = strnlen(name, cap);
    for (size_t i = 0; i < n; i++)
        if (m->name[i] == '/')
            name = m->name + i + 1;
    copy_str(bm->name, sizeof(bm->name), name, cap - (size_t)(name - m->name));
    return 0;
}

int mb2_to_bootinfo(const void *mbi, size_t max_len, struct boot_info *bi, const char **why)
{
    const uint8_t *base = mbi;
    uint32_t total;

    memset(bi, 0, sizeof(*bi));
    bi->magic = BOOT_INFO_MAGIC;
    bi->version = BOOT_INFO_VERSION;
    *why = "";
    if (max_len < 16) {
        *why = "truncated";
        return -1;
    }
    memcpy(&total, base, 4);
    if (total < 16 || total > max_len) {
        *why = "bad total size";
        return -1;
    }
    for (uint32_t off = 8; off + sizeof(struct mb2_tag) <= total;) {
        const struct mb2_tag *t = (const void *)(base + off);
        if (t->size < sizeof(*t) || t->size > total - off) {
            *why = "tag overruns the information structure";
            return -1;
        }
        const char *payload = (const char *)(t + 1);
        size_t plen = t->size - sizeof(*t);
        int rc = 0;
        switch (t->type) {
        case MB2_TAG_END:
            bootinfo_sort_mem(bi);
            return 0;
        case MB2_TAG_CMDLINE:
            copy_str(bi->cmdline, sizeof(bi->cmdline), payload, plen);
            break;
        case MB2_TAG_LOADER_NAME:
            copy_str(bi->loader, sizeof(bi->loader), payload, plen);
            break;
        case MB2_TAG_MODULE:
            rc = add_module(bi, (const void *)t, why);
            break;
        case MB2_TAG_MMAP:
            rc = add_mmap(bi, (const void *)t, why);
            break;
        case MB2_TAG_ACPI_NEW:
        case MB2_TAG_ACPI_OLD:
            /* prefer the ACPI 2.0 copy; the old one only if nothing yet */
            if (t->type == MB2_TAG_ACPI_NEW || bi->rsdp_len == 0) {
                size_t n = plen < BOOT_RSDP_MAX ? plen : BOOT_RSDP_MAX;
                memcpy(bi->rsdp, payload, n);
                bi->rsdp_len = (uint32_t)n;
            }
            break;
        default:
            break;
        }
        if (rc)
            return rc;
        off += (t->size + 7) & ~7u;
    }
    *why = "no end tag";
    return -1;
}
