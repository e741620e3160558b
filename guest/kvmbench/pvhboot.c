/*
 * pvhboot: boot an uncompressed Linux vmlinux through its PVH entry from
 * GRUB's `multiboot` command, so that Bochs does not spend most of a Linux
 * boot decompressing the XZ bzImage (≈ 43 s of ≈ 60 s, see PLATFORMS.md).
 *
 *   multiboot /boot/pvhboot.elf LINUX-COMMAND-LINE
 *   module    /boot/vmlinux        (ELF with a XEN_ELFNOTE_PHYS32_ENTRY note)
 *   module    /boot/initrd.img     (optional)
 *
 * It moves the modules above everything, copies vmlinux's PT_LOAD segments
 * to their physical addresses, builds an hvm_start_info (version 1: command
 * line, initrd, memory map from Multiboot, RSDP) and jumps to the PVH entry
 * in 32-bit protected mode without paging, EBX = &start_info.  Progress and
 * errors go to the debug port 0xE9.  Built like the test guests (guest/lib).
 */
#include "../lib/guest.h"
#include "../../include/nethv/elf64.h"

#define MB1_MAGIC       0x2badb002u
#define PVH_MAGIC       0x336ec578u     /* XEN_HVM_START_MAGIC_VALUE */
#define NOTE_PHYS32     18              /* XEN_ELFNOTE_PHYS32_ENTRY */
#define MAX_MMAP        64

struct mb1_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4], mmap_length, mmap_addr;
};
struct mb1_mod { uint32_t start, end, string, reserved; };
struct mb1_mmap { uint32_t size; uint64_t addr, len; uint32_t type; } __attribute__((packed));

struct hvm_start_info {
    uint32_t magic, version, flags, nr_modules;
    uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
    uint32_t memmap_entries, reserved;
};
struct hvm_modlist_entry { uint64_t paddr, size, cmdline_paddr, reserved; };
struct hvm_memmap_entry { uint64_t addr, size; uint32_t type, reserved; };


static struct hvm_start_info si;
static struct hvm_modlist_entry initrd_mod;
static struct hvm_memmap_entry memmap[MAX_MMAP];
static char cmdline[1024];

static void copy_up(uint32_t dst, uint32_t src, uint32_t n)  /* forward, no overlap hazard */
{
    uint32_t words = n >> 2, rest = n & 3;
    __asm__ volatile("cld; rep movsl" : "+D"(dst), "+S"(src), "+c"(words) :: "memory");
    __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(rest) :: "memory");
}

/* memmove; an overlapping move upwards goes in chunks of the distance, from
 * the end, each a fast forward copy (emulators speed up forward string copies) */
static void copy(uint32_t dst, uint32_t src, uint32_t n)
{
    if (dst == src || !n)
        return;
    if (dst < src || dst >= src + n) {
        copy_up(dst, src, n);
        return;
    }
    uint32_t step = dst - src;
    for (uint32_t end = n; end > 0;) {
        uint32_t len = end < step ? end : step;
        end -= len;
        copy_up(dst + end, src + end, len);
    }
}

static void zero(uint32_t dst, uint32_t n)
{
    __asm__ volatile("cld; rep stosb" : "+D"(dst), "+c"(n) : "a"(0) : "memory");
}

static int same(const void *a, const char *b, uint32_t n)
{
    const char *p = a;
    for (uint32_t i = 0; i < n; i++)
        if (p[i] != b[i])
            return 0;
    return 1;
}

static int is_ram(uint64_t a, uint64_t end)
{
    for (uint32_t i = 0; i < si.memmap_entries; i++)
        if (memmap[i].type == 1 && a >= memmap[i].addr && end <= memmap[i].addr + memmap[i].size)
            return 1;
    return 0;
}

static uint32_t find_rsdp(void)
{
    for (uint32_t a = 0xe0000; a < 0x100000; a += 16)
        if (same((const void *)a, "RSD PTR ", 8))
            return a;
    return 0;
}

#define FAIL(...) do { print("pvhboot: error: " __VA_ARGS__); print("\n"); for (;;) __asm__ volatile("cli; hlt"); } while (0)

int guest_main(uint32_t magic, uint32_t mbi_addr)
{
    const struct mb1_info *mbi = (const struct mb1_info *)mbi_addr;
    if (magic != MB1_MAGIC)
        FAIL("not started by a Multiboot loader (magic %x)", magic);
    if (!(mbi->flags & (1u << 3)) || mbi->mods_count < 1)
        FAIL("no vmlinux module");
    if (!(mbi->flags & (1u << 6)))
        FAIL("no memory map");

    /* Everything GRUB gave us is copied out first: it may sit anywhere. */
    uint32_t n = 0;
    for (uint32_t off = 0; off < mbi->mmap_length && n < MAX_MMAP; n++) {
        const struct mb1_mmap *e = (const struct mb1_mmap *)(mbi->mmap_addr + off);
        memmap[n] = (struct hvm_memmap_entry){ e->addr, e->len, e->type, 0 };
        off += e->size + 4;
    }
    si.memmap_entries = n;
    if (mbi->flags & (1u << 2)) {
        /* QEMU passes "FILE ARGS": Linux gets ARGS (a first word without
         * '=' is taken for the file name) */
        const char *c = (const char *)mbi->cmdline, *w = c;
        while (*w && *w != ' ' && *w != '=')
            w++;
        if (*w != '=') {
            while (*c && *c != ' ')
                c++;
            while (*c == ' ')
                c++;
        }
        uint32_t i = 0;
        while (c[i] && i < sizeof(cmdline) - 1) {
            cmdline[i] = c[i];
            i++;
        }
    }
    const struct mb1_mod *mods = (const struct mb1_mod *)mbi->mods_addr;
    uint32_t k_start = mods[0].start, k_size = mods[0].end - mods[0].start;
    uint32_t i_start = 0, i_size = 0;
    if (mbi->mods_count > 1) {
        i_start = mods[1].start;
        i_size = mods[1].end - mods[1].start;
    }

    const struct elf64_ehdr *eh = (const struct elf64_ehdr *)k_start;
    if (!same(eh->ident, "\177ELF", 4) || eh->ident[4] != 2 || eh->machine != 62)
        FAIL("module 1 is not an x86-64 ELF (vmlinux)");
    const struct elf64_phdr *ph = (const struct elf64_phdr *)(k_start + (uint32_t)eh->phoff);
    uint64_t lo = ~0ull, hi = 0, entry = 0;
    for (uint32_t i = 0; i < eh->phnum; i++) {
        if (ph[i].type == 1 && ph[i].memsz) {                  /* PT_LOAD */
            if (ph[i].paddr < lo) lo = ph[i].paddr;
            if (ph[i].paddr + ph[i].memsz > hi) hi = ph[i].paddr + ph[i].memsz;
        } else if (ph[i].type == 4) {                           /* PT_NOTE */
            uint32_t p = k_start + (uint32_t)ph[i].offset, end = p + (uint32_t)ph[i].filesz;
            while (p + 12 <= end) {
                uint32_t nsz = ((uint32_t *)p)[0], dsz = ((uint32_t *)p)[1], type = ((uint32_t *)p)[2];
                uint32_t desc = p + 12 + ((nsz + 3) & ~3u);
                if (type == NOTE_PHYS32 && nsz == 4 && same((void *)(p + 12), "Xen", 4))
                    entry = dsz == 8 ? *(uint64_t *)desc : *(uint32_t *)desc;
                p = desc + ((dsz + 3) & ~3u);
            }
        }
    }
    if (!entry)
        FAIL("vmlinux has no PVH entry (XEN_ELFNOTE_PHYS32_ENTRY; CONFIG_PVH)");
    if (hi > 0xffffffffull || lo < 0x100000)
        FAIL("vmlinux loads at %x..%x: not below 4 GiB above 1 MiB", (uint32_t)lo, (uint32_t)hi);

    /* The PT_LOAD segments, by address (the ELF headers get overwritten). */
    struct { uint32_t paddr, src, filesz, memsz; } seg[16];
    uint32_t nseg = 0;
    for (uint32_t i = 0; i < eh->phnum; i++) {
        if (ph[i].type != 1 || !ph[i].memsz)
            continue;
        if (nseg == 16)
            FAIL("vmlinux has more than 16 PT_LOAD segments");
        uint32_t j = nseg++;
        for (; j > 0 && seg[j - 1].paddr > ph[i].paddr; j--)
            seg[j] = seg[j - 1];
        seg[j].paddr = (uint32_t)ph[i].paddr;
        seg[j].src = k_start + (uint32_t)ph[i].offset;
        seg[j].filesz = (uint32_t)ph[i].filesz;
        seg[j].memsz = (uint32_t)ph[i].memsz;
    }
    uint32_t top = (uint32_t)hi;
    if (k_start + k_size > top) top = k_start + k_size;
    if (i_size && i_start + i_size > top) top = i_start + i_size;
    top = (top + 0x1fffff) & ~0x1fffffu;
    if (!is_ram(lo, hi) || !is_ram(top, (uint64_t)top + k_size + i_size + 0x1000))
        FAIL("not enough RAM for the kernel at %x..%x and the modules at %x", (uint32_t)lo, (uint32_t)hi, top);
    print("pvhboot: vmlinux %u KiB at %x -> %x..%x, PVH entry %x; initrd %u KiB at %x\n",
          k_size >> 10, k_start, (uint32_t)lo, (uint32_t)hi, (uint32_t)entry, i_size >> 10, i_start);

    /* The initrd goes out of the kernel's way (above everything) if needed. */
    uint32_t new_i = i_start;
    if (i_size && i_start < hi && i_start + i_size > lo) {
        new_i = top;
        top = (top + i_size + 0xfff) & ~0xfffu;
        copy(new_i, i_start, i_size);
    }
    /* Copy the segments straight from the module: downwards when the module
     * lies below its destination, upwards otherwise, as long as no segment's
     * destination covers a source still to be read; else move the module to
     * the top first (one more copy). */
    int down = seg[0].paddr > seg[0].src;
    int safe = 1;
    for (uint32_t a = 0; a < nseg; a++)         /* a is copied before b */
        for (uint32_t b = 0; b < nseg; b++) {
            if (down ? b >= a : b <= a)
                continue;
            if (seg[b].src < seg[a].paddr + seg[a].memsz && seg[b].src + seg[b].filesz > seg[a].paddr)
                safe = 0;
        }
    if (!safe) {
        print("pvhboot: moving vmlinux out of the way first\n");
        copy(top, k_start, k_size);
        for (uint32_t a = 0; a < nseg; a++)
            seg[a].src = seg[a].src - k_start + top;
        down = 0;
    }
    for (uint32_t n2 = 0; n2 < nseg; n2++) {
        uint32_t a = down ? nseg - 1 - n2 : n2;
        copy(seg[a].paddr, seg[a].src, seg[a].filesz);
        zero(seg[a].paddr + seg[a].filesz, seg[a].memsz - seg[a].filesz);
    }

    si.magic = PVH_MAGIC;
    si.version = 1;
    si.cmdline_paddr = (uint32_t)cmdline;
    si.memmap_paddr = (uint32_t)memmap;
    si.rsdp_paddr = find_rsdp();
    if (i_size) {
        initrd_mod = (struct hvm_modlist_entry){ new_i, i_size, 0, 0 };
        si.nr_modules = 1;
        si.modlist_paddr = (uint32_t)&initrd_mod;
    }
    print("pvhboot: starting Linux\n");
    __asm__ volatile("cli; cld; jmp *%0" :: "r"((uint32_t)entry), "b"(&si) : "memory");
    __builtin_unreachable();
}
