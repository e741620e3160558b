/* Code at CPL 3: monitor address spaces and calls into them (arch/user.h). */
#include <string.h>
#include <nethv/elf64.h>
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <nethv/spinlock.h>
#include <arch/cpu.h>
#include <arch/paging.h>
#include <arch/regs.h>
#include <arch/spec.h>
#include <arch/user.h>
#include <arch/x86.h>

_Static_assert(offsetof(struct user_frame, cr3) == 0x18 && offsetof(struct user_frame, rsp0) == 0x20 &&
               offsetof(struct user_frame, pc) == 0x28 && offsetof(struct user_frame, saved_rsp) == 0x30 &&
               offsetof(struct user_frame, entry) == 0x48, "user_entry.S: UF_*");

#define PTE_US  PTE_U

static uint64_t *tab(uint64_t e) { return phys_to_virt(e & PTE_ADDR_MASK); }

/* The PTE for va below `table` (a level-`level` table: 4 = PML4); missing
 * tables are made (entries `flags`, counted in *made) if made is given.
 * NULL if a table is absent or out of memory. */
static uint64_t *walk(uint64_t table, int level, uint64_t va, uint64_t flags, unsigned *made)
{
    uint64_t *t = tab(table);
    for (; level > 1; level--) {
        uint64_t *e = &t[(va >> (12 + 9 * (level - 1))) & 511];
        if (!(*e & PTE_P)) {
            uint64_t p = made ? page_alloc(1, PAGE_SIZE, 0) : 0;
            if (!p)
                return NULL;
            ++*made;
            *e = p | flags;
        }
        t = tab(*e);
    }
    return &t[(va >> 12) & 511];
}

unsigned uspace_count;

/* ---- KPTI: the user views' one shared piece of the kernel (arch/user.h) -- */

uint8_t user_kpti;
static uint64_t entry_pdpt;             /* PML4 slot 0 of every user view */
unsigned user_entry_pages;             /* user_selftest reads it */
static spinlock_t entry_lock;
extern const char __uentry_start[], __uentry_end[];

/* Map the kernel's page at va (identity: slot 0) into the shared subtree. */
static void entry_map(uint64_t va, bool write, bool exec)
{
    va &= ~(uint64_t)(PAGE_SIZE - 1);
    if (va >> 39)
        panic("user: %#llx is outside PML4 slot 0", (unsigned long long)va);
    spin_lock(&entry_lock);
    unsigned tables = 0;
    uint64_t *pte = walk(entry_pdpt, 3, va, PTE_P | PTE_W, &tables);    /* supervisor: the leaf decides */
    if (!pte)
        panic("user: out of memory for the entry mappings");
    if (!(*pte & PTE_P)) {
        *pte = va | PTE_P | (write ? PTE_W : 0) | (exec ? 0 : paging_nx);
        user_entry_pages++;
    }
    spin_unlock(&entry_lock);
}

void user_entry_map_cpu(struct percpu *pc)
{
    if (!entry_pdpt) {                  /* the BSP, first: the shared parts */
        entry_pdpt = page_alloc(1, PAGE_SIZE, 0);
        if (!entry_pdpt)
            panic("user: out of memory for the entry mappings");
        for (uint64_t a = (uint64_t)(uintptr_t)__uentry_start; a < (uint64_t)(uintptr_t)__uentry_end;
             a += PAGE_SIZE)
            entry_map(a, false, true);
        entry_map(idt_base(), false, false);
    }
    entry_map((uint64_t)(uintptr_t)pc->ent, true, false);
    for (unsigned i = 0; i < 3; i++)    /* the CPU's frame goes in their top page */
        entry_map(pc->ent->tss.ist[i] - 8, true, false);
}

void user_kpti_enable(void)
{
    user_kpti = 1;
}

int uspace_init(struct uspace *us, const char *name)
{
    memset(us, 0, sizeof(*us));
    us->name = name;
    /* the kernel view and, the page after it, the user view (KPTI) */
    uint64_t pml4 = page_alloc(2, 2 * PAGE_SIZE, 0);
    uint64_t pdpt = pml4 ? page_alloc(1, PAGE_SIZE, 0) : 0;
    if (!pdpt) {
        if (pml4)
            page_free(pml4, 2);
        return -1;
    }
    us->pml4 = pml4;
    us->table_pages = 3;
    const uint64_t *k = tab(kernel_cr3);
    uint64_t *u = tab(pml4), *uv = tab(pml4 + USER_VIEW);
    if (k[USER_SLOT])
        panic("user: the kernel maps PML4 slot %u, which monitors use", USER_SLOT);
    /* the kernel's slots, shared: supervisor-only at the top level already */
    for (unsigned i = 0; i < 512; i++)
        u[i] = k[i];
    u[USER_SLOT] = uv[USER_SLOT] = pdpt | PTE_P | PTE_W | PTE_US;   /* the leaf decides W and NX */
    uv[0] = entry_pdpt | PTE_P | PTE_W;
    __atomic_add_fetch(&uspace_count, 1, __ATOMIC_SEQ_CST);
    return 0;
}

/* The PTE for va (in USER_SLOT), its tables made if `make`; NULL if absent. */
static uint64_t *pte_of(struct uspace *us, uint64_t va, bool make)
{
    /* the leaf decides W and NX */
    return walk(us->pml4, 4, va, PTE_P | PTE_W | PTE_US, make ? &us->table_pages : NULL);
}

#define PTE_OWNED PTE_AVL0      /* a page of the monitor's own: freed with it */

int uspace_map(struct uspace *us, uint64_t va, uint64_t pa, unsigned prot, bool owned)
{
    if (va < USER_BASE || va >= USER_END || (va & (PAGE_SIZE - 1)) || (pa & (PAGE_SIZE - 1)))
        return -1;
    uint64_t *pte = pte_of(us, va, true);
    if (!pte || (*pte & PTE_P))
        return -1;
    *pte = pa | PTE_P | PTE_US | ((prot & USER_W) ? PTE_W : 0) | ((prot & USER_X) ? 0 : paging_nx) |
           (owned ? PTE_OWNED : 0);
    return 0;
}

int uspace_alloc(struct uspace *us, uint64_t va, uint64_t len, unsigned prot)
{
    for (uint64_t off = 0; off < len; off += PAGE_SIZE) {
        uint64_t p = page_alloc(1, PAGE_SIZE, 0);
        if (!p || uspace_map(us, va + off, p, prot, true)) {
            if (p)
                page_free(p, 1);
            return -1;
        }
        us->data_pages++;
    }
    return 0;
}


/*
 * A program's read-only segments (text, .rodata) are loaded once per image
 * and shared, read-only, by every address space that loads it: one copy of
 * the monitor's code for all VMs.  Writable segments are each its own.
 */
#define SHARED_SEGS 8
static struct { const void *img; uint64_t vaddr, memsz, pa; } shared_segs[SHARED_SEGS];
static spinlock_t shared_lock;

/* The physical pages holding segment `p` of `img`, filled on first use. */
static uint64_t shared_seg(const void *img, const struct elf64_phdr *p, uint64_t start, uint64_t npages)
{
    spin_lock(&shared_lock);
    uint64_t pa = 0;
    unsigned i;
    for (i = 0; i < SHARED_SEGS && shared_segs[i].img; i++)
        if (shared_segs[i].img == img && shared_segs[i].vaddr == p->vaddr && shared_segs[i].memsz == p->memsz) {
            pa = shared_segs[i].pa;
            break;
        }
    if (!pa && i == SHARED_SEGS)
        printk("user: no room for another shared segment (%u): raise SHARED_SEGS\n", SHARED_SEGS);
    if (!pa && i < SHARED_SEGS) {
        pa = page_alloc(npages, PAGE_SIZE, 0);      /* zeroed: the part past filesz */
        if (pa) {
            memcpy((uint8_t *)phys_to_virt(pa) + (p->vaddr - start), (const uint8_t *)img + p->offset, p->filesz);
            shared_segs[i].img = img;
            shared_segs[i].vaddr = p->vaddr;
            shared_segs[i].memsz = p->memsz;
            shared_segs[i].pa = pa;
        }
    }
    spin_unlock(&shared_lock);
    return pa;
}

int uspace_load_elf(struct uspace *us, const void *img, size_t size, uint64_t *entry)
{
    const struct elf64_ehdr *eh = img;
    if (size < sizeof(*eh) || memcmp(eh->ident, "\177ELF\2\1", 6) || eh->type != ELF_ET_EXEC ||
        eh->machine != ELF_EM_X86_64 || eh->phentsize != sizeof(struct elf64_phdr) ||
        eh->phoff > size || eh->phnum > (size - eh->phoff) / sizeof(struct elf64_phdr)) {
        printk("user: %s: not a static x86-64 ELF executable\n", us->name);
        return -1;
    }
    const struct elf64_phdr *ph = (const void *)((const uint8_t *)img + eh->phoff);
    for (unsigned i = 0; i < eh->phnum; i++) {
        const struct elf64_phdr *p = &ph[i];
        if (p->type != ELF_PT_LOAD || !p->memsz)
            continue;
        if (p->vaddr < USER_BASE || p->memsz > USER_END - p->vaddr || p->filesz > p->memsz ||
            p->offset > size || p->filesz > size - p->offset) {
            printk("user: %s: segment %u outside the monitor's slot or the image\n", us->name, i);
            return -1;
        }
        unsigned prot = USER_R | ((p->flags & ELF_PF_W) ? USER_W : 0) | ((p->flags & ELF_PF_X) ? USER_X : 0);
        if ((prot & USER_W) && (prot & USER_X)) {
            printk("user: %s: segment %u is writable and executable\n", us->name, i);
            return -1;
        }
        uint64_t start = p->vaddr & ~(uint64_t)(PAGE_SIZE - 1);
        uint64_t end = (p->vaddr + p->memsz + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
        if (!(prot & USER_W)) {         /* shared, read-only */
            uint64_t pa = shared_seg(img, p, start, (end - start) / PAGE_SIZE);
            for (uint64_t va = start; pa && va < end; va += PAGE_SIZE)
                if (uspace_map(us, va, pa + (va - start), prot, false))
                    pa = 0;
            if (!pa) {
                printk("user: %s: out of memory for segment %u\n", us->name, i);
                return -1;
            }
            us->shared_pages += (unsigned)((end - start) / PAGE_SIZE);
            continue;
        }
        if (uspace_alloc(us, start, end - start, prot) ||
            uspace_write(us, p->vaddr, (const uint8_t *)img + p->offset, p->filesz)) {
            printk("user: %s: out of memory for segment %u\n", us->name, i);
            return -1;
        }
    }
    if (eh->entry < USER_BASE || eh->entry >= USER_END) {
        printk("user: %s: entry point outside the monitor's slot\n", us->name);
        return -1;
    }
    *entry = eh->entry;
    return 0;
}

static int copy(const struct uspace *us, uint64_t va, void *buf, size_t len, bool write)
{
    if (va < USER_BASE || va >= USER_END || len > USER_END - va)
        return -1;
    uint8_t *b = buf;
    while (len) {       /* bound: len bytes, a page at a time */
        const uint64_t *pte = pte_of((struct uspace *)us, va, false);
        if (!pte || !(*pte & PTE_P) || (write && !(*pte & PTE_W)))
            return -1;
        size_t off = va & (PAGE_SIZE - 1), n = PAGE_SIZE - off;
        if (n > len)
            n = len;
        uint8_t *p = (uint8_t *)phys_to_virt(*pte & PTE_ADDR_MASK) + off;
        if (write)
            memcpy(p, b, n);
        else
            memcpy(b, p, n);
        b += n;
        va += n;
        len -= n;
    }
    return 0;
}

uint64_t uspace_phys(const struct uspace *us, uint64_t va)
{
    if (va < USER_BASE || va >= USER_END)
        return 0;
    const uint64_t *pte = pte_of((struct uspace *)us, va, false);
    return pte && (*pte & PTE_P) ? (*pte & PTE_ADDR_MASK) | (va & (PAGE_SIZE - 1)) : 0;
}

int uspace_read(const struct uspace *us, uint64_t va, void *buf, size_t len)
{
    return copy(us, va, buf, len, false);
}

int uspace_write(const struct uspace *us, uint64_t va, const void *buf, size_t len)
{
    return copy(us, va, (void *)buf, len, true);
}

static void free_level(uint64_t table, int level)
{
    uint64_t *t = tab(table);
    for (unsigned i = 0; i < 512; i++) {
        if (!(t[i] & PTE_P))
            continue;
        if (level > 1)
            free_level(t[i], level - 1);
        else if (t[i] & PTE_OWNED)
            page_free(t[i] & PTE_ADDR_MASK, 1);
    }
    page_free(table & PTE_ADDR_MASK, 1);
}

void uspace_destroy(struct uspace *us)
{
    uint64_t *u = tab(us->pml4);
    if (u[USER_SLOT] & PTE_P)
        free_level(u[USER_SLOT], 3);
    page_free(us->pml4, 2);
    memset(us, 0, sizeof(*us));
    __atomic_sub_fetch(&uspace_count, 1, __ATOMIC_SEQ_CST);
}

/* ---- calls --------------------------------------------------------------- */

enum user_status user_call(struct user_call *c)
{
    /* (no irq_save: the monitor runs with interrupts on, and the
     * interrupts-off statistics must not count it; user_enter turns them
     * off for its switch, user_leave gives back the caller's RFLAGS) */
    struct percpu *pc = this_cpu();
    if (pc->user_frame)
        return USER_BUSY;           /* interrupt handlers never call in */
    /* nothing of the kernel's or the last guest's for the program to see
     * or use: registers (user_enter zeroes the GPRs), the GDT limit a VMX
     * exit left, branch predictions another address space trained */
    fpu_clear_for_user();
    gdt_reload();
    if (pc->user_last != c->us && spec.ibpb)
        wrmsr(MSR_IA32_PRED_CMD, PRED_CMD_IBPB);
    pc->user_last = c->us;
    wrmsr(MSR_FS_BASE, c->fs_base);     /* the kernel does not use FS: it stays the program's */
    struct user_frame f = {
        .rip = c->entry, .rsp = c->stack_top, .arg = c->arg,
        .cr3 = c->us->pml4 | (user_kpti ? USER_VIEW : 0),
        .rsp0 = (uint64_t *)((uint8_t *)&pc->ent->tss + offsetof(struct tss64, rsp)),  /* 4-aligned: fine on x86 */
        .pc = pc, .call = c, .deadline = rdtsc() + c->budget_tsc,
        .entry = user_kpti ? pc->entry_top : 0,
    };
    pc->user_frame = &f;
    return (enum user_status)user_enter(&f);
}

static __attribute__((noreturn)) void leave(struct user_frame *f, enum user_status st)
{
    f->pc->user_frame = NULL;
    /* KPTI: the monitor's last registers off the entry stack, which every
     * user view maps (the IST tops: only NMI and #MC, which panic) */
    if (user_kpti)
        memset((uint8_t *)(uintptr_t)f->pc->entry_top - 128, 0, 128);
    user_leave(f, st);
}

static struct user_frame *current(void)
{
    struct user_frame *f = this_cpu()->user_frame;
    if (!f)
        panic("user: an entry from CPL 3 with no monitor call under way");
    return f;
}

void user_trap(struct trap_frame *tf)
{
    struct user_frame *f = current();
    struct user_call *c = f->call;
    if (tf->vector == VEC_SYSCALL) {
        uint64_t nr = tf->rax;
        if (nr == USER_SYS_REPLY) {
            c->reply = tf->rdi;
            leave(f, USER_REPLIED);
        }
        /* the index masked without a branch, so that no mispredicted bound
         * check reads a function pointer past the table (Spectre v1) */
        uint64_t in = (uint64_t)-(int64_t)(nr < c->sys->count);
        __asm__ volatile("" : "+r"(in));
        uint64_t i = nr & in;
        if (nr < c->sys->count && c->sys->fn[i]) {
            uint64_t t0 = rdtsc();
            tf->rax = (uint64_t)c->sys->fn[i](c->owner, tf->rdi, tf->rsi, tf->rdx, tf->r10);
            uint64_t d = rdtsc() - t0;      /* the kernel's time, up to the call's credit */
            if (d > c->sys_credit_tsc)
                d = c->sys_credit_tsc;
            c->sys_credit_tsc -= d;
            f->deadline += d;
        } else {
            unsigned long n = ++*c->sys->unknown;
            if (report_nth(n))
                printk("user: %s: unknown system call %llu at rip %#llx (%lu so far)\n", c->us->name,
                       (unsigned long long)nr, (unsigned long long)tf->rip, n);
            tf->rax = (uint64_t)(int64_t)USER_ENOSYS;
        }
        return;
    }
    c->fault = (struct user_fault){ .vector = (unsigned)tf->vector, .error = tf->error, .rip = tf->rip,
                                    .rsp = tf->rsp, .cr2 = tf->vector == EXC_PF ? read_cr2() : 0 };
    leave(f, USER_FAULTED);
}

void user_interrupted(struct trap_frame *tf)
{
    struct user_frame *f = current();
    if ((int64_t)(rdtsc() - f->deadline) < 0)
        return;
    f->call->fault = (struct user_fault){ .vector = 256, .rip = tf->rip, .rsp = tf->rsp };
    leave(f, USER_TIMED_OUT);
}
