/* Transient-execution mitigations and the guests' speculation controls
 * (arch/x86_64/spec.c). */
#ifndef ARCH_SPEC_H
#define ARCH_SPEC_H
#include <stdbool.h>
#include <stdint.h>
#include <arch/x86.h>

struct vcpu_hw;

struct spec_policy {
    uint64_t spec_ctrl_bits;    /* IA32_SPEC_CTRL bits this CPU has (0: no MSR) */
    uint64_t host_spec_ctrl;    /* the value the host runs with */
    uint64_t arch_cap;          /* IA32_ARCH_CAPABILITIES (0 without) */
    bool has_arch_cap, ibpb, flush_cmd, md_clear, guest_ssb_no;
    bool eibrs, auto_ibrs;      /* host: enhanced / automatic IBRS on */
    bool l1d_flush_entry;       /* VMX: FLUSH_CMD before every entry */
    bool ibpb_vm_switch;        /* IBPB when a CPU changes VM */
    bool kpti;                  /* code at CPL 3 on page tables of its own (arch/user.h) */
};
extern struct spec_policy spec;
extern uint8_t spec_verw_on_entry, spec_l1d_flush_on_entry, spec_verw_to_user;

/* AMD's speculation bits in CPUID 0x80000008 EBX (APM 3): IBPB, IBRS,
 * STIBP, the always-on, preferred and same-mode hints, SSBD, VIRT_SSBD,
 * SSB_NO, PSFD (a SPEC_CTRL bit nethv refuses) */
#define CPUIDX8_EBX_SPEC_ALL ((1u << 12) | (1u << 14) | (1u << 15) | (1u << 16) | (1u << 17) | \
                              (1u << 18) | (1u << 19) | (1u << 24) | (1u << 25) | (1u << 26) | \
                              (1u << 28))

/* spec_guest_rdmsr / wrmsr results */
#define SPEC_MSR_NOT_MINE   0
#define SPEC_MSR_DONE       1
#define SPEC_MSR_GP         (-1)

void spec_init(bool vmx);               /* BSP, once the backend is known */
void spec_init_cpu(void);               /* every CPU (spec_init does the BSP's) */
void spec_enter(struct vcpu_hw *v, unsigned cpu);    /* just before entry */
void spec_exit(struct vcpu_hw *v);      /* just after the exit */
void spec_vcpu_reset(struct vcpu_hw *v);
uint64_t spec_guest_arch_cap(void);
void spec_guest_cpuid(uint32_t leaf, uint32_t sub, struct cpuid_regs *r);
int spec_guest_rdmsr(struct vcpu_hw *v, uint32_t msr, uint64_t *val);
int spec_guest_wrmsr(struct vcpu_hw *v, uint32_t msr, uint64_t val);
#endif
