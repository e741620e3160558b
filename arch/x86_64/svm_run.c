/*
 * The AMD SVM backend, part 2: guest entry (ASID flush policy, guest FPU
 * state, the cheap VMRUN consistency checks), exit decoding into struct
 * vcpu_exit, and the state dump.  Owner CPU only (arch/vcpu.h), except the
 * ASID allocator, which any CPU may call.
 */
#include <stddef.h>
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <arch/spec.h>
#include <arch/cpu.h>
#include <arch/regs.h>
#include <arch/svm.h>
#include <arch/x86.h>

_Static_assert(offsetof(struct vcpu_hw, gpr) == 0, "svm_entry.S: gpr at offset 0");

/* ---- ASIDs (15.16 "TLB Control") ----
 * Each vCPU gets its own ASID from 1..nasids-1 for its lifetime.  While the
 * pool lasts an ASID only ever holds translations of its one vCPU, so the
 * flush on its first run suffices.  Once the pool wraps, ASIDs are shared:
 * a CPU then flushes whenever it switches to a different vCPU. */
static uint32_t next_asid = 1;
static volatile bool asid_shared;
static struct vcpu_hw *last_vcpu[MAX_CPUS];     /* per CPU: the vCPU run last */

/* ASIDs handed out: 1..SVM_ASIDS_TRACKED-1 at most (nethv runs at most
 * CONFIG_MAX_VMS x CONFIG_MAX_VCPUS = 128 vCPUs), so the TLB invariant
 * below can track every one of them. */
#define SVM_ASIDS_TRACKED 256

/*
 * Invariant (issue 12, item 3): a CPU enters a vCPU without a TLB flush only
 * if every translation it may hold under that ASID was made by that vCPU
 * since the CPU last flushed the ASID; and, without flush-by-ASID (QEMU TCG,
 * whose TLB ignores the ASID), only if that vCPU ran last on the CPU.
 * Tracked apart from tlb_control_for(), which decides the flush: per CPU,
 * the vCPU that last ran under each ASID and the CPU's flush-all count when
 * it did.  vCPUs never move between CPUs (svm_run refuses another CPU), so
 * "a vCPU moved" needs no separate case: its first run on a CPU flushes.
 */
static struct asid_owner {
    const struct vcpu_hw *v;
    uint32_t flush_gen;
} asid_owner[MAX_CPUS][SVM_ASIDS_TRACKED];
static uint32_t flush_all_gen[MAX_CPUS];

static void tlb_invariant(const struct vcpu_hw *v, unsigned cpu, uint8_t ctl)
{
    struct asid_owner *o = &asid_owner[cpu][v->tag];
    if (ctl == SVM_TLB_FLUSH_ALL) {
        flush_all_gen[cpu]++;
    } else if (ctl == SVM_TLB_NOTHING) {
        if (o->v != v || o->flush_gen != flush_all_gen[cpu])
            panic("svm: CPU %u enters ASID %u without a TLB flush, but the ASID's translations "
                  "there may be another vCPU's", cpu, v->tag);
        if (!svm_has_flush_by_asid() && last_vcpu[cpu] != v)
            panic("svm: CPU %u switches vCPUs without a TLB flush and without flush-by-ASID",
                  cpu);
    }
    *o = (struct asid_owner){ v, flush_all_gen[cpu] };
}

uint32_t svm_asid_alloc(void)
{
    uint32_t usable = svm_nasids() - 1;
    if (usable > SVM_ASIDS_TRACKED - 1)
        usable = SVM_ASIDS_TRACKED - 1;
    uint32_t k = __atomic_fetch_add(&next_asid, 1, __ATOMIC_RELAXED);
    if (k == 0 || k > usable) {
        if (!__atomic_exchange_n(&asid_shared, true, __ATOMIC_SEQ_CST))
            printk("svm: all %u ASIDs in use: sharing them, a vCPU switch now flushes the TLB\n",
                   usable);
        k = 1 + (k - 1) % usable;
    }
    return k;
}

/* per CPU: the host's CR0 (constant), for the #VMEXIT repair in svm_run */
static uint64_t host_cr0[MAX_CPUS];
uint64_t svm_cr0_repairs;

/* per CPU: the IA32_TSC_AUX value loaded for guests, plus one (0: unknown) */
static uint64_t loaded_tsc_aux[MAX_CPUS];

static uint8_t tlb_control_for(struct vcpu_hw *v, unsigned cpu)
{
    /* Without FlushByAsid (QEMU TCG) ASID tagging is not trusted either:
     * a CPU switching between vCPUs flushes, or global guest mappings (two
     * Linux VMs map the same kernel addresses) leak across VMs. */
    bool switched = last_vcpu[cpu] != v;
    bool flush = v->flush_on_entry || !v->launched ||
                 (switched && (asid_shared || !svm_has_flush_by_asid()));
    if (!flush)
        return SVM_TLB_NOTHING;
    /* QEMU TCG has no FlushByAsid: flush everything there */
    return svm_has_flush_by_asid() ? SVM_TLB_FLUSH_ASID : SVM_TLB_FLUSH_ALL;
}

/* ---- guest FPU/SSE/AVX state: XSAVE with XCR0's mask, or FXSAVE ---- */

/* XCR0 while the guest runs: its own once it set CR4.OSXSAVE (before that,
 * XCR0 is unobservable: XGETBV, XSAVE and AVX #UD); the host's otherwise.
 * The image always holds the host's components (XRSTOR/XSAVE with its
 * mask, under its XCR0). */
static inline uint64_t run_xcr0(const struct vcpu_hw *v)
{
    return (((const struct vmcb *)v->ctl)->save.cr4 & CR4_OSXSAVE) ? v->xcr0 : svm_caps.xcr0;
}

static inline void fpu_load(const struct vcpu_hw *v)
{
    void *a = phys_to_virt(v->fpu_area);
    if (svm_caps.xsave) {
        fpu_xrstor_guest(a, svm_caps.xcr0);
        if (run_xcr0(v) != svm_caps.xcr0)
            xsetbv(0, run_xcr0(v));
    } else {
        __asm__ volatile("fxrstor64 (%0)" :: "r"(a) : "memory");
    }
}

uint64_t svm_xsetbv_unseen;

/* The guest's x87/SSE/AVX state to its image.  QEMU TCG (7.2) does not
 * intercept XSETBV (target/i386/tcg/fpu_helper.c helper_xsetbv checks no
 * SVM intercept): the guest's XSETBV wrote XCR0 itself.  What the CPU
 * holds is read back; a value nethv did not load is adopted -- within what
 * guests are offered -- as if the exit had come, and the host's XCR0 goes
 * back whenever the CPU holds anything else.  Returns that XCR0 if it was
 * such a value (for a note printed by the caller once the state is saved:
 * printing uses SSE), else 0. */
static inline uint64_t fpu_store(struct vcpu_hw *v)
{
    void *a = phys_to_virt(v->fpu_area);
    if (!svm_caps.xsave) {
        __asm__ volatile("fxsave64 (%0)" :: "r"(a) : "memory");
        return 0;
    }
    uint64_t loaded = run_xcr0(v), hw = loaded, unseen = 0;
    if (svm_vmcb(v)->save.cr4 & CR4_OSXSAVE) {
        hw = xgetbv(0);
        if (hw != loaded) {
            v->xcr0 = (hw & fpu_guest_xcr0()) | 1;
            unseen = hw;
        }
    }
    if (hw != svm_caps.xcr0)
        xsetbv(0, svm_caps.xcr0);
    /* XSAVEOPT after XRSTOR from the same area skips what the guest did
     * not modify (SDM 1 13.9); under QEMU TCG that saves ~20 % per round
     * trip.  With another XCR0 in between, plain XSAVE. */
    if (svm_caps.xsaveopt && hw == svm_caps.xcr0)
        __asm__ volatile("xsaveopt64 (%0)" :: "r"(a), "a"((uint32_t)svm_caps.xcr0),
                         "d"((uint32_t)(svm_caps.xcr0 >> 32)) : "memory");
    else
        __asm__ volatile("xsave64 (%0)" :: "r"(a), "a"((uint32_t)svm_caps.xcr0),
                         "d"((uint32_t)(svm_caps.xcr0 >> 32)) : "memory");
    return unseen;
}

/* ---- the cheap part of the VMRUN consistency checks (15.5.1) ---- */

#define EFER_ALLOWED (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE | EFER_SVME | (1ull << 13) | \
                      (1ull << 14) | (1ull << 15) | (1ull << 17) | (1ull << 18) | (1ull << 20) | \
                      (1ull << 21))
#define ATTR_L  (1u << 9)
#define ATTR_D  (1u << 10)

static const char *check_event(uint64_t ev)
{
    if (!(ev & SVM_EVT_VALID))
        return NULL;
    uint64_t type = ev & SVM_EVT_TYPE_MASK;
    unsigned vec = ev & SVM_EVT_VECTOR_MASK;
    if (ev & SVM_EVT_RESERVED)
        return "EVENTINJ: reserved bits 30:12 set (15.20)";
    if (type != SVM_EVT_TYPE_INTR && type != SVM_EVT_TYPE_NMI &&
        type != SVM_EVT_TYPE_EXCEPTION && type != SVM_EVT_TYPE_SOFT_INT)
        return "EVENTINJ: reserved TYPE (15.20)";
    if (type == SVM_EVT_TYPE_EXCEPTION && (vec > 31 || vec == 2))
        return "EVENTINJ: TYPE=exception with a vector that is not an exception (15.20)";
    return NULL;
}

const char *svm_check_guest(const struct vmcb *b)
{
    const struct vmcb_save *s = &b->save;
    const struct vmcb_control *c = &b->ctl;
    uint64_t top = 1ull << svm_caps.maxphyaddr;
    bool lme_pg = (s->efer & EFER_LME) && (s->cr0 & CR0_PG);

    if (!(s->efer & EFER_SVME))
        return "EFER.SVME is 0";
    if ((s->cr0 & CR0_NW) && !(s->cr0 & CR0_CD))
        return "CR0.NW=1 with CR0.CD=0";
    if (s->cr0 >> 32)
        return "CR0[63:32] not zero";
    if (s->cr4 >> 32)
        return "CR4[63:32] not zero (MBZ)";
    if (s->dr6 >> 32)
        return "DR6[63:32] not zero";
    if (s->dr7 >> 32)
        return "DR7[63:32] not zero";
    if (s->efer & ~EFER_ALLOWED)
        return "EFER: a reserved (MBZ) bit is set";
    if (lme_pg && !(s->cr4 & CR4_PAE))
        return "EFER.LME=1 and CR0.PG=1 with CR4.PAE=0";
    if (lme_pg && !(s->cr0 & CR0_PE))
        return "EFER.LME=1 and CR0.PG=1 with CR0.PE=0";
    if (lme_pg && (s->cr4 & CR4_PAE) && (s->cs.attrib & ATTR_L) && (s->cs.attrib & ATTR_D))
        return "long mode with CS.L=1 and CS.D=1";
    if (lme_pg && (s->cr3 & ~PTE_ADDR_MASK & ~0xfffull))
        return "CR3: MBZ bits 63:52 set in long mode";
    if (!(c->intercept2 & SVM_INT2_VMRUN))
        return "the VMRUN intercept is clear";
    if (c->iopm_base_pa + SVM_IOPM_PAGES * PAGE_SIZE > top)
        return "IOPM extends beyond the maximum physical address";
    if (c->msrpm_base_pa + SVM_MSRPM_PAGES * PAGE_SIZE > top)
        return "MSRPM extends beyond the maximum physical address";
    if (c->asid == 0)
        return "ASID is 0 (the host's)";
    if ((c->np_ctl & SVM_NP_ENABLE) && !c->n_cr3)
        return "nested paging on without an NPT root (N_CR3 = 0)";
    return check_event(c->eventinj);
}

/* ---- exits ---- */

/* Exits that save nRIP (15.7.1): instruction intercepts (15.9: CR/DR
 * accesses, 0x65-0x7a, VMRUN..RDPRU, INVLPGB..TLBSYNC), IOIO and MSR, and
 * the exceptions INT3/INTO/BOUND raise.  Others reset it to 0 (Bochs
 * fills it for #NPF too: not relied on). */
static bool saves_nrip(uint64_t code)
{
    return code < SVM_EXIT_EXCP_BASE || code == SVM_EXIT_EXCP_BASE + 3 ||
           code == SVM_EXIT_EXCP_BASE + 4 || code == SVM_EXIT_EXCP_BASE + 5 ||
           (code >= SVM_EXIT_CR0_SEL_WRITE && code <= SVM_EXIT_MSR) ||
           (code >= SVM_EXIT_VMRUN && code <= SVM_EXIT_RDPRU) || (code >= 0xa0 && code <= 0xa4);
}

static uint32_t insn_len(const struct vmcb *b)
{
    uint64_t rip = b->save.rip;
    if (svm_has_nrips() && saves_nrip(b->ctl.exitcode) && b->ctl.nrip > rip &&
        b->ctl.nrip - rip <= 15)
        return (uint32_t)(b->ctl.nrip - rip);
    /* without NRIP-save only IOIO tells the next RIP (EXITINFO2, 15.10.2) */
    if (b->ctl.exitcode == SVM_EXIT_IOIO && b->ctl.exitinfo2 > rip && b->ctl.exitinfo2 - rip <= 15)
        return (uint32_t)(b->ctl.exitinfo2 - rip);
    return 0;
}

static bool exc_has_error(unsigned vec)
{
    return vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 ||
           vec == 30;
}

static void decode_exit(struct vcpu_hw *v, struct vmcb *b, struct vcpu_exit *e)
{
    uint64_t code = b->ctl.exitcode, i1 = b->ctl.exitinfo1, i2 = b->ctl.exitinfo2;

    e->hw_reason = (uint32_t)code;
    e->qual = i1;
    e->info2 = i2;
    e->insn_len = insn_len(b);
    if (code == SVM_EXIT_INVALID) {
        e->reason = VCPU_EXIT_ENTRY_FAILED;
        e->fail.what = "VMRUN consistency check failed (VMEXIT_INVALID, APM 2 15.5.1)";
        e->fail.error = code;
        printk("svm: vCPU with ASID %u: VMRUN failed with VMEXIT_INVALID although the backend's "
               "checks passed\n", v->tag);
        return;
    }
    if (code >= SVM_EXIT_EXCP_BASE && code < SVM_EXIT_EXCP_BASE + 32) {
        e->reason = VCPU_EXIT_EXCEPTION;
        e->exc.vector = (uint8_t)(code - SVM_EXIT_EXCP_BASE);
        e->exc.has_error = exc_has_error(e->exc.vector);
        e->exc.error = e->exc.has_error ? (uint32_t)i1 : 0;
        return;
    }
    if (code < SVM_EXIT_DR0_READ) {
        e->reason = VCPU_EXIT_CR_ACCESS;
        e->cr.num = code & 0xf;
        e->cr.write = code >= SVM_EXIT_CR0_WRITE;
        e->cr.gpr = svm_has_decode_assists() && (i1 & SVM_CR_INFO_VALID) ?
                    (int8_t)(i1 & SVM_CR_INFO_GPR_MASK) : -1;
        return;
    }
    switch (code) {
    case SVM_EXIT_INTR:
    case SVM_EXIT_SMI:          /* the host's SMI is taken after stgi */
        e->reason = VCPU_EXIT_EXTINT;
        break;
    case SVM_EXIT_NMI:
        e->reason = VCPU_EXIT_NMI;
        break;
    case SVM_EXIT_INIT:
        e->reason = VCPU_EXIT_INIT;
        break;
    case SVM_EXIT_VINTR:
        e->reason = VCPU_EXIT_INTR_WINDOW;
        svm_backend.set_irq_window(v, false);
        break;
    case SVM_EXIT_IRET:         /* before the IRET runs (15.9): it ends NMI blocking */
        b->ctl.intercept1 &= ~SVM_INT_IRET;
        v->nmi_iret_seen = true;
        v->nmi_iret_rip = b->save.rip;
        e->reason = VCPU_EXIT_NMI_WINDOW;
        break;
    case SVM_EXIT_CPUID:
        e->reason = VCPU_EXIT_CPUID;
        e->cpuid.leaf = (uint32_t)b->save.rax;
        e->cpuid.subleaf = (uint32_t)v->gpr.rcx;
        break;
    case SVM_EXIT_HLT:
        e->reason = VCPU_EXIT_HLT;
        break;
    case SVM_EXIT_IOIO:
        e->reason = VCPU_EXIT_IO;
        e->io.port = (uint16_t)(i1 >> SVM_IOIO_PORT_SHIFT);
        e->io.size = (i1 & SVM_IOIO_SZ32) ? 4 : (i1 & SVM_IOIO_SZ16) ? 2 : 1;
        e->io.in = (i1 & SVM_IOIO_IN) != 0;
        e->io.string = (i1 & SVM_IOIO_STR) != 0;
        e->io.rep = (i1 & SVM_IOIO_REP) != 0;
        break;
    case SVM_EXIT_MSR:
        e->reason = i1 == SVM_MSR_EXIT_WRITE ? VCPU_EXIT_MSR_WRITE : VCPU_EXIT_MSR_READ;
        e->msr.index = (uint32_t)v->gpr.rcx;
        break;
    case SVM_EXIT_VMMCALL:
        e->reason = VCPU_EXIT_HYPERCALL;
        break;
    case SVM_EXIT_SHUTDOWN:
        e->reason = VCPU_EXIT_TRIPLE_FAULT;
        break;
    case SVM_EXIT_VMRUN:
    case SVM_EXIT_VMLOAD:
    case SVM_EXIT_VMSAVE:
    case SVM_EXIT_STGI:
    case SVM_EXIT_CLGI:
    case SVM_EXIT_SKINIT:
        e->reason = VCPU_EXIT_VMINSN;
        break;
    case SVM_EXIT_INVD:
    case SVM_EXIT_WBINVD:
        e->reason = VCPU_EXIT_INVD;
        break;
    case SVM_EXIT_MONITOR:
    case SVM_EXIT_MWAIT:
    case SVM_EXIT_MWAIT_ARMED:
    case SVM_EXIT_INVLPGA:
        e->reason = VCPU_EXIT_REFUSED;
        e->refused.fault = EXC_UD;
        break;
    case SVM_EXIT_RDPMC:
        e->reason = VCPU_EXIT_REFUSED;
        e->refused.fault = EXC_GP;
        break;
    case SVM_EXIT_XSETBV:
        e->reason = VCPU_EXIT_XSETBV;
        break;
    case SVM_EXIT_NPF:
        if (i1 & SVM_NPF_RSV) {
            printk("svm: #NPF at GPA %#llx: reserved bit set in an NPT entry (backend bug)\n",
                   (unsigned long long)i2);
            e->reason = VCPU_EXIT_UNKNOWN;
            break;
        }
        e->reason = VCPU_EXIT_MMIO;
        e->gpa = i2;
        e->mmio.write = (i1 & SVM_NPF_WRITE) != 0;
        e->mmio.fetch = (i1 & SVM_NPF_FETCH) != 0;
        e->mmio.read = !e->mmio.write && !e->mmio.fetch;
        break;
    default:
        e->reason = VCPU_EXIT_UNKNOWN;
        break;
    }
}

/* EVENTINJ after an exit: an event cut short in its IDT delivery is
 * delivered again (15.7.2), except INTn/INT3/INTO: their exit leaves RIP on
 * the instruction, which simply runs again. */
static uint64_t redeliver(uint64_t info)
{
    if (!(info & SVM_EVT_VALID))
        return 0;
    uint64_t type = info & SVM_EVT_TYPE_MASK;
    unsigned vec = info & SVM_EVT_VECTOR_MASK;
    if (type == SVM_EVT_TYPE_SOFT_INT ||
        (type == SVM_EVT_TYPE_EXCEPTION && (vec == 3 || vec == 4)))
        return 0;
    return info & ~SVM_EVT_RESERVED;
}

static int fail_entry(struct vcpu_hw *v, struct vcpu_exit *e, const char *what)
{
    printk("svm: vCPU with ASID %u not entered: %s\n", v->tag, what);
    e->reason = VCPU_EXIT_ENTRY_FAILED;
    e->fail.what = what;
    e->fail.error = 0;
    return 0;
}

/* run(): owner CPU, any IF state (restored on return).  Contract with the
 * caller: a vector posted with vcpu_post_irq() must be taken (injected, or
 * an irq window opened) before the next run(); while one sits there with no
 * window open and nothing queued, run() returns VCPU_EXIT_EXTINT without
 * entering, which closes the race with a kick sent before `running` was set. */
int svm_run(struct vcpu_hw *v, struct vcpu_exit *e)
{
    struct vmcb *b = svm_vmcb(v);
    unsigned cpu = this_cpu()->cpu;

    if (cpu != v->host_cpu)
        return fail_entry(v, e, "run on a CPU other than the vCPU's host_cpu");
    if (!svm_host_area[cpu])
        return fail_entry(v, e, "cpu_enable was not called on this CPU");
    b->save.rax = v->gpr.rax;
    b->save.efer |= EFER_SVME;          /* even if a guest WRMSR cleared it */
    const char *bad = svm_check_guest(b);
    if (bad)
        return fail_entry(v, e, bad);

    /* A requested interrupt window that is already open (IF=1, no shadow,
     * nothing queued) is reported without entering: VMRUN would take the
     * VINTR exit at once anyway, and Bochs 2.7 misses V_IRQ when the guest
     * is entered with IF=1. */
    if (v->irq_window && svm_backend.can_inject_irq(v)) {
        svm_backend.set_irq_window(v, false);
        e->reason = VCPU_EXIT_INTR_WINDOW;
        e->hw_reason = SVM_EXIT_VINTR;
        return 0;
    }
    b->ctl.tlb_control = tlb_control_for(v, cpu);
    uint64_t flags = irq_save();
    /* invariant: a VMCB is in use on one CPU at a time (running is set and
     * cleared only here, by the owner CPU) */
    if (__atomic_exchange_n(&v->running, true, __ATOMIC_SEQ_CST))
        panic("svm: vCPU with ASID %u entered on CPU %u while already running", v->tag, cpu);
    /* invariant: an event the last exit cut short goes back in unchanged */
    if (v->reinject && b->ctl.eventinj != v->reinject)
        panic("svm: vCPU with ASID %u: the event cut short by its last exit (%#llx) was "
              "replaced by %#llx before re-entry", v->tag, (unsigned long long)v->reinject,
              (unsigned long long)b->ctl.eventinj);
    /* A vector posted after the caller's last look but before `running`
     * was visible got no kick IPI: exit at once instead of running the
     * guest until the next tick.  (With an irq window open or an event
     * already queued, the next exit comes soon anyway.) */
    if (vcpu_has_posted_irq(v) && !v->irq_window && !(b->ctl.eventinj & SVM_EVT_VALID)) {
        __atomic_store_n(&v->running, false, __ATOMIC_SEQ_CST);
        irq_restore(flags);
        e->reason = VCPU_EXIT_EXTINT;
        return 0;
    }
    uint64_t injected = b->ctl.eventinj;
    /* RDTSCP is not intercepted and reads the physical IA32_TSC_AUX: load
     * the vCPU's value (nethv itself never reads it) */
    if (svm_caps.rdtscp && loaded_tsc_aux[cpu] != (uint64_t)v->tsc_aux + 1) {
        wrmsr(MSR_TSC_AUX, v->tsc_aux);
        loaded_tsc_aux[cpu] = (uint64_t)v->tsc_aux + 1;
    }
    tlb_invariant(v, cpu, b->ctl.tlb_control);
    if (!host_cr0[cpu])
        host_cr0[cpu] = read_cr0();
    fpu_load(v);
    vcpu_debug_regs_load(v, cpu, false);
    spec_enter(v, cpu);
    irqoff_end();               /* guest time is not host time with interrupts off */
    svm_vmrun(v, v->ctl_pa, svm_host_area[cpu]);
    irqoff_begin();
    spec_exit(v);
    /* QEMU TCG (7.2, 10.0) can leave the guest's CR0 in place at #VMEXIT:
     * do_vmexit restores CR0 before CR4 and EFER, and cpu_x86_update_cr0
     * refuses to turn paging on with the guest's EFER.LME=1 and CR4.PAE=0
     * still loaded (target/i386/tcg/sysemu/svm_helper.c, helper.c) -- a
     * state any guest may be in (LME armed before paging).  The host then
     * runs with paging off: put CR0 back first thing.  What ran since the
     * #VMEXIT ran identity-mapped (nethv's map is 1:1), so it did what it
     * should.  Reproducer: selftest=svm (test_lme_armed). */
    if (read_cr0() != host_cr0[cpu]) {
        write_cr0(host_cr0[cpu]);
        if (__atomic_fetch_add(&svm_cr0_repairs, 1, __ATOMIC_RELAXED) == 0)
            printk("svm: CPU %u: #VMEXIT left the guest's CR0 %#llx (the guest had EFER.LME "
                   "armed with CR4.PAE and CR0.PG clear; a QEMU TCG bug): host CR0 restored\n",
                   cpu, (unsigned long long)b->save.cr0);
    }
    vcpu_assert_host_state(cpu, "svm");
    uint64_t unseen_xcr0 = fpu_store(v);
    if (unseen_xcr0 && __atomic_fetch_add(&svm_xsetbv_unseen, 1, __ATOMIC_RELAXED) == 0)
        printk("svm: the guest's XSETBV of %#llx did not exit (the XSETBV intercept is set; "
               "QEMU TCG ignores it): taken as its XCR0\n", (unsigned long long)unseen_xcr0);
    __atomic_store_n(&v->running, false, __ATOMIC_SEQ_CST);

    v->gpr.rax = b->save.rax;
    b->ctl.tlb_control = SVM_TLB_NOTHING;
    v->launched = true;
    v->flush_on_entry = false;
    last_vcpu[cpu] = v;
    if (b->ctl.exitcode == SVM_EXIT_SHUTDOWN)
        b->ctl.eventinj = 0;            /* the guest is dead: nothing to finish */
    else if (b->ctl.exitcode != SVM_EXIT_INVALID)
        b->ctl.eventinj = redeliver(b->ctl.exitintinfo);
    v->reinject = b->ctl.eventinj;
    /* the IRET seen by the intercept has run once RIP moved: NMIs unblocked
     * (an NMI cut short in its delivery stays blocked: it goes back in) */
    if (v->nmi_iret_seen && b->save.rip != v->nmi_iret_rip) {
        v->nmi_iret_seen = false;
        v->nmi_blocked = (b->ctl.eventinj & SVM_EVT_TYPE_MASK) == SVM_EVT_TYPE_NMI &&
                         (b->ctl.eventinj & SVM_EVT_VALID);
    }
    v->prev_shadow_rip = v->shadow_rip;
    v->shadow_rip = (b->ctl.int_state & SVM_INTSTATE_SHADOW) ? b->save.rip + 1 : 0;
    decode_exit(v, b, e);
    e->rip = b->save.rip;
    e->rflags = b->save.rflags;
    e->cr3 = b->save.cr3;
    e->intinfo = b->ctl.exitintinfo;
    e->injected = injected & SVM_EVT_VALID ? injected : 0;
    if (b->save.cs.sel == SEL_KCODE && vcpu_host_state_saved(e))
        b->ctl.eventinj = v->reinject = 0;      /* nothing of it goes back in */
    /* the host interrupt that ended the guest (or came during the exit)
     * is taken now, by the host IDT */
    __asm__ volatile("sti; nop; cli" ::: "memory");
    irq_restore(flags);
    return 0;
}

/* ---- dump ---- */

void svm_dump(struct vcpu_hw *v)
{
    const struct vmcb *b = svm_vmcb(v);
    const struct vmcb_save *s = &b->save;
    const struct vmcb_control *c = &b->ctl;
    const struct vcpu_gprs *g = &v->gpr;
    typedef unsigned long long u64;

    printk("svm: vCPU ASID %u on CPU %u, VMCB %#llx, %s\n", c->asid, v->host_cpu, (u64)v->ctl_pa,
           v->launched ? "has run" : "never entered");
    printk("  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n", (u64)s->rax, (u64)g->rbx,
           (u64)g->rcx, (u64)g->rdx);
    printk("  rsi %016llx rdi %016llx rbp %016llx rsp %016llx\n", (u64)g->rsi, (u64)g->rdi,
           (u64)g->rbp, (u64)s->rsp);
    printk("  r8  %016llx r9  %016llx r10 %016llx r11 %016llx\n", (u64)g->r8, (u64)g->r9,
           (u64)g->r10, (u64)g->r11);
    printk("  r12 %016llx r13 %016llx r14 %016llx r15 %016llx\n", (u64)g->r12, (u64)g->r13,
           (u64)g->r14, (u64)g->r15);
    printk("  rip %016llx rflags %016llx cpl %u efer %016llx\n", (u64)s->rip, (u64)s->rflags,
           s->cpl, (u64)s->efer);
    printk("  cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx\n", (u64)s->cr0, (u64)s->cr2,
           (u64)s->cr3, (u64)s->cr4);
    printk("  dr6 %016llx dr7 %016llx g_pat %016llx\n", (u64)s->dr6, (u64)s->dr7, (u64)s->g_pat);
    static const char *const names[] = { "cs", "ss", "ds", "es", "fs", "gs", "tr", "ldtr" };
    const struct vmcb_seg *segs[] = { &s->cs, &s->ss, &s->ds, &s->es, &s->fs, &s->gs, &s->tr, &s->ldtr };
    for (unsigned i = 0; i < ARRAY_SIZE(segs); i++)
        printk("  %-4s sel %04x attrib %03x limit %08x base %016llx\n", names[i], segs[i]->sel,
               segs[i]->attrib, segs[i]->limit, (u64)segs[i]->base);
    printk("  gdtr base %016llx limit %04x  idtr base %016llx limit %04x\n", (u64)s->gdtr.base,
           s->gdtr.limit, (u64)s->idtr.base, s->idtr.limit);
    printk("  exitcode %#llx exitinfo1 %#llx exitinfo2 %#llx exitintinfo %#llx nrip %#llx\n",
           (u64)c->exitcode, (u64)c->exitinfo1, (u64)c->exitinfo2, (u64)c->exitintinfo,
           (u64)c->nrip);
    printk("  eventinj %#llx int_ctl %#llx int_state %#llx intercepts %08x %08x %08x n_cr3 %#llx\n",
           (u64)c->eventinj, (u64)c->int_ctl, (u64)c->int_state, c->intercept_exc,
           c->intercept1, c->intercept2, (u64)c->n_cr3);
}
