/* System calls from CPL 3 (arch/x86_64/include/arch/user.h): INT 0x80,
 * number in RAX, arguments in RDI, RSI, RDX, R10, result in RAX. */
#ifndef USER_SYS_H
#define USER_SYS_H
#include <stdint.h>

static inline int64_t sys4(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
    register uint64_t r10 __asm__("r10") = a3;
    int64_t ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10) : "memory");
    return ret;
}
static inline int64_t sys2(uint64_t nr, uint64_t a0, uint64_t a1) { return sys4(nr, a0, a1, 0, 0); }

uint64_t user_main(uint64_t arg);
#endif
