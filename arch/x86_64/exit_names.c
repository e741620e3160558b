/* Exit reasons' names, for reports: shared by the kernel and the monitor
 * (built into both, user/mon_sys.c). */
#include <arch/vcpu.h>

static const char *const exit_names[VCPU_EXIT__COUNT] = {
    [VCPU_EXIT_NONE] = "none", [VCPU_EXIT_EXTINT] = "extint", [VCPU_EXIT_NMI] = "nmi",
    [VCPU_EXIT_INTR_WINDOW] = "irq-window", [VCPU_EXIT_NMI_WINDOW] = "nmi-window",
    [VCPU_EXIT_PREEMPT] = "preempt",
    [VCPU_EXIT_CPUID] = "cpuid", [VCPU_EXIT_HLT] = "hlt", [VCPU_EXIT_IO] = "io",
    [VCPU_EXIT_MMIO] = "mmio", [VCPU_EXIT_MSR_READ] = "rdmsr", [VCPU_EXIT_MSR_WRITE] = "wrmsr",
    [VCPU_EXIT_HYPERCALL] = "hypercall", [VCPU_EXIT_EXCEPTION] = "exception",
    [VCPU_EXIT_TRIPLE_FAULT] = "triple-fault", [VCPU_EXIT_INIT] = "init",
    [VCPU_EXIT_SIPI] = "sipi", [VCPU_EXIT_XSETBV] = "xsetbv", [VCPU_EXIT_CR_ACCESS] = "cr",
    [VCPU_EXIT_INVD] = "invd", [VCPU_EXIT_VMINSN] = "vm-insn",
    [VCPU_EXIT_REFUSED] = "refused", [VCPU_EXIT_APIC_EOI] = "apic-eoi",
    [VCPU_EXIT_APIC_WRITE] = "apic-write",
    [VCPU_EXIT_ENTRY_FAILED] = "entry-failed",
    [VCPU_EXIT_HOST_STATE] = "host-state", [VCPU_EXIT_UNKNOWN] = "unknown",
};

const char *vcpu_exit_name(enum vcpu_exit_reason r)
{
    return (unsigned)r < VCPU_EXIT__COUNT && exit_names[r] ? exit_names[r] : "?";
}
