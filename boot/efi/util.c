/* nethv UEFI loader: small helpers (allocation, ASCII strings, raw serial). */
#include "loader.h"

static UINT64 guard_lo, guard_hi;

void alloc_guard(UINT64 lo, UINT64 hi)
{
    guard_lo = lo;
    guard_hi = hi;
}

/* Below 4 GiB when possible (the kernel's early code then reaches everything
 * boot_info points to through low memory). */
static EFI_STATUS try_alloc(UINTN n, EFI_PHYSICAL_ADDRESS *a)
{
    *a = 0xffffffffULL;
    EFI_STATUS st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateMaxAddress,
                                      EfiLoaderData, n, a);
    if (EFI_ERROR(st))
        st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiLoaderData, n, a);
    return st;
}

/* Zeroed EfiLoaderData pages outside the guard range (where the kernel goes
 * after ExitBootServices): allocations landing there are held and retried. */
void *alloc_pages(UINTN bytes)
{
    UINTN n = PAGES(bytes ? bytes : 1), nheld = 0;
    EFI_PHYSICAL_ADDRESS a, held[8];
    void *ret = NULL;

    while (!EFI_ERROR(try_alloc(n, &a))) {
        if (a + n * PAGE_SIZE <= guard_lo || a >= guard_hi) {
            ret = (void *)a;
            break;
        }
        if (nheld == sizeof(held) / sizeof(held[0])) {
            uefi_call_wrapper(BS->FreePages, 2, a, n);
            break;
        }
        held[nheld++] = a;
    }
    while (nheld)
        uefi_call_wrapper(BS->FreePages, 2, held[--nheld], n);
    if (ret)
        SetMem(ret, n * PAGE_SIZE, 0);
    return ret;
}

UINTN ascii_len(const char *s)
{
    UINTN n = 0;
    while (s[n])
        n++;
    return n;
}

void ascii_copy(char *dst, UINTN cap, const char *src)
{
    if (cap == 0)
        return;
    dst[0] = 0;
    ascii_append(dst, cap, src);
}

void ascii_append(char *dst, UINTN cap, const char *src)
{
    UINTN n = ascii_len(dst);
    while (*src && n + 1 < cap)
        dst[n++] = *src++;
    if (n < cap)
        dst[n] = 0;
}

void ascii_append_hex(char *dst, UINTN cap, UINT64 v)
{
    char buf[19];
    int i = 18, digits = 0;
    buf[i] = 0;
    do {
        buf[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
        digits++;
    } while (v && digits < 16);
    buf[--i] = 'x';
    buf[--i] = '0';
    ascii_append(dst, cap, buf + i);
}

/* UCS-2 -> ASCII; non-ASCII characters become '?'. Stops at NUL or maxchars. */
void ascii_from_ucs2(char *dst, UINTN cap, const CHAR16 *src, UINTN maxchars)
{
    UINTN n = 0;
    if (cap == 0)
        return;
    for (UINTN i = 0; i < maxchars && src[i] && n + 1 < cap; i++)
        dst[n++] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
    dst[n] = 0;
}

int ascii_eq_nocase(const char *a, const char *b)
{
    for (;; a++, b++) {
        char x = (*a >= 'A' && *a <= 'Z') ? *a + 32 : *a;
        char y = (*b >= 'A' && *b <= 'Z') ? *b + 32 : *b;
        if (x != y)
            return 0;
        if (!x)
            return 1;
    }
}

/* Newlines, tabs and other control characters become spaces; trailing
 * whitespace is removed. */
void ascii_trim_cmdline(char *s)
{
    UINTN n = 0;
    for (; s[n]; n++)
        if ((unsigned char)s[n] < 0x20 || s[n] == 0x7f)
            s[n] = ' ';
    while (n > 0 && s[n - 1] == ' ')
        s[--n] = 0;
}

static inline void outb(UINT16 port, UINT8 v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline UINT8 inb(UINT16 port)
{
    UINT8 v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

/* COM1 as the firmware left it programmed; bounded wait so a missing UART
 * cannot hang us. Only used once boot services are gone. */
void serial_puts(const char *s)
{
    for (; *s; s++) {
        if (*s == '\n')
            serial_puts("\r");
        for (int i = 0; i < 100000 && !(inb(0x3f8 + 5) & 0x20); i++)
            ;
        outb(0x3f8, (UINT8)*s);
    }
}
