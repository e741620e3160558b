/* The configuration parser at CPL 3 (include/nethv/config_abi.h): parse
 * the DTB at CFG_DTB into CFG_OUT, print the summary, reply 0. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <nethv/config_abi.h>
#include "sys.h"

static void print_line(const char *fmt, ...)
{
    char buf[CFG_LINE_MAX + 2];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = strnlen(buf, sizeof(buf));
    if (len && buf[len - 1] == '\n')
        len--;
    sys2(CFG_SYS_PRINT, (uint64_t)(uintptr_t)buf, len);
}

/* arg: the DTB's offset in its first page (bits 63:32) and length */
uint64_t user_main(uint64_t arg)
{
    struct cfg_result *out = (struct cfg_result *)CFG_OUT;
    const void *dtb = (const void *)(CFG_DTB + (arg >> 32));
    out->rc = config_parse(dtb, (uint32_t)arg, &out->cfg, &out->err);
    if (out->rc == 0)
        config_print(&out->cfg, print_line);
    return 0;
}

/* libfdt.a's stack protector */
void __stack_chk_fail(void);
void __stack_chk_fail(void)
{
    for (;;)
        __asm__ volatile("ud2");        /* a fault: the kernel reports it */
}
