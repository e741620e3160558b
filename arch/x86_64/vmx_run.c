/*
 * VMX guest entry and exit decoding (SDM 3C ch. 26, 27).
 * run(): on the vCPU's host CPU.  Host IF = 0 from before the guest's
 * FPU/CR2/MSR state is loaded until it is saved again; then interrupts are
 * opened for one instruction so a host interrupt that caused the exit (no
 * "acknowledge interrupt on exit") is taken through the host IDT.
 * Exits that are pure VMX mechanics are handled here and the guest
 * re-entered: guest writes to host-owned CR0/CR4 bits, XSETBV, MONITOR.
 */
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <arch/spec.h>
#include <arch/cpu.h>
#include <arch/regs.h>
#include <arch/cr4.h>
#include <arch/vmx.h>
#include <arch/x86.h>

enum { ENTERED = 0, FAIL_VALID = 1, FAIL_INVALID = 2, NOT_ENTERED = 3 };

/* ---- guest FPU state (SDM 1 ch. 13) ---------------------------------------- */

/* XCR0 while the guest runs: its own once it set CR4.OSXSAVE; before
 * that XCR0 is unobservable (XGETBV, XSAVE and AVX #UD) and the host's
 * stays loaded. */
static uint64_t guest_xcr0(const struct vcpu_hw *v, const struct vmx_vcpu *p)
{
    return p->guest_osxsave ? v->xcr0 : vmx_caps.host_xcr0;
}

static void fpu_load(struct vcpu_hw *v, struct vmx_vcpu *p)
{
    void *a = phys_to_virt(v->fpu_area);
    uint64_t m = vmx_caps.host_xcr0;
    if (m) {
        fpu_xrstor_guest(a, m);
        if (guest_xcr0(v, p) != m)
            xsetbv(0, guest_xcr0(v, p));
    } else {
        __asm__ volatile("fxrstor64 (%0)" :: "r"(a) : "memory");
    }
}

static void fpu_save(struct vcpu_hw *v, struct vmx_vcpu *p)
{
    void *a = phys_to_virt(v->fpu_area);
    uint64_t m = vmx_caps.host_xcr0;
    if (m) {
        if (guest_xcr0(v, p) != m)
            xsetbv(0, m);
        __asm__ volatile("xsave64 (%0)" :: "r"(a), "a"((uint32_t)m), "d"((uint32_t)(m >> 32))
                         : "memory");
    } else {
        __asm__ volatile("fxsave64 (%0)" :: "r"(a) : "memory");
    }
}

/* One VM entry.  NOT_ENTERED: an interrupt was posted after the caller
 * looked and could be injected now; the caller's loop delivers it (the
 * poster saw running == false and sent no kick). */
static int enter_once(struct vcpu_hw *v, struct vmx_vcpu *p)
{
    uint64_t flags = irq_save();
    /* invariant: a VMCS is in use on one CPU at a time (running is set and
     * cleared only here, by the owner CPU) */
    if (__atomic_exchange_n(&v->running, true, __ATOMIC_SEQ_CST))
        panic("vmx: vCPU with VPID %u entered while already running", v->tag);
    if (vcpu_has_posted_irq(v) && (vmx_regs(v)->rflags & RFLAGS_IF) &&
        !(vmcs_read32(GUEST_INTERRUPTIBILITY) & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS)) &&
        !(vmcs_read32(ENTRY_INTR_INFO) & INTR_INFO_VALID)) {
        __atomic_store_n(&v->running, false, __ATOMIC_SEQ_CST);
        irq_restore(flags);
        return NOT_ENTERED;
    }
    /* invariant: an event the last exit cut short goes back in unchanged */
    if (v->reinject && vmcs_read32(ENTRY_INTR_INFO) != (uint32_t)v->reinject)
        panic("vmx: vCPU with VPID %u: the event cut short by its last exit (%#llx) was "
              "replaced by %#x before re-entry", v->tag, (unsigned long long)v->reinject,
              vmcs_read32(ENTRY_INTR_INFO));
    vmx_switch_msrs(v);
    if (read_cr2() != p->cr2)
        write_cr2(p->cr2);
    fpu_load(v, p);
    vcpu_debug_regs_load(v, this_cpu()->cpu, true);
    spec_enter(v, this_cpu()->cpu);
    irqoff_end();               /* guest time is not host time with interrupts off */
    int rc = vmx_enter(v, v->launched);
    irqoff_begin();
    spec_exit(v);
    vcpu_assert_host_state(this_cpu()->cpu, "vmx");
    fpu_save(v, p);
    p->cr2 = read_cr2();
    __atomic_store_n(&v->running, false, __ATOMIC_SEQ_CST);
    __asm__ volatile("sti; nop; cli" ::: "memory");
    irq_restore(flags);
    return rc;
}

/* ---- helpers for the exits handled here ---------------------------------------- */

static void skip_insn(struct vcpu_hw *v, uint32_t len)
{
    vmx_set_rip(v, vmx_regs(v)->rip + len);
}

static void inject_gp(void)
{
    bool pe = vmcs_readnat(CR0_READ_SHADOW) & CR0_PE;
    vmcs_write32(ENTRY_INTR_INFO, INTR_INFO_VALID | (INTR_TYPE_HW_EXC << 8) | 13 |
                 (pe ? INTR_INFO_ERROR_CODE : 0));
    vmcs_write32(ENTRY_EXCEPTION_ERROR, 0);
}

/* GPR by the instruction encoding's number (SDM 3C table 27-3) */
static uint64_t read_gpr(struct vcpu_hw *v, unsigned n)
{
    struct vcpu_gprs *g = &v->gpr;
    uint64_t *const regs[16] = {
        &g->rax, &g->rcx, &g->rdx, &g->rbx, NULL, &g->rbp, &g->rsi, &g->rdi,
        &g->r8, &g->r9, &g->r10, &g->r11, &g->r12, &g->r13, &g->r14, &g->r15,
    };
    return n == 4 ? vmcs_readnat(GUEST_RSP) : *regs[n & 15];
}

static uint64_t guest_cr0(void)
{
    return (vmcs_readnat(GUEST_CR0) & ~vmx_caps.cr0_mask) |
           (vmcs_readnat(CR0_READ_SHADOW) & vmx_caps.cr0_mask);
}

static uint64_t guest_cr4(void)
{
    return (vmcs_readnat(GUEST_CR4) & ~vmx_caps.cr4_mask) |
           (vmcs_readnat(CR4_READ_SHADOW) & vmx_caps.cr4_mask);
}

/* The guest's paging view changed under emulation: drop its translations. */
static void flush_guest_tlb(struct vcpu_hw *v)
{
    if (v->tag)
        vmx_invvpid(INVVPID_SINGLE, (uint16_t)v->tag, 0);
}

/* MOV to CR0 / LMSW / CLTS touching a host-owned bit: the checks of
 * SDM 2 "MOV-Move to/from Control Registers" and the long-mode switch
 * (SDM 3A 9.8.5) the CPU would have done. */
static bool emulate_cr0(struct vcpu_hw *v, uint64_t val)
{
    uint64_t old = guest_cr0(), efer = vmcs_read64(GUEST_IA32_EFER);
    if ((val >> 32) || ((val & CR0_PG) && !(val & CR0_PE)) || ((val & CR0_NW) && !(val & CR0_CD)))
        return false;
    if (!(old & CR0_PG) && (val & CR0_PG) && (efer & EFER_LME)) {
        if (!(guest_cr4() & CR4_PAE))
            return false;
        efer |= EFER_LMA;
    } else if ((old & CR0_PG) && !(val & CR0_PG)) {
        efer &= ~EFER_LMA;
    }
    vmcs_write64(GUEST_IA32_EFER, efer);
    vmx_set_entry_ia32e(v, efer & EFER_LMA);
    vmcs_writenat(GUEST_CR0, (val | vmx_caps.cr0_force1) & vmx_caps.cr0_fixed1 & ~(CR0_CD | CR0_NW));
    vmcs_writenat(CR0_READ_SHADOW, val);
    if ((old ^ val) & (CR0_PG | CR0_PE | CR0_WP))
        flush_guest_tlb(v);
    vmx_load_pdptes(v);
    return true;
}

static bool emulate_cr4(struct vcpu_hw *v, uint64_t val)
{
    uint64_t old = guest_cr4();
    /* what the guest's CPUID grants (arch/cr4.h), never nested VMX/SMX, and
     * nothing the CPU cannot do */
    uint64_t allowed = v->vm->cr4_allowed & ~(CR4_VMXE | CR4_SMXE) & vmx_caps.cr4_fixed1;
    if (cr4_write_check(old, val, allowed, guest_cr0(), vmcs_readnat(GUEST_CR3),
                        vmcs_read64(GUEST_IA32_EFER)))
        return false;
    vmcs_writenat(GUEST_CR4, (val | vmx_caps.cr4_force1) & vmx_caps.cr4_fixed1);
    vmcs_writenat(CR4_READ_SHADOW, val);
    vmx_priv(v)->guest_osxsave = val & CR4_OSXSAVE;
    if ((old ^ val) & CR4_TLB_BITS)
        flush_guest_tlb(v);
    vmx_load_pdptes(v);
    return true;
}

/* true: handled (emulated or #GP queued) */
static bool handle_cr(struct vcpu_hw *v, uint64_t q, uint32_t len)
{
    unsigned cr = CRQ_NUM(q), type = CRQ_TYPE(q);
    bool ok;
    if (type == CRQ_TYPE_MOV_TO && cr == 0)
        ok = emulate_cr0(v, read_gpr(v, CRQ_GPR(q)));
    else if (type == CRQ_TYPE_MOV_TO && cr == 4)
        ok = emulate_cr4(v, read_gpr(v, CRQ_GPR(q)));
    else if (type == CRQ_TYPE_LMSW)     /* bits 3:0; cannot clear PE */
        ok = emulate_cr0(v, (guest_cr0() & ~0xeull) | (CRQ_LMSW_DATA(q) & 0xf));
    else if (type == CRQ_TYPE_CLTS)
        ok = emulate_cr0(v, guest_cr0() & ~CR0_TS);
    else
        return false;       /* CR3/CR8: the generic layer's business */
    if (ok)
        skip_insn(v, len);
    else
        inject_gp();
    return true;
}

/* XSETBV: checked by fpu_xsetbv_check; loaded while the guest runs with
 * CR4.OSXSAVE set (fpu_load). */
static void handle_xsetbv(struct vcpu_hw *v, uint32_t len)
{
    uint64_t val = (v->gpr.rdx << 32) | (uint32_t)v->gpr.rax;
    if (!fpu_xsetbv_check((uint32_t)v->gpr.rcx, val)) {
        inject_gp();
        return;
    }
    v->xcr0 = val;
    skip_insn(v, len);
}

/* ---- exit decoding --------------------------------------------------------------- */

static bool has_insn_len(uint32_t r)
{
    switch (r) {
    case EXIT_CPUID: case EXIT_GETSEC: case EXIT_HLT: case EXIT_INVD: case EXIT_INVLPG:
    case EXIT_RDPMC: case EXIT_RDTSC: case EXIT_RSM: case EXIT_CR_ACCESS: case EXIT_DR_ACCESS:
    case EXIT_IO: case EXIT_RDMSR: case EXIT_WRMSR: case EXIT_MWAIT: case EXIT_MONITOR:
    case EXIT_PAUSE: case EXIT_GDTR_IDTR: case EXIT_LDTR_TR: case EXIT_RDTSCP: case EXIT_WBINVD:
    case EXIT_XSETBV: case EXIT_RDRAND: case EXIT_INVPCID: case EXIT_RDSEED: case EXIT_XSAVES:
    case EXIT_XRSTORS: case EXIT_INVEPT: case EXIT_INVVPID: case EXIT_VMFUNC: case EXIT_ENCLS:
        return true;
    default:
        return r >= EXIT_VMCALL && r <= EXIT_VMXON;
    }
}

/* Exits with no exit qualification (SDM 3C 27.2.1): not read. */
static bool has_qual(uint32_t r)
{
    switch (r) {
    case EXIT_EXTERNAL_INTR: case EXIT_INTR_WINDOW: case EXIT_NMI_WINDOW: case EXIT_CPUID:
    case EXIT_HLT: case EXIT_VMCALL: case EXIT_RDMSR: case EXIT_WRMSR: case EXIT_MWAIT:
    case EXIT_PAUSE: case EXIT_PREEMPT_TIMER: case EXIT_XSETBV: case EXIT_RDTSC:
    case EXIT_RDTSCP: case EXIT_INVD: case EXIT_WBINVD: case EXIT_TRIPLE_FAULT:
    case EXIT_TPR_BELOW:
        return false;
    default:
        return true;
    }
}

/* An event whose delivery the exit interrupted goes in again at the next
 * entry (SDM 3C 27.2.4, 29.2.1.1 in older editions: "IDT-vectoring"). */
static void requeue_vectoring(struct vcpu_hw *v)
{
    uint32_t idt = vmcs_read32(IDT_VECTORING_INFO);
    if (!(idt & INTR_INFO_VALID))
        return;
    v->reinject = idt & (INTR_INFO_VALID | INTR_INFO_ERROR_CODE | 0x7ff);
    vmcs_write32(ENTRY_INTR_INFO, (uint32_t)v->reinject);
    if (idt & INTR_INFO_ERROR_CODE)
        vmcs_write32(ENTRY_EXCEPTION_ERROR, vmcs_read32(IDT_VECTORING_ERROR));
    unsigned t = INTR_INFO_TYPE(idt);
    if (t == INTR_TYPE_SW_INT || t == INTR_TYPE_SW_EXC || t == INTR_TYPE_PRIV_SW_EXC)
        vmcs_write32(ENTRY_INSTRUCTION_LEN, vmcs_read32(EXIT_INSTRUCTION_LEN));
}

/* IRET unblocked virtual NMIs and then faulted: re-block (SDM 3C 27.2.3). */
static void nmi_reblock(struct vmx_vcpu *p, bool unblocked)
{
    if (unblocked && (p->pin & PIN_VIRTUAL_NMI) &&
        !(vmcs_read32(IDT_VECTORING_INFO) & INTR_INFO_VALID))
        vmcs_write32(GUEST_INTERRUPTIBILITY,
                     vmcs_read32(GUEST_INTERRUPTIBILITY) | INTERRUPTIBILITY_NMI);
}

static const char *entry_fail_what(uint32_t basic, uint64_t q)
{
    if (basic == EXIT_FAIL_MSR_LOAD)
        return "VM entry failed loading MSRs";
    if (basic == EXIT_FAIL_MCE)
        return "machine-check event during VM entry";
    switch (q) {            /* SDM 3C 26.8: the qualification names only these */
    case ENTRYQ_PDPTE: return "invalid guest state: a PDPTE has reserved bits set";
    case ENTRYQ_NMI_INJECT: return "invalid guest state: NMI injection while NMIs are blocked";
    case ENTRYQ_LINK_PTR: return "invalid guest state: VMCS link pointer";
    default: return "invalid guest state (SDM 3C 26.3.1; the dump shows it)";
    }
}

/* Fill *e from the VMCS; false if the exit was handled here. */
static bool decode_exit(struct vcpu_hw *v, struct vmx_vcpu *p, struct vcpu_exit *e)
{
    uint32_t reason = vmcs_read32(EXIT_REASON), basic = EXIT_REASON_BASIC(reason);
    uint64_t q = has_qual(basic) ? vmcs_readnat(EXIT_QUALIFICATION) : 0;
    uint32_t len = has_insn_len(basic) ? vmcs_read32(EXIT_INSTRUCTION_LEN) : 0;

    p->regs_cached = false;

    p->last_reason = basic;
    p->last_qual = q;
    p->last_insn_len = len;
    p->last_intr_info = 0;
    if (basic < EXIT__COUNT)
        p->hw_exits[basic]++;
    e->hw_reason = basic;
    e->qual = q;
    e->insn_len = len;
    if (reason & EXIT_REASON_ENTRY_FAIL) {
        e->reason = VCPU_EXIT_ENTRY_FAILED;
        e->fail.what = entry_fail_what(basic, q);
        e->fail.error = basic;
        return true;
    }
    v->launched = true;
    v->reinject = 0;
    if (!len)               /* an instruction's exit never interrupts event delivery */
        requeue_vectoring(v);
    if (!(vmx_caps.misc & VMX_MISC_STORE_LMA))  /* else the CPU keeps it (SDM 3C 27.2) */
        vmx_set_entry_ia32e(v, vmcs_read64(GUEST_IA32_EFER) & EFER_LMA);

    switch (basic) {
    case EXIT_EXCEPTION_NMI: {
        uint32_t info = vmcs_read32(EXIT_INTR_INFO);
        p->last_intr_info = info;
        if (INTR_INFO_TYPE(info) == INTR_TYPE_NMI) {
            e->reason = VCPU_EXIT_NMI;
            break;
        }
        nmi_reblock(p, info & INTR_INFO_NMI_UNBLOCK);
        e->reason = VCPU_EXIT_EXCEPTION;
        e->exc.vector = (uint8_t)INTR_INFO_VECTOR(info);
        e->exc.has_error = info & INTR_INFO_ERROR_CODE;
        e->exc.error = e->exc.has_error ? vmcs_read32(EXIT_INTR_ERROR) : 0;
        if (INTR_INFO_TYPE(info) == INTR_TYPE_SW_EXC)
            e->insn_len = p->last_insn_len = vmcs_read32(EXIT_INSTRUCTION_LEN);
        break;
    }
    case EXIT_EXTERNAL_INTR: e->reason = VCPU_EXIT_EXTINT; break;
    case EXIT_TRIPLE_FAULT:  e->reason = VCPU_EXIT_TRIPLE_FAULT; break;
    case EXIT_INIT:          e->reason = VCPU_EXIT_INIT; break;
    case EXIT_SIPI:
        e->reason = VCPU_EXIT_SIPI;
        e->sipi.vector = (uint8_t)q;
        break;
    case EXIT_INTR_WINDOW:   e->reason = VCPU_EXIT_INTR_WINDOW; break;
    case EXIT_NMI_WINDOW:
        e->reason = VCPU_EXIT_NMI_WINDOW;
        p->proc &= ~PROC_NMI_WINDOW;
        vmcs_write32(PROC_BASED_CONTROLS, p->proc);
        break;
    case EXIT_TPR_BELOW:    /* the guest's CR8 write let a held vector through */
        e->reason = VCPU_EXIT_INTR_WINDOW;
        break;
    case EXIT_VIRT_EOI:     /* VISR/SVI/VPPR already updated by the CPU (29.1.4) */
        e->reason = VCPU_EXIT_APIC_EOI;
        e->eoi.vector = VEOIQ_VECTOR(q);
        break;
    case EXIT_PREEMPT_TIMER: e->reason = VCPU_EXIT_PREEMPT; break;
    case EXIT_CPUID:
        e->reason = VCPU_EXIT_CPUID;
        e->cpuid.leaf = (uint32_t)v->gpr.rax;
        e->cpuid.subleaf = (uint32_t)v->gpr.rcx;
        break;
    case EXIT_HLT:
        e->reason = VCPU_EXIT_HLT;
        break;
    case EXIT_MWAIT:        /* CPUID hides MONITOR/MWAIT (vmm/cpuid.c) */
    case EXIT_MONITOR:
        e->reason = VCPU_EXIT_REFUSED;
        e->refused.fault = EXC_UD;
        break;
    case EXIT_RDPMC:        /* no PMU given (CPUID leaf 0xA hidden) */
        e->reason = VCPU_EXIT_REFUSED;
        e->refused.fault = EXC_GP;
        break;
    case EXIT_INVD:
    case EXIT_WBINVD:        e->reason = VCPU_EXIT_INVD; break;
    case EXIT_VMCALL:        e->reason = VCPU_EXIT_HYPERCALL; break;
    case EXIT_IO:
        e->reason = VCPU_EXIT_IO;
        e->io.port = IOQ_PORT(q);
        e->io.size = (uint8_t)IOQ_SIZE(q);
        e->io.in = q & IOQ_IN;
        e->io.string = q & IOQ_STRING;
        e->io.rep = q & IOQ_REP;
        if (e->io.string && (vmx_caps.basic & VMX_BASIC_INOUT_INFO))
            e->info2 = vmcs_read32(EXIT_INSTRUCTION_INFO);
        break;
    case EXIT_RDMSR:
    case EXIT_WRMSR:
        e->reason = basic == EXIT_RDMSR ? VCPU_EXIT_MSR_READ : VCPU_EXIT_MSR_WRITE;
        e->msr.index = (uint32_t)v->gpr.rcx;
        break;
    case EXIT_EPT_VIOLATION:
        nmi_reblock(p, q & EPTQ_NMI_UNBLOCK);
        e->reason = VCPU_EXIT_MMIO;
        e->gpa = vmcs_read64(GUEST_PHYSICAL_ADDRESS);
        e->gla = (q & EPTQ_GLA_VALID) ? vmcs_readnat(GUEST_LINEAR_ADDRESS) : 0;
        e->mmio.read = q & EPTQ_READ;
        e->mmio.write = q & EPTQ_WRITE;
        e->mmio.fetch = q & EPTQ_FETCH;
        break;
    case EXIT_APIC_ACCESS:  /* fault-like: an access the CPU does not virtualize (29.4) */
        if (APICQ_TYPE(q) != APICQ_TYPE_READ && APICQ_TYPE(q) != APICQ_TYPE_WRITE) {
            e->reason = VCPU_EXIT_UNKNOWN;      /* fetch / event delivery through the page */
            break;
        }
        nmi_reblock(p, q & APICQ_NMI_UNBLOCK);
        e->reason = VCPU_EXIT_MMIO;             /* as if the window were unmapped */
        e->gpa = LAPIC_MMIO_BASE + APICQ_OFFSET(q);
        e->gla = 0;
        e->mmio.read = APICQ_TYPE(q) == APICQ_TYPE_READ;
        e->mmio.write = APICQ_TYPE(q) == APICQ_TYPE_WRITE;
        e->mmio.fetch = false;
        break;
    case EXIT_APIC_WRITE:   /* trap-like: the value is in the virtual-APIC page (29.4.3.3) */
        e->reason = VCPU_EXIT_APIC_WRITE;
        e->apic_write.offset = (uint16_t)APICQ_OFFSET(q);
        break;
    case EXIT_CR_ACCESS:
        if (handle_cr(v, q, len))
            return false;
        e->reason = VCPU_EXIT_CR_ACCESS;
        break;
    case EXIT_XSETBV:
        handle_xsetbv(v, len);
        return false;
    case EXIT_GETSEC: case EXIT_VMCLEAR: case EXIT_VMLAUNCH: case EXIT_VMPTRLD:
    case EXIT_VMPTRST: case EXIT_VMREAD: case EXIT_VMRESUME: case EXIT_VMWRITE:
    case EXIT_VMXOFF: case EXIT_VMXON: case EXIT_INVEPT: case EXIT_INVVPID: case EXIT_VMFUNC:
        e->reason = VCPU_EXIT_VMINSN;
        e->info2 = vmcs_read32(EXIT_INSTRUCTION_INFO);
        break;
    default:                /* EPT misconfiguration, unexpected controls ... */
        e->reason = VCPU_EXIT_UNKNOWN;
        break;
    }
    return true;
}

/* 0 with *e filled at an exit (VCPU_EXIT_NONE: not entered, deliver the
 * interrupt posted meanwhile); -1 with VCPU_EXIT_ENTRY_FAILED: fail.what
 * names the refused state or the VM-instruction error, fail.error is that
 * error's number (VMfailValid) or the basic exit reason 33/34/41. */
int vmx_run(struct vcpu_hw *v, struct vcpu_exit *e)
{
    struct vmx_vcpu *p;

    if (!vmx_load(v)) {
        e->reason = VCPU_EXIT_ENTRY_FAILED;
        e->fail.what = "VMCS cannot be made current on this CPU";
        return -1;
    }
    p = vmx_priv(v);
    for (;;) {
        uint32_t inj = vmcs_read32(ENTRY_INTR_INFO);
        uint64_t injected = inj & INTR_INFO_VALID ?
            inj | (uint64_t)(inj & INTR_INFO_ERROR_CODE ? vmcs_read32(ENTRY_EXCEPTION_ERROR) : 0) << 32 : 0;
        int rc = enter_once(v, p);
        if (rc == NOT_ENTERED) {
            e->reason = VCPU_EXIT_NONE;
            return 0;
        }
        if (rc != ENTERED) {
            uint32_t err = rc == FAIL_VALID ? vmcs_read32(VM_INSTRUCTION_ERROR) : 0;
            e->reason = VCPU_EXIT_ENTRY_FAILED;
            e->fail.what = rc == FAIL_VALID ? vmx_insn_error_name(err)
                                            : "VMfailInvalid: no current VMCS";
            e->fail.error = err;
            printk("vmx: %s failed: %s (VM-instruction error %u)\n",
                   v->launched ? "VMRESUME" : "VMLAUNCH", e->fail.what, err);
            return -1;
        }
        if (decode_exit(v, p, e)) {
            uint32_t idt = vmcs_read32(IDT_VECTORING_INFO);
            e->rip = vmcs_readnat(GUEST_RIP);
            e->rflags = vmcs_readnat(GUEST_RFLAGS);
            e->cr3 = vmcs_readnat(GUEST_CR3);
            e->intinfo = idt & INTR_INFO_VALID ?
                idt | (uint64_t)(idt & INTR_INFO_ERROR_CODE ? vmcs_read32(IDT_VECTORING_ERROR) : 0) << 32 : 0;
            e->injected = injected;
            if ((vmcs_read16(GUEST_CS_SEL) == SEL_KCODE) && vcpu_host_state_saved(e)) {
                vmcs_write32(ENTRY_INTR_INFO, 0);   /* nothing of it goes back in */
                v->reinject = 0;
            }
            return e->reason == VCPU_EXIT_ENTRY_FAILED ? -1 : 0;
        }
        p->internal_exits++;
    }
}
