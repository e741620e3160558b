/* The CPL-3 self-test (kernel command line selftest=user): what the kernel
 * (arch/x86_64/user_selftest.c) asks of the test program (user/selftest.c),
 * one operation per call, and the system calls it offers. */
#ifndef NETHV_USER_SELFTEST_H
#define NETHV_USER_SELFTEST_H

enum ust_op {
    UST_PING = 1,           /* reply 0x5eed0000 + call count (data persists between calls) */
    UST_ECHO,               /* reply what UST_SYS_SUM(1, 2, 3, 4) returns: 10 */
    UST_PUTS,               /* UST_SYS_PUTS of a string: reply its result, 0 */
    UST_PUTS_KERNEL,        /* UST_SYS_PUTS of a kernel address: -EFAULT */
    UST_PUTS_UNMAPPED,      /* UST_SYS_PUTS of an unmapped user address: -EFAULT */
    UST_UNKNOWN_SYS,        /* system call 999: -ENOSYS */
    UST_SEGMENTS,           /* FS and GS loaded with the user data selector and with
                               null, then UST_SYS_SUM: 10, the kernel unharmed */
    UST_READ_NULL,          /* faults: #PF, cr2 0 */
    UST_READ_KERNEL,        /* #PF (protection): the kernel's pages are supervisor */
    UST_WRITE_TEXT,         /* #PF: its own text is read-only */
    UST_EXEC_DATA,          /* #PF (instruction fetch): its data is NX */
    UST_UD2,                /* #UD */
    UST_CLI,                /* #GP: IOPL 0 */
    UST_INT3,               /* #GP: only VEC_SYSCALL's gate is DPL 3 */
    UST_SINGLE_STEP,        /* #DB: TF set by POPF */
    UST_STACK_OVERFLOW,     /* #PF below its stack (an unmapped guard) */
    UST_LOOP,               /* never replies: the watchdog ends the call */
    UST_NOP,                /* reply 0 at once: the round-trip measure */
    UST_MEM_SYSCALL,        /* UST_MEM_READS reads of 64 bytes of "guest RAM" by UST_SYS_READ: reply
                               the TSC ticks they took, ~0 if a byte was wrong */
    UST_MEM_MAPPED,         /* the same reads from the page mapped at UST_RAM_VA */
};

#define UST_SYS_PUTS    1   /* (address, length <= 256): 0 or -EFAULT */
#define UST_SYS_SUM     2   /* (a, b, c, d): a + b + c + d */
#define UST_SYS_READ    3   /* (address, offset, length): bytes of the kernel's stand-in for
                               guest RAM (a page; offset + length <= 4096) copied there: 0
                               or -EFAULT/-EINVAL -- how a monitor reads guest memory */
#define UST_SYS_COUNT   4
#define UST_RAM_VA      0x00007f8020000000ull   /* the same page, mapped read-only */
#define UST_MEM_READS   1000
#define UST_RAM_BYTE(i) ((uint8_t)((i) * 7 + 1))  /* its contents */
#define UST_NOT_MAPPED  0x00007f8040000000ull   /* user address that is never mapped */
#endif
