/*
 * nethv UEFI loader: the hand-off to the kernel.
 *
 * Before ExitBootServices, handoff_prepare() builds everything the CPU will
 * use from then on in EfiLoaderData pages (BOOT_DATA for the kernel): an
 * identity map of [0, max(4 GiB, top of the memory map)), a GDT and a stack.
 * After it, handoff_go() switches to them (enter.S), copies the kernel into
 * place and calls entry64(BOOT_INFO_MAGIC, boot_info).  Nothing left in use
 * lives in boot-services memory, so the kernel may reuse all USABLE RAM.
 */
#include <cpuid.h>
#include "loader.h"

#define STACK_SIZE (64 * 1024)
#define PTE_P      (1ULL << 0)
#define PTE_RW     (1ULL << 1)
#define PTE_PS     (1ULL << 7)
#define GIB        (1ULL << 30)
#define CR4_LA57   (1ULL << 12)

struct dtr {
    UINT16 limit;
    UINT64 base;
} __attribute__((packed));

static struct {
    struct kimage k;
    struct boot_info *bi;
    UINT64 stack_top;
    UINT64 cr3;
    struct dtr *gdtr;
} ho;

void handoff_enter(UINT64 cr3, const void *gdtr, UINT64 stack_top,
                   void (*fn)(void *), void *arg) __attribute__((noreturn, visibility("hidden")));

static UINT64 *build_page_tables(UINT64 top, int la57)
{
    unsigned a, b, c, d;
    int gb_pages = __get_cpuid(0x80000001, &a, &b, &c, &d) && (d & (1u << 26));
    UINT64 maxphys = 36;
    if (__get_cpuid(0x80000008, &a, &b, &c, &d))
        maxphys = a & 0xff;

    if (top < 4 * GIB)
        top = 4 * GIB;
    if (maxphys < 64 && top > (1ULL << maxphys))
        top = 1ULL << maxphys;
    if (top > 512 * 512 * GIB)          /* one PML4 */
        top = 512 * 512 * GIB;
    UINT64 ngb = (top + GIB - 1) / GIB;
    UINT64 npdpt = (ngb + 511) / 512;
    UINT64 npd = gb_pages ? 0 : ngb;
    UINT64 *t = alloc_pages((1 + la57 + npdpt + npd) * PAGE_SIZE);
    if (!t)
        return NULL;

    UINT64 *root = t, *pml4 = t + 512 * la57, *pdpt = pml4 + 512, *pd = pdpt + 512 * npdpt;
    if (la57)
        root[0] = (UINT64)pml4 | PTE_P | PTE_RW;
    for (UINT64 i = 0; i < npdpt; i++)
        pml4[i] = (UINT64)(pdpt + 512 * i) | PTE_P | PTE_RW;
    for (UINT64 g = 0; g < ngb; g++) {
        if (gb_pages) {
            pdpt[g] = (g * GIB) | PTE_P | PTE_RW | PTE_PS;
            continue;
        }
        pdpt[g] = (UINT64)(pd + 512 * g) | PTE_P | PTE_RW;
        for (UINT64 j = 0; j < 512; j++)
            pd[512 * g + j] = (g * GIB + (j << 21)) | PTE_P | PTE_RW | PTE_PS;
    }
    Print(L"nethv-efi: identity map 0-0x%lx with %s pages\n", ngb * GIB,
          gb_pages ? L"1 GiB" : L"2 MiB");
    return root;
}

EFI_STATUS handoff_prepare(const struct kimage *k, struct boot_info *bi, UINT64 top)
{
    UINT64 cr4;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));

    UINT64 *pt = build_page_tables(top, (cr4 & CR4_LA57) != 0);
    UINT8 *stack = alloc_pages(STACK_SIZE);
    UINT64 *gdt = alloc_pages(PAGE_SIZE);
    if (!pt || !stack || !gdt)
        return EFI_OUT_OF_RESOURCES;
    gdt[1] = 0x00af9a000000ffffULL;     /* 0x08: 64-bit code, DPL 0 */
    gdt[2] = 0x00cf92000000ffffULL;     /* 0x10: data */
    ho.gdtr = (struct dtr *)(gdt + 8);
    ho.gdtr->limit = 3 * 8 - 1;
    ho.gdtr->base = (UINT64)gdt;
    ho.k = *k;
    ho.bi = bi;
    ho.stack_top = (UINT64)stack + STACK_SIZE;
    ho.cr3 = (UINT64)pt;
    return EFI_SUCCESS;
}

static __attribute__((noreturn)) void finish(void *arg)
{
    (void)arg;
    kimage_copy(&ho.k);
    serial_puts("nethv-efi: boot services exited, entering the kernel\n");
    __asm__ volatile("mov %0, %%rsp\n\t"
                     "call *%1\n\t"
                     "1: cli\n\t"
                     "hlt\n\t"
                     "jmp 1b"
                     : : "d"(ho.stack_top), "a"(ho.k.entry64), "D"(BOOT_INFO_MAGIC),
                       "S"(ho.bi)
                     : "memory");
    __builtin_unreachable();
}

void handoff_go(void)
{
    handoff_enter(ho.cr3, ho.gdtr, ho.stack_top, finish, NULL);
}
