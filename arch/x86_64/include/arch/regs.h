/*
 * Named x86-64 architectural registers and bits used by nethv.
 * References: Intel SDM Vol. 3A ch. 2 (control registers), ch. 4 (paging),
 * Vol. 4 (MSRs); AMD APM Vol. 2.
 */
#ifndef ARCH_REGS_H
#define ARCH_REGS_H

/* CR0 (SDM 3A 2.5) */
#define CR0_PE          (1ull << 0)
#define CR0_MP          (1ull << 1)
#define CR0_EM          (1ull << 2)
#define CR0_TS          (1ull << 3)
#define CR0_ET          (1ull << 4)
#define CR0_NE          (1ull << 5)
#define CR0_WP          (1ull << 16)
#define CR0_NW          (1ull << 29)
#define CR0_CD          (1ull << 30)
#define CR0_PG          (1ull << 31)

/* CR4 (SDM 3A 2.5; APM 2 3.1.3) */
#define CR4_VME         (1ull << 0)
#define CR4_PVI         (1ull << 1)
#define CR4_TSD         (1ull << 2)
#define CR4_DE          (1ull << 3)
#define CR4_PSE         (1ull << 4)
#define CR4_PAE         (1ull << 5)
#define CR4_MCE         (1ull << 6)
#define CR4_PGE         (1ull << 7)
#define CR4_PCE         (1ull << 8)
#define CR4_OSFXSR      (1ull << 9)
#define CR4_OSXMMEXCPT  (1ull << 10)
#define CR4_UMIP        (1ull << 11)
#define CR4_LA57        (1ull << 12)
#define CR4_VMXE        (1ull << 13)
#define CR4_SMXE        (1ull << 14)
#define CR4_FSGSBASE    (1ull << 16)
#define CR4_PCIDE       (1ull << 17)
#define CR4_OSXSAVE     (1ull << 18)
#define CR4_KL          (1ull << 19)
#define CR4_SMEP        (1ull << 20)
#define CR4_SMAP        (1ull << 21)
#define CR4_PKE         (1ull << 22)
#define CR4_CET         (1ull << 23)
#define CR4_PKS         (1ull << 24)
/* a change of these invalidates TLB entries (SDM 3A 4.10.4.1) */
#define CR4_TLB_BITS    (CR4_PSE | CR4_PAE | CR4_PGE | CR4_PCIDE | CR4_SMEP | CR4_SMAP | CR4_PKE | CR4_LA57)

/* RFLAGS */
#define RFLAGS_FIXED1   (1ull << 1)     /* reserved, always 1 */
#define RFLAGS_TF       (1ull << 8)     /* single-step (SDM 3B 18.3.1.4) */
#define RFLAGS_IF       (1ull << 9)

/* DR6 (SDM 3B 18.2.3) */
#define DR6_FIXED1      0xffff0ff0ull   /* reads as 1 (RTM bit 16 included: no RTM) */
#define DR7_INIT        0x400ull        /* DR7 after reset and INIT */
#define DR6_BD          (1ull << 13)    /* debug-register access detected */
#define DR6_BS          (1ull << 14)    /* the #DB came from a single step */
/* the bits a #DB exit reports in its qualification instead of DR6 (SDM 3C
 * 27.2.1, table 27-1): B0-B3, BD, BS */
#define DR6_EXIT_QUAL_BITS (0xfull | DR6_BD | DR6_BS)

/* Exception vectors (SDM 3A table 6-1) */
#define EXC_DB  1
#define EXC_UD  6
#define EXC_GP  13
#define EXC_PF  14
#define EXC_AC  17
/* #PF error code (SDM 3A 4.7) */
#define PFEC_P          (1u << 0)       /* 0: not present; 1: protection */
#define PFEC_W          (1u << 1)
#define PFEC_U          (1u << 2)
#define PFEC_RSVD       (1u << 3)
#define PFEC_ID         (1u << 4)       /* instruction fetch */

/* MSRs (SDM Vol. 4) */
#define MSR_IA32_APIC_BASE      0x0000001b
#define  APIC_BASE_BSP          (1ull << 8)
#define  APIC_BASE_EXTD         (1ull << 10)    /* x2APIC mode */
#define  APIC_BASE_EN           (1ull << 11)
#define MSR_IA32_FEATURE_CONTROL 0x0000003a
/* speculation controls (SDM 4 2.1 "Architectural MSRs"; Intel's "Speculative
 * Execution Side Channel Mitigations"; AMD's "Software Techniques for
 * Managing Speculation") */
#define MSR_IA32_SPEC_CTRL      0x00000048
#define  SPEC_CTRL_IBRS         (1ull << 0)
#define  SPEC_CTRL_STIBP        (1ull << 1)
#define  SPEC_CTRL_SSBD         (1ull << 2)
#define MSR_IA32_PRED_CMD       0x00000049
#define  PRED_CMD_IBPB          (1ull << 0)
#define MSR_IA32_ARCH_CAP       0x0000010a
#define  ARCH_CAP_RDCL_NO       (1ull << 0)     /* not affected by Meltdown/L1TF */
#define  ARCH_CAP_IBRS_ALL      (1ull << 1)     /* enhanced IBRS */
#define  ARCH_CAP_RSBA          (1ull << 2)
#define  ARCH_CAP_SKIP_L1DFL    (1ull << 3)     /* no L1D flush needed at VM entry */
#define  ARCH_CAP_SSB_NO        (1ull << 4)
#define  ARCH_CAP_MDS_NO        (1ull << 5)
#define  ARCH_CAP_PSCHANGE_MC_NO (1ull << 6)
#define  ARCH_CAP_TAA_NO        (1ull << 8)
#define  ARCH_CAP_SBDR_SSDP_NO  (1ull << 13)
#define  ARCH_CAP_FBSDP_NO      (1ull << 14)
#define  ARCH_CAP_PSDP_NO       (1ull << 15)
#define  ARCH_CAP_FB_CLEAR      (1ull << 17)
#define  ARCH_CAP_RRSBA         (1ull << 19)
#define  ARCH_CAP_BHI_NO        (1ull << 20)
#define  ARCH_CAP_PBRSB_NO      (1ull << 24)
#define  ARCH_CAP_GDS_NO        (1ull << 26)
#define  ARCH_CAP_RFDS_NO       (1ull << 27)
#define MSR_IA32_FLUSH_CMD      0x0000010b
#define  FLUSH_CMD_L1D          (1ull << 0)
#define MSR_IA32_SYSENTER_CS    0x00000174
#define MSR_IA32_SYSENTER_ESP   0x00000175
#define MSR_IA32_SYSENTER_EIP   0x00000176
#define MSR_IA32_TSC_DEADLINE   0x000006e0
#define MSR_IA32_PAT            0x00000277
#define MSR_EFER                0xc0000080
#define  EFER_SCE               (1ull << 0)
#define  EFER_LME               (1ull << 8)
#define  EFER_LMA               (1ull << 10)
#define  EFER_NXE               (1ull << 11)
#define  EFER_SVME              (1ull << 12)
#define  EFER_FFXSR             (1ull << 14)    /* AMD: fast FXSAVE/FXRSTOR */
#define  EFER_TCE               (1ull << 15)    /* AMD: translation cache extension */
#define  EFER_AIBRSE            (1ull << 21)    /* AMD: automatic IBRS (APM 2 3.1.7) */
#define MSR_STAR                0xc0000081
#define MSR_LSTAR               0xc0000082
#define MSR_CSTAR               0xc0000083
#define MSR_SFMASK              0xc0000084
#define MSR_FS_BASE             0xc0000100
#define MSR_GS_BASE             0xc0000101
#define MSR_KERNEL_GS_BASE      0xc0000102
#define MSR_TSC_AUX             0xc0000103
#define MSR_X2APIC_BASE         0x00000800      /* x2APIC register r is MSR 0x800 + (r >> 4) */
#define MSR_X2APIC_COUNT        0x100           /* MSRs 0x800-0x8ff (SDM 3A 11.12.1.2) */
#define MSR_X2APIC_EOI          (MSR_X2APIC_BASE + (0x0b0 >> 4))

/* The xAPIC register window's default (and here only) base, SDM 3A 11.4.1 */
#define LAPIC_MMIO_BASE         0xfee00000ull
#define LAPIC_MMIO_SIZE         0x1000ull

/* CPUID feature bits */
/* the CPUID bits that grant CR4 bits (SDM 2 CPUID; SDM 3A 2.5) */
#define CPUID1_EDX_VME          (1u << 1)
#define CPUID1_EDX_DE           (1u << 2)
#define CPUID1_EDX_PSE          (1u << 3)
#define CPUID1_EDX_TSC          (1u << 4)
#define CPUID1_EDX_PAE          (1u << 6)
#define CPUID1_EDX_MCE          (1u << 7)
#define CPUID1_EDX_PGE          (1u << 13)
#define CPUID1_EDX_FXSR         (1u << 24)
#define CPUID1_EDX_SSE          (1u << 25)
#define CPUID1_ECX_SMX          (1u << 6)
#define CPUID1_ECX_PCID         (1u << 17)
#define CPUID7_EBX_FSGSBASE     (1u << 0)
#define CPUID7_EBX_SMEP         (1u << 7)
#define CPUID7_EBX_SMAP         (1u << 20)
#define CPUID7_ECX_UMIP         (1u << 2)
#define CPUID7_ECX_PKU          (1u << 3)
#define CPUID7_ECX_CET_SS       (1u << 7)
#define CPUID7_ECX_LA57         (1u << 16)
#define CPUID7_ECX_KL           (1u << 23)
#define CPUID7_ECX_PKS          (1u << 31)
#define CPUID7_EDX_CET_IBT      (1u << 20)
#define CPUID7_EBX_RTM          (1u << 11)
#define CPUID7_EDX_MD_CLEAR     (1u << 10)      /* VERW clears the CPU buffers */
#define CPUID7_EDX_IBRS_IBPB    (1u << 26)      /* SPEC_CTRL.IBRS and PRED_CMD */
#define CPUID7_EDX_STIBP        (1u << 27)
#define CPUID7_EDX_L1D_FLUSH    (1u << 28)      /* FLUSH_CMD */
#define CPUID7_EDX_ARCH_CAP     (1u << 29)
#define CPUID7_EDX_CORE_CAP     (1u << 30)
#define CPUID7_EDX_SSBD         (1u << 31)
#define CPUIDX8_EBX_IBPB        (1u << 12)      /* leaf 0x80000008 (AMD) */
#define CPUIDX8_EBX_IBRS        (1u << 14)
#define CPUIDX8_EBX_STIBP       (1u << 15)
#define CPUIDX8_EBX_SSBD        (1u << 24)
#define CPUIDX8_EBX_SSB_NO      (1u << 26)
#define CPUIDX21_EAX_AUTO_IBRS  (1u << 8)       /* leaf 0x80000021 (AMD) */
#define CPUID1_ECX_VMX          (1u << 5)
#define CPUID1_ECX_X2APIC       (1u << 21)
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID1_ECX_XSAVE        (1u << 26)
#define CPUID1_ECX_HYPERVISOR   (1u << 31)
#define CPUIDX1_EDX_SYSCALL     (1u << 11)      /* leaf 0x80000001: SYSCALL/SYSRET, EFER.SCE */
#define CPUIDX1_EDX_NX          (1u << 20)      /* leaf 0x80000001 */
#define CPUIDX1_EDX_FFXSR       (1u << 25)      /* leaf 0x80000001: EFER.FFXSR */
#define CPUIDX1_ECX_TCE         (1u << 17)      /* leaf 0x80000001: EFER.TCE */
#define CPUIDX1_EDX_RDTSCP      (1u << 27)      /* leaf 0x80000001: RDTSCP, IA32_TSC_AUX */
#define CPUIDX1_EDX_LM          (1u << 29)
#define CPUIDX1_ECX_SVM         (1u << 2)

/* Page-table entry bits (SDM 3A 4.5) */
#define PTE_P           (1ull << 0)
#define PTE_W           (1ull << 1)
#define PTE_U           (1ull << 2)
#define PTE_PWT         (1ull << 3)
#define PTE_PCD         (1ull << 4)
#define PTE_PS          (1ull << 7)     /* 2 MiB / 1 GiB page in PDE / PDPTE */
#define PTE_G           (1ull << 8)
#define PTE_AVL0        (1ull << 9)     /* ignored by the CPU: software's (SDM 3A 4.5, table 4-19) */
#define PTE_NX          (1ull << 63)
#define PTE_ADDR_MASK   0x000ffffffffff000ull

/* GDT selectors (arch/x86_64/gdt.c) */
#define SEL_KCODE       0x08
#define SEL_KDATA       0x10
#define SEL_TSS         0x18            /* 16 bytes: 0x18 and 0x20 */
#define SEL_UDATA       0x28            /* DPL 3 (user.c's monitors); with RPL 3: 0x2b */
#define SEL_UCODE       0x30            /* DPL 3, 64-bit; with RPL 3: 0x33 */

/* Interrupt vectors */
#define VEC_PIC_BASE    0x20    /* masked legacy PIC: 0x20-0x2f, ignored */
#define VEC_TIMER       0x30
#define VEC_HOSTDEV_FIRST 0x40  /* host devices (NIC MSI/MSI-X): pci_irq_alloc */
#define VEC_HOSTDEV_LAST  0x4f
#define VEC_SYSCALL     0x80    /* a monitor's system call (user.c): the one DPL-3 gate */
#define VEC_IPI_KICK    0xf0
#define VEC_SPURIOUS    0xff

#endif
