/*
 * Linux/x86 boot protocol loader (Documentation/arch/x86/boot.rst and
 * zero-page.rst): a bzImage of protocol >= 2.12 whose xloadflags offer the
 * 64-bit entry is entered at startup_64 (load address + 0x200) in long mode,
 * with identity page tables, a flat GDT (__BOOT_CS 0x10, __BOOT_DS 0x18),
 * interrupts off and RSI = the boot_params ("zero page") we fill.  No real
 * mode setup code runs: boot_params carries the e820 map, the command line,
 * the initrd and the ACPI RSDP address (vmm/acpi_tables.c writes the tables
 * at GUEST_ACPI_BASE when the monitor is created).  On non-Intel CPUs the
 * loader appends tsc_early_khz=<host TSC rate> to the command line unless
 * it has one (see guest_load_linux).
 *
 * Guest layout: include/nethv/guest_layout.h.  BSP, at VM creation; the CPU
 * of vCPU 0 when the VM restarts (kernel/vm.c).
 */
#include <stdio.h>
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <nethv/guest_load.h>
#include <nethv/guest_layout.h>
#include <arch/time.h>
#include <arch/x86.h>

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

#define KERNEL_DEFAULT_LOAD (16 * MIB)
#define PTE_P_W             0x3ull
#define PTE_PS_2M           0x80ull

struct e820_entry { uint64_t addr, size; uint32_t type; } __attribute__((packed));
_Static_assert(sizeof(struct e820_entry) == 20, "e820 entry is 20 bytes");

static uint32_t rd32(const uint8_t *p, unsigned off) { uint32_t v; memcpy(&v, p + off, 4); return v; }
static uint16_t rd16(const uint8_t *p, unsigned off) { uint16_t v; memcpy(&v, p + off, 2); return v; }
static uint64_t rd64(const uint8_t *p, unsigned off) { uint64_t v; memcpy(&v, p + off, 8); return v; }
static void wr32(uint8_t *p, unsigned off, uint32_t v) { memcpy(p + off, &v, 4); }
static void wr64(uint8_t *p, unsigned off, uint64_t v) { memcpy(p + off, &v, 8); }

/* The guest sees the host's CPUID vendor (vmm/cpuid.c). */
static bool cpu_is_intel(void)
{
    struct cpuid_regs r = cpuid(0, 0);
    return !memcmp(&r.ebx, "Genu", 4) && !memcmp(&r.edx, "ineI", 4) && !memcmp(&r.ecx, "ntel", 4);
}

static int put(struct vm *vm, uint64_t gpa, const void *src, uint64_t len)
{
    void *dst = vm_gpa_ptr(vm, gpa, len);
    if (!dst)
        return -1;
    memcpy(dst, src, len);
    return 0;
}

/* End of RAM contiguous from GPA 0 (the first region must start at 0). */
static uint64_t low_ram_end(const struct vm *vm)
{
    for (unsigned i = 0; i < vm->nram; i++)
        if (vm->ram[i].gpa == 0)
            return vm->ram[i].size;
    return 0;
}

/* The e820 map: the first region minus the legacy holes, others as RAM. */
static unsigned build_e820(const struct vm *vm, struct e820_entry *e, unsigned max)
{
    unsigned n = 0;
    for (unsigned i = 0; i < vm->nram && n + 4 <= max; i++) {
        const struct vm_ram *r = &vm->ram[i];
        if (r->gpa != 0) {
            e[n++] = (struct e820_entry){ r->gpa, r->size, E820_RAM };
            continue;
        }
        e[n++] = (struct e820_entry){ 0, GUEST_LOW_RAM_END, E820_RAM };
        e[n++] = (struct e820_entry){ GUEST_LOW_RAM_END, GUEST_ACPI_BASE - GUEST_LOW_RAM_END,
                                      E820_RESERVED };
        e[n++] = (struct e820_entry){ GUEST_ACPI_BASE, GUEST_ACPI_END - GUEST_ACPI_BASE, E820_ACPI };
        e[n++] = (struct e820_entry){ GUEST_HIGH_RAM, r->size - GUEST_HIGH_RAM, E820_RAM };
    }
    if (n < max)        /* Linux uses MMCONFIG only inside reserved ranges */
        e[n++] = (struct e820_entry){ GUEST_ECAM_BASE, (uint64_t)GUEST_ECAM_BUSES << 20, E820_RESERVED };
    return n;
}

/* Identity map of 0-4 GiB with 2 MiB pages, and the boot GDT. */
static int build_page_tables_gdt(struct vm *vm)
{
    uint64_t *pml4 = vm_gpa_ptr(vm, GUEST_PML4, PAGE_SIZE);
    uint64_t *pdpt = vm_gpa_ptr(vm, GUEST_PDPT, PAGE_SIZE);
    uint64_t *pd = vm_gpa_ptr(vm, GUEST_PD, 4 * PAGE_SIZE);
    uint64_t *gdt = vm_gpa_ptr(vm, GUEST_GDT, 4 * 8);
    if (!pml4 || !pdpt || !pd || !gdt)
        return -1;
    memset(pml4, 0, PAGE_SIZE);
    memset(pdpt, 0, PAGE_SIZE);
    pml4[0] = GUEST_PDPT | PTE_P_W;
    for (unsigned i = 0; i < 4; i++)
        pdpt[i] = (GUEST_PD + i * PAGE_SIZE) | PTE_P_W;
    for (unsigned i = 0; i < 4 * 512; i++)
        pd[i] = (uint64_t)i * (2 * MIB) | PTE_P_W | PTE_PS_2M;
    gdt[0] = 0;
    gdt[1] = 0;
    gdt[2] = 0x00af9b000000ffffull;     /* 0x10 __BOOT_CS: 64-bit code, P, DPL 0, r/x */
    gdt[3] = 0x00cf93000000ffffull;     /* 0x18 __BOOT_DS: flat 4 GiB data, r/w */
    return 0;
}

/* 64-bit mode, paging on through the identity map, flat __BOOT_CS/__BOOT_DS. */
static void guest_state_long64(struct guest_boot_state *st, uint64_t entry, uint64_t rsi)
{
    memset(st, 0, sizeof(*st));
    const struct vcpu_seg code = { 0x10, 0xa09b, 0xffffffffu, 0 };  /* G, L, P, code r/x accessed */
    const struct vcpu_seg data = { 0x18, 0xc093, 0xffffffffu, 0 };  /* G, B, P, data r/w accessed */
    st->sregs.cs = code;
    st->sregs.ds = st->sregs.es = st->sregs.fs = st->sregs.gs = st->sregs.ss = data;
    st->sregs.tr = (struct vcpu_seg){ 0, 0x8b, 0xffff, 0 };         /* busy 64-bit TSS */
    st->sregs.ldtr = (struct vcpu_seg){ 0, SEG_AR_UNUSABLE | 0x82, 0xffff, 0 };
    st->sregs.gdt = (struct vcpu_dtable){ GUEST_GDT, 4 * 8 - 1 };
    st->sregs.idt = (struct vcpu_dtable){ 0, 0 };
    st->sregs.cr0 = 0x80000031ull;                                  /* PG | NE | ET | PE */
    st->sregs.cr3 = GUEST_PML4;
    st->sregs.cr4 = 0x20;                                           /* PAE */
    st->sregs.efer = 0x500;                                         /* LME | LMA */
    st->regs.rflags = 0x2;                                          /* IF = 0 */
    st->regs.rip = entry;
    st->regs.gpr.rsi = rsi;
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
        align = 2 * MIB;
    if (pref >= GUEST_HIGH_RAM && !(pref & (align - 1)))
        return pref;
    return ALIGN_UP(KERNEL_DEFAULT_LOAD, align);
}

int guest_load_linux(struct vm *vm, const struct boot_module *kernel,
                     const struct boot_module *initrd, const char *cmdline,
                     struct guest_boot_state *st, const char **why)
{
    const uint8_t *img = phys_to_virt(kernel->base);
    uint64_t size = kernel->len;
    if (check_header(img, size, why))
        return -1;

    uint64_t ram_end = low_ram_end(vm);
    if (ram_end <= GUEST_HIGH_RAM || ram_end > GUEST_PCI_HOLE) {
        *why = "Linux: RAM from GPA 0 must be > 1 MiB and end below the PCI hole (2.75 GiB)";
        return -1;
    }
    unsigned setup_sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
    uint64_t pm_off = (uint64_t)(setup_sects + 1) * 512;
    if (pm_off >= size) { *why = "Linux: setup_sects beyond the image"; return -1; }
    uint64_t pm_len = size - pm_off;
    uint64_t load = kernel_load_addr(img);
    uint64_t init_size = rd32(img, HDR_INIT_SIZE);
    if (init_size < pm_len)
        init_size = pm_len;
    if (load + init_size > ram_end) { *why = "Linux: guest RAM too small for the kernel's init_size"; return -1; }
    if (put(vm, load, img + pm_off, pm_len)) { *why = "Linux: kernel outside guest RAM"; return -1; }

    /* boot_params: zeroed, the image's setup header copied in, then ours */
    uint8_t *bp = vm_gpa_ptr(vm, GUEST_BOOT_PARAMS, BP_SIZE);
    if (!bp) { *why = "Linux: no guest RAM for boot_params"; return -1; }
    memset(bp, 0, BP_SIZE);
    unsigned hdr_end = 0x202 + img[HDR_JUMP_END];
    if (hdr_end > HDR_MAX_END)
        hdr_end = HDR_MAX_END;
    memcpy(bp + HDR_START, img + HDR_START, hdr_end - HDR_START);
    bp[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
    wr32(bp, HDR_CODE32_START, (uint32_t)load);

    /* command line, cut to what the kernel accepts */
    uint64_t cl_max = rd32(img, HDR_CMDLINE_SIZE);
    if (cl_max == 0 || cl_max > GUEST_CMDLINE_MAX - 1)
        cl_max = GUEST_CMDLINE_MAX - 1;
    char *cl = vm_gpa_ptr(vm, GUEST_CMDLINE, GUEST_CMDLINE_MAX);
    if (!cl) { *why = "Linux: no guest RAM for the command line"; return -1; }
    memset(cl, 0, GUEST_CMDLINE_MAX);
    size_t cl_len = strnlen(cmdline, cl_max);
    memcpy(cl, cmdline, cl_len);
    /* Tell the guest the TSC rate where CPUID cannot: Linux 6.1 reads it
     * from leaf 0x15 (vmm/cpuid.c) on Intel only; elsewhere it calibrates
     * against the PIT and the PM timer, which fails when every port read is
     * an exit ("Unable to calibrate against PIT", TSC marked unstable, a
     * 2.5x slower boot under QEMU TCG).  With the rate known Linux needs no
     * PIT at all (no PIT clockevent, no IO-APIC timer check).  A rate on the
     * command line wins; tsc_early_khz=0 makes Linux calibrate (and run on
     * the PIT's IRQ 0 until its LAPIC timer takes over). */
    if (!strstr(cl, "tsc_early_khz=") && tsc_hz && !cpu_is_intel())
        snprintf(cl + cl_len, cl_max + 1 - cl_len, "%stsc_early_khz=%llu", cl_len ? " " : "",
                 (unsigned long long)(tsc_hz / 1000));
    wr32(bp, HDR_CMD_LINE_PTR, GUEST_CMDLINE);
    wr32(bp, BP_EXT_CMD_LINE_PTR, 0);

    /* initrd: as high as RAM, initrd_addr_max and 4 GiB allow */
    if (initrd) {
        uint64_t top = ram_end;
        uint64_t max = (uint64_t)rd32(img, HDR_INITRD_ADDR_MAX) + 1;
        if (top > max)
            top = max;
        if (top > 4 * GIB)
            top = 4 * GIB;
        uint64_t at = top > initrd->len ? ALIGN_DOWN(top - initrd->len, PAGE_SIZE) : 0;
        if (at < load + init_size) { *why = "Linux: initrd does not fit above the kernel"; return -1; }
        if (put(vm, at, phys_to_virt(initrd->base), initrd->len)) { *why = "Linux: initrd outside guest RAM"; return -1; }
        wr32(bp, HDR_RAMDISK_IMAGE, (uint32_t)at);
        wr32(bp, HDR_RAMDISK_SIZE, (uint32_t)initrd->len);
        wr32(bp, BP_EXT_RAMDISK_IMG, (uint32_t)(at >> 32));
        wr32(bp, BP_EXT_RAMDISK_SIZE, (uint32_t)(initrd->len >> 32));
    }

    struct e820_entry map[VM_MAX_RAM + 5];      /* 4 for region 0, 1 for the ECAM */
    unsigned n = build_e820(vm, map, sizeof(map) / sizeof(map[0]));
    memcpy(bp + BP_E820_TABLE, map, n * sizeof(map[0]));
    bp[BP_E820_ENTRIES] = (uint8_t)n;
    wr64(bp, BP_ACPI_RSDP_ADDR, GUEST_ACPI_BASE);       /* the RSDP: first table there */

    if (build_page_tables_gdt(vm)) { *why = "Linux: no guest RAM for the boot page tables"; return -1; }
    guest_state_long64(st, load + STARTUP_64_OFFSET, GUEST_BOOT_PARAMS);
    printk("vm %s: Linux boot protocol %u.%02u, kernel at %#llx (init_size %#llx), initrd %llu KiB\n",
           vm->name, rd16(img, HDR_VERSION) >> 8, rd16(img, HDR_VERSION) & 0xff,
           (unsigned long long)load, (unsigned long long)init_size,
           (unsigned long long)(initrd ? initrd->len >> 10 : 0));
    return 0;
}
