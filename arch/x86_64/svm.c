/*
 * The AMD SVM backend of the vCPU interface (arch/vcpu.h), part 1: feature
 * discovery, per-CPU enable, VM set-up (nested page tables, IOPM, MSRPM),
 * vCPU set-up (VMCB, ASID, FPU area), register access and event injection.
 * Entry, exit decoding, guest-state checks and the dump: svm_run.c; GPR
 * switching: svm_entry.S; VMCB layout and names: arch/svm.h.
 *
 * Guest start states: any protected-mode state (paging on or off, e.g. the
 * Multiboot1 state) and 64-bit long mode.  Real mode is not supported as a
 * start state: QEMU TCG runs real mode under nested paging unreliably (a
 * tiny real-mode smoke test in svm_selftest.c does pass on QEMU and Bochs),
 * and the Linux boot protocol enters in 64-bit mode anyway.
 *
 * EFER.SVME: the APM requires it set in the guest's VMCB EFER (15.5.1).  It
 * is forced on by set_sregs and hidden from get_sregs, so generic code sees
 * the guest's architectural EFER.
 *
 * Callers and locks as in arch/vcpu.h.  cpu_enable may run on several CPUs
 * at once; the one-time probe is serialized by probe_lock.
 */
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <nethv/spinlock.h>
#include <arch/cpu.h>
#include <arch/regs.h>
#include <arch/s2pt.h>
#include <arch/svm.h>
#include <arch/x86.h>

struct svm_caps svm_caps;
uint64_t svm_host_area[MAX_CPUS];       /* per CPU: VMSAVE area for host FS/GS/TR/... */
static uint64_t hsave_area[MAX_CPUS];   /* per CPU: VM_HSAVE_PA page */
static spinlock_t probe_lock = SPINLOCK_INIT;
static int probe_result = 1;            /* 1: not probed yet, 0: usable, -1: not */

#define GUEST_PAT       0x0007040600070406ull   /* the PAT's power-on value */
#define RFLAGS_FIXED    (1ull << 1)
#define AR_P            (1u << 7)


static int probe(void)
{
    uint32_t maxext = cpuid(0x80000000, 0).eax;
    if (maxext < SVM_CPUID_LEAF) {
        printk("svm: CPUID leaf 0x8000000a missing (highest extended leaf %#x)\n", maxext);
        return -1;
    }
    struct cpuid_regs x1 = cpuid(0x80000001, 0);
    if (!(x1.ecx & CPUIDX1_ECX_SVM)) {
        printk("svm: CPUID 0x80000001 ECX.SVM=0: this CPU has no SVM\n");
        return -1;
    }
    struct cpuid_regs s = cpuid(SVM_CPUID_LEAF, 0);
    svm_caps.revision = s.eax & 0xff;
    svm_caps.nasids = s.ebx;
    svm_caps.features = s.edx;
    svm_caps.nx = (x1.edx & CPUIDX1_EDX_NX) != 0;
    svm_caps.rdtscp = (x1.edx & CPUIDX1_EDX_RDTSCP) != 0;
    svm_caps.xsave = (read_cr4() & CR4_OSXSAVE) != 0;
    svm_caps.xcr0 = svm_caps.xsave ? xgetbv(0) : 0;
    svm_caps.xsaveopt = svm_caps.xsave && (cpuid(0xd, 1).eax & 1);
    svm_caps.maxphyaddr = maxext >= 0x80000008 ? (cpuid(0x80000008, 0).eax & 0xff) : 36;
    printk("svm: revision %u, %u ASIDs, NPT %s, NRIP-save %s, flush-by-ASID %s, decode assists %s, "
           "VMCB clean %s, vGIF %s (CPUID 0x8000000a EDX %#x)\n",
           svm_caps.revision, svm_caps.nasids, svm_has_npt() ? "yes" : "no",
           svm_has_nrips() ? "yes" : "no", svm_has_flush_by_asid() ? "yes" : "no",
           svm_has_decode_assists() ? "yes" : "no", svm_has_vmcb_clean() ? "yes" : "no",
           (svm_caps.features & SVM_FEAT_VGIF) ? "yes" : "no", svm_caps.features);
    printk("svm: guest FPU state via %s (XCR0 %#llx), MAXPHYADDR %u\n",
           svm_caps.xsaveopt ? "XRSTOR/XSAVEOPT" : svm_caps.xsave ? "XRSTOR/XSAVE" : "FXRSTOR/FXSAVE",
           (unsigned long long)svm_caps.xcr0, svm_caps.maxphyaddr);
    if (!svm_has_npt()) {
        printk("svm: no nested paging (CPUID 0x8000000a EDX.NP=0): the SVM backend requires NPT\n");
        return -1;
    }
    if (svm_caps.nasids < 2) {
        printk("svm: CPUID 0x8000000a EBX reports %u ASIDs: need at least 2\n", svm_caps.nasids);
        return -1;
    }
    if (svm_caps.xsave) {
        uint32_t need = cpuid(0xd, 0).ebx;
        if (need > PAGE_SIZE) {
            printk("svm: XSAVE area for XCR0 %#llx is %u bytes; the guest FPU area is 4 KiB\n",
                   (unsigned long long)svm_caps.xcr0, need);
            return -1;
        }
    }
    return 0;
}

static int probe_once(void)
{
    uint64_t f = spin_lock_irqsave(&probe_lock);
    if (probe_result > 0)
        probe_result = probe();
    int r = probe_result;
    spin_unlock_irqrestore(&probe_lock, f);
    return r;
}

/* Per CPU, before any vCPU runs there (15.4 "Enabling SVM"). */
static int svm_cpu_enable(void)
{
    unsigned cpu = this_cpu()->cpu;
    if (probe_once())
        return -1;
    uint64_t vmcr = rdmsr(MSR_VM_CR);
    if (vmcr & VM_CR_SVMDIS) {
        printk("svm: CPU %u: SVM disabled by firmware (VM_CR.SVMDIS=1%s)\n", cpu,
               (vmcr & VM_CR_LOCK) ? ", VM_CR.LOCK=1: enable SVM in the firmware setup" : "");
        return -1;
    }
    bool first = !hsave_area[cpu];
    if (first) {
        hsave_area[cpu] = page_alloc(1, PAGE_SIZE, 0);
        svm_host_area[cpu] = page_alloc(1, PAGE_SIZE, 0);
        if (!hsave_area[cpu] || !svm_host_area[cpu]) {
            printk("svm: CPU %u: out of memory for the host save areas\n", cpu);
            return -1;
        }
    }
    /* NXE: the nested walk honours NX in NPT entries only with the host's EFER.NXE */
    uint64_t efer = rdmsr(MSR_EFER) | EFER_SVME | (svm_caps.nx ? EFER_NXE : 0);
    wrmsr(MSR_EFER, efer);
    wrmsr(MSR_VM_HSAVE_PA, hsave_area[cpu]);
    if (first)
        printk("svm: CPU %u: EFER.SVME set, VM_HSAVE_PA %#llx\n", cpu,
               (unsigned long long)hsave_area[cpu]);
    return 0;
}

/* ---- nested page tables: the long-mode PTE format (15.25.5), U=1 everywhere ---- */

static uint64_t npt_table(uint64_t pa)
{
    return pa | PTE_P | PTE_W | PTE_U;
}

/* NPT has no "not readable": any of S2_* maps the page readable. */
static uint64_t npt_leaf(uint64_t pa, unsigned prot, unsigned level)
{
    if (!(prot & S2_RWX))
        return 0;
    uint64_t e = pa | PTE_P | PTE_U;
    if (prot & S2_WRITE)
        e |= PTE_W;
    if (!(prot & S2_EXEC) && svm_caps.nx)
        e |= PTE_NX;
    if (level == 2)
        e |= PTE_PS;
    return e;
}

static bool npt_present(uint64_t e) { return e & PTE_P; }
static bool npt_is_leaf(uint64_t e, unsigned level) { return level > 1 && (e & PTE_PS); }

static const struct s2pt_format npt_format = {
    .table = npt_table, .leaf = npt_leaf, .present = npt_present, .is_leaf = npt_is_leaf,
};

static void svm_msr_passthrough(struct vm_hw *vm, uint32_t msr, bool pass);

static int svm_vm_init(struct vm_hw *vm)
{
    if (probe_once())
        return -1;
    vm->io_bitmap = page_alloc(SVM_IOPM_PAGES, PAGE_SIZE, 0);
    vm->msr_bitmap = page_alloc(SVM_MSRPM_PAGES, PAGE_SIZE, 0);
    vm->s2_root = page_alloc(1, PAGE_SIZE, 0);
    if (!vm->io_bitmap || !vm->msr_bitmap || !vm->s2_root) {
        printk("svm: vm_init: out of memory for the IOPM, MSRPM or NPT root\n");
        if (vm->io_bitmap)
            page_free(vm->io_bitmap, SVM_IOPM_PAGES);
        if (vm->msr_bitmap)
            page_free(vm->msr_bitmap, SVM_MSRPM_PAGES);
        if (vm->s2_root)
            page_free(vm->s2_root, 1);
        vm->io_bitmap = vm->msr_bitmap = vm->s2_root = 0;
        return -1;
    }
    vm->s2_pages = 1;
    vm->tag = 0;                /* set to the first vCPU's ASID */
    /* intercept every port and every MSR until passed through */
    memset(phys_to_virt(vm->io_bitmap), 0xff, SVM_IOPM_PAGES * PAGE_SIZE);
    memset(phys_to_virt(vm->msr_bitmap), 0xff, SVM_MSRPM_PAGES * PAGE_SIZE);
    /* Except the MSRs whose guest values live in the VMCB save area, switched
     * by VMRUN/#VMEXIT (PAT as g_pat under NPT, SYSENTER_*, FS/GS base) or by
     * VMLOAD/VMSAVE of the guest VMCB around VMRUN (svm_entry.S: KernelGsBase,
     * STAR, LSTAR, CSTAR, SFMASK).  TSC_AUX is not in the VMCB: intercepted. */
    static const uint32_t pass[] = {
        MSR_IA32_PAT, MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
        MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK,
    };
    for (unsigned i = 0; i < ARRAY_SIZE(pass); i++)
        svm_msr_passthrough(vm, pass[i], true);
    return 0;
}

static int svm_vm_map(struct vm_hw *vm, uint64_t gpa, uint64_t hpa, uint64_t len, unsigned prot)
{
    if (s2pt_map(&vm->s2_root, &vm->s2_pages, &npt_format, gpa, hpa, len, prot)) {
        printk("svm: NPT map GPA %#llx len %#llx -> HPA %#llx failed (unaligned, out of memory "
               "or inside an existing 2 MiB mapping)\n", (unsigned long long)gpa,
               (unsigned long long)len, (unsigned long long)hpa);
        return -1;
    }
    return 0;
}

/* IOPM: one bit per port, set = intercept (15.10.1). */
static void svm_io_passthrough(struct vm_hw *vm, uint16_t port, bool pass)
{
    uint8_t *map = phys_to_virt(vm->io_bitmap);
    if (pass)
        map[port / 8] &= (uint8_t)~(1u << (port % 8));
    else
        map[port / 8] |= (uint8_t)(1u << (port % 8));
}

/* MSRPM: two bits per MSR (read, write) in three 2 KiB ranges (15.11.1). */
static void svm_msr_passthrough(struct vm_hw *vm, uint32_t msr, bool pass)
{
    uint32_t base;
    if (msr <= 0x1fff)
        base = 0x0000;
    else if (msr >= 0xc0000000 && msr <= 0xc0001fff)
        base = 0x0800;
    else if (msr >= 0xc0010000 && msr <= 0xc0011fff)
        base = 0x1000;
    else {
        printk("svm: MSR %#x is outside the MSRPM ranges: always intercepted\n", msr);
        return;
    }
    uint32_t bit = (msr & 0x1fff) * 2;
    uint8_t *b = (uint8_t *)phys_to_virt(vm->msr_bitmap) + base + bit / 8;
    uint8_t mask = (uint8_t)(3u << (bit % 8));
    if (pass)
        *b &= (uint8_t)~mask;
    else
        *b |= mask;
}

/* ---- segments: VMX access rights <-> VMCB attrib ---- */

/* An unusable (NULL) segment gets attrib 0, as 15.5.1 asks. */
uint16_t svm_attrib_from_ar(uint32_t ar)
{
    if (ar & SEG_AR_UNUSABLE)
        return 0;
    return (uint16_t)((ar & 0xff) | ((ar >> 4) & 0xf00));
}

/* P=0 reads back as unusable (CS and TR never are: their P is ignored). */
uint32_t svm_ar_from_attrib(uint16_t attrib)
{
    uint32_t ar = (attrib & 0xffu) | ((attrib & 0xf00u) << 4);
    if (!(attrib & AR_P))
        ar |= SEG_AR_UNUSABLE;
    return ar;
}

/* The eight segment registers, in the same order in both */
#define SEGS(p) { &(p)->cs, &(p)->ds, &(p)->es, &(p)->fs, &(p)->gs, &(p)->ss, &(p)->tr, &(p)->ldtr }

/* ---- registers ---- */

static void svm_get_regs(struct vcpu_hw *v, struct vcpu_regs *r)
{
    const struct vmcb *b = svm_vmcb(v);
    r->gpr = v->gpr;            /* gpr.rax is kept in sync with the VMCB by svm_run */
    r->rsp = b->save.rsp;
    r->rip = b->save.rip;
    r->rflags = b->save.rflags;
}

static void svm_set_regs(struct vcpu_hw *v, const struct vcpu_regs *r)
{
    struct vmcb *b = svm_vmcb(v);
    v->gpr = r->gpr;
    b->save.rax = r->gpr.rax;
    /* moving RIP retires an emulated instruction: an STI/MOV SS shadow ends */
    if (r->rip != b->save.rip)
        b->ctl.int_state &= ~SVM_INTSTATE_SHADOW;
    b->save.rsp = r->rsp;
    b->save.rip = r->rip;
    b->save.rflags = r->rflags | RFLAGS_FIXED;
}

static void svm_get_sregs(struct vcpu_hw *v, struct vcpu_sregs *s)
{
    const struct vmcb_save *g = &svm_vmcb(v)->save;
    struct vcpu_seg *const d[] = SEGS(s);
    const struct vmcb_seg *const from[] = SEGS(g);
    for (unsigned i = 0; i < ARRAY_SIZE(d); i++)
        *d[i] = (struct vcpu_seg){ from[i]->sel, svm_ar_from_attrib(from[i]->attrib), from[i]->limit,
                                   from[i]->base };
    s->cs.ar &= ~SEG_AR_UNUSABLE;       /* CS and TR are never NULL (P ignored) */
    s->tr.ar &= ~SEG_AR_UNUSABLE;
    s->gdt = (struct vcpu_dtable){ g->gdtr.base, (uint16_t)g->gdtr.limit };
    s->idt = (struct vcpu_dtable){ g->idtr.base, (uint16_t)g->idtr.limit };
    s->cr0 = g->cr0;
    s->cr2 = g->cr2;
    s->cr3 = g->cr3;
    s->cr4 = g->cr4;
    s->xcr0 = v->xcr0;
    s->efer = g->efer & ~EFER_SVME;
}

static void svm_set_sregs(struct vcpu_hw *v, const struct vcpu_sregs *s)
{
    struct vmcb_save *g = &svm_vmcb(v)->save;
    struct vmcb_seg *const d[] = SEGS(g);
    const struct vcpu_seg *const from[] = SEGS(s);
    for (unsigned i = 0; i < ARRAY_SIZE(d); i++)
        *d[i] = (struct vmcb_seg){ from[i]->sel, svm_attrib_from_ar(from[i]->ar), from[i]->limit,
                                   from[i]->base };
    g->gdtr = (struct vmcb_seg){ 0, 0, s->gdt.limit, s->gdt.base };
    g->idtr = (struct vmcb_seg){ 0, 0, s->idt.limit, s->idt.base };
    /* an emulated MOV to CR4 changing paging bits drops the TLB, as the CPU would */
    if ((g->cr4 ^ s->cr4) & CR4_TLB_BITS)
        v->flush_on_entry = true;
    g->cr0 = s->cr0;
    g->cr2 = s->cr2;
    g->cr3 = s->cr3;
    g->cr4 = s->cr4;
    /* SVME must stay set; LMA follows LME and CR0.PG as in hardware */
    uint64_t efer = (s->efer | EFER_SVME) & ~EFER_LMA;
    if ((efer & EFER_LME) && (s->cr0 & CR0_PG))
        efer |= EFER_LMA;
    g->efer = efer;
    /* CPL is SS.DPL in protected mode (the VMCB keeps it separately) */
    g->cpl = (s->cr0 & CR0_PE) ? (uint8_t)((s->ss.ar >> 5) & 3) : 0;
}

/* ---- vCPU set-up ---- */

/* The state before set_sregs: flat 32-bit protected mode, paging off. */
static const struct vcpu_sregs initial_sregs = {
    .cs = { 0x08, 0xc09b, 0xffffffffu, 0 },
    .ds = { 0x10, 0xc093, 0xffffffffu, 0 }, .es = { 0x10, 0xc093, 0xffffffffu, 0 },
    .fs = { 0x10, 0xc093, 0xffffffffu, 0 }, .gs = { 0x10, 0xc093, 0xffffffffu, 0 },
    .ss = { 0x10, 0xc093, 0xffffffffu, 0 },
    .tr = { 0, 0x8b, 0xffff, 0 },
    .ldtr = { 0, SEG_AR_UNUSABLE | 0x82, 0xffff, 0 },
    .gdt = { 0, 0xffff }, .idt = { 0, 0xffff },
    .cr0 = CR0_PE | CR0_ET,
};

static int svm_vcpu_init(struct vm_hw *vm, struct vcpu_hw *v, unsigned index)
{
    if (probe_once())
        return -1;
    uint64_t vmcb_pa = page_alloc(1, PAGE_SIZE, 0);
    uint64_t fpu_pa = page_alloc(1, PAGE_SIZE, 0);
    if (!vmcb_pa || !fpu_pa) {
        printk("svm: vCPU %u: out of memory for the VMCB / FPU area\n", index);
        if (vmcb_pa)
            page_free(vmcb_pa, 1);
        if (fpu_pa)
            page_free(fpu_pa, 1);
        return -1;
    }
    v->ctl_pa = vmcb_pa;
    v->ctl = phys_to_virt(vmcb_pa);
    v->vm = vm;
    v->fpu_area = fpu_pa;
    v->tag = svm_asid_alloc();
    if (!vm->tag)
        vm->tag = v->tag;
    v->launched = false;
    v->flush_on_entry = true;
    v->irq_window = false;
    v->xcr0 = 1;                        /* x87 only, the reset value */
    memset(&v->gpr, 0, sizeof(v->gpr));

    vcpu_fpu_image_init(fpu_pa, 0);     /* XSTATE_BV 0: every component in its initial state */

    struct vmcb *b = svm_vmcb(v);
    struct vmcb_control *c = &b->ctl;
    /* RDPMC, INVLPGA, MONITOR/MWAIT: refused (kernel/exit.c); INVD and
     * WBINVD: no-ops; #DB and #AC: reflected, so that a guest's #DB or #AC
     * delivery loop (CVE-2015-8104, CVE-2015-5307) is a loop of exits the
     * host interrupts, not one inside the CPU */
    c->intercept_exc = (1u << EXC_DB) | (1u << EXC_AC);
    c->intercept1 = SVM_INT_INTR | SVM_INT_NMI | SVM_INT_SMI | SVM_INT_INIT | SVM_INT_CPUID |
                    SVM_INT_INVD | SVM_INT_HLT | SVM_INT_IOIO_PROT | SVM_INT_MSR_PROT |
                    SVM_INT_SHUTDOWN | SVM_INT_RDPMC | SVM_INT_INVLPGA;
    c->intercept2 = SVM_INT2_VMRUN | SVM_INT2_VMMCALL | SVM_INT2_VMLOAD | SVM_INT2_VMSAVE |
                    SVM_INT2_STGI | SVM_INT2_CLGI | SVM_INT2_SKINIT | SVM_INT2_XSETBV |
                    SVM_INT2_WBINVD | SVM_INT2_MONITOR | SVM_INT2_MWAIT | SVM_INT2_MWAIT_ARMED;
    /* MOV to CR4: only the bits the guest's CPUID grants (kernel/exit.c, arch/cr4.h) */
    c->intercept_cr = SVM_INT_CR_WRITE(4);
    c->iopm_base_pa = vm->io_bitmap;
    c->msrpm_base_pa = vm->msr_bitmap;
    c->tsc_offset = v->tsc_offset;
    c->asid = v->tag;
    c->tlb_control = SVM_TLB_NOTHING;
    c->int_ctl = SVM_VINT_MASKING;     /* host IF governs physical interrupts */
    c->np_ctl = SVM_NP_ENABLE;
    c->n_cr3 = vm->s2_root;
    c->clean = 0;                       /* nothing cached: VMCB clean bits unused */

    struct vmcb_save *g = &b->save;
    svm_set_sregs(v, &initial_sregs);
    g->rflags = RFLAGS_FIXED;
    g->dr6 = DR6_FIXED1;
    g->dr7 = DR7_INIT;
    g->g_pat = GUEST_PAT;
    return 0;
}

/* ---- events (15.20 "Event Injection", 15.21.4 virtual interrupts) ---- */

static bool svm_inject(struct vcpu_hw *v, const struct vcpu_event *ev)
{
    struct vmcb_control *c = &svm_vmcb(v)->ctl;
    if (c->eventinj & SVM_EVT_VALID)
        return false;
    uint64_t inj = SVM_EVT_VALID | ev->vector;
    switch (ev->type) {
    case VCPU_EVENT_EXTINT:
        inj |= SVM_EVT_TYPE_INTR;
        break;
    case VCPU_EVENT_NMI:
        /* the guest blocks NMIs until its IRET (15.20: EVENTINJ does not
         * track it without vNMI) */
        inj = SVM_EVT_VALID | SVM_EVT_TYPE_NMI | 2;
        v->nmi_blocked = true;
        v->nmi_iret_seen = false;
        c->intercept1 |= SVM_INT_IRET;
        break;
    case VCPU_EVENT_EXCEPTION:
        if (ev->vector > 31 || ev->vector == 2) {
            printk("svm: inject: vector %u is not an exception\n", ev->vector);
            return false;
        }
        inj |= SVM_EVT_TYPE_EXCEPTION;
        if (ev->has_error)
            inj |= SVM_EVT_EV | ((uint64_t)ev->error << SVM_EVT_ERROR_SHIFT);
        break;
    default:
        printk("svm: inject: unknown event type %d\n", (int)ev->type);
        return false;
    }
    c->eventinj = inj;
    return true;
}

static bool svm_can_inject_irq(struct vcpu_hw *v)
{
    const struct vmcb *b = svm_vmcb(v);
    return (b->save.rflags & RFLAGS_IF) && !(b->ctl.int_state & SVM_INTSTATE_SHADOW) &&
           !(b->ctl.eventinj & SVM_EVT_VALID);
}

/* Interrupt window: a virtual INTR (V_IRQ, highest priority, TPR ignored) is
 * pending; the guest "takes" it as soon as it is interruptible, which the
 * VINTR intercept turns into an exit.  svm_run clears it on that exit. */
static void svm_set_irq_window(struct vcpu_hw *v, bool on)
{
    struct vmcb_control *c = &svm_vmcb(v)->ctl;
    if (on) {
        c->int_ctl = (c->int_ctl & ~SVM_VINT_PRIO_MASK) | SVM_VINT_IRQ |
                     (0xfull << SVM_VINT_PRIO_SHIFT) | SVM_VINT_IGN_TPR;
        c->intercept1 |= SVM_INT_VINTR;
    } else {
        c->int_ctl &= ~(SVM_VINT_IRQ | SVM_VINT_PRIO_MASK | SVM_VINT_IGN_TPR);
        c->intercept1 &= ~SVM_INT_VINTR;
    }
    v->irq_window = on;
}

static void svm_reset_events(struct vcpu_hw *v)
{
    struct vmcb_control *c = &svm_vmcb(v)->ctl;
    c->eventinj = 0;
    c->int_state = 0;
    c->intercept1 &= ~SVM_INT_IRET;
    svm_vmcb(v)->save.dr6 = DR6_FIXED1;         /* INIT (SDM 3A table 9-1) */
    svm_vmcb(v)->save.dr7 = DR7_INIT;
    vcpu_debug_regs_reset(v);
    v->reinject = 0;
    v->nmi_blocked = v->nmi_iret_seen = false;
    __atomic_store_n(&v->nmi_pending, 0, __ATOMIC_SEQ_CST);
    svm_set_irq_window(v, false);
}

/* An intercepted #DB has updated the VMCB's DR6 already (KVM's
 * db_interception relies on it too); #AC's error code is 0. */
static void svm_reflect_exception(struct vcpu_hw *v, const struct vcpu_exit *e)
{
    struct vmcb_control *c = &svm_vmcb(v)->ctl;
    c->eventinj = 0;
    v->reinject = 0;
    const struct vcpu_event ev = { .type = VCPU_EVENT_EXCEPTION, .vector = e->exc.vector,
                                   .has_error = e->exc.has_error, .error = e->exc.error };
    svm_inject(v, &ev);
}

/* SVM keeps the guest's DR6 in the VMCB (15.5.1); the trap is an injected #DB */
static void svm_single_step(struct vcpu_hw *v)
{
    struct vmcb *b = svm_vmcb(v);
    b->save.dr6 |= DR6_BS;
    const struct vcpu_event ev = { .type = VCPU_EVENT_EXCEPTION, .vector = 1 };
    if (!svm_inject(v, &ev))
        printk("svm: single-step #DB not raised: an event is already queued\n");
}

static bool svm_can_inject_nmi(struct vcpu_hw *v)
{
    const struct vmcb *b = svm_vmcb(v);
    return !v->nmi_blocked && !(b->ctl.int_state & SVM_INTSTATE_SHADOW) &&
           !(b->ctl.eventinj & SVM_EVT_VALID);
}

/* No NMI-window exit on SVM: while blocked, the IRET intercept (set by the
 * injection) starts the unblocking; a shadow or a queued event is over by
 * the next exit (the host tick at the latest). */
static void svm_set_nmi_window(struct vcpu_hw *v, bool on)
{
}

static void svm_set_tsc_offset(struct vcpu_hw *v, uint64_t off)
{
    v->tsc_offset = off;
    svm_vmcb(v)->ctl.tsc_offset = off;
}

/* SVM has no preemption timer: the host's periodic LAPIC tick (INTR
 * intercept -> VCPU_EXIT_EXTINT) bounds a time slice instead. */
static void svm_set_preempt_timer(struct vcpu_hw *v, uint64_t tsc_ticks)
{
}

const struct vcpu_backend svm_backend = {
    .name = "SVM",
    .cpu_enable = svm_cpu_enable,
    .vm_init = svm_vm_init,
    .vm_map = svm_vm_map,
    .vcpu_init = svm_vcpu_init,
    .get_regs = svm_get_regs,
    .set_regs = svm_set_regs,
    .get_sregs = svm_get_sregs,
    .set_sregs = svm_set_sregs,
    .run = svm_run,
    .inject = svm_inject,
    .can_inject_irq = svm_can_inject_irq,
    .set_irq_window = svm_set_irq_window,
    .reset_events = svm_reset_events,
    .single_step = svm_single_step,
    .reflect_exception = svm_reflect_exception,
    .can_inject_nmi = svm_can_inject_nmi,
    .set_nmi_window = svm_set_nmi_window,
    .set_tsc_offset = svm_set_tsc_offset,
    .set_preempt_timer = svm_set_preempt_timer,
    .dump = svm_dump,
    .io_passthrough = svm_io_passthrough,
    .msr_passthrough = svm_msr_passthrough,
};
