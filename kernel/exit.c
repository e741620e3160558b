/*
 * Exit dispatch: one table indexed by the normalized exit reason.  Each
 * entry is either a kernel fast-path handler or "forward to the monitor";
 * every exit is counted per VM, per reason, per handler.
 */
#include <stdio.h>
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/vm.h>
#include <arch/cpu.h>
#include <nethv/vmm_if.h>
#include <nethv/guestabi.h>
#include <nethv/vlapic.h>
#include <nethv/net.h>
#include <arch/regs.h>
#include <arch/cr4.h>
#include <nethv/kinsn.h>
#include <arch/spec.h>
#include <arch/time.h>
#include <arch/x86.h>


enum exit_result { EXIT_RESUME, EXIT_HALT, EXIT_STOP };
typedef enum exit_result (*exit_fn)(struct vcpu *v, struct vcpu_exit *e);
/* kernel/vnet.c: true if the exit was a notify write it handled (RIP advanced) */
bool vnet_notify_exit(struct vcpu *v, const struct vcpu_exit *e);

void vcpu_advance_rip(struct vcpu *v, unsigned len)
{
    struct vcpu_regs r;
    vcpu_backend->get_regs(&v->hw, &r);
    r.rip += len;
    vcpu_backend->set_regs(&v->hw, &r);
}

static enum cpu_exec_mode exec_mode(const struct vcpu_sregs *s)
{
    if (!(s->cr0 & CR0_PE))
        return MODE_REAL;
    if ((s->efer & EFER_LMA) && (s->cs.ar & (1u << 13)))
        return MODE_LONG64;
    return (s->cs.ar & (1u << 14)) ? MODE_PROT32 : MODE_PROT16;
}

/* The request for the monitor; with `fetch` also the bytes at CS:RIP */
static void fill_request(struct vcpu *v, const struct vcpu_exit *e, struct vmm_request *rq, bool fetch)
{
    struct vcpu_sregs s;
    memset(rq, 0, sizeof(*rq));
    rq->vm_id = v->vm->id;
    rq->vcpu = v->index;
    rq->exit = *e;
    vcpu_backend->get_regs(&v->hw, &rq->regs);
    vcpu_backend->get_sregs(&v->hw, &s);
    rq->mode = exec_mode(&s);
    rq->cr0 = s.cr0;
    rq->cr3 = s.cr3;
    rq->cr4 = s.cr4;
    rq->xcr0 = s.xcr0;
    rq->efer = s.efer;
    if (fetch)
        vm_fetch_insn(v->vm, rq, s.cs.base);
}

static unsigned code_bits(const struct vmm_request *rq)
{
    return rq->mode == MODE_LONG64 ? 64 : rq->mode == MODE_PROT32 ? 32 : 16;
}

/* The instruction length of a fast path's exit when the backend could not
 * give one (SVM without NRIP-save): from the bytes at CS:RIP (kernel/insn.c);
 * `fallback` if they cannot be read or are not such an instruction. */
unsigned vcpu_insn_len(struct vcpu *v, const struct vcpu_exit *e, unsigned fallback)
{
    if (e->insn_len)
        return e->insn_len;
    struct vmm_request rq;
    fill_request(v, e, &rq, true);
    unsigned len = kinsn_len(rq.insn, rq.insn_avail, code_bits(&rq));
    return len ? len : fallback;
}

/* An MMIO exit's instruction length if it is a plain store (a MOV to
 * memory), else 0: what a kernel fast path may step over. */
unsigned vcpu_store_len(struct vcpu *v, const struct vcpu_exit *e)
{
    struct vmm_request rq;
    fill_request(v, e, &rq, true);
    return kinsn_store_len(rq.insn, rq.insn_avail, code_bits(&rq));
}

static enum exit_result to_monitor(struct vcpu *v, struct vcpu_exit *e)
{
    struct vmm_request rq;
    struct vmm_reply rp;

    /* the bytes of the exits the monitor decodes (APIC EOI and write:
     * trap-like, RIP past) */
    fill_request(v, e, &rq, e->reason == VCPU_EXIT_MMIO ||
                 (e->insn_len == 0 && e->reason != VCPU_EXIT_EXCEPTION && e->reason != VCPU_EXIT_APIC_EOI &&
                  e->reason != VCPU_EXIT_APIC_WRITE));
    memset(&rp, 0, sizeof(rp));
    monitor_exit(v, &rq, &rp);
    if (rp.regs_dirty || rp.advance_rip) {
        if (rp.regs_dirty)
            rq.regs = rp.regs;
        rq.regs.rip += rp.advance_rip;
        vcpu_backend->set_regs(&v->hw, &rq.regs);
    }
    if (rp.set_efer) {          /* the backends keep LMA consistent with LME and CR0.PG */
        struct vcpu_sregs s;
        vcpu_backend->get_sregs(&v->hw, &s);
        s.efer = rp.efer;
        vcpu_backend->set_sregs(&v->hw, &s);
    }
    if (rp.inject)
        vcpu_backend->inject(&v->hw, &rp.event);
    switch (rp.action) {
    case VMM_RESUME:
        return EXIT_RESUME;
    case VMM_HALT:
        return EXIT_HALT;
    case VMM_STOP_VM:
        vm_stop(v->vm, rp.exit_code, "guest requested exit");
        return EXIT_STOP;
    case VMM_RESET_VM:
        vm_reset(v->vm);
        return EXIT_STOP;
    case VMM_FAULT_VM:
    default:
        printk("vm %s: vCPU %u: %s\n", v->vm->name, v->index, rp.why[0] ? rp.why : "monitor fault");
        vcpu_backend->dump(&v->hw);
        vm_stop(v->vm, -1, rp.why[0] ? rp.why : "monitor fault");
        return EXIT_STOP;
    }
}

/* GPR number n (SDM 2A 2.1.5: RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8-R15) */
static uint64_t gpr_value(const struct vcpu_regs *r, unsigned n)
{
    const struct vcpu_gprs *g = &r->gpr;
    const uint64_t low[8] = { g->rax, g->rcx, g->rdx, g->rbx, r->rsp, g->rbp, g->rsi, g->rdi };
    const uint64_t high[8] = { g->r8, g->r9, g->r10, g->r11, g->r12, g->r13, g->r14, g->r15 };
    return n < 8 ? low[n] : high[n & 7];
}

/* #GP(0) for an instruction the kernel refuses */
static void inject_gp0(struct vcpu *v)
{
    const struct vcpu_event ev = { .type = VCPU_EVENT_EXCEPTION, .vector = EXC_GP,
                                   .has_error = true, .error = 0 };
    vcpu_backend->inject(&v->hw, &ev);
}

/* ---- MOV to CR4 (SVM intercepts it; VMX emulates it in its backend) ----
 * Legal values (arch/cr4.h: what the guest's CPUID grants, PAE in long
 * mode, PCIDE, CET) are loaded, anything else #GPs; the source GPR comes
 * from the CPU (decode assists) or from decoding CS:RIP.  Other CR exits and
 * bytes that are not a MOV to CR4 go to the monitor, which refuses them. */
static enum exit_result cr_access(struct vcpu *v, struct vcpu_exit *e, enum exit_handler *by)
{
    *by = BY_MONITOR;
    if (!e->cr.write || e->cr.num != 4)
        return to_monitor(v, e);
    struct vmm_request rq;
    unsigned gpr = (unsigned)e->cr.gpr, len = e->insn_len, cr = 4;
    bool decode = e->cr.gpr < 0 || !len;
    fill_request(v, e, &rq, decode);
    if (decode && (kinsn_mov_to_cr(rq.insn, rq.insn_avail, code_bits(&rq), &cr, &gpr, &len) || cr != 4))
        return to_monitor(v, e);
    *by = BY_KERNEL;
    /* outside 64-bit mode the operand is the 32-bit register */
    uint64_t val = gpr_value(&rq.regs, gpr);
    if (rq.mode != MODE_LONG64)
        val = (uint32_t)val;
    struct vcpu_sregs s;
    vcpu_backend->get_sregs(&v->hw, &s);
    if (cr4_write_check(s.cr4, val, v->vm->hw.cr4_allowed, s.cr0, s.cr3, s.efer)) {
        inject_gp0(v);
        return EXIT_RESUME;
    }
    s.cr4 = val;
    vcpu_backend->set_sregs(&v->hw, &s);
    rq.regs.rip += len;
    vcpu_backend->set_regs(&v->hw, &rq.regs);
    return EXIT_RESUME;
}

/* ---- EOI: the kernel's fast path --------------------------------------
 * Every interrupt the datapath raises ends in the guest's EOI.  For an
 * edge-triggered vector the EOI changes only the vCPU's own register page
 * (clear the highest ISR bit, recompute PPR: SDM 3A 11.8.5), which is what
 * the monitor's LAPIC model would do on this same CPU -- so it is done
 * here, without a trip to the monitor.  The EOI of a level-triggered vector
 * (its TMR bit set) must also reach the IOAPIC model: left to the monitor,
 * as is anything but a plain store.  With VMX virtual-interrupt delivery
 * an x2APIC EOI never exits at all (vmx.c). */
static bool eoi_is_edge(const struct vcpu *v)
{
    int vec = vlapic_highest(v->vapic, APIC_ISR);
    return vec < 0 || !vlapic_test(v->vapic, APIC_TMR, (unsigned)vec);
}

static uint64_t apic_mode(const struct vcpu *v)
{
    return __atomic_load_n(&v->apic_base, __ATOMIC_RELAXED) & (APIC_BASE_EN | APIC_BASE_EXTD);
}

static void eoi_done(struct vcpu *v, unsigned len)
{
    bool level;
    vlapic_eoi(v->vapic, &level);
    vcpu_advance_rip(v, len);
    __atomic_fetch_add(&v->vm->fast_eois, 1, __ATOMIC_RELAXED);
}

/* xAPIC mode: a store to the EOI register of the MMIO window */
static bool eoi_mmio(struct vcpu *v, const struct vcpu_exit *e)
{
    if (!v->vapic || !e->mmio.write || e->gpa != LAPIC_MMIO_BASE + APIC_EOI ||
        apic_mode(v) != APIC_BASE_EN || !eoi_is_edge(v))
        return false;
    unsigned len = vcpu_store_len(v, e);
    if (!len)
        return false;
    eoi_done(v, len);
    return true;
}

/* x2APIC mode: WRMSR 0x80b of 0 (anything else raises #GP: the monitor's) */
static bool eoi_msr(struct vcpu *v, const struct vcpu_exit *e)
{
    if (!v->vapic || e->msr.index != MSR_X2APIC_EOI ||
        apic_mode(v) != (APIC_BASE_EN | APIC_BASE_EXTD) || !eoi_is_edge(v))
        return false;
    struct vcpu_regs r;
    vcpu_backend->get_regs(&v->hw, &r);
    if ((uint32_t)r.gpr.rax || (uint32_t)r.gpr.rdx)
        return false;
    eoi_done(v, vcpu_insn_len(v, e, 2));        /* WRMSR is 0f 30 */
    return true;
}

/* IA32_TSC_DEADLINE while the LVT timer is in TSC-deadline mode: the
 * guest's next timer interrupt, which Linux rearms after every tick and
 * around every idle period (hundreds of writes per second per vCPU).  The
 * kernel arms its own timer service with it, exactly what the monitor's
 * LAPIC does (vmm/lapic.c wr_base), and keeps the value it reads back.
 * In any other mode the write is the monitor's (it ignores it). */
static bool tsc_deadline_msr(struct vcpu *v, const struct vcpu_exit *e)
{
    if (!v->vapic || e->msr.index != MSR_IA32_TSC_DEADLINE || !(apic_mode(v) & APIC_BASE_EN))
        return false;
    if (APIC_LVT_TIMER_MODE(vlapic_reg(v->vapic, APIC_LVT_TIMER)) != 2)
        return false;
    struct vcpu_regs r;
    vcpu_backend->get_regs(&v->hw, &r);
    uint64_t val = ((uint64_t)(uint32_t)r.gpr.rdx << 32) | (uint32_t)r.gpr.rax;
    v->tsc_deadline = val;
    vm_vcpu_timer(v->vm->id, v->index, val, 0, vlapic_timer_vector(v->vapic));
    vcpu_advance_rip(v, vcpu_insn_len(v, e, 2));     /* WRMSR is 0f 30 */
    __atomic_fetch_add(&v->vm->fast_tsc_deadlines, 1, __ATOMIC_RELAXED);
    return true;
}

/* IN from the VM's clock port (vm_io_clock: the ACPI PM timer): computed
 * here from the TSC with the monitor's formula.  Byte and word reads take
 * the addressed bytes, as the monitor's model does. */
static bool clock_read(struct vcpu *v, const struct vcpu_exit *e)
{
    struct vm *vm = v->vm;
    uint16_t port = __atomic_load_n(&vm->clock_port, __ATOMIC_ACQUIRE);
    if (!port || !e->io.in || e->io.string || e->io.port < port ||
        e->io.port + e->io.size > port + 4u || !tsc_hz)
        return false;
    uint32_t val = io_clock_value(rdtsc() - vm->clock_tsc0, tsc_hz, vm->clock_hz);
    val >>= 8 * (e->io.port - port);
    struct vcpu_regs r;
    vcpu_backend->get_regs(&v->hw, &r);
    if (e->io.size == 4) {
        r.gpr.rax = val;                /* a 32-bit result zero-extends */
    } else {
        uint64_t mask = (1ull << (8 * e->io.size)) - 1;
        r.gpr.rax = (r.gpr.rax & ~mask) | (val & mask);
    }
    r.rip += vcpu_insn_len(v, e, 1);    /* IN from DX is one byte */
    vcpu_backend->set_regs(&v->hw, &r);
    __atomic_fetch_add(&vm->fast_clock_reads, 1, __ATOMIC_RELAXED);
    return true;
}

/* The speculation-control MSRs (SPEC_CTRL, PRED_CMD, ARCH_CAPABILITIES,
 * FLUSH_CMD) are the kernel's: it loads SPEC_CTRL at every entry and acts on
 * the commands (arch/x86_64/spec.c); the monitor never sees them. */
static bool spec_msr(struct vcpu *v, const struct vcpu_exit *e, bool write)
{
    struct vcpu_regs r;
    vcpu_backend->get_regs(&v->hw, &r);
    uint64_t val = ((uint64_t)(uint32_t)r.gpr.rdx << 32) | (uint32_t)r.gpr.rax;
    int rc = write ? spec_guest_wrmsr(&v->hw, e->msr.index, val)
                   : spec_guest_rdmsr(&v->hw, e->msr.index, &val);
    if (rc == SPEC_MSR_NOT_MINE)
        return false;
    if (rc == SPEC_MSR_GP) {
        inject_gp0(v);
        return true;
    }
    if (!write) {
        r.gpr.rax = (uint32_t)val;
        r.gpr.rdx = val >> 32;
    }
    r.rip += vcpu_insn_len(v, e, 2);    /* RDMSR/WRMSR are 0f 32 / 0f 30 */
    vcpu_backend->set_regs(&v->hw, &r);
    return true;
}

/* The kernel's fast paths for the exits either side may handle; false:
 * the monitor's.  MMIO: a write to a virtio-net notify area is the
 * datapath's TX doorbell, handled here (kernel/vnet.c) and never seen by
 * the monitor, and so is an EOI; everything else goes to the monitor's
 * device models. */
static bool fast_path(struct vcpu *v, struct vcpu_exit *e)
{
    switch (e->reason) {
    case VCPU_EXIT_MMIO:
        return vnet_notify_exit(v, e) || eoi_mmio(v, e);
    case VCPU_EXIT_IO:
        return clock_read(v, e);
    case VCPU_EXIT_MSR_READ:
        return spec_msr(v, e, false);
    case VCPU_EXIT_MSR_WRITE:
        return eoi_msr(v, e) || tsc_deadline_msr(v, e) || spec_msr(v, e, true);
    default:
        return false;
    }
}

static enum exit_result nothing(struct vcpu *v, struct vcpu_exit *e)
{
    return EXIT_RESUME;
}

static enum exit_result halt_after(struct vcpu *v, unsigned len);

/* An interrupt window cannot open inside an STI shadow: on a correct CPU
 * `sti; hlt` halts first and the interrupt wakes it after the HLT.  QEMU
 * 7.2's VMRUN does not load the VMCB's int_state (target/i386/tcg/sysemu/
 * svm_helper.c helper_vmrun; later QEMUs do), so an exit that lands
 * between the STI and the HLT loses the shadow on re-entry: the window
 * opens at the HLT, and an interrupt injected there returns to the HLT,
 * which then waits for the next interrupt -- forever for a one-shot timer
 * (measured: qemu-guests hung twice in 20 soak rounds, `vid` and
 * `ping`/`pong` each halted at an HLT whose interrupt it had taken).  So a
 * window exit at the very RIP where the last exit but this one saw a
 * shadow, with a HLT there, is that HLT executed: it is retired here. */
static bool shadow_lost_at_hlt(struct vcpu *v, const struct vcpu_exit *e)
{
    if (!v->hw.prev_shadow_rip || v->hw.prev_shadow_rip != e->rip + 1)
        return false;
    struct vmm_request rq;
    fill_request(v, e, &rq, true);
    return rq.insn_avail >= 1 && rq.insn[0] == 0xf4;
}

static enum exit_result irq_window(struct vcpu *v, struct vcpu_exit *e)
{
    vcpu_backend->set_irq_window(&v->hw, false);
    if (shadow_lost_at_hlt(v, e))
        return halt_after(v, 1);        /* HLT is f4 */
    return EXIT_RESUME;         /* the run loop injects what is pending */
}

/* Retire a HLT of len bytes; the vCPU sleeps unless an interrupt waits */
static enum exit_result halt_after(struct vcpu *v, unsigned len)
{
    vcpu_advance_rip(v, len);
    if (v->vapic)
        return vlapic_has_deliverable(v) ? EXIT_RESUME : EXIT_HALT;
    return vcpu_has_posted_irq(&v->hw) ? EXIT_RESUME : EXIT_HALT;
}

static enum exit_result hlt(struct vcpu *v, struct vcpu_exit *e)
{
    return halt_after(v, vcpu_insn_len(v, e, 1));       /* HLT is one byte */
}

/* Test VMs ring each other: exercises posting an interrupt to a vCPU that
 * runs (or sleeps) on another CPU, the datapath's delivery primitive. */
static uint64_t doorbell(struct vcpu *v, uint64_t name_gpa, uint8_t vector)
{
    char name[CONFIG_NAME_MAX + 1];
    if (vm_gpa_read(v->vm->id, name_gpa, name, sizeof(name)) || vector < 32)
        return HC_INVALID;
    name[CONFIG_NAME_MAX] = 0;
    for (unsigned i = 0; i < nvms; i++)
        if (!strcmp(vms[i].name, name) && vms[i].state == VM_RUNNING && vms[i].monitor_is_test) {
            vcpu_post_irq(&vms[i].vcpu[0].hw, vector);
            return 0;
        }
    return HC_INVALID;
}

/* The hypercalls are for "test" VMs (the bare-metal test guests and the
 * benchmarks): a PC guest's VMCALL/VMMCALL is #UD, as on a CPU with no
 * hypervisor interface -- nethv's CPUID offers it none. */
static enum exit_result hypercall(struct vcpu *v, struct vcpu_exit *e)
{
    struct vcpu_regs r;
    if (!v->vm->monitor_is_test) {
        const struct vcpu_event ev = { .type = VCPU_EVENT_EXCEPTION, .vector = EXC_UD };
        vcpu_backend->inject(&v->hw, &ev);
        return EXIT_RESUME;
    }
    unsigned len = vcpu_insn_len(v, e, 3);      /* VMCALL and VMMCALL are 3 bytes */
    vcpu_backend->get_regs(&v->hw, &r);
    switch (r.gpr.rax) {
    case HC_NULL:
        r.gpr.rax = 0;
        break;
    case HC_TIMER_ONESHOT:
        v->timer_vector = (uint8_t)r.gpr.rcx;
        v->timer_deadline = rdtsc() + tsc_hz / 1000000 * r.gpr.rbx;
        r.gpr.rax = 0;
        break;
    case HC_VCPU_ID:
        r.gpr.rax = v->index;
        break;
    case HC_DOORBELL:
        r.gpr.rax = doorbell(v, r.gpr.rbx, (uint8_t)r.gpr.rcx);
        break;
    default:
        r.gpr.rax = HC_INVALID;
        break;
    }
    r.rip += len;
    vcpu_backend->set_regs(&v->hw, &r);
    return EXIT_RESUME;
}

static enum exit_result guest_fault(struct vcpu *v, struct vcpu_exit *e)
{
    char why[96];
    if (e->reason == VCPU_EXIT_ENTRY_FAILED)
        snprintf(why, sizeof(why), "VM entry failed: %s (%#llx)", e->fail.what ? e->fail.what : "?",
                 (unsigned long long)e->fail.error);
    else if (e->reason == VCPU_EXIT_HOST_STATE)
        snprintf(why, sizeof(why), "CPU fault at exit %#x: host state saved as the guest's",
                 e->hw_reason);
    else
        snprintf(why, sizeof(why), "%s exit (hw reason %#x, qual %#llx)", vcpu_exit_name(e->reason),
                 e->hw_reason, (unsigned long long)e->qual);
    printk("vm %s: vCPU %u: %s; guest state:\n", v->vm->name, v->index, why);
    vcpu_backend->dump(&v->hw);
    if (e->reason == VCPU_EXIT_TRIPLE_FAULT) {
        /* A page fault on the guest's own IDT (CR2 inside IDTR) while an
         * event was being delivered: the guest could not read the gate --
         * under a correct CPU only a guest that unmapped its IDT does that.
         * (A real IDT: 32 gates at least; an empty one faults without a #PF.)
         * Named so that logs (and tests) can tell it from other faults. */
        struct vcpu_sregs s;
        vcpu_backend->get_sregs(&v->hw, &s);
        if (s.idt.limit >= 0xff && s.cr2 >= s.idt.base && s.cr2 - s.idt.base <= s.idt.limit)
            printk("vm %s: vCPU %u: the triple fault came from a page fault reading the guest's "
                   "own IDT (cr2 %#llx = IDT + %#llx)\n", v->vm->name, v->index,
                   (unsigned long long)s.cr2, (unsigned long long)(s.cr2 - s.idt.base));
    }
    vm_stop(v->vm, -1, why);
    return EXIT_STOP;
}

/* INVD, WBINVD: nethv gives guests no device that needs a cache flush
 * (no pass-through, coherent DMA): a no-op, as KVM does without assigned
 * devices -- a WBINVD loop flushes no host cache. */
static enum exit_result cache_flush(struct vcpu *v, struct vcpu_exit *e)
{
    vcpu_advance_rip(v, vcpu_insn_len(v, e, 2));     /* INVD 0f 08, WBINVD 0f 09 */
    return EXIT_RESUME;
}

/* XSETBV (SVM; VMX's backend takes it itself): the guest's XCR0, loaded
 * while it runs with CR4.OSXSAVE (arch fpu_xsetbv_check has the rules). */
static enum exit_result xsetbv_exit(struct vcpu *v, struct vcpu_exit *e)
{
    struct vcpu_regs r;
    vcpu_backend->get_regs(&v->hw, &r);
    uint64_t val = ((uint64_t)(uint32_t)r.gpr.rdx << 32) | (uint32_t)r.gpr.rax;
    if (!fpu_xsetbv_check((uint32_t)r.gpr.rcx, val)) {
        inject_gp0(v);
        return EXIT_RESUME;
    }
    v->hw.xcr0 = val;
    r.rip += vcpu_insn_len(v, e, 3);    /* XSETBV is 0f 01 d1 */
    vcpu_backend->set_regs(&v->hw, &r);
    return EXIT_RESUME;
}

/* An instruction this guest may not run: the fault the backend named */
static enum exit_result refused(struct vcpu *v, struct vcpu_exit *e)
{
    const struct vcpu_event ev = { .type = VCPU_EVENT_EXCEPTION, .vector = e->refused.fault,
                                   .has_error = e->refused.fault == EXC_GP, .error = 0 };
    vcpu_backend->inject(&v->hw, &ev);
    return EXIT_RESUME;
}

/*
 * #DB and #AC are intercepted only so that their delivery loops cannot
 * hold a CPU (CVE-2015-8104, CVE-2015-5307): straight back to the guest.
 * Such a loop never ends by itself, and the vCPU takes no interrupt in it
 * (the reflection holds the injection slot; a #DB trap outranks an
 * interrupt, SDM 3A 6.9), so the VM is stopped as hung, its loop named,
 * after EXC_LOOP_LIMIT of these exits in a row:
 *  - #AC (or #DB) raised by the delivery of the same exception, injected
 *    at the same RIP (an #AC gate to a CPL-3 handler on a misaligned
 *    stack): the exit cut short the delivery of a hardware exception of the
 *    same vector (EXITINTINFO / IDT-vectoring info valid, SDM 3C 27.2.4,
 *    APM 2 15.7.2);
 *  - a #DB trap raised by a completed #DB delivery (a data breakpoint on
 *    the frame it pushes -- an IST stack, where every delivery writes the
 *    same slot): the delivery completes, so nothing is cut short, but the
 *    trap comes before the handler's first instruction, so the exit's RIP
 *    is the #DB gate's target, each time.  The guest's IDT is read only
 *    when an exit repeats the last one's RIP.
 * Not counted: a handler that returns to its faulting instruction, or a
 * watchpoint hit in a tight loop -- each of those runs an instruction
 * between the exits, which a RIP at the gate's target rules out.
 */
#define EXC_LOOP_LIMIT  1000
/* SVM EXITINTINFO and VMX IDT-vectoring info share these fields */
#define EVT_VALID       (1u << 31)
#define EVT_TYPE(x)     (((x) >> 8) & 7)
#define EVT_TYPE_HW_EXC 3

static bool db_at_own_gate(struct vcpu *v, struct vcpu_exit *e)
{
    struct vcpu_sregs s;
    vcpu_backend->get_sregs(&v->hw, &s);
    return vm_idt_target(v->vm, &s, EXC_DB) == e->rip;
}

static enum exit_result exception(struct vcpu *v, struct vcpu_exit *e)
{
    if (e->exc.vector == EXC_DB || e->exc.vector == EXC_AC) {
        bool same = e->rip == v->exc_loop_rip;
        bool cut_short = (e->intinfo & EVT_VALID) && EVT_TYPE(e->intinfo) == EVT_TYPE_HW_EXC &&
                         (e->intinfo & 0xff) == e->exc.vector;
        bool again = same && (cut_short || (e->exc.vector == EXC_DB && !(e->intinfo & EVT_VALID) &&
                                            db_at_own_gate(v, e)));
        v->exc_loop_n = again ? v->exc_loop_n + 1 : 1;
        v->exc_loop_rip = e->rip;
        if (v->exc_loop_n >= EXC_LOOP_LIMIT) {
            char why[96];
            snprintf(why, sizeof(why), "vCPU %u hung in a %s delivery loop at rip %#llx (%u in a row)",
                     v->index, e->exc.vector == EXC_AC ? "#AC" : "#DB",
                     (unsigned long long)e->rip, v->exc_loop_n);
            vm_stop(v->vm, -1, why);
            return EXIT_STOP;
        }
        vcpu_backend->reflect_exception(&v->hw, e);
        return EXIT_RESUME;
    }
    return to_monitor(v, e);
}

static const struct {
    exit_fn fn;
    enum exit_handler by;
} exit_table[VCPU_EXIT__COUNT] = {
    [VCPU_EXIT_NONE]         = { nothing,     BY_KERNEL },
    [VCPU_EXIT_EXTINT]       = { nothing,     BY_KERNEL },
    [VCPU_EXIT_NMI]          = { nothing,     BY_KERNEL },
    [VCPU_EXIT_INTR_WINDOW]  = { irq_window,  BY_KERNEL },
    [VCPU_EXIT_NMI_WINDOW]   = { nothing,     BY_KERNEL },      /* the run loop injects */
    [VCPU_EXIT_PREEMPT]      = { nothing,     BY_KERNEL },
    [VCPU_EXIT_HLT]          = { hlt,         BY_KERNEL },
    [VCPU_EXIT_HYPERCALL]    = { hypercall,   BY_KERNEL },
    [VCPU_EXIT_TRIPLE_FAULT] = { guest_fault, BY_KERNEL },
    [VCPU_EXIT_ENTRY_FAILED] = { guest_fault, BY_KERNEL },
    [VCPU_EXIT_HOST_STATE]   = { guest_fault, BY_KERNEL },
    [VCPU_EXIT_UNKNOWN]      = { guest_fault, BY_KERNEL },
    [VCPU_EXIT_CPUID]        = { to_monitor,  BY_MONITOR },
    [VCPU_EXIT_IO]           = { NULL,        BY_MONITOR },     /* fast_path(): either */
    [VCPU_EXIT_MMIO]         = { NULL,        BY_MONITOR },     /* fast_path(): either */
    [VCPU_EXIT_MSR_READ]     = { NULL,        BY_MONITOR },     /* fast_path(): either */
    [VCPU_EXIT_MSR_WRITE]    = { NULL,        BY_MONITOR },     /* fast_path(): either */
    [VCPU_EXIT_EXCEPTION]    = { exception,   BY_KERNEL },      /* #DB, #AC: reflected */
    [VCPU_EXIT_INIT]         = { to_monitor,  BY_MONITOR },
    [VCPU_EXIT_SIPI]         = { to_monitor,  BY_MONITOR },
    [VCPU_EXIT_XSETBV]       = { xsetbv_exit, BY_KERNEL },      /* SVM; VMX handles its own */
    [VCPU_EXIT_CR_ACCESS]    = { NULL,        BY_MONITOR },     /* cr_access(): either */
    [VCPU_EXIT_INVD]         = { cache_flush, BY_KERNEL },
    [VCPU_EXIT_REFUSED]      = { refused,     BY_KERNEL },
    [VCPU_EXIT_VMINSN]       = { to_monitor,  BY_MONITOR },
    [VCPU_EXIT_APIC_EOI]     = { to_monitor,  BY_MONITOR },     /* IOAPIC: level-triggered EOI */
    [VCPU_EXIT_APIC_WRITE]   = { to_monitor,  BY_MONITOR },     /* LAPIC register side effects */
};

/* Handle one exit on the vCPU's CPU; returns the vCPU's next state. */
enum vcpu_state exit_dispatch(struct vcpu *v, struct vcpu_exit *e);
enum vcpu_state exit_dispatch(struct vcpu *v, struct vcpu_exit *e)
{
    enum exit_result res;
    enum exit_handler by;
    unsigned r = (unsigned)e->reason;
    struct flight_rec *rec = flight_record(&v->flight, e, this_cpu()->cpu);
    if (__atomic_load_n(&v->vm->tx_resume, __ATOMIC_ACQUIRE))
        vnet_tx_resume(v->vm);

    if (r == VCPU_EXIT_CR_ACCESS) {
        res = cr_access(v, e, &by);
    } else if (r == VCPU_EXIT_MMIO || r == VCPU_EXIT_MSR_WRITE || r == VCPU_EXIT_MSR_READ ||
               r == VCPU_EXIT_IO) {
        by = fast_path(v, e) ? BY_KERNEL : BY_MONITOR;
        res = by == BY_KERNEL ? EXIT_RESUME : to_monitor(v, e);
    } else {
        if (r >= VCPU_EXIT__COUNT || !exit_table[r].fn)
            r = VCPU_EXIT_UNKNOWN;
        by = exit_table[r].by;
        rec->handler = (uint8_t)by;     /* known now: a fault report below shows it */
        res = exit_table[r].fn(v, e);
    }
    __atomic_fetch_add(&v->vm->exits[r][by], 1, __ATOMIC_RELAXED);
    rec->handler = (uint8_t)by;
    /* A handler that moved RIP retired the instruction; under TF (before
     * and after: not a reset) the guest is owed that instruction's
     * single-step trap.  HLT's comes when it wakes: not modelled. */
    if (res != EXIT_STOP && r != VCPU_EXIT_HLT && r != VCPU_EXIT_INIT && r != VCPU_EXIT_SIPI &&
        (e->rflags & RFLAGS_TF)) {
        struct vcpu_regs after;
        vcpu_backend->get_regs(&v->hw, &after);
        if (after.rip != e->rip && (after.rflags & RFLAGS_TF))
            vcpu_backend->single_step(&v->hw);
    }
    switch (res) {
    case EXIT_HALT:
        return VCPU_HALTED;
    case EXIT_STOP:
        return VCPU_STOPPED;
    default:
        return v->vm->state == VM_STOPPED ? VCPU_STOPPED : VCPU_RUNNABLE;
    }
}
