/*
 * Intel VMX: VMCS field encodings, exit reasons, control bits, VM-instruction
 * errors, capability MSRs, and the width-typed VMCS accessors used by the VMX
 * backend (arch/x86_64/vmx*.c).  Nothing outside those files includes this.
 * References: Intel SDM Vol. 3C ch. 24-30 (chapter numbers of the 2016+
 * editions; newer editions shift them by one), Vol. 3D appendices A-C.
 * Capability and control bits are named where nethv uses them; the others
 * are in the section cited beside each group.
 */
#ifndef ARCH_VMX_H
#define ARCH_VMX_H

#include <stdint.h>
#include <stdbool.h>
#include <arch/vcpu.h>

/* ---- capability MSRs (SDM 3D appendix A) ---------------------------------- */
#define MSR_IA32_VMX_BASIC              0x480
#define MSR_IA32_VMX_PINBASED_CTLS      0x481
#define MSR_IA32_VMX_PROCBASED_CTLS     0x482
#define MSR_IA32_VMX_EXIT_CTLS          0x483
#define MSR_IA32_VMX_ENTRY_CTLS         0x484
#define MSR_IA32_VMX_MISC               0x485
#define MSR_IA32_VMX_CR0_FIXED0         0x486
#define MSR_IA32_VMX_CR0_FIXED1         0x487
#define MSR_IA32_VMX_CR4_FIXED0         0x488
#define MSR_IA32_VMX_CR4_FIXED1         0x489
#define MSR_IA32_VMX_PROCBASED_CTLS2    0x48b
#define MSR_IA32_VMX_EPT_VPID_CAP       0x48c
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS 0x48d
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48e
#define MSR_IA32_VMX_TRUE_EXIT_CTLS     0x48f
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS    0x490

/* IA32_FEATURE_CONTROL (MSR 0x3a, SDM 3C 23.7) */
#define FEATURE_CONTROL_LOCKED          (1ull << 0)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX (1ull << 2)

/* IA32_VMX_BASIC (A.1) */
#define VMX_BASIC_REVISION(b)   ((uint32_t)(b) & 0x7fffffffu)
#define VMX_BASIC_VMCS_SIZE(b)  ((unsigned)((b) >> 32) & 0x1fff)
#define VMX_BASIC_ADDR32        (1ull << 48)    /* VMX structures below 4 GiB */
#define VMX_BASIC_MEMTYPE(b)    ((unsigned)((b) >> 50) & 0xf)
#define VMX_BASIC_INOUT_INFO    (1ull << 54)
#define VMX_BASIC_TRUE_CTLS     (1ull << 55)

/* IA32_VMX_MISC (A.6) */
#define VMX_MISC_PREEMPT_SHIFT(m) ((unsigned)(m) & 0x1f)  /* timer ticks = TSC >> this */
#define VMX_MISC_STORE_LMA      (1ull << 5)

/* IA32_VMX_EPT_VPID_CAP (A.10) */
#define EPT_CAP_EXEC_ONLY       (1ull << 0)
#define EPT_CAP_WALK4           (1ull << 6)
#define EPT_CAP_WB              (1ull << 14)
#define EPT_CAP_2M              (1ull << 16)
#define EPT_CAP_1G              (1ull << 17)
#define EPT_CAP_INVEPT          (1ull << 20)
#define EPT_CAP_AD              (1ull << 21)
#define EPT_CAP_INVEPT_SINGLE   (1ull << 25)
#define EPT_CAP_INVEPT_ALL      (1ull << 26)
#define VPID_CAP_INVVPID        (1ull << 32)
#define VPID_CAP_INVVPID_SINGLE (1ull << 41)
#define VPID_CAP_INVVPID_ALL    (1ull << 42)

/* ---- VMCS fields (SDM 3D appendix B) ----------------------------------------
 * Encoding: bit 0 high half of a 64-bit field, 9:1 index, 11:10 type
 * (control, read-only data, guest, host), 14:13 width. */
#define VMCS_WIDTH(f)   (((unsigned)(f) >> 13) & 3)
enum { VMCS_W16 = 0, VMCS_W64 = 1, VMCS_W32 = 2, VMCS_WNAT = 3 };

enum vmcs_field {
    /* B.1.1 16-bit control fields */
    VPID                        = 0x0000,
    /* B.1.2 16-bit guest-state fields */
    GUEST_ES_SEL                = 0x0800,
    GUEST_CS_SEL                = 0x0802,
    GUEST_SS_SEL                = 0x0804,
    GUEST_DS_SEL                = 0x0806,
    GUEST_FS_SEL                = 0x0808,
    GUEST_GS_SEL                = 0x080a,
    GUEST_LDTR_SEL              = 0x080c,
    GUEST_TR_SEL                = 0x080e,
    GUEST_INTR_STATUS           = 0x0810,   /* 24.4.2: RVI bits 7:0, SVI bits 15:8 (VID) */
    /* B.1.3 16-bit host-state fields */
    HOST_ES_SEL                 = 0x0c00,
    HOST_CS_SEL                 = 0x0c02,
    HOST_SS_SEL                 = 0x0c04,
    HOST_DS_SEL                 = 0x0c06,
    HOST_FS_SEL                 = 0x0c08,
    HOST_GS_SEL                 = 0x0c0a,
    HOST_TR_SEL                 = 0x0c0c,

    /* B.2.1 64-bit control fields */
    IO_BITMAP_A                 = 0x2000,
    IO_BITMAP_B                 = 0x2002,
    MSR_BITMAP                  = 0x2004,
    TSC_OFFSET                  = 0x2010,
    VIRTUAL_APIC_ADDR           = 0x2012,   /* 24.6.8: the virtual-APIC page (TPR shadow, VID) */
    APIC_ACCESS_ADDR            = 0x2014,   /* 24.6.8: "virtualize APIC accesses" */
    EPT_POINTER                 = 0x201a,
    EOI_EXIT_BITMAP0            = 0x201c,   /* 24.6.8: vectors 0-63 whose EOI exits (29.1.4) */
    /* B.2.2 64-bit read-only data fields */
    GUEST_PHYSICAL_ADDRESS      = 0x2400,
    /* B.2.3 64-bit guest-state fields */
    VMCS_LINK_POINTER           = 0x2800,
    GUEST_IA32_DEBUGCTL         = 0x2802,
    GUEST_IA32_PAT              = 0x2804,
    GUEST_IA32_EFER             = 0x2806,
    GUEST_PDPTE0                = 0x280a,   /* PDPTE1-3 follow, 2 apart */
    /* B.2.4 64-bit host-state fields */
    HOST_IA32_PAT               = 0x2c00,
    HOST_IA32_EFER              = 0x2c02,

    /* B.3.1 32-bit control fields */
    PIN_BASED_CONTROLS          = 0x4000,
    PROC_BASED_CONTROLS         = 0x4002,
    EXCEPTION_BITMAP            = 0x4004,
    PAGE_FAULT_ERROR_MASK       = 0x4006,
    PAGE_FAULT_ERROR_MATCH      = 0x4008,
    CR3_TARGET_COUNT            = 0x400a,
    EXIT_CONTROLS               = 0x400c,
    EXIT_MSR_STORE_COUNT        = 0x400e,
    EXIT_MSR_LOAD_COUNT         = 0x4010,
    ENTRY_CONTROLS              = 0x4012,
    ENTRY_MSR_LOAD_COUNT        = 0x4014,
    ENTRY_INTR_INFO             = 0x4016,
    ENTRY_EXCEPTION_ERROR       = 0x4018,
    ENTRY_INSTRUCTION_LEN       = 0x401a,
    TPR_THRESHOLD               = 0x401c,   /* 24.6.8: bits 3:0, "TPR below threshold" exits (29.1.2) */
    PROC_BASED_CONTROLS2        = 0x401e,
    /* B.3.2 32-bit read-only data fields */
    VM_INSTRUCTION_ERROR        = 0x4400,
    EXIT_REASON                 = 0x4402,
    EXIT_INTR_INFO              = 0x4404,
    EXIT_INTR_ERROR             = 0x4406,
    IDT_VECTORING_INFO          = 0x4408,
    IDT_VECTORING_ERROR         = 0x440a,
    EXIT_INSTRUCTION_LEN        = 0x440c,
    EXIT_INSTRUCTION_INFO       = 0x440e,
    /* B.3.3 32-bit guest-state fields */
    GUEST_ES_LIMIT              = 0x4800,
    GUEST_CS_LIMIT              = 0x4802,
    GUEST_SS_LIMIT              = 0x4804,
    GUEST_DS_LIMIT              = 0x4806,
    GUEST_FS_LIMIT              = 0x4808,
    GUEST_GS_LIMIT              = 0x480a,
    GUEST_LDTR_LIMIT            = 0x480c,
    GUEST_TR_LIMIT              = 0x480e,
    GUEST_GDTR_LIMIT            = 0x4810,
    GUEST_IDTR_LIMIT            = 0x4812,
    GUEST_ES_AR                 = 0x4814,
    GUEST_CS_AR                 = 0x4816,
    GUEST_SS_AR                 = 0x4818,
    GUEST_DS_AR                 = 0x481a,
    GUEST_FS_AR                 = 0x481c,
    GUEST_GS_AR                 = 0x481e,
    GUEST_LDTR_AR               = 0x4820,
    GUEST_TR_AR                 = 0x4822,
    GUEST_INTERRUPTIBILITY      = 0x4824,
    GUEST_ACTIVITY_STATE        = 0x4826,
    GUEST_IA32_SYSENTER_CS      = 0x482a,
    GUEST_PREEMPT_TIMER         = 0x482e,
    /* B.3.4 32-bit host-state field */
    HOST_IA32_SYSENTER_CS       = 0x4c00,

    /* B.4.1 natural-width control fields */
    CR0_GUEST_HOST_MASK         = 0x6000,
    CR4_GUEST_HOST_MASK         = 0x6002,
    CR0_READ_SHADOW             = 0x6004,
    CR4_READ_SHADOW             = 0x6006,
    /* B.4.2 natural-width read-only data fields */
    EXIT_QUALIFICATION          = 0x6400,
    GUEST_LINEAR_ADDRESS        = 0x640a,
    /* B.4.3 natural-width guest-state fields */
    GUEST_CR0                   = 0x6800,
    GUEST_CR3                   = 0x6802,
    GUEST_CR4                   = 0x6804,
    GUEST_ES_BASE               = 0x6806,
    GUEST_CS_BASE               = 0x6808,
    GUEST_SS_BASE               = 0x680a,
    GUEST_DS_BASE               = 0x680c,
    GUEST_FS_BASE               = 0x680e,
    GUEST_GS_BASE               = 0x6810,
    GUEST_LDTR_BASE             = 0x6812,
    GUEST_TR_BASE               = 0x6814,
    GUEST_GDTR_BASE             = 0x6816,
    GUEST_IDTR_BASE             = 0x6818,
    GUEST_DR7                   = 0x681a,
    GUEST_RSP                   = 0x681c,
    GUEST_RIP                   = 0x681e,
    GUEST_RFLAGS                = 0x6820,
    GUEST_PENDING_DBG_EXCEPTIONS = 0x6822,
    GUEST_IA32_SYSENTER_ESP     = 0x6824,
    GUEST_IA32_SYSENTER_EIP     = 0x6826,
    /* B.4.4 natural-width host-state fields */
    HOST_CR0                    = 0x6c00,
    HOST_CR3                    = 0x6c02,
    HOST_CR4                    = 0x6c04,
    HOST_FS_BASE                = 0x6c06,
    HOST_GS_BASE                = 0x6c08,
    HOST_TR_BASE                = 0x6c0a,
    HOST_GDTR_BASE              = 0x6c0c,
    HOST_IDTR_BASE              = 0x6c0e,
    HOST_IA32_SYSENTER_ESP      = 0x6c10,
    HOST_IA32_SYSENTER_EIP      = 0x6c12,
    HOST_RSP                    = 0x6c14,
    HOST_RIP                    = 0x6c16,
};

/* ---- basic exit reasons (SDM 3D appendix C) -------------------------------- */
enum vmx_exit_reason {
    EXIT_EXCEPTION_NMI = 0, EXIT_EXTERNAL_INTR = 1, EXIT_TRIPLE_FAULT = 2,
    EXIT_INIT = 3, EXIT_SIPI = 4, EXIT_IO_SMI = 5, EXIT_OTHER_SMI = 6,
    EXIT_INTR_WINDOW = 7, EXIT_NMI_WINDOW = 8, EXIT_TASK_SWITCH = 9,
    EXIT_CPUID = 10, EXIT_GETSEC = 11, EXIT_HLT = 12, EXIT_INVD = 13,
    EXIT_INVLPG = 14, EXIT_RDPMC = 15, EXIT_RDTSC = 16, EXIT_RSM = 17,
    EXIT_VMCALL = 18, EXIT_VMCLEAR = 19, EXIT_VMLAUNCH = 20, EXIT_VMPTRLD = 21,
    EXIT_VMPTRST = 22, EXIT_VMREAD = 23, EXIT_VMRESUME = 24, EXIT_VMWRITE = 25,
    EXIT_VMXOFF = 26, EXIT_VMXON = 27, EXIT_CR_ACCESS = 28, EXIT_DR_ACCESS = 29,
    EXIT_IO = 30, EXIT_RDMSR = 31, EXIT_WRMSR = 32,
    EXIT_FAIL_GUEST_STATE = 33, EXIT_FAIL_MSR_LOAD = 34,
    EXIT_MWAIT = 36, EXIT_MTF = 37, EXIT_MONITOR = 39, EXIT_PAUSE = 40,
    EXIT_FAIL_MCE = 41, EXIT_TPR_BELOW = 43, EXIT_APIC_ACCESS = 44,
    EXIT_VIRT_EOI = 45, EXIT_GDTR_IDTR = 46, EXIT_LDTR_TR = 47,
    EXIT_EPT_VIOLATION = 48, EXIT_EPT_MISCONFIG = 49, EXIT_INVEPT = 50,
    EXIT_RDTSCP = 51, EXIT_PREEMPT_TIMER = 52, EXIT_INVVPID = 53,
    EXIT_WBINVD = 54, EXIT_XSETBV = 55, EXIT_APIC_WRITE = 56, EXIT_RDRAND = 57,
    EXIT_INVPCID = 58, EXIT_VMFUNC = 59, EXIT_ENCLS = 60, EXIT_RDSEED = 61,
    EXIT_PML_FULL = 62, EXIT_XSAVES = 63, EXIT_XRSTORS = 64, EXIT_PCONFIG = 65,
    EXIT_SPP = 66, EXIT_UMWAIT = 67, EXIT_TPAUSE = 68, EXIT_LOADIWKEY = 69,
    EXIT_ENCLV = 70, EXIT_ENQCMD_PASID = 72, EXIT_ENQCMDS_PASID = 73,
    EXIT_BUS_LOCK = 74, EXIT_NOTIFY = 75,
    EXIT__COUNT
};
/* The APIC-virtualization exits (SDM 3C ch. 29): TPR below threshold (43,
 * trap-like, 29.1.2, without VID only); APIC access (44, fault-like, 29.4);
 * virtualized EOI (45, trap-like, 29.1.4: EOI virtualization of a vector
 * set in the EOI-exit bitmap, exit qualification bits 7:0 = the vector);
 * APIC write (56, trap-like, 29.4.3.3: qualification = page offset). */
#define EXIT_REASON_BASIC(r)    ((r) & 0xffffu)
#define EXIT_REASON_ENTRY_FAIL  (1u << 31)

/* ---- VM-execution controls (SDM 3C 24.6) ---------------------------------- */
/* pin-based (24.6.1) */
#define PIN_EXTINT_EXIT         (1u << 0)
#define PIN_NMI_EXIT            (1u << 3)
#define PIN_VIRTUAL_NMI         (1u << 5)
#define PIN_PREEMPT_TIMER       (1u << 6)
#define PIN_POSTED_INTR         (1u << 7)
/* primary processor-based (24.6.2) */
#define PROC_INTR_WINDOW        (1u << 2)
#define PROC_TSC_OFFSET         (1u << 3)
#define PROC_HLT_EXIT           (1u << 7)
#define PROC_MWAIT_EXIT         (1u << 10)
#define PROC_RDPMC_EXIT         (1u << 11)
#define PROC_CR8_LOAD_EXIT      (1u << 19)
#define PROC_CR8_STORE_EXIT     (1u << 20)
#define PROC_TPR_SHADOW         (1u << 21)
#define PROC_NMI_WINDOW         (1u << 22)
#define PROC_IO_BITMAPS         (1u << 25)
#define PROC_MSR_BITMAPS        (1u << 28)
#define PROC_MONITOR_EXIT       (1u << 29)
#define PROC_SECONDARY          (1u << 31)
/* secondary processor-based (24.6.2) */
#define PROC2_VIRT_APIC_ACCESS  (1u << 0)       /* APIC-access page (29.4) */
#define PROC2_EPT               (1u << 1)
#define PROC2_RDTSCP            (1u << 3)
#define PROC2_VIRT_X2APIC       (1u << 4)       /* x2APIC MSRs 0x800-0x8ff on the virtual-APIC page (29.5) */
#define PROC2_VPID              (1u << 5)
#define PROC2_WBINVD_EXIT       (1u << 6)
#define PROC2_UNRESTRICTED      (1u << 7)
#define PROC2_APIC_REG_VIRT     (1u << 8)       /* APIC register reads from the virtual-APIC page (29.4.2, 29.5) */
#define PROC2_VIRT_INTR_DELIVERY (1u << 9)      /* the CPU evaluates and delivers virtual interrupts (29.2) */
#define PROC2_INVPCID           (1u << 12)
/* VM-exit controls (24.7.1) */
#define EXIT_SAVE_DEBUG         (1u << 2)
#define EXIT_HOST_64            (1u << 9)       /* host address-space size */
#define EXIT_ACK_INTR           (1u << 15)
#define EXIT_SAVE_PAT           (1u << 18)
#define EXIT_LOAD_PAT           (1u << 19)
#define EXIT_SAVE_EFER          (1u << 20)
#define EXIT_LOAD_EFER          (1u << 21)
/* VM-entry controls (24.8.1) */
#define ENTRY_LOAD_DEBUG        (1u << 2)
#define ENTRY_IA32E_GUEST       (1u << 9)
#define ENTRY_LOAD_PAT          (1u << 14)
#define ENTRY_LOAD_EFER         (1u << 15)

/* Exit qualification of a virtualized-EOI exit (27.2.1): the vector. */
#define VEOIQ_VECTOR(q)         ((uint8_t)(q))
/* ... of an APIC-access exit (27.2.1, table 27-6): page offset (linear
 * accesses), access type, NMI unblocking due to IRET; of an APIC-write
 * exit: the page offset written. */
#define APICQ_OFFSET(q)         ((unsigned)(q) & 0xfffu)
#define APICQ_TYPE(q)           (((unsigned)(q) >> 12) & 0xfu)
#define APICQ_TYPE_READ         0u      /* linear access, data read */
#define APICQ_TYPE_WRITE        1u      /* linear access, data write */
#define APICQ_NMI_UNBLOCK       (1u << 16)

/* x2APIC MSRs the CPU virtualizes with "virtualize x2APIC mode" (29.5) when
 * the MSR bitmap lets them through: TPR (reads and writes), EOI and SELF
 * IPI writes (with VID); with APIC-register virtualization also reads of
 * the other registers, here only ISR/TMR/IRR (0x810-0x827), whose page
 * image is what the monitor would return. */
#define X2APIC_MSR_TPR          0x808u
#define X2APIC_MSR_EOI          0x80bu
#define X2APIC_MSR_ISR0         0x810u
#define X2APIC_MSR_IRR7         0x827u
#define X2APIC_MSR_SELF_IPI     0x83fu

/* ---- event information (24.8.3, 24.9.2) ------------------------------------ */
#define INTR_INFO_VECTOR(i)     ((i) & 0xffu)
#define INTR_INFO_TYPE(i)       (((i) >> 8) & 7u)
#define INTR_TYPE_EXTINT        0u
#define INTR_TYPE_NMI           2u
#define INTR_TYPE_HW_EXC        3u
#define INTR_TYPE_SW_INT        4u
#define INTR_TYPE_PRIV_SW_EXC   5u
#define INTR_TYPE_SW_EXC        6u
#define INTR_INFO_ERROR_CODE    (1u << 11)
#define INTR_INFO_NMI_UNBLOCK   (1u << 12)      /* exit info only: IRET unblocked NMIs */
#define INTR_INFO_VALID         (1u << 31)

/* guest interruptibility state (24.4.2) and activity state */
#define INTERRUPTIBILITY_STI    (1u << 0)
#define INTERRUPTIBILITY_MOVSS  (1u << 1)
#define INTERRUPTIBILITY_NMI    (1u << 3)
#define ACTIVITY_ACTIVE         0u

/* ---- exit qualifications (27.2.1) ----------------------------------------- */
/* I/O instructions (table 27-5) */
#define IOQ_SIZE(q)             ((unsigned)((q) & 7) + 1)
#define IOQ_IN                  (1u << 3)
#define IOQ_STRING              (1u << 4)
#define IOQ_REP                 (1u << 5)
#define IOQ_PORT(q)             ((uint16_t)((q) >> 16))
/* control-register accesses (table 27-3) */
#define CRQ_NUM(q)              ((unsigned)(q) & 0xf)
#define CRQ_TYPE(q)             ((unsigned)((q) >> 4) & 3)
#define CRQ_TYPE_MOV_TO         0u
#define CRQ_TYPE_CLTS           2u
#define CRQ_TYPE_LMSW           3u
#define CRQ_GPR(q)              ((unsigned)((q) >> 8) & 0xf)
#define CRQ_LMSW_DATA(q)        ((unsigned)((q) >> 16) & 0xffff)
/* EPT violations (table 27-7) */
#define EPTQ_READ               (1u << 0)
#define EPTQ_WRITE              (1u << 1)
#define EPTQ_FETCH              (1u << 2)
#define EPTQ_GLA_VALID          (1u << 7)
#define EPTQ_NMI_UNBLOCK        (1u << 12)
/* VM-entry failure, reason 33 (26.8) */
#define ENTRYQ_PDPTE            2u
#define ENTRYQ_NMI_INJECT       3u
#define ENTRYQ_LINK_PTR         4u

/* ---- EPT (28.2.2, 24.6.11) ------------------------------------------------ */
#define EPT_R                   (1ull << 0)
#define EPT_W                   (1ull << 1)
#define EPT_X                   (1ull << 2)
#define EPT_MT_SHIFT            3               /* leaf: memory type, bits 5:3 */
#define EPT_MT_WB               6ull
#define EPT_LARGE               (1ull << 7)
#define EPTP_MT_WB              6ull
#define EPTP_WALK4              (3ull << 3)     /* page-walk length - 1 */
#define EPTP_AD                 (1ull << 6)
#define INVEPT_SINGLE           1ull
#define INVEPT_ALL              2ull
#define INVVPID_SINGLE          1ull
#define INVVPID_ALL             2ull

/* ---- VM-instruction error numbers (SDM 3C 30.4) ----------------------------- */
enum vmx_insn_error {
    VMXERR_VMCALL_ROOT = 1, VMXERR_VMCLEAR_BAD_ADDR = 2, VMXERR_VMCLEAR_VMXON = 3,
    VMXERR_LAUNCH_NOT_CLEAR = 4, VMXERR_RESUME_NOT_LAUNCHED = 5,
    VMXERR_RESUME_AFTER_VMXOFF = 6, VMXERR_ENTRY_BAD_CONTROLS = 7,
    VMXERR_ENTRY_BAD_HOST_STATE = 8, VMXERR_VMPTRLD_BAD_ADDR = 9,
    VMXERR_VMPTRLD_VMXON = 10, VMXERR_VMPTRLD_BAD_REVISION = 11,
    VMXERR_BAD_FIELD = 12, VMXERR_WRITE_READ_ONLY = 13, VMXERR_VMXON_ROOT = 15,
    VMXERR_ENTRY_BAD_EXEC_VMCS = 16, VMXERR_ENTRY_EXEC_VMCS_NOT_LAUNCHED = 17,
    VMXERR_ENTRY_EXEC_VMCS_NOT_VMXON = 18, VMXERR_VMCALL_NOT_CLEAR = 19,
    VMXERR_VMCALL_BAD_EXIT_CONTROLS = 20, VMXERR_VMCALL_BAD_MSEG = 22,
    VMXERR_VMXOFF_DUAL_MONITOR = 23, VMXERR_VMCALL_BAD_SMM_FEATURES = 24,
    VMXERR_ENTRY_BAD_EXEC_CONTROLS = 25, VMXERR_ENTRY_MOVSS_BLOCKING = 26,
    VMXERR_BAD_INVEPT_INVVPID = 28,
};

/* ---- capabilities, computed once (vmx_caps.c) --------------------------------- */
struct vmx_caps {
    uint64_t basic, misc, ept_vpid;
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
    uint32_t pin_may1, proc_may1, proc2_may1, exit_may1, entry_may1;  /* allowed 1-settings */
    uint32_t pin, proc, proc2, exit, entry;    /* the controls every VMCS starts with */
    uint32_t proc2_apicv;                       /* added for a vCPU with a virtual-APIC
                                                   page: VID [+ APIC-register virt.]
                                                   [+ virtualize x2APIC mode], or 0 */
    uint64_t cr0_mask, cr4_mask;                /* host-owned guest CR bits (24.6.6) */
    uint64_t cr0_force1, cr4_force1;            /* ... and the ones kept set */
    uint64_t host_xcr0;                        /* 0 without CR4.OSXSAVE: FXSAVE */
};
extern struct vmx_caps vmx_caps;

static inline bool vmx_has_ept(void)       { return vmx_caps.proc2 & PROC2_EPT; }
static inline bool vmx_has_vpid(void)      { return vmx_caps.proc2 & PROC2_VPID; }
static inline bool vmx_has_unrestricted(void) { return vmx_caps.proc2 & PROC2_UNRESTRICTED; }
static inline bool vmx_has_preempt_timer(void) { return vmx_caps.pin_may1 & PIN_PREEMPT_TIMER; }
static inline bool vmx_has_vid(void)       { return vmx_caps.proc2_may1 & PROC2_VIRT_INTR_DELIVERY; }
static inline bool vmx_has_posted(void)    { return vmx_caps.pin_may1 & PIN_POSTED_INTR; }
static inline bool vmx_has_tpr_shadow(void) { return vmx_caps.proc & PROC_TPR_SHADOW; }
/* Virtual-interrupt delivery usable: needs the TPR shadow and external-
 * interrupt exiting (SDM 3C 26.2.1.1). */
static inline bool vmx_has_apicv(void)     { return vmx_caps.proc2_apicv & PROC2_VIRT_INTR_DELIVERY; }
static inline bool vmx_has_ept_ad(void)    { return vmx_caps.ept_vpid & EPT_CAP_AD; }

/* Backend-private per-vCPU state: the page after the VMCS (vcpu_hw.ctl). */
#define VMX_LAZY_MSRS 6     /* KERNEL_GS_BASE, STAR, LSTAR, CSTAR, SFMASK, TSC_AUX */
struct vmx_vcpu {
    uint32_t pin, proc, proc2;                  /* controls as in the VMCS */
    uint64_t lazy_msr[VMX_LAZY_MSRS];           /* guest values while not loaded */
    uint64_t preempt_ticks;                     /* timer value for each entry; 0 = off */
    uint64_t cr2;                               /* not in the VMCS: switched by run() */
    uint64_t rip, rsp, rflags;                  /* VMCS copies, valid if regs_cached */
    bool regs_cached;                           /* cleared at every exit */
    bool guest_osxsave;                         /* guest CR4.OSXSAVE (host-owned bit) */
    uint32_t last_reason;                       /* for dump() and inject() */
    uint64_t last_qual;
    uint32_t last_insn_len, last_intr_info;
    uint64_t eoi_exit[4];                       /* EOI_EXIT_BITMAP0-3 as in the VMCS */
    uint64_t apic_mode;                         /* IA32_APIC_BASE EN|EXTD as applied;
                                                   ~0 = not yet (set_apic_mode); counted
                                                   in vm_hw.non_x2apic_vcpus unless x2APIC */
    uint64_t internal_exits;                    /* handled inside the backend */
    uint64_t hw_exits[EXIT__COUNT];             /* per basic exit reason */
};
_Static_assert(sizeof(struct vmx_vcpu) <= 4096, "struct vmx_vcpu fits its page");
static inline struct vmx_vcpu *vmx_priv(struct vcpu_hw *v)
{
    return (struct vmx_vcpu *)((uint8_t *)v->ctl + 4096);
}
#define VMX_VPIDS_PER_VM 64 /* vCPU index < this; VPID = VM tag + index */
#define RFLAGS_VALID    0x3f7fd5ull     /* RFLAGS bits that are not reserved */
#define VMX_VCPU_PAGES 3    /* VMCS, struct vmx_vcpu, TPR-shadow page of a vCPU
                               without the kernel's virtual-APIC page (vapic_pa) */

/* ---- VMX instructions ------------------------------------------------------- */
static inline bool vmx_vmread(uint64_t field, uint64_t *val)
{
    bool ok;    /* VMsucceed: CF = ZF = 0 */
    __asm__ volatile("vmread %2, %1" : "=@cca"(ok), "=rm"(*val) : "r"(field) : "cc");
    return ok;
}
static inline bool vmx_vmwrite(uint64_t field, uint64_t val)
{
    bool ok;
    __asm__ volatile("vmwrite %2, %1" : "=@cca"(ok) : "r"(field), "rm"(val) : "cc", "memory");
    return ok;
}
static inline bool vmx_vmptrld(uint64_t pa)
{
    bool ok;
    __asm__ volatile("vmptrld %1" : "=@cca"(ok) : "m"(pa) : "cc", "memory");
    return ok;
}
static inline bool vmx_vmclear(uint64_t pa)
{
    bool ok;
    __asm__ volatile("vmclear %1" : "=@cca"(ok) : "m"(pa) : "cc", "memory");
    return ok;
}
static inline bool vmx_invept(uint64_t type, uint64_t eptp)
{
    struct { uint64_t eptp, zero; } d = { eptp, 0 };
    bool ok;
    __asm__ volatile("invept %1, %2" : "=@cca"(ok) : "m"(d), "r"(type) : "cc", "memory");
    return ok;
}
static inline bool vmx_invvpid(uint64_t type, uint16_t vpid, uint64_t gla)
{
    struct { uint64_t vpid, gla; } d = { vpid, gla };
    bool ok;
    __asm__ volatile("invvpid %1, %2" : "=@cca"(ok) : "m"(d), "r"(type) : "cc", "memory");
    return ok;
}

/* ---- width-typed VMCS accessors ---------------------------------------------
 * The current VMCS of this CPU.  A constant field of the wrong width is a
 * compile error; a failing VMREAD/VMWRITE logs field, error and caller. */
void vmcs_width_mismatch(void) __attribute__((error("VMCS field used with the wrong width")));
void vmx_field_error(const char *op, uint32_t field, uint64_t val, const char *caller);

static inline __attribute__((always_inline))
uint64_t vmcs_read_w(uint32_t f, unsigned w, const char *caller)
{
    uint64_t v;
    if (__builtin_constant_p(f) && VMCS_WIDTH(f) != w)
        vmcs_width_mismatch();
    if (__builtin_expect(!vmx_vmread(f, &v), 0)) {
        vmx_field_error("vmread", f, 0, caller);
        v = 0;
    }
    return v;
}
static inline __attribute__((always_inline))
void vmcs_write_w(uint32_t f, unsigned w, uint64_t v, const char *caller)
{
    if (__builtin_constant_p(f) && VMCS_WIDTH(f) != w)
        vmcs_width_mismatch();
    if (__builtin_expect(!vmx_vmwrite(f, v), 0))
        vmx_field_error("vmwrite", f, v, caller);
}
#define vmcs_read16(f)      ((uint16_t)vmcs_read_w((f), VMCS_W16, __func__))
#define vmcs_read32(f)      ((uint32_t)vmcs_read_w((f), VMCS_W32, __func__))
#define vmcs_read64(f)      vmcs_read_w((f), VMCS_W64, __func__)
#define vmcs_readnat(f)     vmcs_read_w((f), VMCS_WNAT, __func__)
#define vmcs_write16(f, v)  vmcs_write_w((f), VMCS_W16, (uint16_t)(v), __func__)
#define vmcs_write32(f, v)  vmcs_write_w((f), VMCS_W32, (uint32_t)(v), __func__)
#define vmcs_write64(f, v)  vmcs_write_w((f), VMCS_W64, (uint64_t)(v), __func__)
#define vmcs_writenat(f, v) vmcs_write_w((f), VMCS_WNAT, (uint64_t)(v), __func__)

/* ---- shared between the vmx*.c files ------------------------------------------ */
int vmx_discover(void);                                     /* vmx_caps.c */
int vmx_cpu_enable(void);
/* Per host CPU: VMXON region, the VMCS current here, whose lazy MSRs are loaded. */
struct vmx_percpu {
    uint64_t vmxon_pa;
    struct vcpu_hw *current;
    struct vcpu_hw *msr_owner;
    bool on;
};
struct vmx_percpu *vmx_this_cpu(void);
const char *vmx_insn_error_name(uint32_t err);              /* vmx_check.c */
const char *vmx_exit_reason_name(uint32_t basic);
void vmx_dump(struct vcpu_hw *v);
int vmx_vm_init(struct vm_hw *vm);                          /* vmx_ept.c */
int vmx_vm_map(struct vm_hw *vm, uint64_t gpa, uint64_t hpa, uint64_t len, unsigned prot);
void vmx_io_passthrough(struct vm_hw *vm, uint16_t port, bool pass);
void vmx_msr_passthrough(struct vm_hw *vm, uint32_t msr, bool pass);
/* Exit on RDMSR (rd) / WRMSR (wr) of one MSR of 0-0x1fff; atomic: vCPUs of
 * the VM on other CPUs may call it at the same time. */
void vmx_msr_intercept(struct vm_hw *vm, uint32_t msr, bool rd, bool wr);
uint64_t vmx_eptp(const struct vm_hw *vm);
uint64_t vmx_gpa_to_hpa(const struct vm_hw *vm, uint64_t gpa);
void vmx_flush_tags(struct vcpu_hw *v);
int vmx_run(struct vcpu_hw *v, struct vcpu_exit *e);        /* vmx_run.c */
bool vmx_load(struct vcpu_hw *v);                           /* vmx.c */
void vmx_switch_msrs(struct vcpu_hw *v);
void vmx_load_pdptes(struct vcpu_hw *v);
void vmx_set_entry_ia32e(struct vcpu_hw *v, bool on);
struct vmx_vcpu *vmx_regs(struct vcpu_hw *v);               /* rip/rsp/rflags cached */
void vmx_set_rip(struct vcpu_hw *v, uint64_t rip);
/* vmx_entry.S: 0 after a VM exit, 1 VMfailValid, 2 VMfailInvalid */
int vmx_enter(struct vcpu_hw *v, bool launched);

#endif
