/*
 * VMX diagnostics: names of VM-instruction errors and exit reasons, the
 * main guest-state checks of VM entry (SDM 3C 26.3.1) so that a refused
 * state is reported by the rule it breaks, and the guest-state dump.
 * All on the vCPU's host CPU with its VMCS current.
 */
#include <stdio.h>
#include <string.h>
#include <nethv/kernel.h>
#include <arch/cpu.h>
#include <arch/regs.h>
#include <arch/vmx.h>
#include <arch/x86.h>

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

/* ---- guest-state checks (SDM 3C 26.3.1) ------------------------------------------ */

static char fail_buf[MAX_CPUS][112];

/* "guest <what>: <rule> (SDM 3C <sec>)" in this CPU's buffer */
static const char *fail(const char *what, const char *rule, const char *sec)
{
    char *b = fail_buf[this_cpu()->cpu];
    const char *parts[] = { "guest ", what, ": ", rule, " (SDM 3C ", sec, ")" };
    size_t n = 0;
    for (unsigned i = 0; i < ARRAY_SIZE(parts); i++)
        for (const char *s = parts[i]; *s && n < sizeof(fail_buf[0]) - 1; s++)
            b[n++] = *s;
    b[n] = 0;
    return b;
}

static bool canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

static unsigned maxphyaddr(void)
{
    return cpuid(0x80000000, 0).eax >= 0x80000008 ? (cpuid(0x80000008, 0).eax & 0xff) : 36;
}

struct gseg { const char *name; uint16_t sel; uint32_t limit, ar; uint64_t base; };
#define AR_TYPE(ar) ((ar) & 0xf)
#define AR_S        (1u << 4)
#define AR_DPL(ar)  (((ar) >> 5) & 3)
#define AR_P        (1u << 7)
#define AR_L        (1u << 13)
#define AR_DB       (1u << 14)
#define AR_G        (1u << 15)
#define AR_RSVD     0xfffe0f00u

static struct gseg read_seg(const char *name, uint32_t sel)
{
    /* the four fields of a segment register are 2 apart per register and
     * 0x2000 (limit), 0x2014 (AR), 0x6006 (base) from the selector */
    uint32_t i = sel - GUEST_ES_SEL;
    struct gseg s = { name, vmcs_read16(sel), vmcs_read32(GUEST_ES_LIMIT + i),
                      vmcs_read32(GUEST_ES_AR + i), vmcs_readnat(GUEST_ES_BASE + i) };
    return s;
}

static const char *check_limit_g(const struct gseg *s)
{
    if ((s->limit & 0xfff) != 0xfff && (s->ar & AR_G))
        return fail(s->name, "G=1 but limit bits 11:0 are not all 1", "26.3.1.2");
    if ((s->limit >> 20) && !(s->ar & AR_G))
        return fail(s->name, "G=0 but limit bits 31:20 are not 0", "26.3.1.2");
    return NULL;
}

/* CS, SS, DS, ES, FS, GS outside virtual-8086 mode */
static const char *check_code_data(const struct gseg *s, const struct gseg *cs,
                                   const struct gseg *ss, bool ug, bool pe, bool ia32e)
{
    uint32_t ar = s->ar, t = AR_TYPE(ar);
    bool is_cs = s == cs, is_ss = s == ss;
    if (!is_cs && (ar & SEG_AR_UNUSABLE))
        return NULL;
    if (is_cs && !(t == 9 || t == 11 || t == 13 || t == 15 || (ug && t == 3)))
        return fail(s->name, ug ? "type must be 3, 9, 11, 13 or 15" : "type must be 9, 11, 13 or 15",
                    "26.3.1.2");
    if (is_ss && t != 3 && t != 7)
        return fail(s->name, "type must be 3 or 7 (read/write data, accessed)", "26.3.1.2");
    if (!is_cs && !is_ss && (!(t & 1) || ((t & 8) && !(t & 2))))
        return fail(s->name, "type must be accessed, and readable if code", "26.3.1.2");
    if (!(ar & AR_S))
        return fail(s->name, "S must be 1", "26.3.1.2");
    if (is_cs) {
        if (t == 3 && AR_DPL(ar) != 0)
            return fail(s->name, "DPL must be 0 for a data-type CS", "26.3.1.2");
        if ((t == 9 || t == 11) && AR_DPL(ar) != AR_DPL(ss->ar))
            return fail(s->name, "non-conforming: DPL must equal SS.DPL", "26.3.1.2");
        if ((t == 13 || t == 15) && AR_DPL(ar) > AR_DPL(ss->ar))
            return fail(s->name, "conforming: DPL must not exceed SS.DPL", "26.3.1.2");
    } else if (is_ss) {
        if (!ug && AR_DPL(ar) != (s->sel & 3u))
            return fail(s->name, "DPL must equal the selector's RPL", "26.3.1.2");
        if ((AR_TYPE(cs->ar) == 3 || !pe) && AR_DPL(ar) != 0)
            return fail(s->name, "DPL must be 0 in real mode / with a data-type CS", "26.3.1.2");
    } else if (!ug && t <= 11 && AR_DPL(ar) < (s->sel & 3u)) {
        return fail(s->name, "DPL must not be below the selector's RPL", "26.3.1.2");
    }
    if (!(ar & AR_P))
        return fail(s->name, "P must be 1", "26.3.1.2");
    if (ar & AR_RSVD)
        return fail(s->name, "reserved access-rights bits set", "26.3.1.2");
    if (is_cs && ia32e && (ar & AR_L) && (ar & AR_DB))
        return fail(s->name, "L=1 needs D/B=0 in IA-32e mode", "26.3.1.2");
    return check_limit_g(s);
}

static const char *check_segments(uint64_t rflags, bool ug, bool pe, bool ia32e)
{
    struct gseg cs = read_seg("CS", GUEST_CS_SEL), ss = read_seg("SS", GUEST_SS_SEL);
    struct gseg ds = read_seg("DS", GUEST_DS_SEL), es = read_seg("ES", GUEST_ES_SEL);
    struct gseg fs = read_seg("FS", GUEST_FS_SEL), gs = read_seg("GS", GUEST_GS_SEL);
    struct gseg tr = read_seg("TR", GUEST_TR_SEL), ldtr = read_seg("LDTR", GUEST_LDTR_SEL);
    const struct gseg *cd[6] = { &cs, &ss, &ds, &es, &fs, &gs };
    const char *bad;

    if (rflags & RFLAGS_VM) {
        for (unsigned i = 0; i < 6; i++) {
            if (cd[i]->base != (uint64_t)cd[i]->sel << 4)
                return fail(cd[i]->name, "virtual-8086: base must be selector << 4", "26.3.1.2");
            if (cd[i]->limit != 0xffff || cd[i]->ar != 0xf3)
                return fail(cd[i]->name, "virtual-8086: limit 0xffff, access rights 0xf3", "26.3.1.2");
        }
    } else {
        if (!ug && (ss.sel & 3) != (cs.sel & 3))
            return fail("SS", "selector RPL must equal CS.RPL", "26.3.1.2");
        for (unsigned i = 0; i < 6; i++)
            if ((bad = check_code_data(cd[i], &cs, &ss, ug, pe, ia32e)))
                return bad;
    }
    if (tr.sel & 4)
        return fail("TR", "selector TI must be 0", "26.3.1.2");
    if (!(ldtr.ar & SEG_AR_UNUSABLE) && (ldtr.sel & 4))
        return fail("LDTR", "selector TI must be 0", "26.3.1.2");
    if (!canonical(tr.base) || !canonical(fs.base) || !canonical(gs.base) ||
        (!(ldtr.ar & SEG_AR_UNUSABLE) && !canonical(ldtr.base)))
        return fail("TR/FS/GS/LDTR", "base must be canonical", "26.3.1.2");
    if (cs.base >> 32)
        return fail("CS", "base bits 63:32 must be 0", "26.3.1.2");
    for (unsigned i = 1; i < 4; i++)
        if (!(cd[i]->ar & SEG_AR_UNUSABLE) && (cd[i]->base >> 32))
            return fail(cd[i]->name, "base bits 63:32 must be 0", "26.3.1.2");

    unsigned tt = AR_TYPE(tr.ar);
    if (ia32e ? tt != 11 : (tt != 3 && tt != 11))
        return fail("TR", ia32e ? "type must be 11 (busy 64-bit TSS) in IA-32e mode"
                                : "type must be 3 or 11 (busy TSS)", "26.3.1.2");
    if ((tr.ar & AR_S) || !(tr.ar & AR_P) || (tr.ar & (AR_RSVD | SEG_AR_UNUSABLE)))
        return fail("TR", "must be usable, present, S=0, no reserved bits", "26.3.1.2");
    if ((bad = check_limit_g(&tr)))
        return bad;
    if (!(ldtr.ar & SEG_AR_UNUSABLE)) {
        if (AR_TYPE(ldtr.ar) != 2 || (ldtr.ar & AR_S) || !(ldtr.ar & AR_P) || (ldtr.ar & AR_RSVD))
            return fail("LDTR", "usable: type 2, S=0, P=1, no reserved bits", "26.3.1.2");
        if ((bad = check_limit_g(&ldtr)))
            return bad;
    }
    return NULL;
}

static const char *check_control_regs(bool ug, bool ia32e, uint32_t entry)
{
    uint64_t cr0 = vmcs_readnat(GUEST_CR0), cr4 = vmcs_readnat(GUEST_CR4);
    uint64_t f0 = vmx_caps.cr0_fixed0 & ~(ug ? CR0_PE | CR0_PG : 0);
    if ((cr0 & f0) != f0)
        return fail("CR0", "a bit fixed to 1 in VMX operation is 0", "26.3.1.1");
    if (cr0 & ~vmx_caps.cr0_fixed1)
        return fail("CR0", "a bit fixed to 0 in VMX operation is 1", "26.3.1.1");
    if ((cr0 & CR0_PG) && !(cr0 & CR0_PE))
        return fail("CR0", "PG=1 needs PE=1", "26.3.1.1");
    if ((cr4 & vmx_caps.cr4_fixed0) != vmx_caps.cr4_fixed0 || (cr4 & ~vmx_caps.cr4_fixed1))
        return fail("CR4", "a bit fixed in VMX operation has the wrong value", "26.3.1.1");
    if (ia32e && (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE)))
        return fail("CR0/CR4", "IA-32e mode needs CR0.PG=1 and CR4.PAE=1", "26.3.1.1");
    if (!ia32e && (cr4 & CR4_PCIDE))
        return fail("CR4", "PCIDE=1 needs IA-32e mode", "26.3.1.1");
    if (vmcs_readnat(GUEST_CR3) >> maxphyaddr())
        return fail("CR3", "bits beyond the physical-address width", "26.3.1.1");
    if ((entry & ENTRY_LOAD_DEBUG) && (vmcs_readnat(GUEST_DR7) >> 32))
        return fail("DR7", "bits 63:32 must be 0", "26.3.1.1");
    if (!canonical(vmcs_readnat(GUEST_IA32_SYSENTER_ESP)) ||
        !canonical(vmcs_readnat(GUEST_IA32_SYSENTER_EIP)))
        return fail("SYSENTER_ESP/EIP", "must be canonical", "26.3.1.1");
    if (entry & ENTRY_LOAD_PAT) {
        uint64_t pat = vmcs_read64(GUEST_IA32_PAT);
        for (unsigned i = 0; i < 8; i++) {
            unsigned t = (pat >> (8 * i)) & 0xff;
            if (t == 2 || t == 3 || t > 7)
                return fail("IA32_PAT", "an entry is not UC/WC/WT/WP/WB/UC-", "26.3.1.1");
        }
    }
    if (entry & ENTRY_LOAD_EFER) {
        uint64_t efer = vmcs_read64(GUEST_IA32_EFER);
        if (efer & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
            return fail("IA32_EFER", "reserved bits set", "26.3.1.1");
        if (!(efer & EFER_LMA) != !ia32e)
            return fail("IA32_EFER", "LMA must equal the 'IA-32e mode guest' entry control", "26.3.1.1");
        if ((cr0 & CR0_PG) && !(efer & EFER_LMA) != !(efer & EFER_LME))
            return fail("IA32_EFER", "LME must equal LMA when CR0.PG=1", "26.3.1.1");
    }
    return NULL;
}

static const char *check_rest(bool ia32e, bool pe, uint32_t pin)
{
    uint64_t rflags = vmcs_readnat(GUEST_RFLAGS), rip = vmcs_readnat(GUEST_RIP);
    uint32_t cs_ar = vmcs_read32(GUEST_CS_AR), ss_ar = vmcs_read32(GUEST_SS_AR);
    uint32_t intr = vmcs_read32(GUEST_INTERRUPTIBILITY), act = vmcs_read32(GUEST_ACTIVITY_STATE);
    uint32_t ev = vmcs_read32(ENTRY_INTR_INFO);
    bool inj = ev & INTR_INFO_VALID;

    /* 26.3.1.3 */
    if (!canonical(vmcs_readnat(GUEST_GDTR_BASE)) || !canonical(vmcs_readnat(GUEST_IDTR_BASE)))
        return fail("GDTR/IDTR", "base must be canonical", "26.3.1.3");
    if ((vmcs_read32(GUEST_GDTR_LIMIT) | vmcs_read32(GUEST_IDTR_LIMIT)) >> 16)
        return fail("GDTR/IDTR", "limit bits 31:16 must be 0", "26.3.1.3");
    /* 26.3.1.4 */
    if ((!ia32e || !(cs_ar & AR_L)) ? (rip >> 32) != 0 : !canonical(rip))
        return fail("RIP", "bits 63:32 must be 0 outside 64-bit mode (canonical in it)", "26.3.1.4");
    if ((rflags & ~RFLAGS_VALID & ~RFLAGS_FIXED1) || !(rflags & RFLAGS_FIXED1))
        return fail("RFLAGS", "reserved bits must be 0 and bit 1 must be 1", "26.3.1.4");
    if ((rflags & RFLAGS_VM) && (ia32e || !pe))
        return fail("RFLAGS", "VM must be 0 in IA-32e mode or with CR0.PE=0", "26.3.1.4");
    if (inj && INTR_INFO_TYPE(ev) == INTR_TYPE_EXTINT && !(rflags & RFLAGS_IF))
        return fail("RFLAGS", "IF must be 1 to inject an external interrupt", "26.3.1.4");
    /* 26.3.1.5 */
    if (act > ACTIVITY_WAIT_SIPI || (act && !(vmx_caps.misc & (VMX_MISC_ACT_HLT << (act - 1)))))
        return fail("activity state", "not supported", "26.3.1.5");
    if (act == ACTIVITY_HLT && AR_DPL(ss_ar) != 0)
        return fail("activity state", "HLT needs SS.DPL=0", "26.3.1.5");
    if (intr >> 5)
        return fail("interruptibility state", "reserved bits set", "26.3.1.5");
    if ((intr & INTERRUPTIBILITY_STI) && (intr & INTERRUPTIBILITY_MOVSS))
        return fail("interruptibility state", "STI and MOV-SS blocking both set", "26.3.1.5");
    if ((intr & INTERRUPTIBILITY_STI) && !(rflags & RFLAGS_IF))
        return fail("interruptibility state", "STI blocking needs RFLAGS.IF=1", "26.3.1.5");
    if (inj && INTR_INFO_TYPE(ev) == INTR_TYPE_EXTINT &&
        (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS)))
        return fail("interruptibility state", "STI/MOV-SS blocking while injecting an interrupt", "26.3.1.5");
    if (inj && INTR_INFO_TYPE(ev) == INTR_TYPE_NMI &&
        ((intr & INTERRUPTIBILITY_MOVSS) ||
         ((pin & PIN_VIRTUAL_NMI) && (intr & INTERRUPTIBILITY_NMI))))
        return fail("interruptibility state", "NMI injection while MOV-SS/NMI blocked", "26.3.1.5");
    if (intr & INTERRUPTIBILITY_SMI)
        return fail("interruptibility state", "SMI blocking outside SMM", "26.3.1.5");
    if (vmcs_read64(VMCS_LINK_POINTER) != ~0ull)
        return fail("VMCS link pointer", "must be all ones (no shadow VMCS)", "26.3.1.5");
    return NULL;
}

/* 26.3.1.6: PAE paging outside IA-32e mode loads the PDPTEs at entry */
static const char *check_pdptes(bool ia32e)
{
    uint64_t cr0 = vmcs_readnat(GUEST_CR0), cr4 = vmcs_readnat(GUEST_CR4);
    if (ia32e || !(cr0 & CR0_PG) || !(cr4 & CR4_PAE))
        return NULL;
    uint64_t rsvd = 0x1e6ull | ~((1ull << maxphyaddr()) - 1);
    for (unsigned i = 0; i < 4; i++) {
        uint64_t e = vmcs_read64(GUEST_PDPTE0 + 2 * i);
        if ((e & 1) && (e & rsvd))
            return fail("PDPTE", "a present PDPTE has reserved bits set", "26.3.1.6");
    }
    return NULL;
}

const char *vmx_check_guest_state(void)
{
    uint32_t entry = vmcs_read32(ENTRY_CONTROLS), proc = vmcs_read32(PROC_BASED_CONTROLS);
    uint32_t proc2 = (proc & PROC_SECONDARY) ? vmcs_read32(PROC_BASED_CONTROLS2) : 0;
    bool ug = proc2 & PROC2_UNRESTRICTED, ia32e = entry & ENTRY_IA32E_GUEST;
    bool pe = vmcs_readnat(GUEST_CR0) & CR0_PE;
    const char *bad;

    if ((bad = check_control_regs(ug, ia32e, entry)) ||
        (bad = check_segments(vmcs_readnat(GUEST_RFLAGS), ug, pe, ia32e)) ||
        (bad = check_rest(ia32e, pe, vmcs_read32(PIN_BASED_CONTROLS))) ||
        (bad = check_pdptes(ia32e)))
        return bad;
    return NULL;
}

/* ---- dump ------------------------------------------------------------------------- */

static void dump_seg(const char *n, uint32_t sel)
{
    struct gseg s = read_seg(n, sel);
    printk("  %-4s sel %04x base %016llx limit %08x ar %05x\n", n, s.sel,
           (unsigned long long)s.base, s.limit, s.ar);
}

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
    dump_seg("CS", GUEST_CS_SEL);
    dump_seg("SS", GUEST_SS_SEL);
    dump_seg("DS", GUEST_DS_SEL);
    dump_seg("ES", GUEST_ES_SEL);
    dump_seg("FS", GUEST_FS_SEL);
    dump_seg("GS", GUEST_GS_SEL);
    dump_seg("TR", GUEST_TR_SEL);
    dump_seg("LDTR", GUEST_LDTR_SEL);
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
