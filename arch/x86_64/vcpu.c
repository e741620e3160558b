/*
 * Backend selection and the backend-neutral parts of the vCPU interface:
 * cross-CPU interrupt posting and kicks (see arch/vcpu.h).
 */
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <arch/vcpu.h>
#include <arch/cpu.h>
#include <arch/lapic.h>
#include <arch/regs.h>
#include <arch/x86.h>

const struct vcpu_backend *vcpu_backend;

const struct vcpu_backend vmx_backend __attribute__((weak));
const struct vcpu_backend svm_backend __attribute__((weak));

const struct vcpu_backend *vcpu_select_backend(void)
{
    struct cpuid_regs r1 = cpuid(1, 0);
    struct cpuid_regs rx = cpuid(0x80000000, 0);
    bool vmx = (r1.ecx & CPUID1_ECX_VMX) != 0;
    bool svm = rx.eax >= 0x80000001 && (cpuid(0x80000001, 0).ecx & CPUIDX1_ECX_SVM);

    if (vmx && vmx_backend.name)
        vcpu_backend = &vmx_backend;
    else if (svm && svm_backend.name)
        vcpu_backend = &svm_backend;
    else
        vcpu_backend = NULL;
    printk("vcpu: CPU offers%s%s%s; backend %s\n", vmx ? " VMX" : "", svm ? " SVM" : "",
           !vmx && !svm ? " no hardware virtualization" : "",
           vcpu_backend ? vcpu_backend->name : "none");
    return vcpu_backend;
}

/* Another CPU owns the vCPU: kick that CPU, whether the vCPU is in guest
 * mode (forces an exit) or halted (wakes the idle CPU now, not at its next
 * tick).  A kick to a CPU busy with another vCPU costs it one exit.  The
 * kick IPI (VEC_IPI_KICK, a no-op handler registered at boot) only forces
 * a VM exit; what was posted is taken by the owner CPU's run loop before
 * the next entry. */
static void kick_owner(struct vcpu_hw *v)
{
    if (v->host_cpu != this_cpu()->cpu) {
        __atomic_fetch_add(&v->kicks, 1, __ATOMIC_RELAXED);
        lapic_send_ipi(percpu_area[v->host_cpu].apic_id, VEC_IPI_KICK);
    }
}

void vcpu_post_irq(struct vcpu_hw *v, uint8_t vector)
{
    __atomic_fetch_or(&v->pending_irr[vector >> 6], 1ull << (vector & 63), __ATOMIC_SEQ_CST);
    kick_owner(v);
}

/* An NMI (the LAPIC's NMI delivery mode): latched once, taken by the owner
 * CPU's run loop when the guest is not blocking NMIs. */
void vcpu_post_nmi(struct vcpu_hw *v)
{
    __atomic_store_n(&v->nmi_pending, 1, __ATOMIC_SEQ_CST);
    kick_owner(v);
}

bool vcpu_has_posted_irq(const struct vcpu_hw *v)
{
    for (int i = 0; i < 4; i++)
        if (__atomic_load_n(&v->pending_irr[i], __ATOMIC_ACQUIRE))
            return true;
    return false;
}

int vcpu_take_posted_irq(struct vcpu_hw *v)
{
    for (int i = 3; i >= 0; i--) {
        uint64_t w = __atomic_load_n(&v->pending_irr[i], __ATOMIC_ACQUIRE);
        if (!w)
            continue;
        int bit = 63 - __builtin_clzll(w);
        __atomic_fetch_and(&v->pending_irr[i], ~(1ull << bit), __ATOMIC_SEQ_CST);
        return i * 64 + bit;
    }
    return -1;
}

/*
 * The symptom of a CPU that saved the host's state as the guest's at an
 * exit (seen under QEMU TCG before its hflags2 race was avoided, see
 * fpu.c): the "guest" RIP is in nethv's text and the "guest" CR3 is the
 * host's (the caller checks CS = nethv's code selector).  No guest can
 * produce this: it would need nethv's code at that address in its own
 * memory and the host's CR3 value.  The exit is turned into
 * VCPU_EXIT_HOST_STATE, which stops the VM with this report; the VM is
 * never resumed with host state in its VMCB/VMCS.
 */
/* ---- debug registers ------------------------------------------------------- */
/* Which vCPU's DR0-3 (/DR6) the CPU holds.  nethv itself never uses them,
 * and DR7 is switched by the CPU (VMCS/VMCB): only a change of vCPU on a
 * CPU costs the four (five) moves each way. */
static struct vcpu_hw *dr_owner[MAX_CPUS];

void vcpu_debug_regs_reset(struct vcpu_hw *v)
{
    for (unsigned i = 0; i < 4; i++)
        v->dr[i] = 0;
    v->dr6 = DR6_FIXED1;
    v->dr_reload = true;
}

void vcpu_debug_regs_load(struct vcpu_hw *v, unsigned cpu, bool with_dr6)
{
    struct vcpu_hw *o = dr_owner[cpu];
    if (o == v && !v->dr_reload)
        return;
    if (o && o != v) {
        o->dr[0] = read_dr0();
        o->dr[1] = read_dr1();
        o->dr[2] = read_dr2();
        o->dr[3] = read_dr3();
        if (with_dr6)
            o->dr6 = read_dr6();
    }
    write_dr0(v->dr[0]);
    write_dr1(v->dr[1]);
    write_dr2(v->dr[2]);
    write_dr3(v->dr[3]);
    if (with_dr6)
        write_dr6(v->dr6);
    v->dr_reload = false;
    dr_owner[cpu] = v;
}

void vcpu_fpu_image_init(uint64_t pa, uint64_t xstate_bv)
{
    uint8_t *a = phys_to_virt(pa);
    uint16_t fcw = 0x37f;
    uint32_t mxcsr = 0x1f80;
    memset(a, 0, PAGE_SIZE);
    memcpy(a + 0, &fcw, sizeof(fcw));
    memcpy(a + 24, &mxcsr, sizeof(mxcsr));
    memcpy(a + 512, &xstate_bv, sizeof(xstate_bv));
}

void vcpu_fpu_reset(struct vcpu_hw *v)
{
    uint64_t xstate_bv;     /* the backend's convention */
    memcpy(&xstate_bv, (uint8_t *)phys_to_virt(v->fpu_area) + 512, sizeof(xstate_bv));
    vcpu_fpu_image_init(v->fpu_area, xstate_bv);
    v->xcr0 = 1;                        /* XCR0's reset value: x87 only */
}

/* Invariant (both backends, after every exit, before anything that could
 * fault or take an interrupt): the host's GS base, TR and IDT are in place,
 * and paging is on.
 * VMX loads them from the VMCS host-state area at VM exit (SDM 3C 28.5);
 * SVM restores the IDT at #VMEXIT and GS/TR by the host VMLOAD
 * (svm_entry.S, APM 2 15.5.2). */
void vcpu_assert_host_state(unsigned cpu, const char *backend)
{
    uint64_t gs = rdmsr(MSR_GS_BASE), cr0 = read_cr0();
    uint16_t tr;
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr;
    __asm__ volatile("str %0" : "=r"(tr));
    __asm__ volatile("sidt %0" : "=m"(idtr));
    if (gs == (uint64_t)(uintptr_t)&percpu_area[cpu] && tr == SEL_TSS && idtr.base == idt_base() &&
        (cr0 & CR0_PG))
        return;
    wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)&percpu_area[cpu]);    /* for the report */
    printk("\n%s: CPU %u after an exit: GS base %#llx (host %#llx), TR %#x (host %#x), "
           "IDT %#llx (host %#llx), CR0 %#llx: the host state is not in place\n", backend, cpu,
           (unsigned long long)gs, (unsigned long long)(uintptr_t)&percpu_area[cpu], tr, SEL_TSS,
           (unsigned long long)idtr.base, (unsigned long long)idt_base(), (unsigned long long)cr0);
    flight_print_cpu(cpu);
    panic("%s: host state not restored at exit", backend);
}

bool vcpu_host_state_saved(struct vcpu_exit *e)
{
    if (!host_text(e->rip) || e->cr3 != read_cr3())
        return false;
    printk("vcpu: exit %#x saved nethv's own state as the guest's (rip %#llx in nethv's text, "
           "cr3 %#llx = the host's): the CPU misbehaved\n", e->hw_reason,
           (unsigned long long)e->rip, (unsigned long long)e->cr3);
    e->reason = VCPU_EXIT_HOST_STATE;
    e->fail.what = "the exit saved nethv's own state as the guest's (RIP in nethv's text, "
                   "the host's CR3): the CPU misbehaved";
    e->fail.error = e->hw_reason;
    return true;
}

