/*
 * VMX feature discovery and per-CPU enable (VMXON).
 * Controls are computed once from the capability MSRs as
 * (wanted | must_be_1) & may_be_1 and checked that the required ones stuck
 * (SDM 3D A.3-A.5; TRUE_ MSRs when IA32_VMX_BASIC[55], A.2).
 * vmx_discover: any CPU, idempotent (locked).  vmx_cpu_enable: on each CPU
 * that will run vCPUs, before any of them.
 */
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <nethv/spinlock.h>
#include <arch/cpu.h>
#include <arch/regs.h>
#include <arch/vmx.h>
#include <arch/x86.h>

struct vmx_caps vmx_caps;
static struct vmx_percpu percpu[MAX_CPUS];
static spinlock_t discover_lock = SPINLOCK_INIT;
static int discover_result = 1;     /* 1: not yet */

struct vmx_percpu *vmx_this_cpu(void)
{
    return &percpu[this_cpu()->cpu];
}

/* One control word: low half of the capability MSR = bits that must be 1,
 * high half = bits that may be 1 (SDM 3D A.3.1). */
static uint32_t adjust(uint32_t msr, uint32_t wanted, uint32_t required,
                       const char *what, uint32_t *may1, bool *ok)
{
    uint64_t cap = rdmsr(msr);
    uint32_t must1 = (uint32_t)cap, allowed1 = (uint32_t)(cap >> 32);
    uint32_t ctl = (wanted | must1) & allowed1;
    *may1 = allowed1;
    if ((ctl & required) != required) {
        printk("vmx: %s controls: required bits %#x not supported (may be 1: %#x)\n",
               what, required & ~ctl, allowed1);
        *ok = false;
    }
    return ctl;
}

static int discover(void)
{
    struct vmx_caps *c = &vmx_caps;
    bool ok = true;

    if (!(cpuid(1, 0).ecx & CPUID1_ECX_VMX)) {
        printk("vmx: CPUID says no VMX\n");
        return -1;
    }
    c->basic = rdmsr(MSR_IA32_VMX_BASIC);
    c->misc = rdmsr(MSR_IA32_VMX_MISC);
    c->cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
    c->cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
    c->cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
    c->cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
    if (c->basic & VMX_BASIC_ADDR32) {
        printk("vmx: VMX structures limited to 32-bit addresses: unsupported\n");
        return -1;
    }
    if (VMX_BASIC_MEMTYPE(c->basic) != EPT_MT_WB || VMX_BASIC_VMCS_SIZE(c->basic) > PAGE_SIZE) {
        printk("vmx: unsupported VMCS memory type %u / size %u\n",
               VMX_BASIC_MEMTYPE(c->basic), VMX_BASIC_VMCS_SIZE(c->basic));
        return -1;
    }
    bool tru = c->basic & VMX_BASIC_TRUE_CTLS;

    c->pin = adjust(tru ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS,
                    PIN_EXTINT_EXIT | PIN_NMI_EXIT | PIN_VIRTUAL_NMI,
                    PIN_EXTINT_EXIT | PIN_NMI_EXIT, "pin-based", &c->pin_may1, &ok);

    uint32_t want = PROC_HLT_EXIT | PROC_TSC_OFFSET | PROC_IO_BITMAPS | PROC_MSR_BITMAPS |
                    PROC_MWAIT_EXIT | PROC_MONITOR_EXIT | PROC_SECONDARY | PROC_TPR_SHADOW |
                    PROC_RDPMC_EXIT;
    uint32_t proc_msr = tru ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS;
    c->proc = adjust(proc_msr, want, PROC_HLT_EXIT | PROC_TSC_OFFSET | PROC_IO_BITMAPS |
                     PROC_MSR_BITMAPS | PROC_SECONDARY, "processor-based", &c->proc_may1, &ok);
    if (!(c->proc & PROC_TPR_SHADOW))   /* else a guest MOV CR8 would reach the host TPR */
        c->proc = adjust(proc_msr, (want & ~PROC_TPR_SHADOW) | PROC_CR8_LOAD_EXIT | PROC_CR8_STORE_EXIT,
                         PROC_CR8_LOAD_EXIT | PROC_CR8_STORE_EXIT, "processor-based", &c->proc_may1, &ok);

    if (c->proc_may1 & PROC_SECONDARY) {
        c->proc2 = adjust(MSR_IA32_VMX_PROCBASED_CTLS2,
                          PROC2_EPT | PROC2_VPID | PROC2_UNRESTRICTED | PROC2_RDTSCP | PROC2_INVPCID |
                              PROC2_WBINVD_EXIT,
                          PROC2_EPT | PROC2_UNRESTRICTED, "secondary", &c->proc2_may1, &ok);
        c->ept_vpid = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
    }
    /* APIC virtualization for vCPUs with the kernel's virtual-APIC page:
     * VID needs the TPR shadow and external-interrupt exiting, and so do
     * APIC-register virtualization and virtualize x2APIC mode (26.2.1.1);
     * "virtualize APIC accesses" too, for vCPUs in xAPIC mode (vmx.c:
     * vmx_set_apic_mode; it excludes virtualize x2APIC mode). */
    if ((c->proc & PROC_TPR_SHADOW) && (c->pin & PIN_EXTINT_EXIT) &&
        (c->proc2_may1 & PROC2_VIRT_INTR_DELIVERY))
        c->proc2_apicv = c->proc2_may1 & (PROC2_VIRT_INTR_DELIVERY | PROC2_APIC_REG_VIRT |
                                          PROC2_VIRT_X2APIC | PROC2_VIRT_APIC_ACCESS);
    c->exit = adjust(tru ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS,
                     EXIT_HOST_64 | EXIT_SAVE_DEBUG | EXIT_SAVE_PAT | EXIT_LOAD_PAT |
                     EXIT_SAVE_EFER | EXIT_LOAD_EFER,
                     EXIT_HOST_64 | EXIT_SAVE_PAT | EXIT_LOAD_PAT | EXIT_SAVE_EFER | EXIT_LOAD_EFER,
                     "VM-exit", &c->exit_may1, &ok);
    if (c->exit & EXIT_ACK_INTR) {      /* the host takes interrupts through its IDT */
        printk("vmx: 'acknowledge interrupt on exit' cannot be turned off\n");
        ok = false;
    }
    c->entry = adjust(tru ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS,
                      ENTRY_LOAD_DEBUG | ENTRY_LOAD_PAT | ENTRY_LOAD_EFER,
                      ENTRY_LOAD_PAT | ENTRY_LOAD_EFER, "VM-entry", &c->entry_may1, &ok);

    uint64_t need_ept = EPT_CAP_WALK4 | EPT_CAP_WB | EPT_CAP_2M | EPT_CAP_INVEPT | EPT_CAP_INVEPT_SINGLE;
    if ((c->ept_vpid & need_ept) != need_ept) {
        printk("vmx: EPT lacks 4-level/WB/2M/INVEPT single-context (caps %#llx)\n",
               (unsigned long long)c->ept_vpid);
        ok = false;
    }
    if ((c->proc2 & PROC2_VPID) && (c->ept_vpid & (VPID_CAP_INVVPID | VPID_CAP_INVVPID_SINGLE)) !=
        (VPID_CAP_INVVPID | VPID_CAP_INVVPID_SINGLE))
        c->proc2 &= ~PROC2_VPID;        /* no way to flush one VPID: run untagged */

    /* Guest CR bits the host owns: those VMX operation fixes to 1 (except
     * PE/PG with unrestricted guest) or to 0 (SDM 3D A.7, A.8).  The guest
     * reads its own values from the read shadows; writes that would change
     * an owned bit exit and are emulated (vmx_run.c). */
    c->cr0_force1 = c->cr0_fixed0 & ~((c->proc2 & PROC2_UNRESTRICTED) ? CR0_PE | CR0_PG : 0);
    /* CD/NW: VM entry never loads them (SDM 3C 26.3.2.1), so the guest
     * gets only a shadow of them.  OSXSAVE: tracked to switch XCR0. */
    c->cr0_mask = c->cr0_force1 | CR0_CD | CR0_NW;
    c->cr4_force1 = c->cr4_fixed0;
    c->cr4_mask = c->cr4_fixed0 | (~c->cr4_fixed1 & 0xffffffffull) | CR4_OSXSAVE;
    if (read_cr4() & CR4_OSXSAVE) {
        uint32_t lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        c->host_xcr0 = ((uint64_t)hi << 32) | lo;
        if (cpuid(0xd, 0).ebx > PAGE_SIZE) {    /* XSAVE area for this XCR0 */
            printk("vmx: XSAVE area of %u bytes exceeds the vCPU's 4 KiB\n", cpuid(0xd, 0).ebx);
            ok = false;
        }
    }

    printk("vmx:%s%s%s%s%s%s, %s\n",
           vmx_has_ept() ? " EPT" : "", vmx_has_vpid() ? " VPID" : "",
           vmx_has_unrestricted() ? " UG" : "", vmx_has_vid() ? " VID" : "",
           vmx_has_preempt_timer() ? " preempt-timer" : "",
           vmx_has_tpr_shadow() ? " TPR-shadow" : "",
           vmx_has_posted() ? "posted interrupts" : "no posted interrupts");
    printk("vmx: VMCS rev %#x, %u bytes; %s controls; EPT%s%s%s; preempt timer TSC>>%u; "
           "pin %#x proc %#x proc2 %#x exit %#x entry %#x\n",
           VMX_BASIC_REVISION(c->basic), VMX_BASIC_VMCS_SIZE(c->basic), tru ? "TRUE" : "default",
           vmx_has_ept_ad() ? " A/D" : "", c->ept_vpid & EPT_CAP_1G ? " 1G" : "",
           c->ept_vpid & EPT_CAP_INVEPT_ALL ? " INVEPT-all" : "",
           VMX_MISC_PREEMPT_SHIFT(c->misc), c->pin, c->proc, c->proc2, c->exit, c->entry);
    printk("vmx: CR0 fixed %#llx/%#llx CR4 fixed %#llx/%#llx misc %#llx ept/vpid %#llx\n",
           (unsigned long long)c->cr0_fixed0, (unsigned long long)c->cr0_fixed1,
           (unsigned long long)c->cr4_fixed0, (unsigned long long)c->cr4_fixed1,
           (unsigned long long)c->misc, (unsigned long long)c->ept_vpid);
    return ok ? 0 : -1;
}

int vmx_discover(void)
{
    uint64_t f = spin_lock_irqsave(&discover_lock);
    if (discover_result == 1)
        discover_result = discover();
    spin_unlock_irqrestore(&discover_lock, f);
    return discover_result;
}

/* IA32_FEATURE_CONTROL: lock it with VMX enabled if firmware left it open. */
static int feature_control(void)
{
    uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
    if (!(fc & FEATURE_CONTROL_LOCKED)) {
        fc |= FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMX_OUTSIDE_SMX;
        wrmsr(MSR_IA32_FEATURE_CONTROL, fc);
    }
    if (!(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
        printk("vmx: disabled by firmware (IA32_FEATURE_CONTROL %#llx locked)\n",
               (unsigned long long)fc);
        return -1;
    }
    return 0;
}

int vmx_cpu_enable(void)
{
    struct vmx_percpu *pc = vmx_this_cpu();
    unsigned cpu = this_cpu()->cpu;

    if (pc->on)
        return 0;
    if (vmx_discover() || feature_control())
        return -1;
    if (!pc->vmxon_pa) {
        pc->vmxon_pa = page_alloc(1, PAGE_SIZE, 0);
        if (!pc->vmxon_pa)
            return -1;
        *(uint32_t *)phys_to_virt(pc->vmxon_pa) = VMX_BASIC_REVISION(vmx_caps.basic);
    }
    /* CR0/CR4 fixed bits in VMX operation (SDM 3C 23.8, 3D A.7/A.8) */
    uint64_t cr0 = read_cr0(), cr4 = read_cr4() | CR4_VMXE;
    uint64_t cr0_ok = (cr0 | vmx_caps.cr0_fixed0) & vmx_caps.cr0_fixed1;
    uint64_t cr4_ok = (cr4 | vmx_caps.cr4_fixed0) & vmx_caps.cr4_fixed1;
    if (cr0_ok != cr0 || cr4_ok != cr4)
        printk("vmx: cpu %u: CR0 %#llx -> %#llx, CR4 %#llx -> %#llx for VMX operation\n", cpu,
               (unsigned long long)cr0, (unsigned long long)cr0_ok,
               (unsigned long long)cr4, (unsigned long long)cr4_ok);
    if (cr0_ok != cr0)
        write_cr0(cr0_ok);
    if (cr0_ok & (CR0_CD | CR0_NW))     /* guests run with the host's CD/NW */
        printk("vmx: cpu %u: note: CR0 %#llx has caching disabled (CD/NW)\n", cpu,
               (unsigned long long)cr0_ok);
    write_cr4(cr4_ok);

    bool ok;
    __asm__ volatile("vmxon %1" : "=@cca"(ok) : "m"(pc->vmxon_pa) : "cc", "memory");
    if (!ok) {
        printk("vmx: cpu %u: VMXON failed\n", cpu);
        write_cr4(cr4_ok & ~CR4_VMXE);
        return -1;
    }
    /* nothing cached under our tags from before (firmware, an earlier kernel) */
    if (vmx_caps.ept_vpid & EPT_CAP_INVEPT_ALL)
        vmx_invept(INVEPT_ALL, 0);
    if (vmx_has_vpid() && (vmx_caps.ept_vpid & VPID_CAP_INVVPID_ALL))
        vmx_invvpid(INVVPID_ALL, 0, 0);
    pc->on = true;
    pc->current = NULL;
    printk("vmx: cpu %u: VMX root operation\n", cpu);
    if (vmx_has_apicv())
        printk("vmx: cpu %u: interrupts by virtual-interrupt delivery (%s, %s, %s, %s)\n", cpu,
               vmx_caps.proc2_apicv & PROC2_APIC_REG_VIRT ? "APIC-register virtualization"
                                                         : "no APIC-register virtualization",
               vmx_caps.proc2_apicv & PROC2_VIRT_APIC_ACCESS ? "xAPIC page virtualized"
                                                            : "no APIC-access page",
               vmx_caps.proc2_apicv & PROC2_VIRT_X2APIC ? "x2APIC EOI/TPR/self-IPI virtualized"
                                                       : "no x2APIC virtualization",
               vmx_has_posted() ? "posted interrupts unused" : "no posted interrupts");
    else
        printk("vmx: cpu %u: interrupts by event injection and interrupt-window exits "
               "(no virtual-interrupt delivery)\n", cpu);
    return 0;
}
