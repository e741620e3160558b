/*
 * VMX backend bring-up test (kernel command line `selftest=vmx`, BSP, after
 * boot, interrupts off).  Drives the backend through the vcpu_backend
 * interface only (plus a few raw VMCS writes to provoke entry failures):
 * tiny hand-assembled guests in 32-bit protected mode (paging off, the
 * Multiboot state), 64-bit long mode and real mode; every exit is printed.
 * Then a VMCALL round-trip loop (`vmxbench=N`, default 100000): Bochs' TSC
 * counts instructions, so time it on the host between the "bench: start"
 * and "bench: done" lines.
 */
#include <stdlib.h>
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <nethv/guestabi.h>
#include <arch/cpu.h>
#include <arch/regs.h>
#include <arch/smp.h>
#include <arch/time.h>
#include <arch/vmx.h>
#include <arch/x86.h>

void vmx_selftest(void);

#define RAM_SIZE    (2 * MIB)
#define GPA_CODE32  0x1000
#define GPA_CODE64  0x2000
#define GPA_CODE16  0x3000
#define GPA_PML4    0x10000
#define STACK_TOP   0x8000

/* 32-bit: CPUID; "ok\n" to port 0xE9; VMCALL; MMIO read and write at
 * 0xfeb00000/8; RDMSR 0x3a; HLT | loop: VMCALL (EAX=0) EBX times; HLT | jmp $ */
static const uint8_t guest32[] = {
    0x31, 0xc0, 0x0f, 0xa2, 0x66, 0xba, 0xe9, 0x00, 0xb0, 0x6f, 0xee, 0xb0,
    0x6b, 0xee, 0xb0, 0x0a, 0xee, 0x31, 0xc0, 0x0f, 0x01, 0xc1, 0xa1, 0x00,
    0x00, 0xb0, 0xfe, 0xa3, 0x08, 0x00, 0xb0, 0xfe, 0xb9, 0x3a, 0x00, 0x00,
    0x00, 0x0f, 0x32, 0xf4, 0x31, 0xc0, 0x0f, 0x01, 0xc1, 0x4b, 0x75, 0xf8,
    0xf4, 0xeb, 0xfe,
};
#define LOOP32_OFF 0x28   /* the VMCALL loop */
#define MMIO_INSN_LEN 5     /* mov moffs32: the test knows its own instructions */

/* 64-bit: CR0 |= NE (a host-owned bit: emulated); out CR0, CR4; XSETBV
 * XCR0=3; out XGETBV; VMCALL HC_VCPU_ID; out EAX; HLT */
static const uint8_t guest64[] = {
    0x0f, 0x20, 0xc0, 0x83, 0xc8, 0x20, 0x0f, 0x22, 0xc0, 0x0f, 0x20, 0xc0,
    0xe7, 0xe9, 0x0f, 0x20, 0xe0, 0xe7, 0xe9, 0x31, 0xc9, 0xb8, 0x03, 0x00,
    0x00, 0x00, 0x31, 0xd2, 0x0f, 0x01, 0xd1, 0x31, 0xc9, 0x0f, 0x01, 0xd0,
    0xe7, 0xe9, 0xb8, 0x02, 0x00, 0x00, 0x00, 0x0f, 0x01, 0xc1, 0xe7, 0xe9,
    0xf4,
};

/* real mode: CLI; out 'R'; STI; NOP; HLT; out 'D'; HLT | handler (+0xe):
 * out 'I'; IRET */
static const uint8_t guest16[] = {
    0xfa, 0xba, 0xe9, 0x00, 0xb0, 0x52, 0xee, 0xfb, 0x90, 0xf4, 0xb0, 0x44,
    0xee, 0xf4, 0xb0, 0x49, 0xee, 0xcf,
};
#define HANDLER16_OFF 0xe
#define TEST_VECTOR 0x20

static const struct vcpu_backend *b = &vmx_backend;
static struct vm_hw vm;
static struct vcpu_hw vc;
static uint8_t *ram;
static unsigned failures, extints;
static uint64_t counts[VCPU_EXIT__COUNT];

#define CHECK(cond, ...) do { if (!(cond)) { failures++; printk("vmx-selftest: FAIL: " __VA_ARGS__); } } while (0)

static void advance(unsigned len)
{
    struct vcpu_regs r;
    b->get_regs(&vc, &r);
    r.rip += len;
    b->set_regs(&vc, &r);
}

/* Emulate what the generic layer would; returns the exit for the caller
 * to judge.  External interrupts and NONE are consumed here. */
static struct vcpu_exit step(bool quiet)
{
    struct vcpu_exit e;
    struct vcpu_regs r;
    for (;;) {
        memset(&e, 0, sizeof(e));
        int rc = b->run(&vc, &e);
        counts[e.reason < VCPU_EXIT__COUNT ? e.reason : VCPU_EXIT_UNKNOWN]++;
        if (rc == 0 && e.reason == VCPU_EXIT_EXTINT) {
            extints++;
            continue;
        }
        if (rc == 0 && e.reason == VCPU_EXIT_NONE)
            continue;
        break;
    }
    b->get_regs(&vc, &r);
    if (!quiet)
        printk("vmx-selftest:   exit %-10s hw %2u (%s) rip %#llx len %u", vcpu_exit_name(e.reason),
               e.hw_reason, vmx_exit_reason_name(e.hw_reason), (unsigned long long)r.rip, e.insn_len);
    switch (e.reason) {
    case VCPU_EXIT_CPUID: {
        struct cpuid_regs c = cpuid(e.cpuid.leaf, e.cpuid.subleaf);
        if (!quiet)
            printk(" leaf %#x.%u -> %08x %08x %08x %08x\n", e.cpuid.leaf, e.cpuid.subleaf,
                   c.eax, c.ebx, c.ecx, c.edx);
        r.gpr.rax = c.eax, r.gpr.rbx = c.ebx, r.gpr.rcx = c.ecx, r.gpr.rdx = c.edx;
        r.rip += e.insn_len;
        b->set_regs(&vc, &r);
        break;
    }
    case VCPU_EXIT_IO: {
        uint64_t mask = e.io.size == 4 ? 0xffffffffull : (1ull << (8 * e.io.size)) - 1;
        uint64_t val = r.gpr.rax & mask;
        if (!quiet)
            printk(" %s port %#x size %u value %#llx%s%c%s\n", e.io.in ? "in" : "out", e.io.port,
                   e.io.size, (unsigned long long)val, e.io.size == 1 ? " '" : "",
                   e.io.size == 1 ? (val >= 0x20 && val < 0x7f ? (char)val : '.') : ' ',
                   e.io.size == 1 ? "'" : "");
        if (e.io.in)
            r.gpr.rax |= mask;
        r.rip += e.insn_len;
        b->set_regs(&vc, &r);
        break;
    }
    case VCPU_EXIT_HYPERCALL:
        if (!quiet)
            printk(" rax %#llx\n", (unsigned long long)r.gpr.rax);
        r.gpr.rax = r.gpr.rax == HC_NULL ? 0 : r.gpr.rax == HC_VCPU_ID ? 0 : HC_INVALID;
        r.rip += e.insn_len;
        b->set_regs(&vc, &r);
        break;
    case VCPU_EXIT_MMIO:
        if (!quiet)
            printk(" gpa %#llx gla %#llx %s%s%s\n", (unsigned long long)e.gpa,
                   (unsigned long long)e.gla, e.mmio.read ? "r" : "-", e.mmio.write ? "w" : "-",
                   e.mmio.fetch ? "x" : "-");
        if (e.mmio.read && e.gpa == TESTDEV_MMIO_BASE + 4)
            r.gpr.rax = TESTDEV_MMIO_ID;
        else if (e.mmio.read)
            r.gpr.rax = 0;
        r.rip += MMIO_INSN_LEN;
        b->set_regs(&vc, &r);
        break;
    case VCPU_EXIT_MSR_READ:
        if (!quiet)
            printk(" msr %#x\n", e.msr.index);
        r.gpr.rax = r.gpr.rdx = 0;
        r.rip += e.insn_len;
        b->set_regs(&vc, &r);
        break;
    case VCPU_EXIT_ENTRY_FAILED:
        if (!quiet)
            printk(" entry failed: %s (%#llx)\n", e.fail.what, (unsigned long long)e.fail.error);
        break;
    case VCPU_EXIT_EXCEPTION:
        if (!quiet)
            printk(" vector %u error %#x\n", e.exc.vector, e.exc.error);
        break;
    default:
        if (!quiet)
            printk(" qual %#llx\n", (unsigned long long)e.qual);
        break;
    }
    return e;
}

/* Run until HLT (skipped) or a failure; false on anything but HLT at the end. */
static bool run_to_hlt(const char *phase, unsigned max_exits)
{
    for (unsigned i = 0; i < max_exits; i++) {
        struct vcpu_exit e = step(false);
        if (e.reason == VCPU_EXIT_HLT) {
            advance(e.insn_len);
            return true;
        }
        if (e.reason == VCPU_EXIT_ENTRY_FAILED || e.reason == VCPU_EXIT_TRIPLE_FAULT ||
            e.reason == VCPU_EXIT_UNKNOWN || e.reason == VCPU_EXIT_EXCEPTION) {
            CHECK(0, "%s: unexpected %s exit\n", phase, vcpu_exit_name(e.reason));
            b->dump(&vc);
            return false;
        }
    }
    CHECK(0, "%s: no HLT after %u exits\n", phase, max_exits);
    return false;
}

static void sregs_prot32(struct vcpu_sregs *s)
{
    memset(s, 0, sizeof(*s));
    s->cs = (struct vcpu_seg){ 0x08, 0xc09b, 0xffffffffu, 0 };
    s->ds = s->es = s->fs = s->gs = s->ss = (struct vcpu_seg){ 0x10, 0xc093, 0xffffffffu, 0 };
    s->tr = (struct vcpu_seg){ 0, 0x8b, 0xffff, 0 };
    s->ldtr = (struct vcpu_seg){ 0, SEG_AR_UNUSABLE | 0x82, 0xffff, 0 };
    s->gdt.limit = s->idt.limit = 0xffff;
    s->cr0 = CR0_PE | CR0_ET;
}

static void set_start(uint64_t rip, uint64_t rsp)
{
    struct vcpu_regs r;
    memset(&r, 0, sizeof(r));
    r.rip = rip;
    r.rsp = rsp;
    r.rflags = RFLAGS_FIXED1;
    b->set_regs(&vc, &r);
}

static void phase_prot32(void)
{
    struct vcpu_sregs s;
    printk("vmx-selftest: phase 1: 32-bit protected mode, paging off\n");
    sregs_prot32(&s);
    b->set_sregs(&vc, &s);
    set_start(GPA_CODE32, STACK_TOP);
    uint64_t before[VCPU_EXIT__COUNT];
    memcpy(before, counts, sizeof(before));
    if (!run_to_hlt("prot32", 32))
        return;
    CHECK(counts[VCPU_EXIT_CPUID] - before[VCPU_EXIT_CPUID] == 1 &&
          counts[VCPU_EXIT_IO] - before[VCPU_EXIT_IO] == 3 &&
          counts[VCPU_EXIT_HYPERCALL] - before[VCPU_EXIT_HYPERCALL] == 1 &&
          counts[VCPU_EXIT_MMIO] - before[VCPU_EXIT_MMIO] == 2 &&
          counts[VCPU_EXIT_MSR_READ] - before[VCPU_EXIT_MSR_READ] == 1,
          "prot32: expected cpuid, 3 io, hypercall, 2 mmio, rdmsr\n");
}

static void bench(unsigned n)
{
    struct vcpu_regs r;
    b->get_regs(&vc, &r);
    r.gpr.rbx = n;
    r.rip = GPA_CODE32 + LOOP32_OFF;
    b->set_regs(&vc, &r);
    uint64_t hc0 = counts[VCPU_EXIT_HYPERCALL], ext0 = extints;
    printk("vmx-selftest: bench: start %u VMCALL round trips\n", n);
    uint64_t t0 = rdtsc();
    struct vcpu_exit e;
    do
        e = step(true);
    while (e.reason == VCPU_EXIT_HYPERCALL);
    uint64_t t1 = rdtsc();
    printk("vmx-selftest: bench: done\n");
    uint64_t hc = counts[VCPU_EXIT_HYPERCALL] - hc0, dt = t1 - t0;
    CHECK(e.reason == VCPU_EXIT_HLT && hc == n, "bench: %llu hypercalls, then %s (%s)\n",
          (unsigned long long)hc, vcpu_exit_name(e.reason),
          e.reason == VCPU_EXIT_ENTRY_FAILED ? e.fail.what : "");
    advance(e.insn_len);
    printk("vmx-selftest: bench: %llu round trips, %llu host interrupts, %llu TSC ticks, "
           "%llu ticks each; emulated-time rate %llu/s (Bochs TSC counts instructions)\n",
           (unsigned long long)hc, (unsigned long long)(extints - ext0), (unsigned long long)dt,
           (unsigned long long)(hc ? dt / hc : 0),
           (unsigned long long)(dt && tsc_hz ? hc * tsc_hz / dt : 0));
}

static void preempt(void)
{
    printk("vmx-selftest: phase 2: preemption timer on a spinning guest\n");
    b->set_preempt_timer(&vc, 100000);
    struct vcpu_exit e = step(false);
    b->set_preempt_timer(&vc, 0);
    CHECK(e.reason == VCPU_EXIT_PREEMPT, "preempt: got %s\n", vcpu_exit_name(e.reason));
}

static void entry_failures(void)
{
    struct vcpu_sregs s;
    struct vcpu_exit e;
    printk("vmx-selftest: phase 3: entry failures are named\n");
    sregs_prot32(&s);
    s.ss.ar = 0xc09b;           /* a code segment in SS */
    b->set_sregs(&vc, &s);
    e = step(false);
    CHECK(e.reason == VCPU_EXIT_ENTRY_FAILED, "bad SS accepted\n");

    sregs_prot32(&s);
    b->set_sregs(&vc, &s);
    set_start(GPA_CODE32 + sizeof(guest32) - 2, STACK_TOP);    /* the jmp $ */
    vmcs_write32(CR3_TARGET_COUNT, 1000);                       /* more than any CPU has */
    e = step(false);
    CHECK(e.reason == VCPU_EXIT_ENTRY_FAILED && e.fail.error == VMXERR_ENTRY_BAD_CONTROLS,
          "bad control accepted\n");
    vmcs_write32(CR3_TARGET_COUNT, 0);

    /* behind the checker's back: the CPU refuses, the checker names it */
    vmcs_writenat(GUEST_RFLAGS, RFLAGS_FIXED1 | (1u << 3));
    e = step(false);
    CHECK(e.reason == VCPU_EXIT_ENTRY_FAILED && e.fail.error == EXIT_FAIL_GUEST_STATE,
          "reserved RFLAGS bit accepted\n");
    set_start(GPA_CODE32 + sizeof(guest32) - 2, STACK_TOP);    /* RFLAGS = 2 again */
}

static void phase_long64(void)
{
    struct vcpu_sregs s;
    uint64_t *pml4 = (uint64_t *)(ram + GPA_PML4);
    printk("vmx-selftest: phase 4: 64-bit long mode\n");
    pml4[0] = (GPA_PML4 + 0x1000) | PTE_P | PTE_W;
    pml4[512] = (GPA_PML4 + 0x2000) | PTE_P | PTE_W;   /* PDPT[0] */
    pml4[1024] = PTE_P | PTE_W | PTE_PS;                /* PD[0]: 2 MiB at 0 */
    memset(&s, 0, sizeof(s));
    s.cs = (struct vcpu_seg){ 0x08, 0xa09b, 0xffffffffu, 0 };
    s.ds = s.es = s.fs = s.gs = s.ss = (struct vcpu_seg){ 0x10, 0xc093, 0xffffffffu, 0 };
    s.tr = (struct vcpu_seg){ 0x18, 0x8b, 0x67, 0 };
    s.ldtr = (struct vcpu_seg){ 0, SEG_AR_UNUSABLE, 0, 0 };
    s.gdt.limit = s.idt.limit = 0xffff;
    s.cr0 = CR0_PE | CR0_ET | CR0_PG;                   /* NE clear: the guest sets it */
    s.cr3 = GPA_PML4;
    s.cr4 = CR4_PAE | (vmx_caps.host_xcr0 ? CR4_OSXSAVE : 0);
    s.efer = EFER_LME | EFER_LMA;
    b->set_sregs(&vc, &s);
    set_start(GPA_CODE64, STACK_TOP);
    uint64_t io0 = counts[VCPU_EXIT_IO];
    if (!run_to_hlt("long64", 16))
        return;
    struct vcpu_sregs now;
    b->get_sregs(&vc, &now);
    CHECK(now.cr0 == (CR0_PE | CR0_ET | CR0_PG | CR0_NE) && (now.efer & EFER_LMA),
          "long64: cr0 %#llx efer %#llx\n", (unsigned long long)now.cr0,
          (unsigned long long)now.efer);
    CHECK(counts[VCPU_EXIT_IO] - io0 == 4, "long64: expected 4 port writes\n");
}

static void phase_real16(void)
{
    struct vcpu_sregs s;
    printk("vmx-selftest: phase 5: real mode, interrupt window and injection\n");
    uint16_t ivt[2] = { GPA_CODE16 + HANDLER16_OFF, 0 };
    memcpy(ram + TEST_VECTOR * 4, ivt, sizeof(ivt));
    memset(&s, 0, sizeof(s));
    s.cs = (struct vcpu_seg){ 0, 0x9b, 0xffff, 0 };
    s.ds = s.es = s.fs = s.gs = s.ss = (struct vcpu_seg){ 0, 0x93, 0xffff, 0 };
    s.tr = (struct vcpu_seg){ 0, 0x8b, 0xffff, 0 };
    s.ldtr = (struct vcpu_seg){ 0, 0x82, 0xffff, 0 };
    s.gdt.limit = s.idt.limit = 0xffff;
    s.cr0 = CR0_ET;
    b->set_sregs(&vc, &s);
    set_start(GPA_CODE16, 0x7000);

    struct vcpu_exit e = step(false);                   /* out 'R' with IF=0 */
    CHECK(e.reason == VCPU_EXIT_IO && !b->can_inject_irq(&vc), "real16: 'R' / IF=0\n");
    b->set_irq_window(&vc, true);
    e = step(false);
    CHECK(e.reason == VCPU_EXIT_INTR_WINDOW && b->can_inject_irq(&vc), "real16: window\n");
    b->set_irq_window(&vc, false);
    struct vcpu_event ev = { VCPU_EVENT_EXTINT, TEST_VECTOR, false, 0 };
    CHECK(b->inject(&vc, &ev) && !b->inject(&vc, &ev), "real16: inject once\n");
    e = step(false);                                    /* out 'I' in the handler */
    CHECK(e.reason == VCPU_EXIT_IO && (uint8_t)vc.gpr.rax == 'I', "real16: handler ran\n");
    if (run_to_hlt("real16", 4))                        /* HLT after IRET */
        run_to_hlt("real16", 4);                        /* out 'D'; HLT */
}

/* Every AP: VMXON, a vCPU of the same VM with its own VPID and this
 * CPU's host state, one entry to the final HLT of the 32-bit guest. */
static struct vcpu_hw vc_ap[8];
static volatile unsigned ap_pass, ap_fail;

static void ap_test(void)
{
    unsigned cpu = this_cpu()->cpu;
    struct vcpu_hw *v = &vc_ap[cpu % ARRAY_SIZE(vc_ap)];
    struct vcpu_sregs s;
    struct vcpu_regs r;
    struct vcpu_exit e;
    bool ok = false;

    if (cpu < ARRAY_SIZE(vc_ap) && !b->cpu_enable() && !b->vcpu_init(&vm, v, cpu)) {
        sregs_prot32(&s);
        b->set_sregs(v, &s);
        memset(&r, 0, sizeof(r));
        r.rip = GPA_CODE32 + LOOP32_OFF + 8;        /* the HLT after the loop */
        r.rflags = RFLAGS_FIXED1;
        b->set_regs(v, &r);
        do {
            memset(&e, 0, sizeof(e));
            b->run(v, &e);
        } while (e.reason == VCPU_EXIT_EXTINT || e.reason == VCPU_EXIT_NONE);
        ok = e.reason == VCPU_EXIT_HLT;
        printk("vmx-selftest: cpu %u: vCPU %u (VPID %u) exit %s (%s)\n", cpu, cpu, v->tag,
               vcpu_exit_name(e.reason), e.reason == VCPU_EXIT_ENTRY_FAILED ? e.fail.what : "ok");
    }
    __atomic_add_fetch(ok ? &ap_pass : &ap_fail, 1, __ATOMIC_SEQ_CST);
}

static void phase_aps(void)
{
    if (cpus_online_count < 2)
        return;
    printk("vmx-selftest: phase 6: VMX on the other %u CPU(s)\n", cpus_online_count - 1);
    smp_run_on_aps(ap_test);
    smp_wait_aps();
    CHECK(ap_pass == cpus_online_count - 1 && !ap_fail, "APs: %u passed, %u failed\n",
          ap_pass, ap_fail);
}

void vmx_selftest(void)
{
    char buf[16];
    const char *nstr = cmdline_get("vmxbench", buf, sizeof(buf));
    unsigned n = nstr ? (unsigned)strtoul(nstr, NULL, 0) : 100000;

    printk("vmx-selftest: start\n");
    if (b->cpu_enable()) {
        printk("vmx-selftest: FAIL: cpu_enable\n");
        return;
    }
    uint64_t ram_pa = page_alloc(RAM_SIZE / PAGE_SIZE, RAM_SIZE, 0);
    if (!ram_pa || b->vm_init(&vm) || b->vm_map(&vm, 0, ram_pa, RAM_SIZE, S2_RWX) ||
        b->vcpu_init(&vm, &vc, 0)) {
        printk("vmx-selftest: FAIL: VM set-up\n");
        return;
    }
    vm.cr4_allowed = ~0ull;     /* no monitor, no CPUID policy: the hardware's rules */
    ram = phys_to_virt(ram_pa);
    memcpy(ram + GPA_CODE32, guest32, sizeof(guest32));
    memcpy(ram + GPA_CODE64, guest64, sizeof(guest64));
    memcpy(ram + GPA_CODE16, guest16, sizeof(guest16));
    printk("vmx-selftest: VM: 2 MiB at host %#llx, EPT root %#llx (%u table pages), VPID %u\n",
           (unsigned long long)ram_pa, (unsigned long long)vm.s2_root, vm.s2_pages, vc.tag);

    phase_prot32();
    bench(n);
    preempt();
    entry_failures();
    phase_long64();
    phase_real16();
    phase_aps();

    printk("vmx-selftest: exits:");
    for (unsigned r = 0; r < VCPU_EXIT__COUNT; r++)
        if (counts[r])
            printk(" %s=%llu", vcpu_exit_name(r), (unsigned long long)counts[r]);
    printk("\n");
    b->dump(&vc);
    printk("vmx-selftest: %s (%u failures)\n", failures ? "FAIL" : "PASS", failures);
}
