/*
 * The guest's images into its RAM, and where it starts (vmm_load_guest):
 * at VM creation and at every restart, from the monitor -- the kernel only
 * serves the boot modules' bytes (vm_module_read, vm_module_load) and
 * builds the initial CPU state from the struct vmm_boot returned.
 *
 *  - Multiboot1 (spec 0.6.96): a 32-bit ELF, or the a.out kludge (flags
 *    bit 16); entered in 32-bit protected mode, paging off, EAX =
 *    0x2BADB002, EBX = the Multiboot information (memory, command line,
 *    one module, memory map).
 *  - Linux/x86 boot protocol (Documentation/arch/x86/boot.rst and
 *    zero-page.rst): a bzImage of protocol >= 2.12 whose xloadflags offer
 *    the 64-bit entry is entered at startup_64 (load address + 0x200) in
 *    long mode, with identity page tables, a flat GDT (__BOOT_CS 0x10,
 *    __BOOT_DS 0x18), interrupts off and RSI = the boot_params ("zero
 *    page"): the e820 map, the command line, the initrd and the ACPI RSDP
 *    (acpi_tables.c writes the tables at GUEST_ACPI_BASE).  On non-Intel
 *    hosts tsc_early_khz=<the TSC rate> is appended to the command line
 *    unless it has one.  Layout: include/nethv/guest_layout.h.
 *
 * Every size and offset comes from the images, which the configuration
 * names; each is checked against the image's length and the guest's RAM
 * before use (the kernel checks them again).
 */
#include <stdio.h>
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/guest_layout.h>
#include "vmm.h"

/* ---- the images and guest RAM, through the kernel ------------------------------ */

static const struct vmm_load *cur;      /* the load under way (its RAM regions) */

/* [gpa, gpa + len) all in one RAM region: checked before writing, so that
 * an image that does not fit is refused at once, with its own reason */
static bool in_ram(uint64_t gpa, uint64_t len)
{
    for (unsigned i = 0; i < cur->nram && i < VMM_MAX_RAM; i++) {
        uint64_t g = cur->ram[i].gpa, s = cur->ram[i].size;
        if (gpa >= g && gpa - g <= s && len <= s - (gpa - g))
            return true;
    }
    return false;
}

static int put(unsigned vm, uint64_t gpa, const void *src, uint64_t len)
{
    return in_ram(gpa, len) ? vm_gpa_write(vm, gpa, src, len) : -1;
}

static int zero(unsigned vm, uint64_t gpa, uint64_t len)
{
    static const uint8_t zeros[65536];
    if (!in_ram(gpa, len))
        return -1;
    for (uint64_t off = 0; off < len; off += sizeof(zeros)) {  /* bound: len / 64 KiB */
        uint64_t n = len - off < sizeof(zeros) ? len - off : sizeof(zeros);
        if (vm_gpa_write(vm, gpa + off, zeros, n))
            return -1;
    }
    return 0;
}

/* bytes [off, off+len) of module `mod` into guest RAM at gpa, a chunk per call */
static int load(unsigned vm, unsigned mod, uint64_t off, uint64_t gpa, uint64_t len)
{
    if (!in_ram(gpa, len))
        return -1;
    for (uint64_t done = 0; done < len; done += VMM_MODULE_CHUNK) {    /* bound: len / 1 MiB */
        uint64_t n = len - done < VMM_MODULE_CHUNK ? len - done : VMM_MODULE_CHUNK;
        if (vm_module_load(vm, mod, off + done, gpa + done, n))
            return -1;
    }
    return 0;
}

static uint32_t rd32(const uint8_t *p, unsigned off) { uint32_t v; memcpy(&v, p + off, 4); return v; }
static uint16_t rd16(const uint8_t *p, unsigned off) { uint16_t v; memcpy(&v, p + off, 2); return v; }
static uint64_t rd64(const uint8_t *p, unsigned off) { uint64_t v; memcpy(&v, p + off, 8); return v; }
static void wr32(uint8_t *p, unsigned off, uint32_t v) { memcpy(p + off, &v, 4); }
static void wr64(uint8_t *p, unsigned off, uint64_t v) { memcpy(p + off, &v, 8); }

/* End of RAM contiguous from GPA 0 (0 if no region starts there). */
static uint64_t low_ram_end(const struct vmm_load *l)
{
    for (unsigned i = 0; i < l->nram && i < VMM_MAX_RAM; i++)
        if (l->ram[i].gpa == 0)
            return l->ram[i].size;
    return 0;
}

/* ---- Multiboot1 ------------------------------------------------------------------ */

#define MB1_HEADER_MAGIC    0x1badb002u
#define MB1_BOOT_MAGIC      0x2badb002u
#define MB1_SEARCH          8192
#define MB1_FLAG_AOUT_KLUDGE (1u << 16)
#define MB1_INFO_MEM        (1u << 0)
#define MB1_INFO_CMDLINE    (1u << 2)
#define MB1_INFO_MODS       (1u << 3)
#define MB1_INFO_MMAP       (1u << 6)
#define MB1_INFO_LOADER     (1u << 9)

/* Guest-physical layout of what the loader builds (below 640 KiB). */
#define GPA_MBI             0x8000u
#define GPA_MMAP            0x8800u
#define GPA_MODS            0x8c00u
#define GPA_CMDLINE         0x9000u
#define GPA_LOADER_NAME     0x9f00u

struct mb1_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
    uint32_t drives_length, drives_addr, config_table, boot_loader_name;
};
struct mb1_module { uint32_t start, end, string, reserved; };
struct mb1_mmap { uint32_t size; uint64_t base, len; uint32_t type; } __attribute__((packed));

struct elf32_ehdr {
    uint8_t ident[16];
    uint16_t type, machine;
    uint32_t version, entry, phoff, shoff, flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct elf32_phdr { uint32_t type, offset, vaddr, paddr, filesz, memsz, flags, align; };
#define PT_LOAD 1

static int load_elf32(unsigned vm, uint64_t size, uint32_t *entry, uint64_t *end, const char **why)
{
    struct elf32_ehdr eh;
    if (size < sizeof(eh) || vm_module_read(vm, 0, 0, &eh, sizeof(eh))) { *why = "image too small for ELF"; return -1; }
    if (memcmp(eh.ident, "\177ELF", 4) || eh.ident[4] != 1 || eh.machine != 3) {
        *why = "not a 32-bit x86 ELF and no a.out kludge";
        return -1;
    }
    if (eh.phentsize != sizeof(struct elf32_phdr) || eh.phoff > size ||
        (uint64_t)eh.phnum * sizeof(struct elf32_phdr) > size - eh.phoff) {
        *why = "bad ELF program headers";
        return -1;
    }
    *end = 0;
    for (unsigned i = 0; i < eh.phnum; i++) {       /* bound: phnum <= the file's size / 32 */
        struct elf32_phdr ph;
        if (vm_module_read(vm, 0, eh.phoff + (uint64_t)i * sizeof(ph), &ph, sizeof(ph))) {
            *why = "bad ELF program headers";
            return -1;
        }
        if (ph.type != PT_LOAD || ph.memsz == 0)
            continue;
        if (ph.filesz > ph.memsz || ph.offset > size || ph.filesz > size - ph.offset) {
            *why = "ELF segment outside the file";
            return -1;
        }
        if (load(vm, 0, ph.offset, ph.paddr, ph.filesz) || zero(vm, (uint64_t)ph.paddr + ph.filesz, ph.memsz - ph.filesz)) {
            *why = "ELF segment outside guest RAM";
            return -1;
        }
        if ((uint64_t)ph.paddr + ph.memsz > *end)
            *end = (uint64_t)ph.paddr + ph.memsz;
    }
    *entry = eh.entry;
    return *end ? 0 : (*why = "ELF has no loadable segment", -1);
}

static int load_aout(unsigned vm, uint64_t size, const uint32_t *h, uint32_t hdr_off, uint32_t *entry,
                     uint64_t *end, const char **why)
{
    uint32_t header_addr = h[3], load_addr = h[4], load_end = h[5], bss_end = h[6];
    if (load_addr > header_addr || header_addr - load_addr > hdr_off) {
        *why = "a.out kludge: header_addr/load_addr inconsistent";
        return -1;
    }
    uint64_t file_off = hdr_off - (header_addr - load_addr);
    uint64_t len = load_end ? (uint64_t)load_end - load_addr : size - file_off;
    uint64_t total = bss_end > load_addr ? (uint64_t)bss_end - load_addr : len;
    if (load_end && load_end < load_addr) { *why = "a.out kludge: load_end < load_addr"; return -1; }
    if (len > size - file_off || total < len) { *why = "a.out kludge: image shorter than load range"; return -1; }
    if (load(vm, 0, file_off, load_addr, len) || zero(vm, (uint64_t)load_addr + len, total - len)) {
        *why = "a.out kludge: load range outside guest RAM";
        return -1;
    }
    *entry = h[7];
    *end = load_addr + total;
    return 0;
}

static int load_multiboot(unsigned vm, const struct vmm_load *l, struct vmm_boot *b, const char **why)
{
    uint64_t size = l->mod_len[0];
    static uint8_t head[MB1_SEARCH + 32];       /* the header is in the first 8 KiB */
    uint64_t n = size < sizeof(head) ? size : sizeof(head);
    if (vm_module_read(vm, 0, 0, head, n)) { *why = "kernel image unreadable"; return -1; }
    uint32_t hdr_off = 0, h[8] = { 0 };
    bool found = false;
    for (uint32_t off = 0; off + 12 <= n && off < MB1_SEARCH; off += 4) {   /* bound: 8 KiB / 4 */
        memset(h, 0, sizeof(h));
        memcpy(h, head + off, n - off >= 32 ? 32 : 12);
        if (h[0] == MB1_HEADER_MAGIC && h[0] + h[1] + h[2] == 0) {
            hdr_off = off;
            found = true;
            break;
        }
    }
    if (!found) { *why = "no Multiboot header in the first 8 KiB"; return -1; }

    uint32_t entry;
    uint64_t end;
    int rc = (h[1] & MB1_FLAG_AOUT_KLUDGE) && size - hdr_off >= 32
        ? load_aout(vm, size, h, hdr_off, &entry, &end, why)
        : load_elf32(vm, size, &entry, &end, why);
    if (rc)
        return rc;

    uint64_t ram = low_ram_end(l);
    if (ram <= GUEST_HIGH_RAM) { *why = "Multiboot: RAM from GPA 0 must be over 1 MiB"; return -1; }
    struct mb1_info mbi = { 0 };
    mbi.flags = MB1_INFO_MEM | MB1_INFO_CMDLINE | MB1_INFO_MMAP | MB1_INFO_LOADER;
    mbi.mem_lower = GUEST_LOW_RAM_END / 1024;
    mbi.mem_upper = (uint32_t)((ram - GUEST_HIGH_RAM) / 1024);
    size_t cl = strnlen(l->cmdline, sizeof(l->cmdline) - 1);
    _Static_assert(sizeof(l->cmdline) < GPA_LOADER_NAME - GPA_CMDLINE, "the command line fits");
    if (put(vm, GPA_CMDLINE, l->cmdline, cl) || zero(vm, GPA_CMDLINE + cl, 1)) {
        *why = "no guest RAM for the command line";
        return -1;
    }
    mbi.cmdline = GPA_CMDLINE;
    put(vm, GPA_LOADER_NAME, "nethv", 6);
    mbi.boot_loader_name = GPA_LOADER_NAME;

    struct mb1_mmap mm[2] = {
        { 20, 0, GUEST_LOW_RAM_END, 1 },
        { 20, GUEST_HIGH_RAM, ram - GUEST_HIGH_RAM, 1 },
    };
    put(vm, GPA_MMAP, mm, sizeof(mm));
    mbi.mmap_addr = GPA_MMAP;
    mbi.mmap_length = sizeof(mm);

    if (l->nmod > 1) {
        uint64_t at = ALIGN_UP(end, PAGE_SIZE), mlen = l->mod_len[1];
        if (load(vm, 1, 0, at, mlen)) {
            *why = "module does not fit in guest RAM after the kernel";
            return -1;
        }
        size_t nl = strnlen(l->mod_name[1], sizeof(l->mod_name[1]) - 1);
        uint32_t name_gpa = GPA_MODS + sizeof(struct mb1_module);
        struct mb1_module m = { (uint32_t)at, (uint32_t)(at + mlen), name_gpa, 0 };
        put(vm, GPA_MODS, &m, sizeof(m));
        put(vm, name_gpa, l->mod_name[1], nl);
        zero(vm, name_gpa + nl, 1);
        mbi.flags |= MB1_INFO_MODS;
        mbi.mods_count = 1;
        mbi.mods_addr = GPA_MODS;
    }
    if (put(vm, GPA_MBI, &mbi, sizeof(mbi))) { *why = "no guest RAM for the boot information"; return -1; }
    *b = (struct vmm_boot){ VMM_BOOT_PROT32, entry, MB1_BOOT_MAGIC, GPA_MBI, 0 };
    return 0;
}

/* ---- Linux ----------------------------------------------------------------------- */

/* setup header: offsets into the bzImage (= into boot_params) */
#define HDR_START           0x1f1   /* setup_sects: first field copied */
#define HDR_SETUP_SECTS     0x1f1
#define HDR_BOOT_FLAG       0x1fe   /* 0xaa55 */
#define HDR_JUMP_END        0x201   /* header ends at 0x202 + this byte */
#define HDR_MAGIC           0x202   /* "HdrS" */
#define HDR_VERSION         0x206
#define HDR_TYPE_OF_LOADER  0x210
#define HDR_LOADFLAGS       0x211
#define HDR_CODE32_START    0x214
#define HDR_RAMDISK_IMAGE   0x218
#define HDR_RAMDISK_SIZE    0x21c
#define HDR_CMD_LINE_PTR    0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGN    0x230
#define HDR_RELOCATABLE     0x234
#define HDR_XLOADFLAGS      0x236
#define HDR_CMDLINE_SIZE    0x238
#define HDR_PREF_ADDRESS    0x258
#define HDR_INIT_SIZE       0x260
#define HDR_MAX_END         0x290   /* sanity cap: the header never reaches e820_table */

#define LOADED_HIGH         (1u << 0)
#define XLF_KERNEL_64       (1u << 0)
#define BOOT_PROTO_MIN      0x020c  /* 2.12: xloadflags, ext_* fields */
#define LOADER_UNDEFINED    0xff
#define STARTUP_64_OFFSET   0x200

/* boot_params fields outside the setup header */
#define BP_ACPI_RSDP_ADDR   0x070
#define BP_EXT_RAMDISK_IMG  0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES     0x1e8
#define BP_E820_TABLE       0x2d0
#define BP_SIZE             4096

#define E820_RAM            1
#define E820_RESERVED       2
#define E820_ACPI           3

#define KERNEL_DEFAULT_LOAD (16ull << 20)
#define PTE_P_W             0x3ull
#define PTE_PS_2M           0x80ull

struct e820_entry { uint64_t addr, size; uint32_t type; } __attribute__((packed));
_Static_assert(sizeof(struct e820_entry) == 20, "e820 entry is 20 bytes");

/* The guest sees the host's CPUID vendor (cpuid.c); CPUID runs at CPL 3. */
static bool cpu_is_intel(void)
{
    uint32_t a = 0, b, c, d;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "=c"(c), "=d"(d));
    return !memcmp(&b, "Genu", 4) && !memcmp(&d, "ineI", 4) && !memcmp(&c, "ntel", 4);
}

/* The e820 map: the first region minus the legacy holes, others as RAM. */
static unsigned build_e820(const struct vmm_load *l, struct e820_entry *e, unsigned max)
{
    unsigned n = 0;
    for (unsigned i = 0; i < l->nram && i < VMM_MAX_RAM && n + 4 <= max; i++) {
        uint64_t gpa = l->ram[i].gpa, size = l->ram[i].size;
        if (gpa != 0) {
            e[n++] = (struct e820_entry){ gpa, size, E820_RAM };
            continue;
        }
        e[n++] = (struct e820_entry){ 0, GUEST_LOW_RAM_END, E820_RAM };
        e[n++] = (struct e820_entry){ GUEST_LOW_RAM_END, GUEST_ACPI_BASE - GUEST_LOW_RAM_END, E820_RESERVED };
        e[n++] = (struct e820_entry){ GUEST_ACPI_BASE, GUEST_ACPI_END - GUEST_ACPI_BASE, E820_ACPI };
        e[n++] = (struct e820_entry){ GUEST_HIGH_RAM, size - GUEST_HIGH_RAM, E820_RAM };
    }
    if (n < max)        /* Linux uses MMCONFIG only inside reserved ranges */
        e[n++] = (struct e820_entry){ GUEST_ECAM_BASE, (uint64_t)GUEST_ECAM_BUSES << 20, E820_RESERVED };
    return n;
}

/* Identity map of 0-4 GiB with 2 MiB pages, and the boot GDT. */
static int build_page_tables_gdt(unsigned vm)
{
    static uint64_t t[512];             /* one table at a time */
    memset(t, 0, sizeof(t));
    t[0] = GUEST_PDPT | PTE_P_W;
    if (put(vm, GUEST_PML4, t, sizeof(t)))
        return -1;
    for (unsigned i = 0; i < 4; i++)
        t[i] = (GUEST_PD + i * PAGE_SIZE) | PTE_P_W;
    if (put(vm, GUEST_PDPT, t, sizeof(t)))
        return -1;
    for (unsigned d = 0; d < 4; d++) {
        for (unsigned i = 0; i < 512; i++)
            t[i] = ((uint64_t)d * 512 + i) * (2ull << 20) | PTE_P_W | PTE_PS_2M;
        if (put(vm, GUEST_PD + d * PAGE_SIZE, t, sizeof(t)))
            return -1;
    }
    const uint64_t gdt[4] = {
        0, 0,
        0x00af9b000000ffffull,          /* 0x10 __BOOT_CS: 64-bit code, P, DPL 0, r/x */
        0x00cf93000000ffffull,          /* 0x18 __BOOT_DS: flat 4 GiB data, r/w */
    };
    return put(vm, GUEST_GDT, gdt, sizeof(gdt));
}

static int check_header(const uint8_t *img, uint64_t size, const char **why)
{
    if (size < HDR_MAX_END + 512) { *why = "Linux: image too small for a bzImage"; return -1; }
    if (rd16(img, HDR_BOOT_FLAG) != 0xaa55 || memcmp(img + HDR_MAGIC, "HdrS", 4)) {
        *why = "Linux: no boot protocol header (0xAA55 / \"HdrS\")";
        return -1;
    }
    if (rd16(img, HDR_VERSION) < BOOT_PROTO_MIN) { *why = "Linux: boot protocol older than 2.12"; return -1; }
    if (!(rd16(img, HDR_XLOADFLAGS) & XLF_KERNEL_64)) { *why = "Linux: kernel has no 64-bit entry"; return -1; }
    if (!(img[HDR_LOADFLAGS] & LOADED_HIGH)) { *why = "Linux: not a bzImage (LOADED_HIGH clear)"; return -1; }
    if (!img[HDR_RELOCATABLE]) { *why = "Linux: kernel is not relocatable"; return -1; }
    return 0;
}

/* Kernel load address: pref_address if aligned, else 16 MiB rounded up. */
static uint64_t kernel_load_addr(const uint8_t *img)
{
    uint64_t align = rd32(img, HDR_KERNEL_ALIGN);
    uint64_t pref = rd64(img, HDR_PREF_ADDRESS);
    if (align == 0 || (align & (align - 1)))
        align = 2ull << 20;
    if (pref >= GUEST_HIGH_RAM && !(pref & (align - 1)))
        return pref;
    return ALIGN_UP(KERNEL_DEFAULT_LOAD, align);
}

static int load_linux(unsigned vm, const char *name, const struct vmm_load *l, struct vmm_boot *b,
                      const char **why)
{
    static uint8_t img[HDR_MAX_END + 512];      /* the setup header */
    static uint8_t bp[BP_SIZE];
    static char cl[GUEST_CMDLINE_MAX];
    uint64_t size = l->mod_len[0];
    if (size < sizeof(img)) { *why = "Linux: image too small for a bzImage"; return -1; }
    if (vm_module_read(vm, 0, 0, img, sizeof(img))) { *why = "Linux: kernel image unreadable"; return -1; }
    if (check_header(img, size, why))
        return -1;

    uint64_t ram_end = low_ram_end(l);
    if (ram_end <= GUEST_HIGH_RAM || ram_end > GUEST_PCI_HOLE) {
        *why = "Linux: RAM from GPA 0 must be > 1 MiB and end below the PCI hole (2.75 GiB)";
        return -1;
    }
    unsigned setup_sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
    uint64_t pm_off = (uint64_t)(setup_sects + 1) * 512;
    if (pm_off >= size) { *why = "Linux: setup_sects beyond the image"; return -1; }
    uint64_t pm_len = size - pm_off;
    uint64_t load_at = kernel_load_addr(img);
    uint64_t init_size = rd32(img, HDR_INIT_SIZE);
    if (init_size < pm_len)
        init_size = pm_len;
    if (init_size > ram_end || load_at > ram_end - init_size) {
        *why = "Linux: guest RAM too small for the kernel's init_size";
        return -1;
    }
    if (load(vm, 0, pm_off, load_at, pm_len)) { *why = "Linux: kernel outside guest RAM"; return -1; }

    /* boot_params: zeroed, the image's setup header copied in, then ours */
    memset(bp, 0, sizeof(bp));
    unsigned hdr_end = 0x202 + img[HDR_JUMP_END];
    if (hdr_end > HDR_MAX_END)
        hdr_end = HDR_MAX_END;
    memcpy(bp + HDR_START, img + HDR_START, hdr_end - HDR_START);
    bp[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
    wr32(bp, HDR_CODE32_START, (uint32_t)load_at);

    /* command line, cut to what the kernel accepts */
    uint64_t cl_max = rd32(img, HDR_CMDLINE_SIZE);
    if (cl_max == 0 || cl_max > GUEST_CMDLINE_MAX - 1)
        cl_max = GUEST_CMDLINE_MAX - 1;
    memset(cl, 0, sizeof(cl));
    size_t cl_len = strnlen(l->cmdline, sizeof(l->cmdline) - 1);
    if (cl_len > cl_max)
        cl_len = cl_max;
    memcpy(cl, l->cmdline, cl_len);
    /* Tell the guest the TSC rate where CPUID cannot: Linux 6.1 reads it
     * from leaf 0x15 (cpuid.c) on Intel only; elsewhere it calibrates
     * against the PIT and the PM timer, which fails when every port read is
     * an exit ("Unable to calibrate against PIT", TSC marked unstable, a
     * 2.5x slower boot under QEMU TCG).  With the rate known Linux needs no
     * PIT at all (no PIT clockevent, no IO-APIC timer check).  A rate on the
     * command line wins; tsc_early_khz=0 makes Linux calibrate (and run on
     * the PIT's IRQ 0 until its LAPIC timer takes over). */
    uint64_t khz = vm_tsc_khz();
    if (!strstr(cl, "tsc_early_khz=") && khz && !cpu_is_intel())
        snprintf(cl + cl_len, cl_max + 1 - cl_len, "%stsc_early_khz=%llu", cl_len ? " " : "",
                 (unsigned long long)khz);
    if (put(vm, GUEST_CMDLINE, cl, sizeof(cl))) { *why = "Linux: no guest RAM for the command line"; return -1; }
    wr32(bp, HDR_CMD_LINE_PTR, GUEST_CMDLINE);
    wr32(bp, BP_EXT_CMD_LINE_PTR, 0);

    /* initrd: as high as RAM, initrd_addr_max and 4 GiB allow */
    uint64_t initrd_len = l->nmod > 1 ? l->mod_len[1] : 0;
    if (l->nmod > 1) {
        uint64_t top = ram_end;
        uint64_t max = (uint64_t)rd32(img, HDR_INITRD_ADDR_MAX) + 1;
        if (top > max)
            top = max;
        if (top > (4ull << 30))
            top = 4ull << 30;
        uint64_t at = top > initrd_len ? ALIGN_DOWN(top - initrd_len, PAGE_SIZE) : 0;
        if (at < load_at + init_size) { *why = "Linux: initrd does not fit above the kernel"; return -1; }
        if (load(vm, 1, 0, at, initrd_len)) { *why = "Linux: initrd outside guest RAM"; return -1; }
        wr32(bp, HDR_RAMDISK_IMAGE, (uint32_t)at);
        wr32(bp, HDR_RAMDISK_SIZE, (uint32_t)initrd_len);
        wr32(bp, BP_EXT_RAMDISK_IMG, (uint32_t)(at >> 32));
        wr32(bp, BP_EXT_RAMDISK_SIZE, (uint32_t)(initrd_len >> 32));
    }

    struct e820_entry map[VMM_MAX_RAM + 5];     /* 4 for region 0, 1 for the ECAM */
    unsigned n = build_e820(l, map, sizeof(map) / sizeof(map[0]));
    memcpy(bp + BP_E820_TABLE, map, n * sizeof(map[0]));
    bp[BP_E820_ENTRIES] = (uint8_t)n;
    wr64(bp, BP_ACPI_RSDP_ADDR, GUEST_ACPI_BASE);       /* the RSDP: first table there */
    if (put(vm, GUEST_BOOT_PARAMS, bp, sizeof(bp))) { *why = "Linux: no guest RAM for boot_params"; return -1; }

    if (build_page_tables_gdt(vm)) { *why = "Linux: no guest RAM for the boot page tables"; return -1; }
    *b = (struct vmm_boot){ VMM_BOOT_LONG64, load_at + STARTUP_64_OFFSET, 0, 0, GUEST_BOOT_PARAMS };
    printk("vmm %s: Linux boot protocol %u.%02u, kernel at %#llx (init_size %#llx), initrd %llu KiB\n",
           name, rd16(img, HDR_VERSION) >> 8, rd16(img, HDR_VERSION) & 0xff,
           (unsigned long long)load_at, (unsigned long long)init_size, (unsigned long long)(initrd_len >> 10));
    return 0;
}

int vmm_load_guest(unsigned vm, const char *name, const struct vmm_load *l, struct vmm_boot *b)
{
    const char *why = "unknown guest kind";
    *b = (struct vmm_boot){ VMM_BOOT_NONE, 0, 0, 0, 0 };
    cur = l;
    int rc = l->nmod < 1 || l->nmod > 2 ? (why = "no kernel image", -1) :
             l->kind == VMM_GUEST_LINUX ? load_linux(vm, name, l, b, &why) :
             l->kind == VMM_GUEST_MULTIBOOT ? load_multiboot(vm, l, b, &why) : -1;
    if (rc)
        printk("vmm %s: guest not loaded: %s\n", name, why);
    return rc;
}
