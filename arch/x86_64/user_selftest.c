/*
 * The CPL-3 self-test (kernel command line selftest=user): the mechanism
 * under every monitor (arch/user.h), proven at boot before any VM runs.
 * One address space with the test program (user/selftest.c, linked into
 * this image by user_blob.S), a 16 KiB stack over an unmapped guard, and
 * one call per operation (include/nethv/user_selftest.h):
 *   - replies, data that persists, system calls with four arguments, bad
 *     pointers refused, an unknown system call counted;
 *   - FS and GS loaded at CPL 3, then a system call: the kernel's per-CPU
 *     GS base comes back (isr.S);
 *   - every fault a monitor can take ends its call with the fault named,
 *     and the same address space answers the next call;
 *   - a monitor that never replies is stopped by the watchdog;
 *   - the cost of one round trip, in ns.
 * Prints "user-selftest: ..." lines, then PASS, or FAIL lines.
 */
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <nethv/user_selftest.h>
#include <arch/cpu.h>
#include <arch/paging.h>
#include <arch/regs.h>
#include <arch/time.h>
#include <arch/user.h>
#include <arch/x86.h>

extern const uint8_t user_selftest_elf[], user_selftest_elf_end[];
void user_selftest(void);

#define STACK_TOP   0x00007f8010000000ull
#define STACK_SIZE  (16 * 1024)

/* How a monitor's user view maps va: 0 if not, else PTE_P plus the
 * effective PTE_W, PTE_U and PTE_NX (SDM 3A 4.6: AND of W and U/S, OR of
 * NX); whether it uses a PML4 slot. */
static const uint64_t *view_tab(uint64_t e) { return phys_to_virt(e & PTE_ADDR_MASK); }

static uint64_t user_view_access(const struct uspace *us, uint64_t va)
{
    const uint64_t *t = view_tab(us->pml4 + USER_VIEW);
    uint64_t acc = PTE_P | PTE_W | PTE_U;
    for (int level = 4; level >= 1; level--) {
        uint64_t e = t[(va >> (12 + 9 * (level - 1))) & 511];
        if (!(e & PTE_P))
            return 0;
        acc = (acc & (e | ~(PTE_W | PTE_U))) | (e & PTE_NX);
        if (level == 1 || (level <= 3 && (e & PTE_PS)))
            return acc;
        t = view_tab(e);
    }
    return 0;
}

static bool user_view_slot_used(const struct uspace *us, unsigned slot)
{
    return (view_tab(us->pml4 + USER_VIEW)[slot & 511] & PTE_P) != 0;
}

static int64_t sys_puts(void *owner, uint64_t va, uint64_t len, uint64_t a2, uint64_t a3)
{
    const struct uspace *us = owner;
    char buf[257];
    if (len > 256 || uspace_read(us, va, buf, len))
        return USER_EFAULT;
    buf[len] = 0;
    for (size_t i = 0; i < len; i++)    /* shown, never obeyed */
        if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] > 0x7e)
            buf[i] = '?';
    printk("user-selftest: the program says \"%s\"\n", buf);
    return 0;
}

static int64_t sys_sum(void *owner, uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    return (int64_t)(a + b + c + d);
}

static uint8_t *ram_page;              /* the stand-in for a page of guest RAM */

/* as MON_SYS_GPA_READ serves a monitor: checked, copied through its tables */
static int64_t sys_read(void *owner, uint64_t va, uint64_t off, uint64_t len, uint64_t a3)
{
    if (off > PAGE_SIZE || len > PAGE_SIZE - off)
        return USER_EINVAL;
    return uspace_write(owner, va, ram_page + off, len) ? USER_EFAULT : 0;
}

static const user_syscall_fn fns[UST_SYS_COUNT] = {
    [UST_SYS_PUTS] = sys_puts,
    [UST_SYS_SUM] = sys_sum,
    [UST_SYS_READ] = sys_read,
};
static unsigned long unknown;
static const struct user_syscalls sys = { fns, UST_SYS_COUNT, &unknown };

static unsigned failures;

static enum user_status call(struct user_call *c, enum ust_op op)
{
    c->arg = op;
    c->reply = ~0ull;
    memset(&c->fault, 0, sizeof(c->fault));
    return user_call(c);
}

static void expect_reply(struct user_call *c, enum ust_op op, const char *what, uint64_t want)
{
    enum user_status st = call(c, op);
    if (st != USER_REPLIED || c->reply != want) {
        printk("user-selftest: FAIL %s: status %d, reply %#llx, want reply %#llx (fault %u at %#llx)\n", what,
               st, (unsigned long long)c->reply, (unsigned long long)want, c->fault.vector,
               (unsigned long long)c->fault.rip);
        failures++;
    }
}

/* err_alt: an error code an emulator gives instead, said so when seen */
static void expect_fault_alt(struct user_call *c, enum ust_op op, const char *what, unsigned vector,
                             uint64_t err_mask, uint64_t err_want, uint64_t err_alt, const char *alt_why)
{
    enum user_status st = call(c, op);
    if (st == USER_FAULTED && c->fault.vector == vector && alt_why && c->fault.error == err_alt) {
        printk("user-selftest: %s: error %#llx, not %#llx: %s\n", what, (unsigned long long)err_alt,
               (unsigned long long)err_want, alt_why);
    } else if (st != USER_FAULTED || c->fault.vector != vector || (c->fault.error & err_mask) != err_want) {
        printk("user-selftest: FAIL %s: status %d, vector %u error %#llx, want fault %u error&%#llx == %#llx\n",
               what, st, c->fault.vector, (unsigned long long)c->fault.error, vector,
               (unsigned long long)err_mask, (unsigned long long)err_want);
        failures++;
        return;
    }
    printk("user-selftest: %s: fault %u, error %#llx at rip %#llx, cr2 %#llx; the call ended\n", what,
           vector, (unsigned long long)c->fault.error, (unsigned long long)c->fault.rip,
           (unsigned long long)c->fault.cr2);
    /* the same address space answers the next call */
    uint64_t before = c->reply;
    if (call(c, UST_NOP) != USER_REPLIED || c->reply != 0) {
        printk("user-selftest: FAIL after %s: the next call did not reply (%#llx)\n", what,
               (unsigned long long)before);
        failures++;
    }
}

static void expect_fault(struct user_call *c, enum ust_op op, const char *what, unsigned vector,
                         uint64_t err_mask, uint64_t err_want)
{
    expect_fault_alt(c, op, what, vector, err_mask, err_want, 0, NULL);
}

extern const char __uentry_start[], __uentry_end[], __data_start[];
extern uint64_t kernel_cr3;

/* One row of the KPTI check: how the user view must map va. */
enum { ABSENT, ENTRY_TEXT, ENTRY_RO, ENTRY_RW };
static unsigned kpti_row(const struct uspace *us, const char *what, uint64_t va, int want)
{
    uint64_t a = user_view_access(us, va);
    const char *bad = NULL;
    if (want == ABSENT)
        bad = a ? "maps" : NULL;
    else if (!a)
        bad = "does not map";
    else if (a & PTE_U)
        bad = "maps as a user page";
    else if (want == ENTRY_TEXT && ((a & PTE_W) || (a & PTE_NX)))
        bad = "maps not read-only-executable";
    else if (want != ENTRY_TEXT && paging_nx && !(a & PTE_NX))
        bad = "maps executable";
    else if (want == ENTRY_RO && (a & PTE_W))
        bad = "maps writable";
    if (!bad)
        return 0;
    printk("user-selftest: FAIL KPTI: the user view %s %s (%#llx)\n", bad, what, (unsigned long long)va);
    return 1;
}

/* KPTI: the user view maps the entry code (read-only, executable), the IDT
 * (read-only), each CPU's entry page and the top of its IST stacks (NX),
 * all supervisor-only, and none of the kernel's other text, data, per-CPU
 * areas, page tables or heap; no PML4 slot but 0 and USER_SLOT is used. */
static void kpti_check(const struct uspace *us)
{
    static uint64_t a_data_word;
    unsigned bad = 0, cpus = 0;
    for (uint64_t va = (uint64_t)(uintptr_t)__uentry_start; va < (uint64_t)(uintptr_t)__uentry_end; va += PAGE_SIZE)
        bad += kpti_row(us, "the entry code", va, ENTRY_TEXT);
    bad += kpti_row(us, "the IDT", idt_base(), ENTRY_RO);
    for (unsigned c = 0; c < MAX_CPUS; c++) {
        const struct percpu *pc = &percpu_area[c];
        if (!pc->online && c != this_cpu()->cpu)
            continue;
        cpus++;
        bad += kpti_row(us, "a CPU's GDT, TSS and entry stack", (uint64_t)(uintptr_t)pc->ent, ENTRY_RW);
        for (unsigned i = 0; i < 3; i++)
            bad += kpti_row(us, "an IST stack's top page", pc->ent->tss.ist[i] - 8, ENTRY_RW);
        bad += kpti_row(us, "a CPU's per-CPU area", (uint64_t)(uintptr_t)pc, ABSENT);
        bad += kpti_row(us, "a CPU's kernel stack", pc->kstack_top - 8, ABSENT);
    }
    bad += kpti_row(us, "the kernel's other text", (uint64_t)(uintptr_t)user_selftest, ABSENT);
    bad += kpti_row(us, "the kernel's data", (uint64_t)(uintptr_t)&a_data_word, ABSENT);
    bad += kpti_row(us, "the kernel's .data start", (uint64_t)(uintptr_t)__data_start, ABSENT);
    bad += kpti_row(us, "the kernel's page tables", kernel_cr3, ABSENT);
    bad += kpti_row(us, "the monitor's own kernel view", us->pml4, ABSENT);
    bad += kpti_row(us, "the 1 MiB page", 0x100000, ABSENT);
    uint64_t ram = page_alloc(1, PAGE_SIZE, 0);
    if (!ram) {
        printk("user-selftest: FAIL KPTI: no page of the heap to look for\n");
        bad++;
    } else {
        bad += kpti_row(us, "a page of the heap (guest RAM comes from there)", ram, ABSENT);
        page_free(ram, 1);
    }
    for (unsigned slot = 1; slot < 512; slot++)
        if (slot != USER_SLOT && user_view_slot_used(us, slot)) {
            printk("user-selftest: FAIL KPTI: the user view uses PML4 slot %u\n", slot);
            bad++;
        }
    failures += bad;
    if (!bad)
        printk("user-selftest: KPTI: the program runs on its user view, which maps %u pages of the kernel's "
               "(entry code, IDT, the entry page and IST tops of each of %u CPUs), all supervisor-only, and none "
               "of its other text, data, stacks, tables or heap\n", user_entry_pages, cpus);
}

void user_selftest(void)
{
    struct uspace us;
    uint64_t entry;
    if (uspace_init(&us, "user-selftest") ||
        uspace_load_elf(&us, user_selftest_elf, (size_t)(user_selftest_elf_end - user_selftest_elf), &entry) ||
        uspace_alloc(&us, STACK_TOP - STACK_SIZE, STACK_SIZE, USER_R | USER_W)) {
        printk("user-selftest: FAIL: could not set up the address space\n");
        return;
    }
    struct user_call c = {
        .us = &us, .entry = entry, .stack_top = STACK_TOP, .budget_tsc = tsc_hz / 20,  /* 50 ms */
        .sys = &sys, .owner = &us,
    };
    printk("user-selftest: program at %#llx, %u table pages, %u data pages, %u shared read-only\n",
           (unsigned long long)entry, us.table_pages, us.data_pages, us.shared_pages);
    if (user_kpti)
        kpti_check(&us);

    expect_reply(&c, UST_PING, "first reply", 0x5eed0001);
    expect_reply(&c, UST_PING, "data kept between calls", 0x5eed0002);
    expect_reply(&c, UST_ECHO, "system call with four arguments", 10);
    expect_reply(&c, UST_PUTS, "system call with a string", 0);
    expect_reply(&c, UST_PUTS_KERNEL, "a kernel address refused", (uint64_t)(int64_t)USER_EFAULT);
    expect_reply(&c, UST_PUTS_UNMAPPED, "an unmapped address refused", (uint64_t)(int64_t)USER_EFAULT);
    expect_reply(&c, UST_UNKNOWN_SYS, "an unknown system call", (uint64_t)(int64_t)USER_ENOSYS);
    if (unknown != 1) {
        printk("user-selftest: FAIL: the unknown system call was counted %lu times\n", unknown);
        failures++;
    }
    expect_reply(&c, UST_SEGMENTS, "FS and GS loaded at CPL 3, then system calls", 10);
    if ((uint64_t)(uintptr_t)this_cpu() != rdmsr(MSR_GS_BASE)) {     /* (the kernel uses no FS) */
        printk("user-selftest: FAIL: the kernel's GS base was not restored\n");
        failures++;
    }
    /* #PF error code (SDM 3A 4.7): P 1, W/R 2, U/S 4, I/D 16 */
    expect_fault(&c, UST_READ_NULL, "read of address 0", EXC_PF, 0x1f, 0x04);
    /* (KPTI: not even present in the monitor's user view) */
    expect_fault(&c, UST_READ_KERNEL, "read of a kernel page", EXC_PF, 0x1f, user_kpti ? 0x04 : 0x05);
    expect_fault(&c, UST_WRITE_TEXT, "write to its own text", EXC_PF, 0x1f, 0x07);
    expect_fault(&c, UST_EXEC_DATA, "jump into its own data", EXC_PF, 0x15, paging_nx ? 0x15 : 0x04);
    expect_fault(&c, UST_UD2, "UD2", EXC_UD, 0, 0);
    expect_fault(&c, UST_CLI, "CLI at IOPL 0", EXC_GP, ~0ull, 0);
    /* INT3 through a DPL-0 gate: #GP with the IDT entry as error code (SDM 3A
     * 6.13: index = the vector, IDT bit); QEMU TCG (7.2, 10.0) puts the gate's
     * byte offset in long mode, vector * 16 (seg_helper.c do_interrupt64,
     * "intno * 16 + 2"); Bochs gives 0x1a */
    expect_fault_alt(&c, UST_INT3, "INT3 through a DPL-0 gate", EXC_GP, ~0ull, 3 * 8 + 2, 3 * 16 + 2,
                     "QEMU TCG's long-mode #GP error code (the IDT byte offset, vector * 16 + 2)");
    expect_fault(&c, UST_SINGLE_STEP, "single-step trap", EXC_DB, 0, 0);
    expect_fault(&c, UST_STACK_OVERFLOW, "stack overflow into the guard", EXC_PF, 0x07, 0x06);

    uint64_t t0 = rdtsc();
    enum user_status st = call(&c, UST_LOOP);
    uint64_t ms = (rdtsc() - t0) * 1000 / tsc_hz;
    if (st != USER_TIMED_OUT || ms > 1000) {
        printk("user-selftest: FAIL: a program that never replies: status %d after %llu ms\n", st,
               (unsigned long long)ms);
        failures++;
    } else {
        printk("user-selftest: a program that never replies was stopped by the watchdog after %llu ms "
               "(budget 50 ms) at rip %#llx\n", (unsigned long long)ms, (unsigned long long)c.fault.rip);
    }
    /* the 28th call: 8 replies, 9 faults each followed by a NOP, the loop */
    expect_reply(&c, UST_PING, "a reply after all that, its data intact", 0x5eed0000 + 28);

    enum { N = 20000 };
    uint64_t best = ~0ull, sum = 0;
    for (unsigned i = 0; i < N; i++) {
        uint64_t a = rdtsc();
        if (call(&c, UST_NOP) != USER_REPLIED) {
            printk("user-selftest: FAIL: round trip %u did not reply\n", i);
            failures++;
            break;
        }
        uint64_t d = rdtsc() - a;
        sum += d;
        if (d < best)
            best = d;
    }
    printk("user-selftest: %u round trips into CPL 3 and back: %llu ns each on average, %llu ns the fastest\n", N,
           (unsigned long long)(sum / N * 1000000000ull / tsc_hz),
           (unsigned long long)(best * 1000000000ull / tsc_hz));

    /* guest memory from CPL 3: by system call (the monitor's way) or
     * through a mapping of the VM's RAM (the alternative), 64 bytes a read */
    uint64_t ram = page_alloc(1, PAGE_SIZE, 0);
    if (!ram || uspace_map(&us, UST_RAM_VA, ram, USER_R, false)) {
        printk("user-selftest: FAIL: no page for the guest-memory reads\n");
        failures++;
    } else {
        ram_page = phys_to_virt(ram);
        for (unsigned i = 0; i < PAGE_SIZE; i++)
            ram_page[i] = UST_RAM_BYTE(i);
        uint64_t t[2];
        for (int k = 0; k < 2; k++) {
            t[k] = call(&c, k ? UST_MEM_MAPPED : UST_MEM_SYSCALL) == USER_REPLIED ? c.reply : ~0ull;
            if (t[k] == ~0ull) {
                printk("user-selftest: FAIL: guest-memory reads %s\n", k ? "through the mapping" : "by system call");
                failures++;
            }
        }
        if (t[0] != ~0ull && t[1] != ~0ull)
            printk("user-selftest: %u reads of 64 bytes of guest memory from CPL 3: %llu ns each by system call, "
                   "%llu ns through a mapping\n", UST_MEM_READS,
                   (unsigned long long)(t[0] * 1000000000ull / tsc_hz / UST_MEM_READS),
                   (unsigned long long)(t[1] * 1000000000ull / tsc_hz / UST_MEM_READS));
    }
    uspace_destroy(&us);
    if (ram)
        page_free(ram, 1);
    if (failures)
        printk("user-selftest: FAIL (%u checks)\n", failures);
    else
        printk("user-selftest: PASS\n");
}
