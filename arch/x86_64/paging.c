/*
 * The hypervisor's own address space: an identity map of [0, max(4 GiB,
 * top of RAM)), 2 MiB pages where the chunk is uniformly RAM or uniformly
 * not, 4 KiB pages where it is mixed or where protections differ.  RAM is
 * write-back; everything else (MMIO, holes) uncached (PCD|PWT).
 *
 * Protections (issue 13, "host memory"):
 *  - everything is NX (EFER.NXE, SDM 3A 4.6.2) except the kernel's text,
 *    which is read-only (CR0.WP, SDM 3A 4.6.1): W^X over the whole map, and
 *    guest RAM is never executable by the host;
 *  - .rodata read-only;
 *  - page 0 not present: a NULL dereference faults and is reported;
 *  - a not-present guard page below the boot stack and every stack that
 *    paging_guard_stack() is given;
 *  - SMEP and SMAP (SDM 3A 4.6.1) when CPUID 7 reports them.  No host page
 *    is a user page today; they stop the host from ever running or reading
 *    through one that a later change might map.
 * The AP trampoline's page is executable (and writable: smp.c patches it per
 * AP) only while APs are being started: paging_trampoline().
 * Paging structures: SDM 3A 4.5.
 */
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <arch/cpu.h>
#include <arch/paging.h>
#include <arch/regs.h>
#include <arch/x86.h>

#define PT_ENTRIES      512
#define SZ_2M           (2ull << 20)
#define SZ_1G           (1ull << 30)
#define PT_LIMIT        (1ull << 32)    /* tables below 4 GiB: the AP trampoline loads CR3 in 32 bits */
#define ATTR_UC         (PTE_PCD | PTE_PWT)

extern const char __image_start[], __rodata_start[], __data_start[], boot_stack_guard[];
extern const char probe_ret_in_data[];
uint64_t probe_access(uint64_t kind, uint64_t addr);     /* probe.S */
#define PROBE_READ      0
#define PROBE_WRITE     1
#define PROBE_CALL      2
#define PROBE_FAULTED   (1ull << 63)

uint64_t kernel_cr3;
uint64_t paging_nx;                     /* PTE_NX when EFER.NXE is usable, else 0 */
static uint64_t cr4_protect;            /* CR4.SMEP/SMAP/UMIP as CPUID reports them */
uint8_t paging_smap;                    /* isr.S: CLAC on entries from CPL 3 */
static unsigned n_2m, n_4k;

static uint64_t *new_table(void)
{
    uint64_t pa = page_alloc(1, PAGE_SIZE, PT_LIMIT);
    if (!pa)
        panic("paging: out of memory for page tables");
    return phys_to_virt(pa);
}

static uint64_t *next_level(uint64_t *table, unsigned idx)
{
    if (!(table[idx] & PTE_P))
        table[idx] = virt_to_phys(new_table()) | PTE_P | PTE_W;
    return phys_to_virt(table[idx] & PTE_ADDR_MASK);
}

static void map_2m_chunk(uint64_t *pml4, uint64_t va)
{
    uint64_t *pdpt = next_level(pml4, (va >> 39) & 511);
    uint64_t *pd = next_level(pdpt, (va >> 30) & 511);
    int ram = mem_range_is_ram(va, SZ_2M);
    if (ram >= 0) {
        pd[(va >> 21) & 511] = va | PTE_P | PTE_W | PTE_PS | PTE_G | paging_nx | (ram ? 0 : ATTR_UC);
        n_2m++;
        return;
    }
    uint64_t *pt = next_level(pd, (va >> 21) & 511);
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        uint64_t a = va + (uint64_t)i * PAGE_SIZE;
        pt[i] = a | PTE_P | PTE_W | PTE_G | paging_nx |
                (mem_range_is_ram(a, PAGE_SIZE) == 1 ? 0 : ATTR_UC);
    }
    n_4k += PT_ENTRIES;
}

/* The 4 KiB entry that maps va, splitting its 2 MiB page if need be; NULL
 * if va is outside the map. */
static uint64_t *pte_of(uint64_t va)
{
    uint64_t *pml4 = phys_to_virt(kernel_cr3 & PTE_ADDR_MASK);
    uint64_t e = pml4[(va >> 39) & 511];
    if (!(e & PTE_P))
        return NULL;
    uint64_t *pdpt = phys_to_virt(e & PTE_ADDR_MASK);
    e = pdpt[(va >> 30) & 511];
    if (!(e & PTE_P) || (e & PTE_PS))
        return NULL;                    /* no 1 GiB pages are made here */
    uint64_t *pd = phys_to_virt(e & PTE_ADDR_MASK);
    e = pd[(va >> 21) & 511];
    if (!(e & PTE_P))
        return NULL;
    if (e & PTE_PS) {
        /* same attributes on 512 small pages (bit 12 is PAT in a 2 MiB
         * entry; nethv leaves it 0), then the table replaces the page */
        uint64_t *pt = new_table();
        uint64_t base = e & ~(SZ_2M - 1) & PTE_ADDR_MASK, attr = (e & ~PTE_ADDR_MASK) & ~PTE_PS;
        for (unsigned i = 0; i < PT_ENTRIES; i++)
            pt[i] = (base + (uint64_t)i * PAGE_SIZE) | attr;
        pd[(va >> 21) & 511] = virt_to_phys(pt) | PTE_P | PTE_W;
        n_2m--;
        n_4k += PT_ENTRIES;
        e = pd[(va >> 21) & 511];
    }
    uint64_t *pt = phys_to_virt(e & PTE_ADDR_MASK);
    return &pt[(va >> 12) & 511];
}

void paging_protect(uint64_t va, uint64_t len, uint64_t set, uint64_t clear)
{
    for (uint64_t a = ALIGN_DOWN(va, PAGE_SIZE); a < va + len; a += PAGE_SIZE) {
        uint64_t *pte = pte_of(a);
        if (!pte)
            panic("paging: %#llx is not in the identity map", (unsigned long long)a);
        *pte = (*pte & ~clear) | set;
        invlpg(a);
    }
}

void paging_guard_stack(uint64_t lowest_page)
{
    paging_protect(lowest_page, PAGE_SIZE, 0, PTE_P);
}

void paging_trampoline(uint64_t pa, bool executable)
{
    paging_protect(pa, PAGE_SIZE, executable ? 0 : paging_nx, executable ? paging_nx : 0);
}

void paging_init_cpu(void)
{
    /* NXE; and SCE off whatever the loader left: nothing of the host uses
     * SYSCALL, and with SCE a SYSCALL at CPL 3 would enter ring 0 at
     * whatever LSTAR a guest left loaded (VMX switches it lazily) */
    wrmsr(MSR_EFER, (rdmsr(MSR_EFER) | (paging_nx ? EFER_NXE : 0)) & ~EFER_SCE);
    write_cr0(read_cr0() | CR0_WP);
    write_cr4(read_cr4() | CR4_PGE | cr4_protect);
}

/*
 * Boot-time proof that the protections are in force (like Linux's W+X and
 * rodata checks): each access below must fault with the error code given,
 * or complete where that is expected.  A mismatch stops the boot.
 */
static void probe_expect(const char *what, uint64_t kind, uint64_t addr, bool fault, uint32_t ec)
{
    uint64_t r = probe_access(kind, addr);
    if (!fault && r)
        panic("paging check: %s faulted (error code %#llx)", what, (unsigned long long)(r & 0xffff));
    if (fault && !r)
        panic("paging check: %s did not fault", what);
    if (fault && (uint32_t)(r & (PFEC_P | PFEC_W | PFEC_U | PFEC_RSVD | PFEC_ID)) != ec)
        panic("paging check: %s faulted with error code %#llx, expected %#x", what,
              (unsigned long long)(r & 0xffff), ec);
}

static void paging_check(void)
{
    static uint8_t data_byte;
    uint64_t text = (uint64_t)(uintptr_t)__image_start + PAGE_SIZE;
    probe_expect("a read of .data", PROBE_READ, (uint64_t)(uintptr_t)&data_byte, false, 0);
    probe_expect("a write to .data", PROBE_WRITE, (uint64_t)(uintptr_t)&data_byte, false, 0);
    probe_expect("a read of text", PROBE_READ, text, false, 0);
    probe_expect("a read of page 0", PROBE_READ, 0, true, 0);
    probe_expect("a read of the boot stack's guard page", PROBE_READ,
                 (uint64_t)(uintptr_t)boot_stack_guard, true, 0);
    probe_expect("a write to text", PROBE_WRITE, text, true, PFEC_P | PFEC_W);
    probe_expect("a write to .rodata", PROBE_WRITE, (uint64_t)(uintptr_t)__rodata_start, true,
                 PFEC_P | PFEC_W);
    if (paging_nx) {
        probe_expect("a call into .data", PROBE_CALL, (uint64_t)(uintptr_t)probe_ret_in_data, true,
                     PFEC_P | PFEC_ID);
    }
    /* a page as guest RAM is allocated: never executable; then as a user
     * page, which SMEP and SMAP keep the host from running and reading */
    uint64_t pa = page_alloc(1, PAGE_SIZE, 0);
    if (!pa)
        panic("paging check: no page");
    *(volatile uint8_t *)phys_to_virt(pa) = 0xc3;               /* RET */
    if (paging_nx)
        probe_expect("a call into RAM", PROBE_CALL, pa, true, PFEC_P | PFEC_ID);
    paging_protect(pa, PAGE_SIZE, PTE_U, paging_nx);
    /* user only if U is set at every level (SDM 3A 4.6.1); nethv's upper
     * levels are supervisor, so for the length of the test its path is not */
    uint64_t *path[3], saved[3];
    path[0] = (uint64_t *)phys_to_virt(kernel_cr3 & PTE_ADDR_MASK) + ((pa >> 39) & 511);
    path[1] = (uint64_t *)phys_to_virt(*path[0] & PTE_ADDR_MASK) + ((pa >> 30) & 511);
    path[2] = (uint64_t *)phys_to_virt(*path[1] & PTE_ADDR_MASK) + ((pa >> 21) & 511);
    for (int i = 0; i < 3; i++) {
        saved[i] = *path[i];
        *path[i] |= PTE_U;
    }
    invlpg(pa);
    if (cr4_protect & CR4_SMEP)
        probe_expect("a call into a user page (SMEP)", PROBE_CALL, pa, true, PFEC_P | PFEC_ID);
    if (cr4_protect & CR4_SMAP)
        probe_expect("a read of a user page (SMAP)", PROBE_READ, pa, true, PFEC_P);
    for (int i = 0; i < 3; i++)
        *path[i] = saved[i];
    paging_protect(pa, PAGE_SIZE, paging_nx, PTE_U);       /* flushes the TLB entry too */
    page_free(pa, 1);
    printk("paging: checked: page 0 and stack guard not present, text and .rodata read-only%s%s%s\n",
           paging_nx ? ", .data and RAM not executable" : "",
           (cr4_protect & CR4_SMEP) ? ", SMEP" : "", (cr4_protect & CR4_SMAP) ? ", SMAP" : "");
}

void paging_init(void)
{
    uint64_t top = mem_top_of_ram();
    if (top < 4 * SZ_1G)
        top = 4 * SZ_1G;
    top = ALIGN_UP(top, SZ_2M);

    if (cpuid(0x80000000, 0).eax >= 0x80000001 && (cpuid(0x80000001, 0).edx & CPUIDX1_EDX_NX))
        paging_nx = PTE_NX;
    uint32_t l7 = cpuid(0, 0).eax >= 7 ? cpuid(7, 0).ebx : 0;
    uint32_t l7c = cpuid(0, 0).eax >= 7 ? cpuid(7, 0).ecx : 0;
    cr4_protect = ((l7 & CPUID7_EBX_SMEP) ? CR4_SMEP : 0) | ((l7 & CPUID7_EBX_SMAP) ? CR4_SMAP : 0) |
                  ((l7c & CPUID7_ECX_UMIP) ? CR4_UMIP : 0);   /* SGDT/SIDT/SLDT/SMSW/STR: CPL 0 only */
    paging_smap = (cr4_protect & CR4_SMAP) != 0;

    /* 8 KiB-aligned: CR3 bit 12 clear, which marks monitors' user views
     * (user.c, KPTI) */
    uint64_t pml4_pa = page_alloc(1, 2 * PAGE_SIZE, PT_LIMIT);
    if (!pml4_pa)
        panic("paging: out of memory for page tables");
    uint64_t *pml4 = phys_to_virt(pml4_pa);
    for (uint64_t va = 0; va < top; va += SZ_2M)
        map_2m_chunk(pml4, va);
    kernel_cr3 = virt_to_phys(pml4);

    uint64_t text = (uint64_t)(uintptr_t)__image_start, ro = (uint64_t)(uintptr_t)__rodata_start,
             data = (uint64_t)(uintptr_t)__data_start;
    paging_protect(text, ro - text, 0, PTE_W | paging_nx);
    paging_protect(ro, data - ro, 0, PTE_W);
    paging_protect(0, PAGE_SIZE, 0, PTE_P);
    paging_guard_stack((uint64_t)(uintptr_t)boot_stack_guard);

    /* NXE before the tables that use bit 63 are loaded (it is reserved
     * without it, SDM 3A 4.5.4) */
    paging_init_cpu();
    write_cr3(kernel_cr3);
    printk("paging: identity map 0-%llu MiB, %u 2M pages, %u 4K pages; text %llu KiB RX, "
           "the rest %s; page 0 unmapped; SMEP %s, SMAP %s\n",
           (unsigned long long)(top >> 20), n_2m, n_4k, (unsigned long long)((ro - text) >> 10),
           paging_nx ? "NX" : "executable (this CPU has no NX)",
           (cr4_protect & CR4_SMEP) ? "on" : "absent", (cr4_protect & CR4_SMAP) ? "on" : "absent");
    paging_check();
}
