/*
 * VMX diagnostics: names of VM-instruction errors and exit reasons, and
 * the guest-state dump.  A guest state that VM entry refuses (SDM 3C
 * 26.3.1) is reported with the exit qualification and this dump, as Xen and
 * KVM report it: the CPU's own checks are the only ones, none duplicated here.
 * All on the vCPU's host CPU with its VMCS current.
 */
#include <stdio.h>
#include <nethv/kernel.h>
#include <arch/cpu.h>
#include <arch/vmx.h>

/* ---- names ------------------------------------------------------------------ */

static const char *const insn_errors[] = {       /* SDM 3C 30.4, table 30-1 */
    [VMXERR_VMCALL_ROOT] = "VMCALL executed in VMX root operation",
    [VMXERR_VMCLEAR_BAD_ADDR] = "VMCLEAR with invalid physical address",
    [VMXERR_VMCLEAR_VMXON] = "VMCLEAR with VMXON pointer",
    [VMXERR_LAUNCH_NOT_CLEAR] = "VMLAUNCH with non-clear VMCS",
    [VMXERR_RESUME_NOT_LAUNCHED] = "VMRESUME with non-launched VMCS",
    [VMXERR_RESUME_AFTER_VMXOFF] = "VMRESUME after VMXOFF",
    [VMXERR_ENTRY_BAD_CONTROLS] = "VM entry with invalid control field(s)",
    [VMXERR_ENTRY_BAD_HOST_STATE] = "VM entry with invalid host-state field(s)",
    [VMXERR_VMPTRLD_BAD_ADDR] = "VMPTRLD with invalid physical address",
    [VMXERR_VMPTRLD_VMXON] = "VMPTRLD with VMXON pointer",
    [VMXERR_VMPTRLD_BAD_REVISION] = "VMPTRLD with incorrect VMCS revision identifier",
    [VMXERR_BAD_FIELD] = "VMREAD/VMWRITE from/to unsupported VMCS component",
    [VMXERR_WRITE_READ_ONLY] = "VMWRITE to read-only VMCS component",
    [VMXERR_VMXON_ROOT] = "VMXON executed in VMX root operation",
    [VMXERR_ENTRY_BAD_EXEC_VMCS] = "VM entry with invalid executive-VMCS pointer",
    [VMXERR_ENTRY_EXEC_VMCS_NOT_LAUNCHED] = "VM entry with non-launched executive VMCS",
    [VMXERR_ENTRY_EXEC_VMCS_NOT_VMXON] = "VM entry with executive-VMCS pointer not VMXON pointer",
    [VMXERR_VMCALL_NOT_CLEAR] = "VMCALL with non-clear VMCS",
    [VMXERR_VMCALL_BAD_EXIT_CONTROLS] = "VMCALL with invalid VM-exit control fields",
    [VMXERR_VMCALL_BAD_MSEG] = "VMCALL with incorrect MSEG revision identifier",
    [VMXERR_VMXOFF_DUAL_MONITOR] = "VMXOFF under dual-monitor treatment of SMIs and SMM",
    [VMXERR_VMCALL_BAD_SMM_FEATURES] = "VMCALL with invalid SMM-monitor features",
    [VMXERR_ENTRY_BAD_EXEC_CONTROLS] = "VM entry with invalid VM-execution control fields in executive VMCS",
    [VMXERR_ENTRY_MOVSS_BLOCKING] = "VM entry with events blocked by MOV SS",
    [VMXERR_BAD_INVEPT_INVVPID] = "invalid operand to INVEPT/INVVPID",
};

const char *vmx_insn_error_name(uint32_t err)
{
    return err < ARRAY_SIZE(insn_errors) && insn_errors[err] ? insn_errors[err]
                                                              : "unknown VM-instruction error";
}

static const char *const exit_names[EXIT__COUNT] = {     /* SDM 3D appendix C */
    "exception/NMI", "external interrupt", "triple fault", "INIT", "SIPI", "I/O SMI",
    "other SMI", "interrupt window", "NMI window", "task switch", "CPUID", "GETSEC", "HLT",
    "INVD", "INVLPG", "RDPMC", "RDTSC", "RSM", "VMCALL", "VMCLEAR", "VMLAUNCH", "VMPTRLD",
    "VMPTRST", "VMREAD", "VMRESUME", "VMWRITE", "VMXOFF", "VMXON", "CR access", "DR access",
    "I/O instruction", "RDMSR", "WRMSR", "entry failure: invalid guest state",
    "entry failure: MSR loading", NULL, "MWAIT", "monitor trap flag", NULL, "MONITOR", "PAUSE",
    "entry failure: machine check", NULL, "TPR below threshold", "APIC access",
    "virtualized EOI", "GDTR/IDTR access", "LDTR/TR access", "EPT violation",
    "EPT misconfiguration", "INVEPT", "RDTSCP", "preemption timer", "INVVPID", "WBINVD",
    "XSETBV", "APIC write", "RDRAND", "INVPCID", "VMFUNC", "ENCLS", "RDSEED", "PML full",
    "XSAVES", "XRSTORS", "PCONFIG", "SPP event", "UMWAIT", "TPAUSE", "LOADIWKEY", "ENCLV", NULL,
    "ENQCMD PASID failure", "ENQCMDS PASID failure", "bus lock", "notify",
};

const char *vmx_exit_reason_name(uint32_t basic)
{
    return basic < EXIT__COUNT && exit_names[basic] ? exit_names[basic] : "reserved";
}

void vmx_field_error(const char *op, uint32_t field, uint64_t val, const char *caller)
{
    uint64_t err = 0;
    vmx_vmread(VM_INSTRUCTION_ERROR, &err);
    printk("vmx: %s field %#06x (value %#llx) failed in %s(): %s\n", op, field,
           (unsigned long long)val, caller, vmx_insn_error_name((uint32_t)err));
}

/* ---- dump ------------------------------------------------------------------------- */

void vmx_dump(struct vcpu_hw *v)
{
    if (!vmx_load(v))
        return;
    struct vmx_vcpu *p = vmx_priv(v);
    const struct vcpu_gprs *g = &v->gpr;
    printk("vmx: vCPU on CPU %u, VPID %u, %s; last exit %u (%s) qual %#llx, %llu handled here\n",
           v->host_cpu, v->tag, v->launched ? "launched" : "not launched", p->last_reason,
           vmx_exit_reason_name(p->last_reason), (unsigned long long)p->last_qual,
           (unsigned long long)p->internal_exits);
    printk("  rip %016llx rsp %016llx rflags %08llx\n",
           (unsigned long long)vmcs_readnat(GUEST_RIP), (unsigned long long)vmcs_readnat(GUEST_RSP),
           (unsigned long long)vmcs_readnat(GUEST_RFLAGS));
    printk("  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n", (unsigned long long)g->rax,
           (unsigned long long)g->rbx, (unsigned long long)g->rcx, (unsigned long long)g->rdx);
    printk("  rsi %016llx rdi %016llx rbp %016llx r8  %016llx\n", (unsigned long long)g->rsi,
           (unsigned long long)g->rdi, (unsigned long long)g->rbp, (unsigned long long)g->r8);
    printk("  r9  %016llx r10 %016llx r11 %016llx r12 %016llx\n", (unsigned long long)g->r9,
           (unsigned long long)g->r10, (unsigned long long)g->r11, (unsigned long long)g->r12);
    printk("  r13 %016llx r14 %016llx r15 %016llx\n", (unsigned long long)g->r13,
           (unsigned long long)g->r14, (unsigned long long)g->r15);
    printk("  cr0 %08llx (shadow %08llx) cr3 %016llx cr4 %08llx (shadow %08llx) cr2 %016llx\n",
           (unsigned long long)vmcs_readnat(GUEST_CR0), (unsigned long long)vmcs_readnat(CR0_READ_SHADOW),
           (unsigned long long)vmcs_readnat(GUEST_CR3), (unsigned long long)vmcs_readnat(GUEST_CR4),
           (unsigned long long)vmcs_readnat(CR4_READ_SHADOW), (unsigned long long)p->cr2);
    printk("  efer %llx pat %016llx xcr0 %llx entry %#x pin %#x proc %#x proc2 %#x\n",
           (unsigned long long)vmcs_read64(GUEST_IA32_EFER), (unsigned long long)vmcs_read64(GUEST_IA32_PAT),
           (unsigned long long)v->xcr0, vmcs_read32(ENTRY_CONTROLS),
           vmcs_read32(PIN_BASED_CONTROLS), vmcs_read32(PROC_BASED_CONTROLS),
           vmcs_read32(PROC_BASED_CONTROLS2));
    /* the four fields of a segment register are 2 apart per register and
     * 0x2000 (limit), 0x2014 (AR), 0x6006 (base) from the selector */
    static const struct { char name[5]; uint16_t sel; } segs[] = {
        { "CS", GUEST_CS_SEL }, { "SS", GUEST_SS_SEL }, { "DS", GUEST_DS_SEL }, { "ES", GUEST_ES_SEL },
        { "FS", GUEST_FS_SEL }, { "GS", GUEST_GS_SEL }, { "TR", GUEST_TR_SEL }, { "LDTR", GUEST_LDTR_SEL },
    };
    for (unsigned k = 0; k < ARRAY_SIZE(segs); k++) {
        uint32_t i = segs[k].sel - GUEST_ES_SEL;
        printk("  %-4s sel %04x base %016llx limit %08x ar %05x\n", segs[k].name, vmcs_read16(segs[k].sel),
               (unsigned long long)vmcs_readnat(GUEST_ES_BASE + i), vmcs_read32(GUEST_ES_LIMIT + i),
               vmcs_read32(GUEST_ES_AR + i));
    }
    printk("  gdtr %016llx/%04x idtr %016llx/%04x intr-state %#x activity %u entry-event %#x "
           "idt-vectoring %#x\n",
           (unsigned long long)vmcs_readnat(GUEST_GDTR_BASE), vmcs_read32(GUEST_GDTR_LIMIT),
           (unsigned long long)vmcs_readnat(GUEST_IDTR_BASE), vmcs_read32(GUEST_IDTR_LIMIT),
           vmcs_read32(GUEST_INTERRUPTIBILITY), vmcs_read32(GUEST_ACTIVITY_STATE),
           vmcs_read32(ENTRY_INTR_INFO), vmcs_read32(IDT_VECTORING_INFO));
    if (v->vid) {
        uint16_t st = vmcs_read16(GUEST_INTR_STATUS);
        printk("  virtual-interrupt delivery: page %#llx RVI %#x SVI %#x\n",
               (unsigned long long)v->vapic_pa, st & 0xff, st >> 8);
    }
    char line[512];             /* one printk: another CPU's lines must not cut it */
    size_t n = (size_t)snprintf(line, sizeof(line), "  exits:");
    for (unsigned r = 0; r < EXIT__COUNT && n < sizeof(line); r++)
        if (p->hw_exits[r])
            n += (size_t)snprintf(line + n, sizeof(line) - n, " %s=%llu", vmx_exit_reason_name(r),
                                  (unsigned long long)p->hw_exits[r]);
    printk("%s\n", line);
}
