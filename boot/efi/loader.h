/*
 * nethv UEFI loader (GNU-EFI application nethv.efi): shared declarations.
 *
 * loader.c   efi_main: drives the steps below, exits boot services, jumps
 * kimage.c   finds the nethv image header, loads the embedded kernel ELF
 * files.c    modules and the command line from \nethv\ on the boot volume
 * acpi_fallback.c  minimal ACPI tables when the firmware has none
 * memmap.c   UEFI memory map -> boot_mem_range[] (no boot services used)
 * handoff.c  page tables, GDT, stack; the jump to the kernel (enter.S)
 * util.c     page allocation, ASCII helpers, raw serial output
 * kernel_blob.S  the kernel ELF itself (.incbin)
 */
#ifndef NETHV_EFI_LOADER_H
#define NETHV_EFI_LOADER_H

#include <efi.h>
#include <efilib.h>
#include <nethv/bootinfo.h>
#include <nethv/image.h>

#define PAGE_SIZE 4096ULL
#define PAGES(bytes) (((bytes) + PAGE_SIZE - 1) / PAGE_SIZE)

/* loader.c; called by crt0's _start (System V: not EFIAPI) */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab);

/* kernel_blob.S */
extern const UINT8 nethv_kernel_start[] __attribute__((visibility("hidden")));
extern const UINT8 nethv_kernel_end[] __attribute__((visibility("hidden")));

/* util.c */
void *alloc_pages(UINTN bytes);           /* zeroed EfiLoaderData, NULL on failure */
void alloc_guard(UINT64 lo, UINT64 hi);   /* alloc_pages never returns [lo, hi) */
UINTN ascii_len(const char *s);
void ascii_copy(char *dst, UINTN cap, const char *src);
void ascii_append(char *dst, UINTN cap, const char *src);
void ascii_append_hex(char *dst, UINTN cap, UINT64 v);
void ascii_from_ucs2(char *dst, UINTN cap, const CHAR16 *src, UINTN maxchars);
int ascii_eq_nocase(const char *a, const char *b);
void ascii_trim_cmdline(char *s);         /* control chars -> ' ', trim trailing */
void serial_puts(const char *s);          /* raw COM1, for after ExitBootServices */

/* kimage.c */
struct kimage {
    const UINT8 *elf;                     /* the embedded ELF */
    UINT64 entry64;
    UINT64 start;                         /* load_start */
    UINT64 end;                           /* bss_end */
    UINTN  nload;                         /* PT_LOAD segments */
    int    deferred;                      /* range overlaps boot-services memory */
};
EFI_STATUS kimage_load(const UINT8 *elf, UINTN size, struct kimage *k);
void kimage_copy(const struct kimage *k); /* after ExitBootServices */

/* files.c */
EFI_STATUS load_boot_files(EFI_HANDLE image, struct boot_info *bi);
void cmdline_from_load_options(EFI_HANDLE image, struct boot_info *bi);

/* memmap.c (pure: no boot services) */
UINT32 memmap_convert(const UINT8 *map, UINTN map_size, UINTN desc_size,
                      UINT64 klo, UINT64 khi,
                      struct boot_mem_range *scratch, UINTN scratch_cap,
                      struct boot_mem_range *out, UINT32 out_cap);
int memmap_range_ok(const UINT8 *map, UINTN map_size, UINTN desc_size,
                    UINT64 lo, UINT64 hi, UINT32 ok_type_mask);
UINT64 memmap_top(const UINT8 *map, UINTN map_size, UINTN desc_size);

/* acpi_fallback.c */
UINTN acpi_fallback(struct boot_info *bi);  /* tables from MP Services; CPUs or 0 */

/* handoff.c */
EFI_STATUS handoff_prepare(const struct kimage *k, struct boot_info *bi, UINT64 top);
void handoff_go(void) __attribute__((noreturn));

#endif
