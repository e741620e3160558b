/*
 * VMX vCPU set-up and state access: the VMCS (SDM 3C ch. 24) of each vCPU,
 * its host state, controls and guest registers; event injection (26.6).
 * Every call here runs on the vCPU's host CPU (arch/vcpu.h); vmx_load()
 * makes the vCPU's VMCS current there.
 */
#include <stddef.h>
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <nethv/spinlock.h>
#include <arch/cpu.h>
#include <arch/regs.h>
#include <arch/vmx.h>
#include <arch/x86.h>

extern const char vmx_exit_stub[];

/* ---- current VMCS and lazily switched MSRs ---------------------------------- */

bool vmx_load(struct vcpu_hw *v)
{
    struct vmx_percpu *pc = vmx_this_cpu();
    if (pc->current == v)
        return true;
    if (v->host_cpu != this_cpu()->cpu) {
        printk("vmx: vCPU of CPU %u used on CPU %u\n", v->host_cpu, this_cpu()->cpu);
        return false;
    }
    if (!vmx_vmptrld(v->ctl_pa)) {
        printk("vmx: VMPTRLD %#llx failed\n", (unsigned long long)v->ctl_pa);
        return false;
    }
    pc->current = v;
    return true;
}

static const uint32_t lazy_msrs[VMX_LAZY_MSRS] = {
    MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK, MSR_TSC_AUX,
};

static unsigned lazy_count(void)
{
    static unsigned n;      /* TSC_AUX (last) exists only with RDTSCP */
    if (!n)
        n = (cpuid(0x80000001, 0).edx & (1u << 27)) ? VMX_LAZY_MSRS : VMX_LAZY_MSRS - 1;
    return n;
}

/* The guest's SYSCALL/SWAPGS/RDTSCP MSRs stay loaded while the host runs
 * (it uses none of them); swap them only when this CPU changes vCPU. */
void vmx_switch_msrs(struct vcpu_hw *v)
{
    struct vmx_percpu *pc = vmx_this_cpu();
    if (pc->msr_owner == v)
        return;
    if (pc->msr_owner)
        for (unsigned i = 0; i < lazy_count(); i++)
            vmx_priv(pc->msr_owner)->lazy_msr[i] = rdmsr(lazy_msrs[i]);
    for (unsigned i = 0; i < lazy_count(); i++)
        wrmsr(lazy_msrs[i], vmx_priv(v)->lazy_msr[i]);
    pc->msr_owner = v;
}

/* ---- set-up --------------------------------------------------------------------- */

struct dtr { uint16_t limit; uint64_t base; } __attribute__((packed));

/* Host state: this CPU's own GDT, TSS, IDT, per-CPU FS/GS base (gdt.c). */
static void setup_host_state(void)
{
    struct dtr gdtr, idtr;
    uint16_t cs, ss, ds, es, fs, gs, tr;
    __asm__ volatile("sgdt %0; sidt %1" : "=m"(gdtr), "=m"(idtr));
    __asm__ volatile("mov %%cs, %0; mov %%ss, %1; mov %%ds, %2; mov %%es, %3"
                     : "=r"(cs), "=r"(ss), "=r"(ds), "=r"(es));
    __asm__ volatile("mov %%fs, %0; mov %%gs, %1; str %2" : "=r"(fs), "=r"(gs), "=r"(tr));
    const uint64_t *gdt = (const uint64_t *)gdtr.base;
    uint64_t lo = gdt[tr >> 3], hi = gdt[(tr >> 3) + 1];   /* 16-byte TSS descriptor */
    uint64_t tr_base = ((lo >> 16) & 0xffffff) | (((lo >> 56) & 0xff) << 24) | (hi << 32);

    vmcs_writenat(HOST_CR0, read_cr0());
    vmcs_writenat(HOST_CR3, read_cr3());
    vmcs_writenat(HOST_CR4, read_cr4());
    /* selector fields need RPL = TI = 0 (SDM 3C 26.2.3) */
    vmcs_write16(HOST_CS_SEL, cs & ~7);
    vmcs_write16(HOST_SS_SEL, ss & ~7);
    vmcs_write16(HOST_DS_SEL, ds & ~7);
    vmcs_write16(HOST_ES_SEL, es & ~7);
    vmcs_write16(HOST_FS_SEL, fs & ~7);
    vmcs_write16(HOST_GS_SEL, gs & ~7);
    vmcs_write16(HOST_TR_SEL, tr & ~7);
    vmcs_writenat(HOST_FS_BASE, rdmsr(MSR_FS_BASE));
    vmcs_writenat(HOST_GS_BASE, rdmsr(MSR_GS_BASE));
    vmcs_writenat(HOST_TR_BASE, tr_base);
    vmcs_writenat(HOST_GDTR_BASE, gdtr.base);
    vmcs_writenat(HOST_IDTR_BASE, idtr.base);
    vmcs_write32(HOST_IA32_SYSENTER_CS, 0);
    vmcs_writenat(HOST_IA32_SYSENTER_ESP, 0);
    vmcs_writenat(HOST_IA32_SYSENTER_EIP, 0);
    vmcs_write64(HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
    vmcs_write64(HOST_IA32_EFER, rdmsr(MSR_EFER));
    vmcs_writenat(HOST_RIP, (uint64_t)(uintptr_t)vmx_exit_stub);
    /* HOST_RSP: written by vmx_enter at every entry */
}

static void setup_controls(struct vcpu_hw *v)
{
    struct vmx_vcpu *p = vmx_priv(v);
    p->pin = vmx_caps.pin;
    p->proc = vmx_caps.proc;
    p->proc2 = vmx_caps.proc2;
    if (!v->tag)
        p->proc2 &= ~PROC2_VPID;
    vmcs_write32(PIN_BASED_CONTROLS, p->pin);
    vmcs_write32(PROC_BASED_CONTROLS, p->proc);
    vmcs_write32(PROC_BASED_CONTROLS2, p->proc2);
    vmcs_write32(EXIT_CONTROLS, vmx_caps.exit);
    vmcs_write32(ENTRY_CONTROLS, vmx_caps.entry);
    /* #DB and #AC reflected (kernel/exit.c): a guest's delivery loop of
     * either (CVE-2015-8104, CVE-2015-5307) becomes a loop of exits */
    vmcs_write32(EXCEPTION_BITMAP, (1u << EXC_DB) | (1u << EXC_AC));
    vmcs_write32(PAGE_FAULT_ERROR_MASK, 0);
    vmcs_write32(PAGE_FAULT_ERROR_MATCH, 0);
    vmcs_write32(CR3_TARGET_COUNT, 0);
    vmcs_write32(EXIT_MSR_STORE_COUNT, 0);
    vmcs_write32(EXIT_MSR_LOAD_COUNT, 0);
    vmcs_write32(ENTRY_MSR_LOAD_COUNT, 0);
    vmcs_write32(ENTRY_INTR_INFO, 0);
    vmcs_write64(IO_BITMAP_A, v->vm->io_bitmap);
    vmcs_write64(IO_BITMAP_B, v->vm->io_bitmap + PAGE_SIZE);
    vmcs_write64(MSR_BITMAP, v->vm->msr_bitmap);
    vmcs_write64(EPT_POINTER, vmx_eptp(v->vm));
    if (p->proc2 & PROC2_VPID)
        vmcs_write16(VPID, v->tag);
    if (p->proc & PROC_TPR_SHADOW) {    /* guest CR8 -> VTPR, no exits (29.3) */
        vmcs_write64(VIRTUAL_APIC_ADDR, v->ctl_pa + 2 * PAGE_SIZE);
        vmcs_write32(TPR_THRESHOLD, 0);
    }
    vmcs_write64(TSC_OFFSET, 0);
    vmcs_writenat(CR0_GUEST_HOST_MASK, vmx_caps.cr0_mask);
    /* host-owned too: every bit the guest's CPUID does not grant, so that
     * setting one exits and #GPs (emulate_cr4) */
    vmcs_writenat(CR4_GUEST_HOST_MASK, vmx_caps.cr4_mask | (~v->vm->cr4_allowed & 0xffffffffull));
    vmcs_write64(VMCS_LINK_POINTER, ~0ull);
}

static void vmx_set_sregs(struct vcpu_hw *v, const struct vcpu_sregs *s);

/* The x2APIC MSRs the CPU virtualizes (29.5), passed through the VM's MSR
 * bitmap -- only while every vCPU with a virtual APIC is in x2APIC mode:
 * a vCPU in xAPIC mode runs without "virtualize x2APIC mode", and an MSR
 * it could reach unintercepted would be the physical APIC's. */
static spinlock_t x2apic_lock;

static void x2apic_msrs(struct vm_hw *vm, bool pass)
{
    vmx_msr_intercept(vm, X2APIC_MSR_TPR, !pass, !pass);
    vmx_msr_intercept(vm, X2APIC_MSR_EOI, true, !pass);          /* RDMSR: #GP by the monitor */
    vmx_msr_intercept(vm, X2APIC_MSR_SELF_IPI, true, !pass);
    if (vmx_caps.proc2_apicv & PROC2_APIC_REG_VIRT)
        for (uint32_t m = X2APIC_MSR_ISR0; m <= X2APIC_MSR_IRR7; m++)
            vmx_msr_intercept(vm, m, !pass, true);
}

/* one more (+1) or one fewer (-1) vCPU of the VM outside x2APIC mode */
static void count_non_x2apic(struct vm_hw *vm, int d)
{
    uint64_t f = spin_lock_irqsave(&x2apic_lock);
    unsigned before = vm->non_x2apic_vcpus;
    vm->non_x2apic_vcpus = (unsigned)((int)before + d);
    if (!before != !vm->non_x2apic_vcpus)
        x2apic_msrs(vm, vm->non_x2apic_vcpus == 0);
    spin_unlock_irqrestore(&x2apic_lock, f);
}

static bool has_apic_access(void)
{
    return (vmx_caps.proc2_apicv & (PROC2_VIRT_APIC_ACCESS | PROC2_VIRT_INTR_DELIVERY)) ==
           (PROC2_VIRT_APIC_ACCESS | PROC2_VIRT_INTR_DELIVERY);
}

/* The kernel's virtual-APIC page becomes the VMCS's (TPR shadow: guest
 * CR8 is its TPR at 0x80) and, with VID, the CPU delivers from its IRR
 * (SDM 3C 29.2) and virtualizes the APIC interface of the guest's mode
 * (vmx_set_apic_mode).  Without the APIC-access page (older CPUs), the
 * vCPU keeps "virtualize x2APIC mode" in both modes and the MSRs stay
 * passed through -- deviation: a guest whose APIC is still in xAPIC mode
 * then gets those MSRs virtualized instead of #GP. */
static void vmx_set_vapic(struct vcpu_hw *v, uint64_t pa)
{
    struct vmx_vcpu *p = vmx_priv(v);
    if (!vmx_load(v) || !(p->proc & PROC_TPR_SHADOW) || (pa & (PAGE_SIZE - 1)))
        return;
    v->vapic_pa = pa;
    vmcs_write64(VIRTUAL_APIC_ADDR, pa);
    vmcs_write32(TPR_THRESHOLD, 0);
    if (!vmx_has_apicv())
        return;
    uint32_t apicv = vmx_caps.proc2_apicv & ~(PROC2_VIRT_APIC_ACCESS | PROC2_VIRT_X2APIC);
    p->proc2 |= apicv;
    vmcs_write32(PROC_BASED_CONTROLS2, p->proc2);
    vmcs_write16(GUEST_INTR_STATUS, 0);
    for (unsigned i = 0; i < 4; i++) {
        p->eoi_exit[i] = 0;
        vmcs_write64(EOI_EXIT_BITMAP0 + 2 * i, 0);
    }
    p->apic_mode = ~0ull;
    v->vid = true;
    if (!has_apic_access()) {
        if (vmx_caps.proc2_apicv & PROC2_VIRT_X2APIC) {
            p->proc2 |= PROC2_VIRT_X2APIC;
            vmcs_write32(PROC_BASED_CONTROLS2, p->proc2);
            x2apic_msrs(v->vm, true);
        }
        return;
    }
    /* one APIC-access page per VM, at the xAPIC window (the monitor's LAPIC
     * does not relocate); its contents are never used (29.4) */
    uint64_t f = spin_lock_irqsave(&x2apic_lock);
    if (!v->vm->apic_access_pa) {
        uint64_t page = page_alloc(1, PAGE_SIZE, 0);
        if (page && vmx_vm_map(v->vm, LAPIC_MMIO_BASE, page, PAGE_SIZE, S2_READ | S2_WRITE) == 0)
            v->vm->apic_access_pa = page;
        else
            printk("vmx: no APIC-access page: xAPIC accesses exit as MMIO\n");
    }
    spin_unlock_irqrestore(&x2apic_lock, f);
    if (v->vm->apic_access_pa)
        vmcs_write64(APIC_ACCESS_ADDR, v->vm->apic_access_pa);
    count_non_x2apic(v->vm, +1);        /* apic_mode ~0: not x2APIC until set_apic_mode */
}

/* The guest's APIC mode (IA32_APIC_BASE EN, EXTD; SDM 3A 10.12.1) decides
 * which interface the CPU virtualizes (26.2.1.1: not both):
 *   xAPIC:  "virtualize APIC accesses" -- the window's page is the
 *           APIC-access page: with APIC-register virtualization most
 *           reads come from the virtual-APIC page, EOI and TPR writes are
 *           virtualized, other writes land there and exit trap-like
 *           (APIC-write, to the monitor), the rest exit fault-like
 *           (APIC-access, handled as MMIO);
 *   x2APIC: "virtualize x2APIC mode", the MSRs passed through once all
 *           vCPUs are in x2APIC mode;
 *   off:    neither (the window's page then reads as plain memory: the
 *           APIC-access page, per VM -- deviation: a disabled APIC's
 *           window is unclaimed on hardware). */
static void vmx_set_apic_mode(struct vcpu_hw *v, uint64_t apic_base)
{
    struct vmx_vcpu *p = vmx_priv(v);
    uint64_t mode = apic_base & (APIC_BASE_EN | APIC_BASE_EXTD);
    if (!vmx_load(v) || !v->vid || !has_apic_access() || mode == p->apic_mode)
        return;
    bool x2 = mode == (APIC_BASE_EN | APIC_BASE_EXTD);
    bool was_x2 = p->apic_mode == (APIC_BASE_EN | APIC_BASE_EXTD);
    p->proc2 &= ~(PROC2_VIRT_APIC_ACCESS | PROC2_VIRT_X2APIC);
    if (x2)
        p->proc2 |= vmx_caps.proc2_apicv & PROC2_VIRT_X2APIC;
    else if (mode == APIC_BASE_EN && v->vm->apic_access_pa)
        p->proc2 |= PROC2_VIRT_APIC_ACCESS;
    if (x2 != was_x2)                   /* vm_hw.non_x2apic_vcpus counts !was_x2 */
        count_non_x2apic(v->vm, x2 ? -1 : +1);
    vmcs_write32(PROC_BASED_CONTROLS2, p->proc2);
    p->apic_mode = mode;
}

/* Before each entry.  With VID: the guest interrupt status (RVI, SVI) the
 * CPU evaluates at entry (26.3.2.5, 29.2.1) and the EOI-exit bitmap.
 * Without: a "TPR below threshold" exit (29.1.2) once the guest's CR8
 * write lets the highest pending vector through (RVI here = highest IRR,
 * held back by VTPR); the threshold may not exceed VTPR[7:4] (26.2.1.1). */
static void vmx_set_apic_state(struct vcpu_hw *v, uint16_t intr_status, const uint64_t eoi_exit[4])
{
    struct vmx_vcpu *p = vmx_priv(v);
    if (!vmx_load(v) || !v->vapic_pa || !(p->proc & PROC_TPR_SHADOW))
        return;
    if (!v->vid) {
        uint32_t vtpr = *(volatile uint32_t *)phys_to_virt(v->vapic_pa + 0x80);
        uint32_t irr_class = (intr_status & 0xff) >> 4, tpr_class = (vtpr & 0xff) >> 4;
        vmcs_write32(TPR_THRESHOLD, irr_class && irr_class <= tpr_class ? irr_class : 0);
        return;
    }
    vmcs_write16(GUEST_INTR_STATUS, intr_status);
    for (unsigned i = 0; i < 4; i++)
        if (p->eoi_exit[i] != eoi_exit[i]) {
            p->eoi_exit[i] = eoi_exit[i];
            vmcs_write64(EOI_EXIT_BITMAP0 + 2 * i, eoi_exit[i]);
        }
}

/* The architectural reset state (SDM 3A 9.1.1) until the caller sets one. */
static void setup_guest_reset_state(struct vcpu_hw *v)
{
    struct vcpu_sregs s;
    memset(&s, 0, sizeof(s));
    s.cs = (struct vcpu_seg){ 0xf000, 0x9b, 0xffff, 0xffff0000ull };
    s.ds = s.es = s.fs = s.gs = s.ss = (struct vcpu_seg){ 0, 0x93, 0xffff, 0 };
    s.tr = (struct vcpu_seg){ 0, 0x8b, 0xffff, 0 };
    s.ldtr = (struct vcpu_seg){ 0, 0x82, 0xffff, 0 };
    s.gdt.limit = s.idt.limit = 0xffff;
    s.cr0 = CR0_CD | CR0_NW | CR0_ET;
    vmx_set_sregs(v, &s);
    vmcs_writenat(GUEST_RIP, 0xfff0);
    vmcs_writenat(GUEST_RSP, 0);
    vmcs_writenat(GUEST_RFLAGS, RFLAGS_FIXED1);
    vmx_priv(v)->regs_cached = false;
    vmcs_writenat(GUEST_DR7, 0x400);
    vmcs_write64(GUEST_IA32_DEBUGCTL, 0);
    vmcs_write64(GUEST_IA32_PAT, 0x0007040600070406ull);
    vmcs_write32(GUEST_IA32_SYSENTER_CS, 0);
    vmcs_writenat(GUEST_IA32_SYSENTER_ESP, 0);
    vmcs_writenat(GUEST_IA32_SYSENTER_EIP, 0);
    vmcs_write32(GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
    vmcs_write32(GUEST_INTERRUPTIBILITY, 0);
    vmcs_writenat(GUEST_PENDING_DBG_EXCEPTIONS, 0);
}

static int vmx_vcpu_init(struct vm_hw *vm, struct vcpu_hw *v, unsigned index)
{
    if (!vmx_this_cpu()->on) {
        printk("vmx: vcpu_init on CPU %u without cpu_enable\n", this_cpu()->cpu);
        return -1;
    }
    if (index >= VMX_VPIDS_PER_VM && vm->tag) {
        printk("vmx: vCPU index %u: no VPID\n", index);
        return -1;
    }
    uint64_t pa = page_alloc(VMX_VCPU_PAGES, PAGE_SIZE, 0);
    uint64_t fpu = page_alloc(1, PAGE_SIZE, 0);
    if (!pa || !fpu) {
        printk("vmx: out of memory for a vCPU\n");
        return -1;
    }
    v->ctl_pa = pa;
    v->ctl = phys_to_virt(pa);
    v->vm = vm;
    v->fpu_area = fpu;
    v->tag = vm->tag ? vm->tag + index : 0;
    v->host_cpu = this_cpu()->cpu;
    v->launched = false;
    v->irq_window = false;
    v->vid = false;
    v->tsc_offset = 0;
    vcpu_fpu_image_init(fpu, 3);        /* x87 and SSE marked present for XRSTOR (SDM 1 13.4) */
    v->xcr0 = 1;                        /* x87 only, the reset value */

    *(uint32_t *)v->ctl = VMX_BASIC_REVISION(vmx_caps.basic);
    if (!vmx_vmclear(pa)) {
        printk("vmx: VMCLEAR %#llx failed\n", (unsigned long long)pa);
        return -1;
    }
    if (!vmx_load(v))
        return -1;
    setup_host_state();
    setup_controls(v);
    if (v->vapic_pa)
        vmx_set_vapic(v, v->vapic_pa);
    setup_guest_reset_state(v);
    vmx_flush_tags(v);          /* stale translations of a reused EPTP/VPID */
    return 0;
}

/* ---- registers -------------------------------------------------------------------- */

/* RIP/RSP/RFLAGS are read once per exit: most exits read-modify-write them. */
struct vmx_vcpu *vmx_regs(struct vcpu_hw *v)
{
    struct vmx_vcpu *p = vmx_priv(v);
    if (!p->regs_cached) {
        p->rip = vmcs_readnat(GUEST_RIP);
        p->rsp = vmcs_readnat(GUEST_RSP);
        p->rflags = vmcs_readnat(GUEST_RFLAGS);
        p->regs_cached = true;
    }
    return p;
}

/* Moving RIP completes the emulated instruction: an STI/MOV-SS shadow
 * covered only that instruction (SDM 3C 24.4.2). */
void vmx_set_rip(struct vcpu_hw *v, uint64_t rip)
{
    struct vmx_vcpu *p = vmx_regs(v);
    if (rip == p->rip)
        return;
    p->rip = rip;
    vmcs_writenat(GUEST_RIP, rip);
    uint32_t intr = vmcs_read32(GUEST_INTERRUPTIBILITY);
    if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS))
        vmcs_write32(GUEST_INTERRUPTIBILITY, intr & ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS));
}

static void vmx_get_regs(struct vcpu_hw *v, struct vcpu_regs *r)
{
    memset(r, 0, sizeof(*r));
    if (!vmx_load(v))
        return;
    struct vmx_vcpu *p = vmx_regs(v);
    r->gpr = v->gpr;
    r->rsp = p->rsp;
    r->rip = p->rip;
    r->rflags = p->rflags;
}

static void vmx_set_regs(struct vcpu_hw *v, const struct vcpu_regs *r)
{
    if (!vmx_load(v))
        return;
    struct vmx_vcpu *p = vmx_regs(v);
    uint64_t rflags = (r->rflags & RFLAGS_VALID) | RFLAGS_FIXED1;
    v->gpr = r->gpr;
    vmx_set_rip(v, r->rip);
    if (r->rsp != p->rsp)
        vmcs_writenat(GUEST_RSP, p->rsp = r->rsp);
    if (rflags != p->rflags)
        vmcs_writenat(GUEST_RFLAGS, p->rflags = rflags);
}

/* VMCS fields of the segment registers, in struct vcpu_sregs order */
static const struct { uint16_t off; uint16_t sel, limit, ar, base; } segs[8] = {
    { offsetof(struct vcpu_sregs, cs), GUEST_CS_SEL, GUEST_CS_LIMIT, GUEST_CS_AR, GUEST_CS_BASE },
    { offsetof(struct vcpu_sregs, ds), GUEST_DS_SEL, GUEST_DS_LIMIT, GUEST_DS_AR, GUEST_DS_BASE },
    { offsetof(struct vcpu_sregs, es), GUEST_ES_SEL, GUEST_ES_LIMIT, GUEST_ES_AR, GUEST_ES_BASE },
    { offsetof(struct vcpu_sregs, fs), GUEST_FS_SEL, GUEST_FS_LIMIT, GUEST_FS_AR, GUEST_FS_BASE },
    { offsetof(struct vcpu_sregs, gs), GUEST_GS_SEL, GUEST_GS_LIMIT, GUEST_GS_AR, GUEST_GS_BASE },
    { offsetof(struct vcpu_sregs, ss), GUEST_SS_SEL, GUEST_SS_LIMIT, GUEST_SS_AR, GUEST_SS_BASE },
    { offsetof(struct vcpu_sregs, tr), GUEST_TR_SEL, GUEST_TR_LIMIT, GUEST_TR_AR, GUEST_TR_BASE },
    { offsetof(struct vcpu_sregs, ldtr), GUEST_LDTR_SEL, GUEST_LDTR_LIMIT, GUEST_LDTR_AR, GUEST_LDTR_BASE },
};
enum { SEG_TR = 6, SEG_LDTR = 7 };

/* Access rights as VM entry wants them (SDM 3C 26.3.1.2): usable code/data
 * segments accessed; TR a busy TSS (a loader that never ran LTR gets a
 * 32-bit busy TSS at 0, as the CPU has after reset); reserved bits clear. */
static uint32_t fix_ar(unsigned i, uint32_t ar)
{
    if (i == SEG_TR) {
        if ((ar & SEG_AR_UNUSABLE) || !(ar & 0x80))
            return 0x8b;
        if ((ar & 0xf) == 1 || (ar & 0xf) == 9)
            ar |= 2;                    /* available -> busy */
        return ar & 0xf0ff;
    }
    if (ar & SEG_AR_UNUSABLE)
        return SEG_AR_UNUSABLE | (ar & 0x60);   /* keep DPL: SS.DPL is the CPL */
    if (i != SEG_LDTR && (ar & 0x10))
        ar |= 1;
    return ar & 0xf0ff;
}

/* Read back, not cached: with IA32_VMX_MISC[5] the CPU itself stores
 * EFER.LMA into this control at every exit. */
void vmx_set_entry_ia32e(struct vcpu_hw *v, bool on)
{
    uint32_t old = vmcs_read32(ENTRY_CONTROLS);
    uint32_t e = on ? old | ENTRY_IA32E_GUEST : old & ~ENTRY_IA32E_GUEST;
    if (e != old)
        vmcs_write32(ENTRY_CONTROLS, e);
}

/* PAE paging outside long mode: with EPT, VM entry takes the four PDPTEs
 * from the VMCS (SDM 3C 26.3.2.4), so they are read from guest CR3 here. */
void vmx_load_pdptes(struct vcpu_hw *v)
{
    uint64_t cr0 = vmcs_readnat(GUEST_CR0), cr4 = vmcs_readnat(GUEST_CR4);
    if (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE) || (vmcs_read64(GUEST_IA32_EFER) & EFER_LMA))
        return;
    uint64_t gpa = vmcs_readnat(GUEST_CR3) & 0xffffffe0ull;
    uint64_t hpa = vmx_gpa_to_hpa(v->vm, gpa);
    uint64_t pdpte[4] = { 0, 0, 0, 0 };
    if (hpa != ~0ull)
        memcpy(pdpte, phys_to_virt(hpa), sizeof(pdpte));
    for (unsigned i = 0; i < 4; i++)
        vmcs_write64(GUEST_PDPTE0 + 2 * i, pdpte[i]);
}

static void vmx_set_sregs(struct vcpu_hw *v, const struct vcpu_sregs *s)
{
    if (!vmx_load(v))
        return;
    for (unsigned i = 0; i < ARRAY_SIZE(segs); i++) {
        const struct vcpu_seg *g = (const struct vcpu_seg *)((const uint8_t *)s + segs[i].off);
        vmcs_write16(segs[i].sel, g->sel);
        vmcs_write32(segs[i].limit, g->limit);
        vmcs_write32(segs[i].ar, fix_ar(i, g->ar));
        vmcs_writenat(segs[i].base, g->base);
    }
    vmcs_writenat(GUEST_GDTR_BASE, s->gdt.base);
    vmcs_write32(GUEST_GDTR_LIMIT, s->gdt.limit);
    vmcs_writenat(GUEST_IDTR_BASE, s->idt.base);
    vmcs_write32(GUEST_IDTR_LIMIT, s->idt.limit);

    bool lma = (s->efer & EFER_LME) && (s->cr0 & CR0_PG);
    vmcs_write64(GUEST_IA32_EFER, lma ? s->efer | EFER_LMA : s->efer & ~EFER_LMA);
    vmx_set_entry_ia32e(v, lma);
    vmcs_writenat(GUEST_CR0, (s->cr0 | vmx_caps.cr0_force1) & vmx_caps.cr0_fixed1 & ~(CR0_CD | CR0_NW));
    vmcs_writenat(CR0_READ_SHADOW, s->cr0);
    vmcs_writenat(GUEST_CR4, (s->cr4 | vmx_caps.cr4_force1) & vmx_caps.cr4_fixed1);
    vmcs_writenat(CR4_READ_SHADOW, s->cr4);
    vmcs_writenat(GUEST_CR3, s->cr3);
    vmx_priv(v)->cr2 = s->cr2;
    vmx_priv(v)->guest_osxsave = s->cr4 & CR4_OSXSAVE;
    vmx_load_pdptes(v);
}

static void vmx_get_sregs(struct vcpu_hw *v, struct vcpu_sregs *s)
{
    memset(s, 0, sizeof(*s));
    if (!vmx_load(v))
        return;
    for (unsigned i = 0; i < ARRAY_SIZE(segs); i++) {
        struct vcpu_seg *g = (struct vcpu_seg *)((uint8_t *)s + segs[i].off);
        g->sel = vmcs_read16(segs[i].sel);
        g->limit = vmcs_read32(segs[i].limit);
        g->ar = vmcs_read32(segs[i].ar);
        g->base = vmcs_readnat(segs[i].base);
    }
    s->gdt.base = vmcs_readnat(GUEST_GDTR_BASE);
    s->gdt.limit = (uint16_t)vmcs_read32(GUEST_GDTR_LIMIT);
    s->idt.base = vmcs_readnat(GUEST_IDTR_BASE);
    s->idt.limit = (uint16_t)vmcs_read32(GUEST_IDTR_LIMIT);
    /* the guest's view: owned bits from the read shadows */
    s->cr0 = (vmcs_readnat(GUEST_CR0) & ~vmx_caps.cr0_mask) |
             (vmcs_readnat(CR0_READ_SHADOW) & vmx_caps.cr0_mask);
    s->cr4 = (vmcs_readnat(GUEST_CR4) & ~vmx_caps.cr4_mask) |
             (vmcs_readnat(CR4_READ_SHADOW) & vmx_caps.cr4_mask);
    s->cr3 = vmcs_readnat(GUEST_CR3);
    s->cr2 = vmx_priv(v)->cr2;
    s->efer = vmcs_read64(GUEST_IA32_EFER);
    s->xcr0 = v->xcr0;
}

/* ---- events, windows, timers --------------------------------------------------- */

static bool vmx_inject(struct vcpu_hw *v, const struct vcpu_event *ev)
{
    struct vmx_vcpu *p = vmx_priv(v);
    if (!vmx_load(v) || (vmcs_read32(ENTRY_INTR_INFO) & INTR_INFO_VALID))
        return false;
    uint32_t info = INTR_INFO_VALID | ev->vector;
    switch (ev->type) {
    case VCPU_EVENT_EXTINT:
        info |= INTR_TYPE_EXTINT << 8;
        break;
    case VCPU_EVENT_NMI:
        info = INTR_INFO_VALID | (INTR_TYPE_NMI << 8) | 2;
        break;
    case VCPU_EVENT_EXCEPTION: {
        /* Reflecting an intercepted INT3/INTO: a software exception with the
         * instruction length of that exit (SDM 3C 26.6.1.3). */
        uint32_t last = p->last_intr_info;
        if ((ev->vector == 3 || ev->vector == 4) && p->last_reason == EXIT_EXCEPTION_NMI &&
            (last & INTR_INFO_VALID) && INTR_INFO_TYPE(last) == INTR_TYPE_SW_EXC &&
            INTR_INFO_VECTOR(last) == ev->vector) {
            info |= INTR_TYPE_SW_EXC << 8;
            vmcs_write32(ENTRY_INSTRUCTION_LEN, p->last_insn_len);
            break;
        }
        info |= INTR_TYPE_HW_EXC << 8;
        /* error code iff protected mode and a vector that pushes one (26.2.1.3) */
        bool pe = vmcs_readnat(CR0_READ_SHADOW) & CR0_PE;
        unsigned vec = ev->vector;
        bool has = pe && (vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21);
        if (has) {
            info |= INTR_INFO_ERROR_CODE;
            vmcs_write32(ENTRY_EXCEPTION_ERROR, ev->has_error ? ev->error : 0);
        }
        break;
    }
    default:
        return false;
    }
    vmcs_write32(ENTRY_INTR_INFO, info);
    return true;
}

/* A single-step trap pending in the VMCS: an entry that injects an
 * interrupt, NMI or exception drops it (SDM 3C 26.7.3), so nothing is
 * injected until the #DB is delivered; the window exit comes after it. */
static bool vmx_step_pending(void)
{
    return vmcs_readnat(GUEST_PENDING_DBG_EXCEPTIONS) & DR6_BS;
}

/* ... and setting it (the current VMCS) */
static void vmx_pend_step(void)
{
    vmcs_writenat(GUEST_PENDING_DBG_EXCEPTIONS, vmcs_readnat(GUEST_PENDING_DBG_EXCEPTIONS) | DR6_BS);
}

static bool vmx_can_inject_irq(struct vcpu_hw *v)
{
    if (!vmx_load(v))
        return false;
    return (vmx_regs(v)->rflags & RFLAGS_IF) &&
           !(vmcs_read32(GUEST_INTERRUPTIBILITY) & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS)) &&
           !(vmcs_read32(ENTRY_INTR_INFO) & INTR_INFO_VALID) && !vmx_step_pending();
}

static void vmx_set_irq_window(struct vcpu_hw *v, bool on)
{
    struct vmx_vcpu *p = vmx_priv(v);
    if (!vmx_load(v) || v->irq_window == on)
        return;
    v->irq_window = on;
    p->proc = on ? p->proc | PROC_INTR_WINDOW : p->proc & ~PROC_INTR_WINDOW;
    vmcs_write32(PROC_BASED_CONTROLS, p->proc);
}

/* NMI-window exiting needs "virtual NMIs" (SDM 3C 25.2, 26.7.6); with
 * them the CPU tracks the guest's NMI blocking in the interruptibility
 * state (set by the injection, cleared by the guest's IRET). */
static void vmx_set_nmi_window(struct vcpu_hw *v, bool on)
{
    struct vmx_vcpu *p = vmx_priv(v);
    if (!vmx_load(v) || !(p->pin & PIN_VIRTUAL_NMI) || !(vmx_caps.proc_may1 & PROC_NMI_WINDOW))
        return;                 /* the next exit looks again */
    uint32_t proc = on ? p->proc | PROC_NMI_WINDOW : p->proc & ~PROC_NMI_WINDOW;
    if (proc != p->proc) {
        p->proc = proc;
        vmcs_write32(PROC_BASED_CONTROLS, p->proc);
    }
}

static bool vmx_can_inject_nmi(struct vcpu_hw *v)
{
    if (!vmx_load(v))
        return false;
    return !(vmcs_read32(GUEST_INTERRUPTIBILITY) &
             (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS | INTERRUPTIBILITY_NMI)) &&
           !(vmcs_read32(ENTRY_INTR_INFO) & INTR_INFO_VALID) && !vmx_step_pending();
}

static void vmx_reset_events(struct vcpu_hw *v)
{
    if (!vmx_load(v))
        return;
    vmcs_write32(ENTRY_INTR_INFO, 0);
    vmcs_write32(GUEST_INTERRUPTIBILITY, 0);
    vmcs_writenat(GUEST_PENDING_DBG_EXCEPTIONS, 0);
    vmcs_writenat(GUEST_DR7, DR7_INIT);         /* INIT (SDM 3A table 9-1) */
    vcpu_debug_regs_reset(v);
    v->reinject = 0;
    __atomic_store_n(&v->nmi_pending, 0, __ATOMIC_SEQ_CST);
    vmx_set_irq_window(v, false);
    vmx_set_nmi_window(v, false);
}

/* A #DB that exits leaves DR6 alone; its bits come in the exit
 * qualification (SDM 3C 27.1, 27.2.1).  DR6 is not in the VMCS: it is
 * this CPU's, the vCPU's own while it runs here (vcpu_debug_regs_load). */
static void vmx_reflect_exception(struct vcpu_hw *v, const struct vcpu_exit *e)
{
    struct vmx_vcpu *p = vmx_priv(v);
    if (!vmx_load(v))
        return;
    vmcs_write32(ENTRY_INTR_INFO, 0);
    v->reinject = 0;
    uint32_t info = INTR_INFO_VALID | e->exc.vector;
    if (e->exc.vector == EXC_DB) {
        uint64_t dr6 = read_dr6();
        write_dr6((dr6 & ~DR6_EXIT_QUAL_BITS) | DR6_FIXED1 | (e->qual & DR6_EXIT_QUAL_BITS));
    }
    if (INTR_INFO_TYPE(p->last_intr_info) == INTR_TYPE_PRIV_SW_EXC) {
        info |= INTR_TYPE_PRIV_SW_EXC << 8;             /* ICEBP (INT1) */
        vmcs_write32(ENTRY_INSTRUCTION_LEN, p->last_insn_len);
    } else {
        info |= INTR_TYPE_HW_EXC << 8;
    }
    if (e->exc.has_error && (vmcs_readnat(CR0_READ_SHADOW) & CR0_PE)) {
        info |= INTR_INFO_ERROR_CODE;
        vmcs_write32(ENTRY_EXCEPTION_ERROR, e->exc.error);
    }
    vmcs_write32(ENTRY_INTR_INFO, info);
    /* entry check (26.3.1.5): in an STI/MOV SS shadow with TF=1, the pending
     * debug exceptions must have BS */
    if ((vmcs_read32(GUEST_INTERRUPTIBILITY) & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS)) &&
        (vmx_regs(v)->rflags & RFLAGS_TF))
        vmx_pend_step();
}

/* The VMCS's pending debug exceptions (SDM 3C 25.4.2): with BS set, the CPU
 * delivers the single-step #DB, DR6 included, before the guest's next
 * instruction (26.7.3).  An exit may have recorded it already (a step held
 * by MOV SS); setting it again is one trap, not two. */
static void vmx_single_step(struct vcpu_hw *v)
{
    if (vmx_load(v))
        vmx_pend_step();
}

static void vmx_set_tsc_offset(struct vcpu_hw *v, uint64_t off)
{
    if (!vmx_load(v))
        return;
    v->tsc_offset = off;
    vmcs_write64(TSC_OFFSET, off);
}

/* The timer counts down from this value at every entry (the VMCS value is
 * not saved back: a slice budget per entry, SDM 3C 25.5.1). */
static void vmx_set_preempt_timer(struct vcpu_hw *v, uint64_t tsc_ticks)
{
    struct vmx_vcpu *p = vmx_priv(v);
    if (!vmx_load(v) || !vmx_has_preempt_timer())
        return;
    p->preempt_ticks = tsc_ticks;
    uint64_t t = tsc_ticks >> VMX_MISC_PREEMPT_SHIFT(vmx_caps.misc);
    uint32_t pin = tsc_ticks ? p->pin | PIN_PREEMPT_TIMER : p->pin & ~PIN_PREEMPT_TIMER;
    if (tsc_ticks)
        vmcs_write32(GUEST_PREEMPT_TIMER, t > 0xffffffffull ? 0xffffffffu : (uint32_t)t);
    if (pin != p->pin) {
        p->pin = pin;
        vmcs_write32(PIN_BASED_CONTROLS, pin);
    }
}

const struct vcpu_backend vmx_backend = {
    .name = "VMX",
    .cpu_enable = vmx_cpu_enable,
    .vm_init = vmx_vm_init,
    .vm_map = vmx_vm_map,
    .vcpu_init = vmx_vcpu_init,
    .get_regs = vmx_get_regs,
    .set_regs = vmx_set_regs,
    .get_sregs = vmx_get_sregs,
    .set_sregs = vmx_set_sregs,
    .run = vmx_run,
    .inject = vmx_inject,
    .can_inject_irq = vmx_can_inject_irq,
    .reset_events = vmx_reset_events,
    .single_step = vmx_single_step,
    .reflect_exception = vmx_reflect_exception,
    .can_inject_nmi = vmx_can_inject_nmi,
    .set_nmi_window = vmx_set_nmi_window,
    .set_irq_window = vmx_set_irq_window,
    .set_tsc_offset = vmx_set_tsc_offset,
    .set_preempt_timer = vmx_set_preempt_timer,
    .dump = vmx_dump,
    .io_passthrough = vmx_io_passthrough,
    .msr_passthrough = vmx_msr_passthrough,
    .set_vapic = vmx_set_vapic,
    .set_apic_state = vmx_set_apic_state,
    .set_apic_mode = vmx_set_apic_mode,
};
