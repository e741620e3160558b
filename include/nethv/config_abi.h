/*
 * The configuration parser as a program at CPL 3 (user/cfg_main.c; the
 * kernel's side is kernel/config_load.c).  The device tree and libfdt never
 * run in ring 0: the kernel maps the DTB read-only into a fresh address
 * space, calls the parser once on the boot CPU under a watchdog, reads back
 * struct cfg_result, checks the invariants its own memory safety rests on
 * (config_check) and destroys the address space.  A parser that faults or
 * overruns its budget stops the boot with a report, as a bad config does.
 *
 * Layout (all in USER_SLOT, arch/user.h):
 *   CFG_IMAGE  the program (text read-only, data)
 *   CFG_DTB    the DTB, read-only, CONFIG_DTB_MAX at most
 *   CFG_OUT    struct cfg_result, written by the parser
 *   CFG_TLS    one page: FS base, with libfdt's stack-protector canary at
 *              +0x28 (libfdt.a from Debian is built -fstack-protector)
 *   CFG_STACK  CFG_STACK_SIZE of stack
 * The call's argument is the DTB's length.  System call CFG_SYS_PRINT
 * (text, length) prints one line of the config summary.
 */
#ifndef NETHV_CONFIG_ABI_H
#define NETHV_CONFIG_ABI_H
#include <stdint.h>
#include <nethv/config.h>

#define CFG_IMAGE       0x00007f8000200000ull
#define CFG_DTB         0x00007f8040000000ull
#define CFG_OUT         0x00007f8080000000ull
#define CFG_TLS         0x00007f80a0000000ull
#define CFG_STACK       0x00007f80c0000000ull
#define CFG_STACK_SIZE  (64ull << 10)
#define CFG_LINE_MAX    1024            /* a summary line (bootargs and all), without the newline */

enum { CFG_SYS_PRINT = 1, CFG_SYS__COUNT };

struct cfg_result {
    int32_t rc;                         /* config_parse's: 0 or -CONFIG_E* */
    struct config_error err;            /* rc != 0 */
    struct nethv_config cfg;            /* rc == 0 */
};

#endif
