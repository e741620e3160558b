/*
 * Multiboot1 guest loader (Multiboot spec 0.6.96): the kernel image is a
 * 32-bit ELF (or uses the a.out kludge, flags bit 16); it is entered in
 * 32-bit protected mode with paging off, EAX = 0x2BADB002, EBX = the
 * Multiboot information (memory, command line, modules, memory map).
 */
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <nethv/guest_load.h>

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
#define LOW_RAM_END         0x9fc00u

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

static int put(struct vm *vm, uint64_t gpa, const void *src, uint64_t len, uint64_t zero_to)
{
    void *dst = vm_gpa_ptr(vm, gpa, zero_to > len ? zero_to : len);
    if (!dst)
        return -1;
    memcpy(dst, src, len);
    if (zero_to > len)
        memset((uint8_t *)dst + len, 0, zero_to - len);
    return 0;
}

static int load_elf32(struct vm *vm, const uint8_t *img, uint64_t size, uint32_t *entry,
                      uint64_t *end, const char **why)
{
    struct elf32_ehdr eh;
    if (size < sizeof(eh)) { *why = "image too small for ELF"; return -1; }
    memcpy(&eh, img, sizeof(eh));
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
    for (unsigned i = 0; i < eh.phnum; i++) {
        struct elf32_phdr ph;
        memcpy(&ph, img + eh.phoff + i * sizeof(ph), sizeof(ph));
        if (ph.type != PT_LOAD || ph.memsz == 0)
            continue;
        if (ph.filesz > ph.memsz || ph.offset > size || ph.filesz > size - ph.offset) {
            *why = "ELF segment outside the file";
            return -1;
        }
        if (put(vm, ph.paddr, img + ph.offset, ph.filesz, ph.memsz)) {
            *why = "ELF segment outside guest RAM";
            return -1;
        }
        if ((uint64_t)ph.paddr + ph.memsz > *end)
            *end = (uint64_t)ph.paddr + ph.memsz;
    }
    *entry = eh.entry;
    return *end ? 0 : (*why = "ELF has no loadable segment", -1);
}

static int load_aout(struct vm *vm, const uint8_t *img, uint64_t size, const uint32_t *h,
                     uint32_t hdr_off, uint32_t *entry, uint64_t *end, const char **why)
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
    if (put(vm, load_addr, img + file_off, len, total)) {
        *why = "a.out kludge: load range outside guest RAM";
        return -1;
    }
    *entry = h[7];
    *end = load_addr + total;
    return 0;
}

void guest_state_prot32(struct guest_boot_state *st, uint64_t entry)
{
    memset(st, 0, sizeof(*st));
    const struct vcpu_seg code = { 0x08, 0xc09b, 0xffffffffu, 0 };  /* G, D, P, code r/x accessed */
    const struct vcpu_seg data = { 0x10, 0xc093, 0xffffffffu, 0 };  /* G, B, P, data r/w accessed */
    st->sregs.cs = code;
    st->sregs.ds = st->sregs.es = st->sregs.fs = st->sregs.gs = st->sregs.ss = data;
    st->sregs.tr = (struct vcpu_seg){ 0, 0x8b, 0xffff, 0 };         /* busy 32-bit TSS */
    st->sregs.ldtr = (struct vcpu_seg){ 0, SEG_AR_UNUSABLE | 0x82, 0xffff, 0 };
    st->sregs.gdt = (struct vcpu_dtable){ 0, 0xffff };
    st->sregs.idt = (struct vcpu_dtable){ 0, 0xffff };
    st->sregs.cr0 = 0x11;                                          /* PE | ET */
    st->regs.rflags = 0x2;
    st->regs.rip = entry;
}

int guest_load_multiboot(struct vm *vm, const struct boot_module *kernel,
                         const struct boot_module *mod, const char *cmdline,
                         struct guest_boot_state *st, const char **why)
{
    const uint8_t *img = phys_to_virt(kernel->base);
    uint64_t size = kernel->len;
    uint32_t hdr_off = 0, h[8] = { 0 };
    bool found = false;

    for (uint32_t off = 0; off + 12 <= size && off < MB1_SEARCH; off += 4) {
        memcpy(h, img + off, size - off >= 32 ? 32 : 12);
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
        ? load_aout(vm, img, size, h, hdr_off, &entry, &end, why)
        : load_elf32(vm, img, size, &entry, &end, why);
    if (rc)
        return rc;

    uint64_t ram = vm->ram[0].gpa == 0 ? vm->ram[0].size : 0;
    struct mb1_info mbi = { 0 };
    mbi.flags = MB1_INFO_MEM | MB1_INFO_CMDLINE | MB1_INFO_MMAP | MB1_INFO_LOADER;
    mbi.mem_lower = LOW_RAM_END / 1024;
    mbi.mem_upper = (uint32_t)((ram - 0x100000) / 1024);
    size_t cl = strnlen(cmdline, GPA_LOADER_NAME - GPA_CMDLINE - 1);
    if (put(vm, GPA_CMDLINE, cmdline, cl, cl + 1)) { *why = "no guest RAM for the command line"; return -1; }
    mbi.cmdline = GPA_CMDLINE;
    put(vm, GPA_LOADER_NAME, "nethv", 6, 6);
    mbi.boot_loader_name = GPA_LOADER_NAME;

    struct mb1_mmap mm[2] = {
        { 20, 0, LOW_RAM_END, 1 },
        { 20, 0x100000, ram - 0x100000, 1 },
    };
    put(vm, GPA_MMAP, mm, sizeof(mm), 0);
    mbi.mmap_addr = GPA_MMAP;
    mbi.mmap_length = sizeof(mm);

    if (mod) {
        uint64_t at = ALIGN_UP(end, PAGE_SIZE);
        if (put(vm, at, phys_to_virt(mod->base), mod->len, 0)) {
            *why = "module does not fit in guest RAM after the kernel";
            return -1;
        }
        size_t nl = strlen(mod->name);
        uint32_t name_gpa = GPA_MODS + sizeof(struct mb1_module);
        struct mb1_module m = { (uint32_t)at, (uint32_t)(at + mod->len), name_gpa, 0 };
        put(vm, GPA_MODS, &m, sizeof(m), 0);
        put(vm, name_gpa, mod->name, nl, nl + 1);
        mbi.flags |= MB1_INFO_MODS;
        mbi.mods_count = 1;
        mbi.mods_addr = GPA_MODS;
    }
    if (put(vm, GPA_MBI, &mbi, sizeof(mbi), 0)) { *why = "no guest RAM for the boot information"; return -1; }

    guest_state_prot32(st, entry);
    st->regs.gpr.rax = MB1_BOOT_MAGIC;
    st->regs.gpr.rbx = GPA_MBI;
    return 0;
}
