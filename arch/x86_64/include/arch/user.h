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
 * own pages in USER_SLOT, all user pages; nothing else.  On CPUs that
 * Meltdown affects the program runs on a user view without the kernel
 * (KPTI, below).  The kernel reads
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
    uint64_t pml4;                      /* physical, 8 KiB-aligned: the kernel view; +4 KiB the user view (KPTI) */
    unsigned table_pages, data_pages;   /* allocated for it (uspace_destroy frees them) */
    unsigned shared_pages;              /* read-only segments shared with other address spaces */
    const char *name;                   /* for reports */
};

int uspace_init(struct uspace *us, const char *name);

/*
 * KPTI (Meltdown: Intel CPUs without ARCH_CAP.RDCL_NO, or "kpti=on"): a
 * monitor then runs on its *user view*, tables that map its own pages and,
 * of the kernel, only what entering ring 0 takes -- the entry code
 * (.text.uentry: isr.S, user_entry.S), the IDT, each CPU's struct cpu_entry
 * page (GDT, TSS, entry stack) and the top page of its IST stacks -- as
 * Linux's PTI maps its cpu_entry_area.  The user view is the page right
 * after the kernel view, so CR3 bit 12 tells them apart (the kernel's own
 * PML4 is 8 KiB-aligned); an entry from CPL 3 clears it first thing and
 * moves its frame to the kernel stack, the return copies it back to the
 * entry stack and sets it last (isr.S).  Global pages are off then
 * (spec_init_cpu), so no kernel translation outlives the switch in the TLB.
 */
extern uint8_t user_kpti;               /* isr.S reads it */
#define USER_VIEW       0x1000ull       /* CR3 bit 12 */
void user_kpti_enable(void);            /* spec.c, BSP, before any monitor */
void user_entry_map_cpu(struct percpu *pc);     /* gdt.c: a CPU's entry page and IST tops */
/* How many 4 KiB pages of the kernel the user views map (user_selftest
 * checks them: only the entry pages, supervisor-only, none both writable
 * and executable). */
extern unsigned user_entry_pages;
extern unsigned uspace_count;           /* made so far (mmio_map: the kernel's top level is frozen) */
/* Map one 4 KiB page of `pa` at `va` (in USER_SLOT) with USER_R/W/X;
 * the page is the caller's unless `owned` (uspace_destroy frees it). */
int uspace_map(struct uspace *us, uint64_t va, uint64_t pa, unsigned prot, bool owned);
/* Load a static ELF64 executable linked inside USER_SLOT (prot from
 * p_flags): fresh, zeroed pages per writable segment; the read-only ones
 * loaded once per image and shared.  0, or -1 with a console line. */
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

/* USER_BUSY: a call is under way on this CPU */
enum user_status { USER_REPLIED, USER_FAULTED, USER_TIMED_OUT, USER_BUSY };
struct user_fault {
    unsigned vector;                    /* exception vector; 256: the watchdog */
    uint64_t error, rip, rsp, cr2;
};

struct user_call {
    const struct uspace *us;
    uint64_t entry, stack_top, arg;
    uint64_t budget_tsc;                /* the watchdog: TSC ticks the call may take */
    uint64_t sys_credit_tsc;            /* kernel time in its system calls the watchdog does
                                           not count, up to this many ticks in all (0: none) */
    uint64_t fs_base;                   /* the program's FS base (its TLS; 0: none) */
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
    uint64_t entry;                     /* 0x48: KPTI: this CPU's entry stack (RSP0); else 0 */
};
uint64_t user_enter(struct user_frame *f);
__attribute__((noreturn)) void user_leave(struct user_frame *f, uint64_t status);
#endif
