/*
 * The vCPU interface: the only way generic code (kernel/, vmm/) reaches
 * hardware virtualization.  Two backends implement it, VMX (vmx.c) and SVM
 * (svm.c); vcpu_select_backend() picks one from CPUID at boot.  Nothing
 * outside arch/x86_64/ names a VMCS field or a VMCB offset.
 *
 * Locking and CPUs: a struct vcpu_hw is owned by the host CPU it is pinned
 * to; every vcpu_* call on it except vcpu_post_irq()/vcpu_kick() must come
 * from that CPU (VMX: its VMCS is current there).  vm_* calls are made by
 * the VM's creator before any of its vCPUs run.
 */
#ifndef ARCH_VCPU_H
#define ARCH_VCPU_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <arch/vcpu_gprs.h>

/* ---- guest state ------------------------------------------------------- */

/* General-purpose registers the backends save/restore around guest entry. */
struct vcpu_gprs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
};

_Static_assert(offsetof(struct vcpu_gprs, rax) == VCPU_GPR_RAX, "entry stubs: gpr offset");
_Static_assert(offsetof(struct vcpu_gprs, rbx) == VCPU_GPR_RBX, "entry stubs: gpr offset");
_Static_assert(offsetof(struct vcpu_gprs, rcx) == VCPU_GPR_RCX, "entry stubs: gpr offset");
_Static_assert(offsetof(struct vcpu_gprs, rdx) == VCPU_GPR_RDX, "entry stubs: gpr offset");
_Static_assert(offsetof(struct vcpu_gprs, rsi) == VCPU_GPR_RSI, "entry stubs: gpr offset");
_Static_assert(offsetof(struct vcpu_gprs, rdi) == VCPU_GPR_RDI, "entry stubs: gpr offset");
_Static_assert(offsetof(struct vcpu_gprs, rbp) == VCPU_GPR_RBP, "entry stubs: gpr offset");
_Static_assert(offsetof(struct vcpu_gprs, r8) == VCPU_GPR_R8, "entry stubs: gpr offset");
_Static_assert(offsetof(struct vcpu_gprs, r9) == VCPU_GPR_R9, "entry stubs: gpr offset");
_Static_assert(offsetof(struct vcpu_gprs, r10) == VCPU_GPR_R10, "entry stubs: gpr offset");
_Static_assert(offsetof(struct vcpu_gprs, r11) == VCPU_GPR_R11, "entry stubs: gpr offset");
_Static_assert(offsetof(struct vcpu_gprs, r12) == VCPU_GPR_R12, "entry stubs: gpr offset");
_Static_assert(offsetof(struct vcpu_gprs, r13) == VCPU_GPR_R13, "entry stubs: gpr offset");
_Static_assert(offsetof(struct vcpu_gprs, r14) == VCPU_GPR_R14, "entry stubs: gpr offset");
_Static_assert(offsetof(struct vcpu_gprs, r15) == VCPU_GPR_R15, "entry stubs: gpr offset");

struct vcpu_regs {
    struct vcpu_gprs gpr;
    uint64_t rsp, rip, rflags;
};

/* Segment register; `ar` uses the VMX access-rights layout (SDM 3C 24.4.1:
 * type[3:0] S[4] DPL[6:5] P[7] AVL[12] L[13] D/B[14] G[15], unusable[16]).
 * The SVM backend converts to and from its packed 12-bit attrib. */
struct vcpu_seg {
    uint16_t sel;
    uint32_t ar;
    uint32_t limit;
    uint64_t base;
};
#define SEG_AR_UNUSABLE (1u << 16)

struct vcpu_dtable { uint64_t base; uint16_t limit; };

struct vcpu_sregs {
    struct vcpu_seg cs, ds, es, fs, gs, ss, tr, ldtr;
    struct vcpu_dtable gdt, idt;
    uint64_t cr0, cr2, cr3, cr4, efer;
    uint64_t xcr0;              /* get_sregs only: the guest's XCR0 (CPUID leaf 0xd) */
};

/* ---- exits --------------------------------------------------------------- */

/* Normalized exit reasons (both backends map their codes onto these). */
enum vcpu_exit_reason {
    VCPU_EXIT_NONE = 0,
    VCPU_EXIT_EXTINT,           /* host interrupt arrived (handled by host IDT) */
    VCPU_EXIT_NMI,
    VCPU_EXIT_INTR_WINDOW,      /* guest can take an interrupt now */
    VCPU_EXIT_NMI_WINDOW,       /* guest can take an NMI now (VMX), or the SVM IRET
                                   intercept that starts the end of NMI blocking */
    VCPU_EXIT_PREEMPT,          /* time slice over (preemption timer) */
    VCPU_EXIT_CPUID,
    VCPU_EXIT_HLT,
    VCPU_EXIT_IO,
    VCPU_EXIT_MMIO,             /* EPT violation / NPF on an unmapped GPA */
    VCPU_EXIT_MSR_READ,
    VCPU_EXIT_MSR_WRITE,
    VCPU_EXIT_HYPERCALL,        /* VMCALL / VMMCALL */
    VCPU_EXIT_EXCEPTION,        /* intercepted guest exception */
    VCPU_EXIT_TRIPLE_FAULT,     /* VMX triple fault / SVM shutdown */
    VCPU_EXIT_INIT,             /* INIT signal (AP waiting for SIPI) */
    VCPU_EXIT_SIPI,
    VCPU_EXIT_XSETBV,
    VCPU_EXIT_CR_ACCESS,
    VCPU_EXIT_INVD,
    VCPU_EXIT_VMINSN,           /* guest tried VMX/SVM instructions */
    VCPU_EXIT_REFUSED,          /* an instruction this guest may not run (refused.fault
                                   says which fault it gets): MONITOR/MWAIT (CPUID hides
                                   them: #UD), RDPMC (no PMU: #GP(0)), INVLPGA (#UD) */
    VCPU_EXIT_APIC_EOI,         /* the CPU completed a guest EOI of a vector in the
                                   EOI-exit set (level-triggered: the IOAPIC must
                                   see it); ISR already updated, RIP past it */
    VCPU_EXIT_APIC_WRITE,       /* the guest wrote an xAPIC register through the
                                   APIC-access page; the value is already in the
                                   virtual-APIC page at apic_write.offset, RIP past
                                   the instruction (VMX APIC-write exit) */
    VCPU_EXIT_ENTRY_FAILED,     /* invalid guest state or failed entry */
    VCPU_EXIT_HOST_STATE,       /* the exit saved nethv's own state as the guest's (RIP
                                   in nethv's text, the host's CR3): the CPU misbehaved;
                                   the VM is stopped, never resumed (fail.what says why) */
    VCPU_EXIT_UNKNOWN,          /* anything else: stop the VM with a dump */
    VCPU_EXIT__COUNT
};

struct vcpu_exit {
    enum vcpu_exit_reason reason;
    uint32_t hw_reason;         /* raw VMX basic exit reason / SVM EXITCODE */
    uint64_t qual;              /* raw exit qualification / EXITINFO1 */
    uint64_t info2;             /* raw SVM EXITINFO2 / VMX instruction info */
    uint32_t insn_len;          /* length of the exiting instruction; 0 = unknown
                                   (SVM without NRIP-save: decode in software) */
    uint64_t gpa;               /* MMIO: faulting guest-physical address */
    uint64_t gla;               /* MMIO: guest-linear address if known, else 0 */
    /* For the flight recorder (kernel/flightrec.c), every exit: */
    uint64_t rip, cr3;          /* the guest's at the exit */
    uint64_t rflags;            /* ... (kernel/exit.c: TF for the single-step trap) */
    uint64_t intinfo;           /* the event whose delivery the exit interrupted: SVM
                                   EXITINTINFO; VMX IDT-vectoring info | error << 32 */
    uint64_t injected;          /* the event injected by the entry this exit ended:
                                   SVM EVENTINJ; VMX VM-entry interruption info |
                                   error << 32 (0: none) */
    union {
        struct { uint16_t port; uint8_t size; bool in, string, rep; } io;
        struct { uint32_t index; } msr;             /* value: rdx:rax */
        struct { uint32_t leaf, subleaf; } cpuid;
        struct { bool read, write, fetch; } mmio;
        struct { uint8_t vector; bool has_error; uint32_t error; } exc;
        struct { uint8_t fault; } refused;          /* REFUSED: #UD (6) or #GP(0) (13) */
        struct { uint8_t vector; } sipi;
        struct { uint8_t vector; } eoi;             /* APIC_EOI */
        struct { uint16_t offset; } apic_write;     /* APIC_WRITE */
        /* CR_ACCESS: CR number, MOV to (write) or from, and the GPR if the
         * CPU said which (SVM decode assists), else -1: decode it */
        struct { uint8_t num; bool write; int8_t gpr; } cr;
        struct { const char *what; uint64_t error; } fail;  /* ENTRY_FAILED */
    };
};

/* ---- events into the guest ---------------------------------------------- */

enum vcpu_event_type { VCPU_EVENT_EXTINT, VCPU_EVENT_NMI, VCPU_EVENT_EXCEPTION };
struct vcpu_event {
    enum vcpu_event_type type;
    uint8_t vector;
    bool has_error;
    uint32_t error;
};

/* ---- objects ----------------------------------------------------------- */

#define S2_READ  1u
#define S2_WRITE 2u
#define S2_EXEC  4u
#define S2_RWX   (S2_READ | S2_WRITE | S2_EXEC)

/* A VM's hardware state: second-level page tables, bitmaps, tag. */
struct vm_hw {
    uint64_t s2_root;           /* PML4 of the EPT/NPT tables (physical) */
    uint64_t io_bitmap;         /* VMX: 2 pages (A, B); SVM: IOPM, 3 pages */
    uint64_t msr_bitmap;        /* VMX: 1 page; SVM: MSRPM, 2 pages */
    uint32_t tag;               /* VPID / ASID base for this VM's vCPUs */
    unsigned s2_pages;          /* table pages allocated */
    /* VMX APIC-access virtualization (vmx.c): the page mapped at the xAPIC
     * window, and how many of the VM's vCPUs with a virtual APIC are not in
     * x2APIC mode (while any is, the x2APIC MSRs all exit) */
    uint64_t apic_access_pa;
    unsigned non_x2apic_vcpus;
    /* the CR4 bits the guest's CPUID grants (vm_set_cr4_allowed, from the
     * monitor at creation; arch/cr4.h); a MOV to CR4 setting others #GPs */
    uint64_t cr4_allowed;
};

struct vcpu_hw {
    struct vcpu_gprs gpr;       /* offset 0: the entry/exit asm uses it */
    uint64_t ctl_pa;            /* VMCS / VMCB (physical) */
    void *ctl;
    struct vm_hw *vm;
    uint64_t fpu_area;          /* guest XSAVE/FXSAVE area (physical), 4 KiB */
    /* DR0-DR3 (both backends) and DR6 (VMX: not in the VMCS; SVM keeps it
     * in the VMCB) while another vCPU owns this CPU's debug registers;
     * dr_reload: the values here are newer than the CPU's (a reset) */
    uint64_t dr[4], dr6;
    bool dr_reload;
    uint64_t spec_ctrl;         /* the guest's IA32_SPEC_CTRL (arch/x86_64/spec.c) */
    uint64_t xcr0;              /* the guest's XCR0 (XSETBV, fpu_xsetbv_check); loaded
                                   while it runs with CR4.OSXSAVE set */
    uint32_t tag;               /* VPID / ASID */
    uint32_t host_cpu;          /* the CPU this vCPU is pinned to */
    bool launched;              /* VMX: VMLAUNCH done, use VMRESUME */
    bool flush_on_entry;        /* SVM without flush-by-ASID: flush all */
    bool irq_window;            /* interrupt-window exiting requested */
    uint64_t tsc_offset;
    uint32_t tsc_aux;           /* IA32_TSC_AUX, what RDTSCP returns in ECX (vm_set_tsc_aux);
                                   SVM loads it into the MSR before entry (the VMCB has
                                   no field for it), VMX switches it with its MSR lists */
    /* The vCPU's virtual-APIC page (kernel/vlapic.c, xAPIC layout), 0 = none;
     * given to the backend by set_vapic().  vid: set by the backend when the
     * CPU itself delivers interrupts from that page's IRR (VMX virtual-
     * interrupt delivery); the kernel then only keeps the page's IRR and
     * the backend's interrupt status current (set_apic_state) and never
     * injects external interrupts or opens interrupt windows. */
    uint64_t vapic_pa;
    bool vid;
    /* cross-CPU interrupt posting (vcpu_post_irq) */
    volatile uint64_t pending_irr[4];   /* vectors 0-255 posted, not yet injected */
    volatile bool running;      /* in guest mode on host_cpu now */
    /* the event an exit cut short in its delivery, put back for the next
     * entry (SVM EVENTINJ / VMX entry interruption info; 0: none): the
     * entry asserts it is still there, unchanged -- delivered exactly once */
    uint64_t reinject;
    volatile uint32_t kicks;
    /* NMIs (vcpu_post_nmi): one latched, like the LAPIC's NMI pin.  SVM
     * tracks the guest's NMI blocking itself (no vNMI): set by the
     * injection, ended by the guest's IRET -- the IRET intercept records its
     * RIP, and the first exit at another RIP unblocks (as KVM does). */
    volatile uint32_t nmi_pending;
    bool nmi_blocked;
    /* SVM: RIP + 1 of the last exit that found the guest in an STI/MOV SS
     * shadow (VMCB int_state), and of the one before; 0 = none.  QEMU 7.2's
     * VMRUN does not load int_state (kernel/exit.c irq_window) */
    uint64_t shadow_rip, prev_shadow_rip;
    bool nmi_iret_seen;
    uint64_t nmi_iret_rip;
};

/* ---- the backend-neutral calls -------------------------------------------- */

struct vcpu_backend {
    const char *name;                                   /* "VMX" / "SVM" */
    int  (*cpu_enable)(void);                           /* per CPU, before any vCPU */
    int  (*vm_init)(struct vm_hw *vm);
    int  (*vm_map)(struct vm_hw *vm, uint64_t gpa, uint64_t hpa, uint64_t len, unsigned prot);
    int  (*vcpu_init)(struct vm_hw *vm, struct vcpu_hw *v, unsigned index);
    void (*get_regs)(struct vcpu_hw *v, struct vcpu_regs *r);
    void (*set_regs)(struct vcpu_hw *v, const struct vcpu_regs *r);
    void (*get_sregs)(struct vcpu_hw *v, struct vcpu_sregs *s);
    void (*set_sregs)(struct vcpu_hw *v, const struct vcpu_sregs *s);
    /* Enter the guest; return with *e filled at the next exit.  Host
     * interrupts taken during the run are serviced before returning. */
    int  (*run)(struct vcpu_hw *v, struct vcpu_exit *e);
    /* Queue one event for the next entry; false if one is already pending. */
    bool (*inject)(struct vcpu_hw *v, const struct vcpu_event *ev);
    bool (*can_inject_irq)(struct vcpu_hw *v);          /* IF=1, no STI/MOV SS shadow, none pending */
    void (*set_irq_window)(struct vcpu_hw *v, bool on);
    /* INIT and VM restart: drop a queued or re-queued event, the STI/MOV SS
     * shadow and NMI blocking, and close the interrupt window (SDM 3A 9.1.1:
     * INIT clears pending events; an AP's SIPI state must not inherit them) */
    void (*reset_events)(struct vcpu_hw *v);
    /* An intercepted #DB or #AC (VCPU_EXIT_EXCEPTION) goes back to the guest
     * as it came: same vector and kind (ICEBP's #DB stays a privileged
     * software exception), DR6 as the CPU would have left it.  It replaces
     * an event whose delivery it cut short (both are benign, SDM 3A table
     * 6-5: handled serially). */
    void (*reflect_exception)(struct vcpu_hw *v, const struct vcpu_exit *e);
    /* The kernel or the monitor retired an instruction the guest ran with
     * RFLAGS.TF=1: raise the single-step trap that instruction would have
     * raised after itself (#DB, DR6.BS; SDM 3B 18.3.1.4), ahead of any
     * interrupt, as a trap of the previous instruction is (SDM 3A 6.9). */
    void (*single_step)(struct vcpu_hw *v);
    /* NMIs: can one be injected now (no NMI blocking, no MOV SS/STI shadow,
     * nothing queued); ask for an exit when one can (VMX NMI-window exiting;
     * SVM: the IRET intercept, else the next exit) */
    bool (*can_inject_nmi)(struct vcpu_hw *v);
    void (*set_nmi_window)(struct vcpu_hw *v, bool on);
    void (*set_tsc_offset)(struct vcpu_hw *v, uint64_t off);
    void (*set_preempt_timer)(struct vcpu_hw *v, uint64_t tsc_ticks);  /* 0 = off */
    void (*dump)(struct vcpu_hw *v);                    /* guest state to the console */
    /* I/O and MSR interception: intercept all by default; pass through these. */
    void (*io_passthrough)(struct vm_hw *vm, uint16_t port, bool pass);
    void (*msr_passthrough)(struct vm_hw *vm, uint32_t msr, bool pass);
    /* Optional (NULL: the backend has no APIC virtualization).  Owner CPU,
     * after vcpu_init: use the page at `pa` (struct vcpu_hw.vapic_pa) as
     * the vCPU's hardware-visible virtual APIC; sets v->vid if the CPU
     * delivers interrupts from it. */
    void (*set_vapic)(struct vcpu_hw *v, uint64_t pa);
    /* With v->vid, before each entry: the highest in-service vector << 8 |
     * the highest requested vector the CPU may deliver (0: none), and the
     * vectors whose EOI must exit (VCPU_EXIT_APIC_EOI), bit n = vector n. */
    void (*set_apic_state)(struct vcpu_hw *v, uint16_t intr_status, const uint64_t eoi_exit[4]);
    /* Optional.  Owner CPU, after set_vapic, whenever the guest's
     * IA32_APIC_BASE changed (and once at first): its value, so that the
     * backend virtualizes the APIC interface of that mode (VMX: APIC-access
     * page for xAPIC, x2APIC virtualization for x2APIC). */
    void (*set_apic_mode)(struct vcpu_hw *v, uint64_t apic_base);
};

extern const struct vcpu_backend *vcpu_backend;
extern const struct vcpu_backend vmx_backend, svm_backend;

/* Pick VMX or SVM from CPUID (BSP, once); NULL if the CPU has neither. */
const struct vcpu_backend *vcpu_select_backend(void);

/*
 * Post interrupt `vector` to a vCPU from any CPU (the network datapath, a
 * device model, another vCPU): set it pending and, if the vCPU is in guest
 * mode on another CPU, IPI that CPU so the guest exits and the vector is
 * injected at the next entry.  Lock-free; no monitor involvement.
 */
void vcpu_post_irq(struct vcpu_hw *v, uint8_t vector);
/* Highest posted vector (and clear it), or -1; owner CPU only. */
int vcpu_take_posted_irq(struct vcpu_hw *v);
bool vcpu_has_posted_irq(const struct vcpu_hw *v);
void vcpu_post_nmi(struct vcpu_hw *v);      /* any CPU: latch an NMI, kick its CPU */
static inline bool vcpu_has_posted_nmi(const struct vcpu_hw *v)
{
    return __atomic_load_n(&v->nmi_pending, __ATOMIC_ACQUIRE) != 0;
}

const char *vcpu_exit_name(enum vcpu_exit_reason r);
/* After an exit with rip/cr3 filled and CS = nethv's code selector: is the
 * saved "guest" state nethv's own?  If so, e becomes VCPU_EXIT_HOST_STATE. */
bool vcpu_host_state_saved(struct vcpu_exit *e);
void vcpu_assert_host_state(unsigned cpu, const char *backend);
/* Before each entry, interrupts off, on the vCPU's CPU: make the CPU's
 * DR0-DR3 (and DR6 with with_dr6) this vCPU's -- saving the last owner's --
 * so that no VM reads or is trapped by another's breakpoints. */
void vcpu_debug_regs_load(struct vcpu_hw *v, unsigned cpu, bool with_dr6);
/* The architectural reset values of those (SDM 3A table 9-1), next entry. */
void vcpu_debug_regs_reset(struct vcpu_hw *v);
/* The FPU/SSE/AVX image (XSAVE layout) at page pa: x87 and SSE at their
 * reset values (FCW 0x37f, MXCSR 0x1f80, all else 0), XSTATE_BV as given. */
void vcpu_fpu_image_init(uint64_t pa, uint64_t xstate_bv);
/* VM restart: x87/SSE/AVX state back to its reset values, whatever the
 * guest left in it (XSTATE_BV as the backend set it). */
void vcpu_fpu_reset(struct vcpu_hw *v);

#endif
