/*
 * Code at CPL 3 (issue 14: each VM's monitor): address spaces of their own,
 * entered by a call that ends with the monitor's reply, its fault, or its
 * watchdog -- NOVA's portal call, synchronous on the calling CPU.
 *
 * A call runs the monitor from its entry point on a fresh stack (rdi = the
 * call's argument) until it makes system call USER_SYS_REPLY, takes an
 * exception, or overruns its budget; its data persists between calls, its
 * registers do not.  System calls: INT 0x80 (VEC_SYSCALL), number in RAX,
 * arguments in RDI, RSI, RDX, R10; the result comes back in RAX.  Number 0
 * is the reply; the others go to the caller's table (struct user_syscalls)
 * with the caller's `owner`.  A system call runs with interrupts off (the
 * handlers are short, each with its bound); the monitor itself runs with
 * them on.  One call at a time per CPU; the caller is pinned to its CPU.
 *
 * Every monitor address space maps the kernel (PML4 slots other than
 * USER_SLOT, supervisor-only, shared with the kernel's own tables) and its
 * own pages in USER_SLOT, all user pages; nothing else.  The kernel reads
 * and writes monitor memory only by walking the monitor's tables to the
 * physical page (uspace_read/uspace_write), never through a user address:
 * SMAP stays on, and nothing the monitor maps or unmaps can fault the kernel.
 */
#ifndef ARCH_USER_H
#define ARCH_USER_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

struct trap_frame;
struct percpu;

#define USER_SLOT       255                             /* PML4 slot of every monitor's own 512 GiB */
#define USER_BASE       ((uint64_t)USER_SLOT << 39)     /* 0x00007f8000000000 */
#define USER_END        (USER_BASE + (1ull << 39))
#define USER_R          1u
#define USER_W          2u
#define USER_X          4u

#define USER_SYS_REPLY  0u
#define USER_ENOSYS     (-38)
#define USER_EFAULT     (-14)
#define USER_EINVAL     (-22)

struct uspace {
    uint64_t pml4;                      /* physical */
    unsigned table_pages, data_pages;   /* allocated for it (uspace_destroy frees them) */
    const char *name;                   /* for reports */
};

int uspace_init(struct uspace *us, const char *name);
extern unsigned uspace_count;           /* made so far (mmio_map: the kernel's top level is frozen) */
/* Map one 4 KiB page of `pa` at `va` (in USER_SLOT) with USER_R/W/X;
 * the page is the caller's unless `owned` (uspace_destroy frees it). */
int uspace_map(struct uspace *us, uint64_t va, uint64_t pa, unsigned prot, bool owned);
/* Load a static ELF64 executable linked inside USER_SLOT: fresh, zeroed
 * pages per segment (prot from p_flags).  0, or -1 with a console line. */
int uspace_load_elf(struct uspace *us, const void *img, size_t size, uint64_t *entry);
/* A fresh zeroed region [va, va+len) (page-aligned), prot as above. */
int uspace_alloc(struct uspace *us, uint64_t va, uint64_t len, unsigned prot);
/* Copy to/from the monitor's memory through its own tables: -1 unless all
 * of [va, va+len) is in USER_SLOT and mapped (write: writable). */
int uspace_read(const struct uspace *us, uint64_t va, void *buf, size_t len);
int uspace_write(const struct uspace *us, uint64_t va, const void *buf, size_t len);
void uspace_destroy(struct uspace *us);
/* The physical page mapped at va (its offset kept), or 0 if none. */
uint64_t uspace_phys(const struct uspace *us, uint64_t va);

typedef int64_t (*user_syscall_fn)(void *owner, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3);
struct user_syscalls {
    const user_syscall_fn *fn;          /* fn[n] for system call n (fn[0] unused: the reply) */
    unsigned count;
    unsigned long *unknown;             /* counter of calls with no handler */
};

/* USER_BUSY: a call is under way on this CPU; USER_REFUSED: this CPU may
 * not run code at CPL 3 at all (spec.c: Meltdown) */
enum user_status { USER_REPLIED, USER_FAULTED, USER_TIMED_OUT, USER_BUSY, USER_REFUSED };
struct user_fault {
    unsigned vector;                    /* exception vector; 256: the watchdog */
    uint64_t error, rip, rsp, cr2;
};

struct user_call {
    const struct uspace *us;
    uint64_t entry, stack_top, arg;
    uint64_t budget_tsc;                /* the watchdog: TSC ticks the call may take */
    const struct user_syscalls *sys;
    void *owner;
    /* out */
    uint64_t reply;                     /* USER_REPLIED: the value given to the reply */
    struct user_fault fault;            /* USER_FAULTED, USER_TIMED_OUT */
};

/* Run the call on this CPU (interrupts may be on or off; they are as they
 * were when it returns). */
enum user_status user_call(struct user_call *c);

/* arch/x86_64/idt.c: an exception or INT 0x80 from CPL 3; an interrupt
 * taken at CPL 3, after its handler */
void user_trap(struct trap_frame *tf);
void user_interrupted(struct trap_frame *tf);

/* user_entry.S */
struct user_frame {
    uint64_t rip, rsp, arg, cr3;        /* 0x00 */
    uint64_t *rsp0;                     /* 0x20: this CPU's TSS.RSP0 */
    struct percpu *pc;                  /* 0x28 */
    uint64_t saved_rsp;                 /* 0x30: user_enter's, for user_leave */
    struct user_call *call;             /* 0x38 */
    uint64_t deadline;                  /* TSC */
};
uint64_t user_enter(struct user_frame *f);
__attribute__((noreturn)) void user_leave(struct user_frame *f, uint64_t status);
#endif
