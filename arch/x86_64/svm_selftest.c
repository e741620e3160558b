/*
 * SVM backend self-test (kernel command line "selftest=svm"; kernel/main.c
 * calls it on the BSP after boot).  Drives the backend only through struct
 * vcpu_backend, the way the generic VM layer does:
 *   vCPU 0, 32-bit protected mode, paging off (the Multiboot1 state): CPUID,
 *     OUT 0xE9, VMMCALL, RDMSR (intercepted), RDMSR and OUT 0x80 (passed
 *     through: no exit), MMIO read/write at an unmapped GPA, STI with an
 *     interrupt window and an injected vector, HLT; then 1,000,000 VMMCALL
 *     round trips, timed;
 *   vCPU 1, 64-bit long mode (own page tables): two VMMCALLs, HLT;
 *   vCPU 2: a state VMRUN would refuse (named by the backend), then a
 *     triple fault (#UD with an empty IDT -> shutdown), then reset to real
 *     mode (smoke test);
 *   a vector posted before entry; the ASID pool exhausted, then vCPU
 *     switches (flush on each).
 * Prints every exit and "svm-selftest: PASS" or the failed checks.
 *
 * "svm-x87race=MODE" makes CPU 1 load x87/SSE state in a loop while CPU 0
 * runs the VMMCALL round trips: the reproducer of QEMU TCG's cross-CPU
 * hflags2 race (arch/x86_64/fpu.c).  MODE "fxrstor" and "xrstor-x87" load
 * the x87 component (under QEMU TCG, CPU 0 soon faults: a host triple fault
 * after #VMEXIT or a guest exit other than VMMCALL); "nethv" does what
 * nethv's hot paths do now (fpu_xrstor_guest with the x87 init state, and
 * isr_common's SSE/AVX-only XRSTOR) and must pass everywhere.
 */
#include <stdlib.h>
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <nethv/guestabi.h>
#include <arch/cpu.h>
#include <arch/regs.h>
#include <arch/smp.h>
#include <arch/svm.h>
#include <arch/time.h>
#include <arch/x86.h>

void svm_selftest(void);

#define RAM_SIZE    (4 * MIB)
#define GPA_GDT     0x500
#define GPA_IDT     0x600
#define GPA_CODE32  0x1000
#define GPA_ISR     0x1100
#define GPA_LOOP    0x2000
#define GPA_CODE64  0x3000
#define GPA_UD2     0x3100
#define GPA_CODE16  0x4000
#define GPA_XSETBV  0x4100
#define GPA_STACK   0x8000
#define GPA_PML4    0x10000
#define IRQ_VECTOR  0x40
#define BENCH_CALLS 1000000u     /* "svm-bench=N" on the command line overrides */
#define MSR_PASSED  0x174       /* SYSENTER_CS: passed through */
#define MSR_TRAPPED 0x10        /* TSC: intercepted */

/* 32-bit protected-mode test guest (hand-assembled) */
static const uint8_t code32[] = {
    0x31, 0xc0,                         /* 1000 xor eax,eax */
    0x31, 0xc9,                         /* 1002 xor ecx,ecx */
    0x0f, 0xa2,                         /* 1004 cpuid                -> CPUID 0 */
    0xb0, 'h', 0xe6, 0xe9,              /* 1006 mov al,'h'; out 0xe9 -> IO */
    0xb0, 'i', 0xe6, 0xe9,              /* 100a */
    0xb0, '\n', 0xe6, 0xe9,             /* 100e */
    0x31, 0xc0,                         /* 1012 xor eax,eax */
    0x0f, 0x01, 0xd9,                   /* 1014 vmmcall              -> HYPERCALL 0 */
    0xb9, MSR_TRAPPED, 0, 0, 0,         /* 1017 mov ecx,0x10 */
    0x0f, 0x32,                         /* 101c rdmsr                -> MSR read 0x10 */
    0xb9, 0x74, 0x01, 0, 0,             /* 101e mov ecx,0x174 */
    0x0f, 0x32,                         /* 1023 rdmsr                (passed through) */
    0xe6, 0x80,                         /* 1025 out 0x80,al          (passed through) */
    0xa1, 0x00, 0x00, 0xb0, 0xfe,       /* 1027 mov eax,[0xfeb00000] -> MMIO read */
    0xa3, 0x00, 0x00, 0xb0, 0xfe,       /* 102c mov [0xfeb00000],eax -> MMIO write */
    0xfb,                               /* 1031 sti */
    0x90,                               /* 1032 nop                  -> irq window */
    0x90,                               /* 1033 nop  (vector 0x40 runs before it) */
    0xf4,                               /* 1034 hlt                  -> HLT */
    0xeb, 0xfe,                         /* 1035 jmp $ */
};
#define MMIO_INSN_LEN 5

static const uint8_t isr32[] = {        /* vector 0x40 */
    0x50,                               /* push eax */
    0xb0, 'I', 0xe6, 0xe9,              /* out 'I' */
    0xb0, '\n', 0xe6, 0xe9,
    0x58,                               /* pop eax */
    0xcf,                               /* iretd */
};

static const uint8_t loop32[] = {
    0x31, 0xc0,                         /* 2000 xor eax,eax */
    0x0f, 0x01, 0xd9,                   /* 2002 vmmcall */
    0xeb, 0xf9,                         /* 2005 jmp 2000 */
};

static const uint8_t code64[] = {
    0x48, 0xc7, 0xc0, HC_VCPU_ID, 0, 0, 0,      /* 3000 mov rax,2 */
    0x0f, 0x01, 0xd9,                           /* 3007 vmmcall -> rax = vCPU index */
    0x48, 0x89, 0xc3,                           /* 300a mov rbx,rax */
    0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, /* mov rax,imm64 */
    0x0f, 0x01, 0xd9,                           /* 3017 vmmcall */
    0xf4,                                       /* 301a hlt */
};

static const uint8_t ud2[] = { 0x0f, 0x0b };

/* real mode at 0400:0000 (GPA 0x4000) */
static const uint8_t code16[] = {
    0xb8, 0x34, 0x12,                   /* mov ax,0x1234 */
    0xbb, 0x10, 0x00,                   /* mov bx,0x10 */
    0x8b, 0x0f,                         /* mov cx,[bx]   (DS base 0x4000: GPA 0x4010) */
    0x0f, 0x01, 0xd9,                   /* vmmcall */
    0xf4,                               /* hlt */
};

static unsigned checks, failures;

static void check(bool ok, const char *what)
{
    checks++;
    if (!ok) {
        failures++;
        printk("svm-selftest: FAIL: %s\n", what);
    }
}

static const struct vcpu_backend *be = &svm_backend;
static struct vm_hw vm;
static struct vcpu_hw vcpu[3];
static uint8_t *ram;
static char line[80];
static unsigned line_len;
static unsigned extints;

static void advance(struct vcpu_hw *v, const struct vcpu_exit *e, unsigned known_len)
{
    struct vcpu_regs r;
    be->get_regs(v, &r);
    r.rip += e->insn_len ? e->insn_len : known_len;
    be->set_regs(v, &r);
}

/* Run until an exit other than a host interrupt. */
static void run(struct vcpu_hw *v, struct vcpu_exit *e)
{
    for (;;) {
        memset(e, 0, sizeof(*e));
        if (be->run(v, e)) {
            e->reason = VCPU_EXIT_ENTRY_FAILED;
            return;
        }
        if (e->reason != VCPU_EXIT_EXTINT)
            return;
        extints++;
    }
}

static void show(unsigned n, struct vcpu_hw *v, const struct vcpu_exit *e)
{
    struct vcpu_regs r;
    be->get_regs(v, &r);
    printk("svm-selftest: vCPU %ld exit %u: %s (code %#x, info1 %#llx, info2 %#llx) rip %#llx "
           "len %u", (long)(v - vcpu), n, vcpu_exit_name(e->reason), e->hw_reason,
           (unsigned long long)e->qual, (unsigned long long)e->info2,
           (unsigned long long)r.rip, e->insn_len);
    switch (e->reason) {
    case VCPU_EXIT_CPUID:
        printk(" leaf %#x subleaf %#x\n", e->cpuid.leaf, e->cpuid.subleaf);
        break;
    case VCPU_EXIT_IO:
        printk(" port %#x size %u %s%s%s\n", e->io.port, e->io.size, e->io.in ? "in" : "out",
               e->io.string ? " string" : "", e->io.rep ? " rep" : "");
        break;
    case VCPU_EXIT_MSR_READ:
    case VCPU_EXIT_MSR_WRITE:
        printk(" msr %#x\n", e->msr.index);
        break;
    case VCPU_EXIT_MMIO:
        printk(" gpa %#llx %s\n", (unsigned long long)e->gpa,
               e->mmio.write ? "write" : e->mmio.fetch ? "fetch" : "read");
        break;
    case VCPU_EXIT_HYPERCALL:
        printk(" rax %#llx\n", (unsigned long long)r.gpr.rax);
        break;
    case VCPU_EXIT_ENTRY_FAILED:
        printk(" why: %s\n", e->fail.what ? e->fail.what : "?");
        break;
    default:
        printk("\n");
    }
}

/* Exits of the 32-bit guest, in order; host interrupts may come in between. */
static const enum vcpu_exit_reason script32[] = {
    VCPU_EXIT_CPUID, VCPU_EXIT_IO, VCPU_EXIT_IO, VCPU_EXIT_IO, VCPU_EXIT_HYPERCALL,
    VCPU_EXIT_MSR_READ, VCPU_EXIT_MMIO, VCPU_EXIT_MMIO, VCPU_EXIT_INTR_WINDOW,
    VCPU_EXIT_IO, VCPU_EXIT_IO, VCPU_EXIT_HLT,
};

static void handle32(struct vcpu_hw *v, const struct vcpu_exit *e)
{
    struct vcpu_regs r;
    be->get_regs(v, &r);
    switch (e->reason) {
    case VCPU_EXIT_CPUID: {
        struct cpuid_regs c = cpuid(e->cpuid.leaf, e->cpuid.subleaf);
        r.gpr.rax = c.eax;
        r.gpr.rbx = c.ebx;
        r.gpr.rcx = c.ecx;
        r.gpr.rdx = c.edx;
        r.rip += e->insn_len ? e->insn_len : 2;
        be->set_regs(v, &r);
        check(e->cpuid.leaf == 0, "CPUID leaf from RAX");
        break;
    }
    case VCPU_EXIT_IO: {
        char ch = (char)r.gpr.rax;
        check(e->io.port == TESTDEV_DEBUG_PORT && e->io.size == 1 && !e->io.in, "IO exit: port 0xe9, 1 byte, out");
        check(e->insn_len == 2, "IO exit: insn_len 2 (from EXITINFO2 / nRIP)");
        if (ch == '\n' || line_len == sizeof(line) - 1) {
            line[line_len] = 0;
            printk("svm-selftest: guest says: %s\n", line);
            line_len = 0;
        } else {
            line[line_len++] = ch;
        }
        advance(v, e, 2);
        break;
    }
    case VCPU_EXIT_HYPERCALL:
        check(r.gpr.rax == HC_NULL, "VMMCALL with RAX=0");
        r.gpr.rax = 0;
        r.rip += e->insn_len ? e->insn_len : 3;
        be->set_regs(v, &r);
        break;
    case VCPU_EXIT_MSR_READ:
        check(e->msr.index == MSR_TRAPPED, "RDMSR exit names MSR 0x10 (0x174 is passed through)");
        r.gpr.rax = r.gpr.rdx = 0;
        r.rip += e->insn_len ? e->insn_len : 2;
        be->set_regs(v, &r);
        break;
    case VCPU_EXIT_MMIO:
        check(e->gpa == TESTDEV_MMIO_BASE, "MMIO exit: GPA 0xfeb00000");
        if (e->mmio.read) {
            r.gpr.rax = TESTDEV_MMIO_ID;
        } else {
            check(e->mmio.write, "second MMIO access is a write");
            check(!be->can_inject_irq(v), "no injection while guest IF=0");
            be->set_irq_window(v, true);
        }
        r.rip += MMIO_INSN_LEN;         /* no decode assists: the test knows its code */
        be->set_regs(v, &r);
        break;
    case VCPU_EXIT_INTR_WINDOW: {
        check(r.rip == GPA_CODE32 + 0x33, "window opens after STI's shadow (RIP 0x1033)");
        be->set_irq_window(v, false);
        check(be->can_inject_irq(v), "can inject once the window is open");
        struct vcpu_event ev = { VCPU_EVENT_EXTINT, IRQ_VECTOR, false, 0 };
        check(be->inject(v, &ev), "inject vector 0x40");
        check(!be->inject(v, &ev), "second inject refused while one is pending");
        break;
    }
    default:
        break;
    }
}

static void setup_memory(void)
{
    uint64_t *gdt = (uint64_t *)(ram + GPA_GDT);
    gdt[1] = 0x00cf9b000000ffffull;     /* 0x08: flat 32-bit code */
    gdt[2] = 0x00cf93000000ffffull;     /* 0x10: flat data */
    uint32_t *gate = (uint32_t *)(ram + GPA_IDT + IRQ_VECTOR * 8);
    gate[0] = (0x08u << 16) | (GPA_ISR & 0xffff);
    gate[1] = (GPA_ISR & 0xffff0000u) | 0x8e00;     /* P, DPL0, 32-bit interrupt gate */
    memcpy(ram + GPA_CODE32, code32, sizeof(code32));
    memcpy(ram + GPA_ISR, isr32, sizeof(isr32));
    memcpy(ram + GPA_LOOP, loop32, sizeof(loop32));
    memcpy(ram + GPA_CODE64, code64, sizeof(code64));
    memcpy(ram + GPA_UD2, ud2, sizeof(ud2));
    memcpy(ram + GPA_CODE16, code16, sizeof(code16));
    ram[GPA_CODE16 + 0x10] = 0xef;
    ram[GPA_CODE16 + 0x11] = 0xbe;
    uint64_t *pml4 = (uint64_t *)(ram + GPA_PML4);
    uint64_t *pdpt = pml4 + 512, *pd = pml4 + 1024;
    pml4[0] = (GPA_PML4 + 0x1000) | PTE_P | PTE_W;
    pdpt[0] = (GPA_PML4 + 0x2000) | PTE_P | PTE_W;
    pd[0] = 0x000000 | PTE_P | PTE_W | PTE_PS;
    pd[1] = 0x200000 | PTE_P | PTE_W | PTE_PS;
}

static void prot32_state(struct vcpu_sregs *s, struct vcpu_regs *r, uint64_t rip)
{
    memset(s, 0, sizeof(*s));
    memset(r, 0, sizeof(*r));
    s->cs = (struct vcpu_seg){ 0x08, 0xc09b, 0xffffffffu, 0 };
    s->ds = s->es = s->fs = s->gs = s->ss = (struct vcpu_seg){ 0x10, 0xc093, 0xffffffffu, 0 };
    s->tr = (struct vcpu_seg){ 0, 0x8b, 0xffff, 0 };
    s->ldtr = (struct vcpu_seg){ 0, SEG_AR_UNUSABLE | 0x82, 0xffff, 0 };
    s->gdt = (struct vcpu_dtable){ GPA_GDT, 23 };
    s->idt = (struct vcpu_dtable){ GPA_IDT, IRQ_VECTOR * 8 + 7 };
    s->cr0 = CR0_PE | CR0_ET;
    r->rflags = 2;
    r->rip = rip;
    r->rsp = GPA_STACK;
    r->gpr.rax = 0x2badb002;            /* as a Multiboot1 loader would */
    r->gpr.rbx = 0x8000;
}

static void test_prot32(struct vcpu_hw *v)
{
    struct vcpu_sregs s;
    struct vcpu_regs r;
    struct vcpu_exit e;
    prot32_state(&s, &r, GPA_CODE32);
    be->set_sregs(v, &s);
    be->set_regs(v, &r);
    struct vcpu_sregs back;
    be->get_sregs(v, &back);
    check(back.cs.ar == 0xc09b && back.ds.ar == 0xc093 && back.tr.ar == 0x8b &&
          (back.ldtr.ar & SEG_AR_UNUSABLE) && back.efer == 0 && back.cr0 == (CR0_PE | CR0_ET),
          "segment access rights survive the VMCB attrib round trip");
    for (unsigned i = 0; i < ARRAY_SIZE(script32); i++) {
        run(v, &e);
        show(i, v, &e);
        if (e.reason != script32[i]) {
            check(false, "32-bit guest: unexpected exit");
            be->dump(v);
            return;
        }
        handle32(v, &e);
    }
    be->get_regs(v, &r);
    check(r.rip == GPA_CODE32 + 0x34, "HLT exit at the HLT");
}

/* A guest with EFER.LME armed, CR4.PAE and CR0.PG clear (legal: a kernel
 * on its way to long mode): after its exit the host must have its own CR0
 * back.  QEMU TCG skips that restore (svm_run repairs it and counts). */
extern uint64_t svm_cr0_repairs;
static void test_lme_armed(struct vcpu_hw *v)
{
    struct vcpu_sregs s;
    struct vcpu_regs r;
    struct vcpu_exit e;
    prot32_state(&s, &r, GPA_CODE32);
    s.efer = EFER_LME;
    be->set_sregs(v, &s);
    be->set_regs(v, &r);
    uint64_t before = svm_cr0_repairs;
    run(v, &e);
    show(0, v, &e);
    check(read_cr0() & CR0_PG, "EFER.LME armed in the guest: host paging on after its exit");
    printk("svm-selftest: EFER.LME armed with CR4.PAE=0, CR0.PG=0: the CPU %s the host's CR0 at "
           "#VMEXIT\n", svm_cr0_repairs != before ? "did NOT restore (repaired)" : "restored");
    be->get_sregs(v, &s);
    s.efer = 0;
    be->set_sregs(v, &s);
}

/* XSETBV with the XSETBV intercept set (APM 2 15.9, exit code 0x8d): the
 * CPU must exit before it writes XCR0.  QEMU TCG (7.2) does not: its
 * helper_xsetbv (target/i386/tcg/fpu_helper.c) checks no SVM intercept, so
 * the guest's value lands in XCR0 and the next exit is the VMMCALL after
 * it; svm_run then adopts the value (fpu_store).  Bochs' SVM model exits. */
static const uint8_t xsetbv32[] = {
    0x31, 0xc9,                         /* xor ecx,ecx */
    0x31, 0xd2,                         /* xor edx,edx */
    0xb8, 0x03, 0x00, 0x00, 0x00,       /* mov eax,3: x87|SSE */
    0x0f, 0x01, 0xd1,                   /* xsetbv */
    0x0f, 0x01, 0xd9,                   /* vmmcall */
};
extern uint64_t svm_xsetbv_unseen;
static void test_xsetbv(struct vcpu_hw *v)
{
    if (!(cpuid(1, 0).ecx & CPUID1_ECX_XSAVE))
        return;
    struct vcpu_sregs s;
    struct vcpu_regs r;
    struct vcpu_exit e;
    memcpy(ram + GPA_XSETBV, xsetbv32, sizeof(xsetbv32));
    prot32_state(&s, &r, GPA_XSETBV);
    s.cr4 = CR4_OSXSAVE;
    be->set_sregs(v, &s);
    be->set_regs(v, &r);
    v->xcr0 = 1;
    uint64_t unseen = svm_xsetbv_unseen;
    run(v, &e);
    show(0, v, &e);
    bool exited = e.reason == VCPU_EXIT_XSETBV;
    if (exited) {
        v->xcr0 = 3;                    /* as the kernel's exit handler would */
        advance(v, &e, 3);
        run(v, &e);
        show(1, v, &e);
    }
    check(e.reason == VCPU_EXIT_HYPERCALL, "XSETBV guest ends at its VMMCALL");
    check(v->xcr0 == 3, "the guest's XCR0 is known after its XSETBV");
    check(xgetbv(0) == svm_caps.xcr0, "the host's XCR0 is back after the exit");
    printk("svm-selftest: XSETBV with its intercept set: the CPU %s\n",
           exited ? "exited" : svm_xsetbv_unseen != unseen ?
           "did NOT exit (XCR0 written by the guest; adopted at the next exit)" : "did NOT exit");
    be->get_sregs(v, &s);
    s.cr4 = 0;
    be->set_sregs(v, &s);
}

static void bench(struct vcpu_hw *v)
{
    struct vcpu_regs r;
    struct vcpu_exit e;
    char arg[16];
    const char *a = cmdline_get("svm-bench", arg, sizeof(arg));
    unsigned calls = a ? (unsigned)strtoul(a, NULL, 10) : BENCH_CALLS;
    if (!calls)
        return;
    be->get_regs(v, &r);
    r.rip = GPA_LOOP;
    be->set_regs(v, &r);
    unsigned ext0 = extints, other = 0;
    uint64_t t0 = rdtsc();
    for (unsigned n = 0; n < calls; n++) {
        run(v, &e);
        if (e.reason != VCPU_EXIT_HYPERCALL) {
            other++;
            show(n, v, &e);
            break;
        }
        advance(v, &e, 3);
    }
    uint64_t dt = rdtsc() - t0;
    check(other == 0, "benchmark: only VMMCALL exits");
    if (!other && dt)
        printk("svm-selftest: %u VMMCALL round trips in %llu ms: %llu per second "
               "(%u host interrupts in between)\n", calls,
               (unsigned long long)(dt * 1000 / tsc_hz),
               (unsigned long long)(calls * tsc_hz / dt), extints - ext0);
}

/* ---- the x87-load race reproducer (svm-x87race=MODE) ---- */

enum { RACE_OFF, RACE_FXRSTOR, RACE_XRSTOR_X87, RACE_NETHV };
static const char *const race_names[] = { "off", "fxrstor", "xrstor-x87", "nethv" };
static unsigned race_mode;
static volatile bool race_stop;
static volatile uint64_t race_loads;
static uint8_t race_area[1024] __attribute__((aligned(64)));

/* On CPU 1 (the AP work of smp_run_on_aps), interrupts off, until race_stop. */
static void race_ap(void)
{
    if (this_cpu()->cpu != 1)
        return;
    uint64_t n = 0, xcr0 = svm_caps.xcr0;
    memset(race_area, 0, sizeof(race_area));
    __asm__ volatile("fninit; fxsave64 (%0)" :: "r"(race_area) : "memory");
    if (race_mode == RACE_XRSTOR_X87 || race_mode == RACE_NETHV) {
        if (!svm_caps.xsave)
            return;
        race_area[512] = (uint8_t)xcr0;         /* XSTATE_BV: every component in the image */
    }
    if (race_mode == RACE_XRSTOR_X87)
        race_area[2] = 0x20;                    /* FSW.PE: an x87 state that is not the init state */
    while (!race_stop) {
        switch (race_mode) {
        case RACE_FXRSTOR:
            __asm__ volatile("fxrstor64 (%0)" :: "r"(race_area) : "memory");
            break;
        case RACE_XRSTOR_X87:
            xrstor(race_area, xcr0);
            break;
        case RACE_NETHV:
            race_area[512] |= 1;                /* as XSAVEOPT leaves it under QEMU */
            fpu_xrstor_guest(race_area, xcr0);
            xrstor(race_area, fpu_isr_mask);
            break;
        }
        n++;
    }
    race_loads = n;
}

static void race_start(void)
{
    char arg[16];
    const char *a = cmdline_get("svm-x87race", arg, sizeof(arg));
    race_mode = RACE_OFF;
    for (unsigned i = 1; a && i < ARRAY_SIZE(race_names); i++)
        if (!strcmp(a, race_names[i]))
            race_mode = i;
    if (a && race_mode == RACE_OFF)
        printk("svm-selftest: svm-x87race=%s: unknown mode (fxrstor, xrstor-x87, nethv)\n", a);
    if (race_mode == RACE_OFF)
        return;
    check(cpus_online_count >= 2, "svm-x87race needs a second CPU");
    race_stop = false;
    race_loads = 0;
    smp_run_on_aps(race_ap);
    printk("svm-selftest: x87 race: CPU 1 loads FPU state (%s) during the round trips\n",
           race_names[race_mode]);
}

static void race_end(void)
{
    if (race_mode == RACE_OFF || cpus_online_count < 2)
        return;
    race_stop = true;
    smp_wait_aps();
    printk("svm-selftest: x87 race: CPU 1 made %llu loads (%s)\n",
           (unsigned long long)race_loads, race_names[race_mode]);
    check(race_loads > 0, "x87 race: CPU 1 loaded FPU state");
}

static void test_long64(struct vcpu_hw *v)
{
    struct vcpu_sregs s;
    struct vcpu_regs r;
    struct vcpu_exit e;
    prot32_state(&s, &r, GPA_CODE64);
    s.cs.ar = 0xa09b;                   /* L=1, D=0 */
    s.cr0 = CR0_PE | CR0_ET | CR0_PG;
    s.cr3 = GPA_PML4;
    s.cr4 = CR4_PAE;
    s.efer = EFER_LME | EFER_LMA;
    r.rsp = GPA_STACK - 0x1000;
    be->set_sregs(v, &s);
    be->set_regs(v, &r);
    run(v, &e);
    show(0, v, &e);
    be->get_regs(v, &r);
    check(e.reason == VCPU_EXIT_HYPERCALL && r.gpr.rax == HC_VCPU_ID, "long mode: VMMCALL HC_VCPU_ID");
    r.gpr.rax = 1;
    r.rip += e.insn_len ? e.insn_len : 3;
    be->set_regs(v, &r);
    run(v, &e);
    show(1, v, &e);
    be->get_regs(v, &r);
    check(e.reason == VCPU_EXIT_HYPERCALL && r.gpr.rax == 0x1122334455667788ull && r.gpr.rbx == 1,
          "long mode: 64-bit RAX and RBX reach the host");
    r.rip += e.insn_len ? e.insn_len : 3;
    be->set_regs(v, &r);
    run(v, &e);
    show(2, v, &e);
    check(e.reason == VCPU_EXIT_HLT, "long mode: HLT");
    be->get_sregs(v, &s);
    check((s.efer & EFER_LMA) && (s.cs.ar & (1u << 13)), "long mode: EFER.LMA and CS.L read back");
}

static void test_failures(struct vcpu_hw *v)
{
    struct vcpu_sregs s;
    struct vcpu_regs r;
    struct vcpu_exit e;
    prot32_state(&s, &r, GPA_UD2);
    s.cr0 = CR0_PE | CR0_ET | CR0_PG;   /* long mode without PAE: VMRUN would refuse */
    s.efer = EFER_LME;
    be->set_sregs(v, &s);
    be->set_regs(v, &r);
    run(v, &e);
    show(0, v, &e);
    check(e.reason == VCPU_EXIT_ENTRY_FAILED && e.fail.what && strstr(e.fail.what, "PAE"),
          "bad state: entry refused naming CR4.PAE");
    prot32_state(&s, &r, GPA_UD2);
    s.idt = (struct vcpu_dtable){ 0, 0 };   /* #UD -> #GP -> #DF -> shutdown */
    be->set_sregs(v, &s);
    be->set_regs(v, &r);
    run(v, &e);
    show(1, v, &e);
    check(e.reason == VCPU_EXIT_TRIPLE_FAULT, "UD2 with an empty IDT: triple fault");

    /* the same vCPU, reset to real mode (a smoke test only: the backend
     * supports protected and long-mode starts) */
    memset(&s, 0, sizeof(s));
    memset(&r, 0, sizeof(r));
    s.cs = (struct vcpu_seg){ GPA_CODE16 >> 4, 0x9b, 0xffff, GPA_CODE16 };
    s.ds = s.es = s.fs = s.gs = s.ss = (struct vcpu_seg){ GPA_CODE16 >> 4, 0x93, 0xffff, GPA_CODE16 };
    s.tr = (struct vcpu_seg){ 0, 0x8b, 0xffff, 0 };
    s.ldtr = (struct vcpu_seg){ 0, 0x82, 0xffff, 0 };
    s.gdt = (struct vcpu_dtable){ 0, 0xffff };
    s.idt = (struct vcpu_dtable){ 0, 0x3ff };
    s.cr0 = CR0_ET;
    r.rflags = 2;
    r.rsp = 0x1000;
    be->set_sregs(v, &s);
    be->set_regs(v, &r);
    run(v, &e);
    show(2, v, &e);
    be->get_regs(v, &r);
    check(e.reason == VCPU_EXIT_HYPERCALL && (r.gpr.rax & 0xffff) == 0x1234 &&
          (r.gpr.rcx & 0xffff) == 0xbeef, "real mode after a triple fault: VMMCALL, data via DS");
}

/* A vector posted while the vCPU is outside the guest, with no window open,
 * makes run() return at once (no entry) so the caller can inject it. */
static void test_posted(struct vcpu_hw *v)
{
    struct vcpu_exit e;
    vcpu_post_irq(v, 0);                /* vector 0: a kick, nothing to inject */
    memset(&e, 0, sizeof(e));
    be->run(v, &e);
    check(e.reason == VCPU_EXIT_EXTINT && e.hw_reason == 0, "posted vector: run returns before entry");
    check(vcpu_take_posted_irq(v) == 0, "posted vector still there for the caller");
}

/* Exhaust the ASID pool (small under QEMU: 16), then switch between two
 * vCPUs: each switch must flush, and both guests must still run. */
static void test_asid_wrap(void)
{
    uint32_t n = svm_nasids(), bad = 0;
    for (uint32_t i = 0; i < n + 2; i++) {
        uint32_t a = svm_asid_alloc();
        if (a == 0 || a >= n)
            bad++;
    }
    check(!bad, "ASIDs stay in 1..nasids-1 after the pool wraps");
    for (int round = 0; round < 3; round++) {
        struct vcpu_regs r;
        struct vcpu_exit e;
        be->get_regs(&vcpu[0], &r);
        r.rip = GPA_LOOP;
        be->set_regs(&vcpu[0], &r);
        run(&vcpu[0], &e);
        check(e.reason == VCPU_EXIT_HYPERCALL, "ASIDs shared: vCPU 0 runs");
        be->get_regs(&vcpu[1], &r);
        r.rip = GPA_CODE64;
        be->set_regs(&vcpu[1], &r);
        run(&vcpu[1], &e);
        check(e.reason == VCPU_EXIT_HYPERCALL, "ASIDs shared: vCPU 1 runs");
    }
    printk("svm-selftest: ASID pool of %u wrapped; vCPU switches flushed (TLB_CONTROL %u)\n",
           n - 1, svm_has_flush_by_asid() ? SVM_TLB_FLUSH_ASID : SVM_TLB_FLUSH_ALL);
}

void svm_selftest(void)
{
    unsigned cpu = this_cpu()->cpu;
    printk("svm-selftest: start on CPU %u\n", cpu);
    checks = failures = 0;
    if (be->cpu_enable() || be->vm_init(&vm)) {
        printk("svm-selftest: FAIL: SVM could not be enabled\n");
        return;
    }
    vm.cr4_allowed = ~0ull;     /* no monitor, no CPUID policy: the hardware's rules */
    uint64_t hpa = page_alloc(RAM_SIZE / PAGE_SIZE, 2 * MIB, 0);
    if (!hpa || be->vm_map(&vm, 0, hpa, RAM_SIZE, S2_RWX)) {
        printk("svm-selftest: FAIL: no guest RAM\n");
        return;
    }
    ram = phys_to_virt(hpa);
    setup_memory();
    be->io_passthrough(&vm, 0x80, true);
    be->msr_passthrough(&vm, MSR_PASSED, true);
    for (unsigned i = 0; i < ARRAY_SIZE(vcpu); i++) {
        vcpu[i].host_cpu = cpu;
        if (be->vcpu_init(&vm, &vcpu[i], i)) {
            printk("svm-selftest: FAIL: vcpu_init %u\n", i);
            return;
        }
    }
    printk("svm-selftest: VM: NPT root %#llx (%u table pages), ASIDs %u %u %u, RAM at host %#llx\n",
           (unsigned long long)vm.s2_root, vm.s2_pages, vcpu[0].tag, vcpu[1].tag, vcpu[2].tag,
           (unsigned long long)hpa);
    check(vcpu[0].tag && vcpu[1].tag != vcpu[0].tag, "distinct non-zero ASIDs");

    test_prot32(&vcpu[0]);
    test_lme_armed(&vcpu[2]);
    test_xsetbv(&vcpu[2]);
    test_long64(&vcpu[1]);
    test_failures(&vcpu[2]);
    test_posted(&vcpu[0]);
    if (!failures) {
        race_start();
        bench(&vcpu[0]);
        race_end();
    }
    test_asid_wrap();
    page_free(hpa, RAM_SIZE / PAGE_SIZE);
    if (failures)
        printk("svm-selftest: FAIL: %u of %u checks failed\n", failures, checks);
    else
        printk("svm-selftest: PASS (%u checks, %u host interrupts during guest runs)\n", checks,
               extints);
}
