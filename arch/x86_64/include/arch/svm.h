/*
 * AMD SVM: the VMCB, intercept bits, exit codes, event injection and the
 * CPUID feature bits, as named by the AMD64 Architecture Programmer's Manual
 * Vol. 2 (APM 2), chapter 15 "Secure Virtual Machine" and appendices B
 * (VMCB layout) and C (intercept exit codes).  Section numbers follow APM 2
 * rev. 3.3x; the section titles are given too because numbering drifts.
 *
 * Only the SVM backend (svm*.c) includes this header; generic code sees the
 * vCPU interface in arch/vcpu.h and nothing here.
 * Feature and intercept bits are named where nethv uses them; the others
 * are in the section cited beside each group.
 */
#ifndef ARCH_SVM_H
#define ARCH_SVM_H

#ifndef __ASSEMBLY__
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <arch/vcpu.h>

/* ---- CPUID Fn8000_000A (APM 3 appendix E.4.9 "SVM Revision and Feature
 * Identification"): EAX = SVM revision, EBX = number of ASIDs, EDX = features */
#define SVM_CPUID_LEAF          0x8000000au
#define SVM_FEAT_NP             (1u << 0)   /* nested paging */
#define SVM_FEAT_NRIPS          (1u << 3)   /* next-RIP save on #VMEXIT (15.7.1) */
#define SVM_FEAT_VMCB_CLEAN     (1u << 5)   /* VMCB clean bits (15.15 "VMCB State Caching") */
#define SVM_FEAT_FLUSH_ASID     (1u << 6)   /* TLB_CONTROL 3/7 (15.16.1) */
#define SVM_FEAT_DECODE_ASSISTS (1u << 7)   /* insn bytes, CR/INVLPG info */
#define SVM_FEAT_VGIF           (1u << 16)

/* ---- SVM MSRs (15.30 "SVM Related MSRs") ---- */
#define MSR_VM_CR               0xc0010114u /* 15.30.1 */
#define  VM_CR_LOCK             (1ull << 3)
#define  VM_CR_SVMDIS           (1ull << 4)
#define MSR_VM_HSAVE_PA         0xc0010117u /* 15.30.4: host save area, 4 KiB aligned */

/* ---- intercept vector 3, VMCB 0x00c (15.9 / 15.13 / 15.14, appendix B) ---- */
#define SVM_INT_INTR            (1u << 0)   /* 15.13.1 physical INTR */
#define SVM_INT_NMI             (1u << 1)   /* 15.13.2 */
#define SVM_INT_SMI             (1u << 2)   /* 15.13.3 */
#define SVM_INT_INIT            (1u << 3)   /* 15.13.4 */
#define SVM_INT_VINTR           (1u << 4)   /* 15.13.5 virtual interrupt taken */
/* VMCB 0x000 intercept_cr: reads of CRn in bit n, writes in bit 16 + n (15.9.1) */
#define SVM_INT_CR_WRITE(n)     (1u << (16 + (n)))
/* EXITINFO1 of a CR access with decode assists: bit 63 valid, 3:0 the GPR (15.34.1) */
#define SVM_CR_INFO_VALID       (1ull << 63)
#define SVM_CR_INFO_GPR_MASK    0xfull
#define SVM_INT_RDPMC           (1u << 15)
#define SVM_INT_CPUID           (1u << 18)
#define SVM_INT_IRET            (1u << 20)
#define SVM_INT_INVD            (1u << 22)
#define SVM_INT_HLT             (1u << 24)
#define SVM_INT_INVLPGA         (1u << 26)
#define SVM_INT_IOIO_PROT       (1u << 27)  /* 15.10: consult the IOPM */
#define SVM_INT_MSR_PROT        (1u << 28)  /* 15.11: consult the MSRPM */
#define SVM_INT_SHUTDOWN        (1u << 31)  /* 15.14.3 */

/* ---- intercept vector 4, VMCB 0x010 ---- */
#define SVM_INT2_VMRUN          (1u << 0)   /* must be set, else VMRUN fails (15.5.1) */
#define SVM_INT2_VMMCALL        (1u << 1)
#define SVM_INT2_VMLOAD         (1u << 2)
#define SVM_INT2_VMSAVE         (1u << 3)
#define SVM_INT2_STGI           (1u << 4)
#define SVM_INT2_CLGI           (1u << 5)
#define SVM_INT2_SKINIT         (1u << 6)
#define SVM_INT2_WBINVD         (1u << 9)
#define SVM_INT2_MONITOR        (1u << 10)
#define SVM_INT2_MWAIT          (1u << 11)
#define SVM_INT2_MWAIT_ARMED    (1u << 12)
#define SVM_INT2_XSETBV         (1u << 13)

/* ---- TLB_CONTROL, VMCB 0x05c (15.16.1 "TLB Flush") ---- */
#define SVM_TLB_NOTHING         0
#define SVM_TLB_FLUSH_ALL       1   /* every ASID, global and non-global */
#define SVM_TLB_FLUSH_ASID      3   /* this guest's ASID (needs FlushByAsid) */

/* ---- V_INTR controls, VMCB 0x060 (15.21.4 "Injecting Virtual (INTR) Interrupts") ---- */
#define SVM_VINT_IRQ            (1ull << 8)     /* a virtual INTR is pending */
#define SVM_VINT_PRIO_SHIFT     16              /* 4 bits */
#define SVM_VINT_PRIO_MASK      (0xfull << 16)
#define SVM_VINT_IGN_TPR        (1ull << 20)
#define SVM_VINT_MASKING        (1ull << 24)    /* 15.21.1: guest IF masks virtual
                                                   interrupts only; the host IF at
                                                   VMRUN masks physical ones */

/* ---- interrupt state, VMCB 0x068 ---- */
#define SVM_INTSTATE_SHADOW     (1ull << 0)     /* STI / MOV SS shadow (15.21.5) */

/* ---- nested paging control, VMCB 0x090 (15.25.3 "Enabling Nested Paging") ---- */
#define SVM_NP_ENABLE           (1ull << 0)

/* ---- EVENTINJ (VMCB 0x0a8) and EXITINTINFO (0x088) (15.20 "Event Injection") ---- */
#define SVM_EVT_VECTOR_MASK     0xffull
#define SVM_EVT_TYPE_MASK       (7ull << 8)
#define  SVM_EVT_TYPE_INTR      (0ull << 8)
#define  SVM_EVT_TYPE_NMI       (2ull << 8)
#define  SVM_EVT_TYPE_EXCEPTION (3ull << 8)
#define  SVM_EVT_TYPE_SOFT_INT  (4ull << 8)
#define SVM_EVT_EV              (1ull << 11)    /* error code valid */
#define SVM_EVT_RESERVED        (0x7ffffull << 12)   /* bits 30:12 MBZ */
#define SVM_EVT_VALID           (1ull << 31)
#define SVM_EVT_ERROR_SHIFT     32

/* ---- IOIO EXITINFO1 (15.10.2 "IN and OUT Behavior") ---- */
#define SVM_IOIO_IN             (1ull << 0)
#define SVM_IOIO_STR            (1ull << 2)
#define SVM_IOIO_REP            (1ull << 3)
#define SVM_IOIO_SZ16           (1ull << 5)
#define SVM_IOIO_SZ32           (1ull << 6)
#define SVM_IOIO_PORT_SHIFT     16
/* EXITINFO2 of an IOIO exit: RIP of the next instruction (always). */

/* ---- MSR EXITINFO1 (15.11 "MSR Intercepts") ---- */
#define SVM_MSR_EXIT_WRITE      1

/* ---- #NPF EXITINFO1 (15.25.6 "Nested versus Guest Page Faults"); EXITINFO2 = GPA ---- */
#define SVM_NPF_WRITE           (1ull << 1)
#define SVM_NPF_RSV             (1ull << 3)     /* reserved bit set in an NPT entry */
#define SVM_NPF_FETCH           (1ull << 4)

/* ---- permission maps (15.10.1 "I/O Permissions Map", 15.11.1 "MSR Permissions Map") ---- */
#define SVM_IOPM_PAGES          3       /* 64 Ki ports + a spill byte, 12 KiB */
#define SVM_MSRPM_PAGES         2       /* 3 ranges x 8 Ki MSRs x 2 bits, 8 KiB */

/* ---- exit codes (appendix C "SVM Intercept Exit Codes") ---- */
enum svm_exitcode {
    SVM_EXIT_CR0_WRITE      = 0x010,    /* 0x010-0x01f CRn write */
    SVM_EXIT_DR0_READ       = 0x020,
    SVM_EXIT_EXCP_BASE      = 0x040,    /* 0x040-0x05f exception vector n */
    SVM_EXIT_INTR           = 0x060,
    SVM_EXIT_NMI            = 0x061,
    SVM_EXIT_SMI            = 0x062,
    SVM_EXIT_INIT           = 0x063,
    SVM_EXIT_VINTR          = 0x064,
    SVM_EXIT_CR0_SEL_WRITE  = 0x065,
    SVM_EXIT_RDPMC          = 0x06f,
    SVM_EXIT_CPUID          = 0x072,
    SVM_EXIT_IRET           = 0x074,
    SVM_EXIT_INVD           = 0x076,
    SVM_EXIT_HLT            = 0x078,
    SVM_EXIT_INVLPGA        = 0x07a,
    SVM_EXIT_IOIO           = 0x07b,
    SVM_EXIT_MSR            = 0x07c,
    SVM_EXIT_SHUTDOWN       = 0x07f,
    SVM_EXIT_VMRUN          = 0x080,
    SVM_EXIT_VMMCALL        = 0x081,
    SVM_EXIT_VMLOAD         = 0x082,
    SVM_EXIT_VMSAVE         = 0x083,
    SVM_EXIT_STGI           = 0x084,
    SVM_EXIT_CLGI           = 0x085,
    SVM_EXIT_SKINIT         = 0x086,
    SVM_EXIT_WBINVD         = 0x089,
    SVM_EXIT_MONITOR        = 0x08a,
    SVM_EXIT_MWAIT          = 0x08b,
    SVM_EXIT_MWAIT_ARMED    = 0x08c,
    SVM_EXIT_XSETBV         = 0x08d,
    SVM_EXIT_RDPRU          = 0x08e,
    SVM_EXIT_NPF            = 0x400,
};
#define SVM_EXIT_INVALID        (~0ull)         /* -1: VMRUN consistency check failed */

/* ---- the VMCB (appendix B "Layout of VMCB") ---- */

/* Segment in the save area (15.5.1 "Segment State in the VMCB"): base and
 * limit expanded; attrib = descriptor bits 55:52 and 47:40, i.e. type[3:0]
 * S[4] DPL[6:5] P[7] AVL[8] L[9] D/B[10] G[11]; a NULL segment has attrib 0. */
struct vmcb_seg {
    uint16_t sel;
    uint16_t attrib;
    uint32_t limit;
    uint64_t base;
} __attribute__((packed));
_Static_assert(sizeof(struct vmcb_seg) == 16, "VMCB segment size");

struct vmcb_control {
    uint32_t intercept_cr;          /* 0x000: reads 15:0, writes 31:16 */
    uint32_t intercept_dr;          /* 0x004: reads 15:0, writes 31:16 */
    uint32_t intercept_exc;         /* 0x008: one bit per vector */
    uint32_t intercept1;            /* 0x00c: SVM_INT_* */
    uint32_t intercept2;            /* 0x010: SVM_INT2_* */
    uint32_t intercept3;            /* 0x014: INVLPGB, INVPCID, ... (unused) */
    uint8_t  rsvd_018[0x24];        /* 0x018 */
    uint16_t pause_filter_thresh;   /* 0x03c */
    uint16_t pause_filter_count;    /* 0x03e */
    uint64_t iopm_base_pa;          /* 0x040 */
    uint64_t msrpm_base_pa;         /* 0x048 */
    uint64_t tsc_offset;            /* 0x050 */
    uint32_t asid;                  /* 0x058 */
    uint8_t  tlb_control;           /* 0x05c */
    uint8_t  rsvd_05d[3];           /* 0x05d */
    uint64_t int_ctl;               /* 0x060: V_TPR, V_IRQ, V_INTR_PRIO/MASKING/VECTOR */
    uint64_t int_state;             /* 0x068: interrupt shadow */
    uint64_t exitcode;              /* 0x070 */
    uint64_t exitinfo1;             /* 0x078 */
    uint64_t exitinfo2;             /* 0x080 */
    uint64_t exitintinfo;           /* 0x088: event being delivered at the exit */
    uint64_t np_ctl;                /* 0x090: NP_ENABLE, SEV, SEV-ES */
    uint64_t avic_apic_bar;         /* 0x098 */
    uint64_t ghcb_pa;               /* 0x0a0 */
    uint64_t eventinj;              /* 0x0a8 */
    uint64_t n_cr3;                 /* 0x0b0: nested page-table root */
    uint64_t virt_ext;              /* 0x0b8: LBR virtualization, VMSAVE virt. */
    uint32_t clean;                 /* 0x0c0: VMCB clean bits */
    uint32_t rsvd_0c4;              /* 0x0c4 */
    uint64_t nrip;                  /* 0x0c8: next RIP (NRIP-save) */
    uint8_t  insn_len;              /* 0x0d0: bytes fetched (decode assists) */
    uint8_t  insn_bytes[15];        /* 0x0d1 */
    uint64_t avic_backing_page;     /* 0x0e0 */
    uint64_t rsvd_0e8;              /* 0x0e8 */
    uint64_t avic_logical_table;    /* 0x0f0 */
    uint64_t avic_physical_table;   /* 0x0f8 */
    uint64_t rsvd_100;              /* 0x100 */
    uint64_t vmsa_pa;               /* 0x108 */
    uint8_t  rsvd_110[0x2f0];       /* 0x110-0x3ff (0x3e0-0x3ff: software) */
} __attribute__((packed));
_Static_assert(sizeof(struct vmcb_control) == 0x400, "VMCB control area size");

struct vmcb_save {
    struct vmcb_seg es;             /* 0x400 */
    struct vmcb_seg cs;             /* 0x410 */
    struct vmcb_seg ss;             /* 0x420 */
    struct vmcb_seg ds;             /* 0x430 */
    struct vmcb_seg fs;             /* 0x440 */
    struct vmcb_seg gs;             /* 0x450 */
    struct vmcb_seg gdtr;           /* 0x460: limit and base only */
    struct vmcb_seg ldtr;           /* 0x470 */
    struct vmcb_seg idtr;           /* 0x480: limit and base only */
    struct vmcb_seg tr;             /* 0x490 */
    uint8_t  rsvd_4a0[0x2b];        /* 0x4a0 */
    uint8_t  cpl;                   /* 0x4cb */
    uint32_t rsvd_4cc;              /* 0x4cc */
    uint64_t efer;                  /* 0x4d0: SVME must stay set */
    uint8_t  rsvd_4d8[0x70];        /* 0x4d8 (0x540: XSS on newer parts) */
    uint64_t cr4;                   /* 0x548 */
    uint64_t cr3;                   /* 0x550 */
    uint64_t cr0;                   /* 0x558 */
    uint64_t dr7;                   /* 0x560 */
    uint64_t dr6;                   /* 0x568 */
    uint64_t rflags;                /* 0x570 */
    uint64_t rip;                   /* 0x578 */
    uint8_t  rsvd_580[0x58];        /* 0x580 */
    uint64_t rsp;                   /* 0x5d8 */
    uint64_t s_cet;                 /* 0x5e0 */
    uint64_t ssp;                   /* 0x5e8 */
    uint64_t isst_addr;             /* 0x5f0 */
    uint64_t rax;                   /* 0x5f8 */
    uint64_t star;                  /* 0x600 */
    uint64_t lstar;                 /* 0x608 */
    uint64_t cstar;                 /* 0x610 */
    uint64_t sfmask;                /* 0x618 */
    uint64_t kernel_gs_base;        /* 0x620 */
    uint64_t sysenter_cs;           /* 0x628 */
    uint64_t sysenter_esp;          /* 0x630 */
    uint64_t sysenter_eip;          /* 0x638 */
    uint64_t cr2;                   /* 0x640 */
    uint8_t  rsvd_648[0x20];        /* 0x648 */
    uint64_t g_pat;                 /* 0x668: guest PAT (nested paging) */
    uint64_t dbgctl;                /* 0x670 */
    uint64_t br_from;               /* 0x678 */
    uint64_t br_to;                 /* 0x680 */
    uint64_t lastexcp_from;         /* 0x688 */
    uint64_t lastexcp_to;           /* 0x690 */
    uint8_t  rsvd_698[0x1000 - 0x698];  /* 0x698-0xfff */
} __attribute__((packed));

struct vmcb {
    struct vmcb_control ctl;        /* 0x000 */
    struct vmcb_save save;          /* 0x400 */
} __attribute__((packed, aligned(4096)));
_Static_assert(sizeof(struct vmcb) == 4096, "VMCB is one page");
_Static_assert(offsetof(struct vmcb, ctl.nrip) == 0x0c8, "VMCB nRIP offset");
_Static_assert(offsetof(struct vmcb, save.cpl) == 0x4cb, "VMCB CPL offset");
_Static_assert(offsetof(struct vmcb, save.efer) == 0x4d0, "VMCB EFER offset");
_Static_assert(offsetof(struct vmcb, save.cr4) == 0x548, "VMCB CR4 offset");
_Static_assert(offsetof(struct vmcb, save.rsp) == 0x5d8, "VMCB RSP offset");
_Static_assert(offsetof(struct vmcb, save.rax) == 0x5f8, "VMCB RAX offset");
_Static_assert(offsetof(struct vmcb, save.cr2) == 0x640, "VMCB CR2 offset");
_Static_assert(offsetof(struct vmcb, save.g_pat) == 0x668, "VMCB G_PAT offset");

/* ---- backend internals shared by svm*.c ---- */

/* Features found by svm_probe() (CPUID 0x8000000A), valid after cpu_enable. */
struct svm_caps {
    uint32_t revision;
    uint32_t nasids;            /* ASIDs 1..nasids-1 are usable by guests */
    uint32_t features;          /* SVM_FEAT_* */
    bool nx;                    /* host EFER.NXE set: NX usable in NPT entries */
    bool xsave;                 /* CR4.OSXSAVE: XSAVE/XRSTOR with xcr0 */
    bool xsaveopt;              /* and XSAVEOPT (CPUID 0xd.1 EAX[0]) */
    bool rdtscp;                /* RDTSCP and IA32_TSC_AUX (CPUID 0x80000001 EDX[27]) */
    uint64_t xcr0;
    uint32_t maxphyaddr;
};
extern struct svm_caps svm_caps;
static inline bool svm_has_npt(void)            { return svm_caps.features & SVM_FEAT_NP; }
static inline bool svm_has_nrips(void)          { return svm_caps.features & SVM_FEAT_NRIPS; }
static inline bool svm_has_flush_by_asid(void)  { return svm_caps.features & SVM_FEAT_FLUSH_ASID; }
static inline bool svm_has_decode_assists(void) { return svm_caps.features & SVM_FEAT_DECODE_ASSISTS; }
static inline bool svm_has_vmcb_clean(void)     { return svm_caps.features & SVM_FEAT_VMCB_CLEAN; }
static inline uint32_t svm_nasids(void)         { return svm_caps.nasids; }

static inline struct vmcb *svm_vmcb(struct vcpu_hw *v) { return (struct vmcb *)v->ctl; }

/* VMX access rights (arch/vcpu.h) <-> VMCB attrib */
uint16_t svm_attrib_from_ar(uint32_t ar);
uint32_t svm_ar_from_attrib(uint16_t attrib);

/* svm_entry.S: clgi, VMSAVE host, guest GPRs in, VMLOAD/VMRUN/VMSAVE guest,
 * GPRs out, VMLOAD host, stgi.  Interrupts off on entry and return. */
void svm_vmrun(struct vcpu_hw *v, uint64_t vmcb_pa, uint64_t host_save_pa);

/* svm.c: per CPU (index this_cpu()->cpu), the page VMSAVE/VMLOAD keep the
 * host's FS/GS/TR/LDTR/KernelGsBase/STAR/SYSENTER state in; 0 until cpu_enable */
extern uint64_t svm_host_area[];

/* svm_run.c */
int svm_run(struct vcpu_hw *v, struct vcpu_exit *e);
/* NULL if the VMCB passes the cheap VMRUN consistency checks, else the rule. */
const char *svm_check_guest(const struct vmcb *vmcb);
void svm_dump(struct vcpu_hw *v);
/* An ASID from 1..nasids-1; once the pool wraps, ASIDs are shared and every
 * switch between vCPUs on a CPU flushes. */
uint32_t svm_asid_alloc(void);
#endif /* !__ASSEMBLY__ */
#endif
