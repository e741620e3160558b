/*
 * The one narrow interface between the kernel and a VM's monitor (vmm/).
 *
 * Message style: the kernel hands the monitor an exit record (struct
 * vmm_request, by value: no kernel pointers) and gets an action back
 * (struct vmm_reply).  The monitor reaches the VM only through the checked
 * guest-memory calls below, which name the VM by its id.  That keeps the
 * monitor movable to a deprivileged context later.
 *
 * Called on the CPU running the exiting vCPU, without kernel locks held;
 * a monitor instance serializes its own device state (struct vmm.lock).
 */
#ifndef NETHV_VMM_IF_H
#define NETHV_VMM_IF_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <arch/vcpu.h>

#define VMM_INSN_MAX 15

enum cpu_exec_mode { MODE_REAL, MODE_PROT16, MODE_PROT32, MODE_LONG64 };

struct vmm_request {
    unsigned vm_id;
    unsigned vcpu;
    struct vcpu_exit exit;
    struct vcpu_regs regs;
    enum cpu_exec_mode mode;
    uint64_t cr0, cr3, cr4, efer;
    uint64_t xcr0;                  /* CPUID leaf 0xd: the XSAVE size for it */
    uint8_t insn[VMM_INSN_MAX];     /* MMIO exits, and exits without a length: bytes at CS:RIP */
    uint8_t insn_avail;             /* how many of them could be read */
};

enum vmm_action {
    VMM_RESUME,         /* continue the vCPU (with the changes below) */
    VMM_HALT,           /* the vCPU waits for an interrupt (HLT semantics) */
    VMM_STOP_VM,        /* stop the whole VM: exit_code says why */
    VMM_RESET_VM,       /* the guest reset the machine: the kernel restarts the VM
                           (images reloaded, RAM cleared, vmm_reset, vCPU 0 at its
                           boot state, APs waiting for SIPI), at most
                           VM_MAX_RESTARTS times, then stops it */
    VMM_FAULT_VM,       /* stop the VM and dump the vCPU: a guest error */
};

struct vmm_reply {
    enum vmm_action action;
    bool regs_dirty;                /* write regs back */
    struct vcpu_regs regs;
    unsigned advance_rip;           /* add to RIP (instruction length) */
    bool inject;                    /* deliver `event` at the next entry */
    struct vcpu_event event;
    bool set_efer;                  /* load `efer` into the guest (WRMSR EFER) */
    uint64_t efer;
    int exit_code;                  /* VMM_STOP_VM: 0 power-off, else the guest's code */
    char why[64];                   /* VMM_FAULT_VM */
};


/* ---- kernel services for monitors (checked; any CPU) ---------------------- */
/* 0 on success; -1 if any byte of [gpa, gpa+len) is not this VM's RAM. */
int vm_gpa_read(unsigned vm_id, uint64_t gpa, void *buf, size_t len);
int vm_gpa_write(unsigned vm_id, uint64_t gpa, const void *buf, size_t len);
/* Post an interrupt vector to one of the VM's vCPUs (no exit needed). */
void vm_post_irq(unsigned vm_id, unsigned vcpu, uint8_t vector);
/* an NMI for the vCPU (the LAPIC's NMI delivery mode): latched, one at a time */
void vm_post_nmi(unsigned vm_id, unsigned vcpu);
/* The vCPU's virtual-APIC page (4 KiB, xAPIC layout, nethv/vlapic.h) or
 * NULL; the monitor emulates register accesses of that vCPU's own exits on
 * it (its CPU), never another vCPU's: those go through vm_post_irq. */
uint8_t *vm_vapic_page(unsigned vm_id, unsigned vcpu);
/* The vCPU's IA32_APIC_BASE as the monitor's LAPIC model now has it (at
 * creation, reset and every change): in the mode it names (xAPIC window or
 * x2APIC MSRs) the kernel takes the guest's EOIs of edge-triggered vectors
 * on its own fast path (kernel/exit.c); level-triggered ones still reach
 * the monitor, whose IOAPIC must see them. */
void vm_lapic_base(unsigned vm_id, unsigned vcpu, uint64_t apic_base);
/* SIPI: start a vCPU waiting for SIPI in real mode at sipi_vector << 12. */
void vm_vcpu_start(unsigned vm_id, unsigned vcpu, uint8_t sipi_vector);
/* LAPIC timer service, the calling vCPU's own CPU: post `vector` when the
 * guest TSC reaches `deadline` (0 = cancel), then every `period` TSC ticks
 * if non-zero; vector < 16 keeps time without posting (LVT masked). */
void vm_vcpu_timer(unsigned vm_id, unsigned vcpu, uint64_t deadline, uint64_t period, uint8_t vector);
/* IA32_TSC_DEADLINE (SDM 3A 11.5.4.1), owner CPU: the kernel holds the
 * value, because it takes the guest's writes itself while the LVT timer
 * is in TSC-deadline mode (kernel/exit.c: Linux rearms it after every
 * tick); the monitor reads and sets it here (reset, mode switches). */
uint64_t vm_tsc_deadline(unsigned vm_id, unsigned vcpu);
void vm_set_tsc_deadline(unsigned vm_id, unsigned vcpu, uint64_t guest_tsc);
/* The vCPU's IA32_TSC_AUX (what RDTSCP returns in ECX), as the guest wrote it
 * to the monitor; RDTSCP itself does not exit.  0 after a VM restart. */
void vm_set_tsc_aux(unsigned vm_id, unsigned vcpu, uint32_t aux);
/* the CR4 bits the guest's CPUID grants: the kernel refuses others (#GP) */
void vm_set_cr4_allowed(unsigned vm_id, uint64_t allowed);
/* A free-running 32-bit clock at I/O port..port+3 that the kernel answers
 * itself: reads return (host TSC - tsc0) at hz, exactly as the monitor's
 * model computes it (vmm/pm.c: the ACPI PM timer, which a Linux guest reads
 * on every clock read once it has fallen back to clocksource acpi_pm).
 * Writes and string I/O still reach the monitor.  port 0: none. */
void vm_io_clock(unsigned vm_id, uint16_t port, uint32_t hz, uint64_t tsc0);
/* ... its value after `ticks` TSC ticks at tsc_rate Hz (both sides use this) */
static inline uint32_t io_clock_value(uint64_t ticks, uint64_t tsc_rate, uint32_t hz)
{
    return (uint32_t)(ticks / tsc_rate * hz + ticks % tsc_rate * hz / tsc_rate);
}
/* The vCPU's TSC now (host TSC + its offset), and the TSC rate in kHz. */
uint64_t vm_guest_tsc(unsigned vm_id, unsigned vcpu);
uint64_t vm_tsc_khz(void);
/* Print one line to the hypervisor console. */
void vm_console_line(unsigned vm_id, const char *line);
/* Device timers (the PIT's channel 0 ...), any CPU: timer `id` (<
 * VMM_DEV_TIMERS) expires when the host TSC (rdtsc(): the clock the device
 * models count with) reaches `deadline_tsc` (0 = cancel), then every
 * `period` TSC ticks if non-zero.  Each expiry is one call of
 * vmm_timer_expired(m, id) on the CPU of the VM's vCPU 0, between two of
 * its guest runs (a halted vCPU 0 is looked at too), no kernel lock held.
 * A periodic timer that fell behind catches up one expiry per look, up to
 * VMM_DEV_TIMER_CATCHUP periods; beyond that the missed ones are dropped. */
#define VMM_DEV_TIMERS          4
#define VMM_DEV_TIMER_CATCHUP   16
void vm_dev_timer(unsigned vm_id, unsigned id, uint64_t deadline_tsc, uint64_t period);

/* ---- virtio-net data plane (kernel/vnet.c) --------------------------------
 * The monitor runs the virtio-pci control plane (config space, feature
 * negotiation, queue set-up, status, reset, MSI-X table); the kernel runs
 * the data plane.  Port n is the VM's n-th net port of the config. */
#define VMM_NET_MAX_PORTS   4
#define VMM_NET_QUEUES      2           /* 0: receiveq1, 1: transmitq1 */
struct vmm_net_queue {
    uint16_t size;                      /* 0: queue disabled */
    uint64_t desc, avail, used;         /* guest-physical ring addresses */
};
struct vmm_net_msi {
    uint64_t addr;
    uint32_t data;
    bool masked;                        /* vector masked, or no vector (NO_VECTOR) */
};
/* DRIVER_OK: hand the negotiated features and both queues to the kernel.
 * 0, or -1 if a queue does not lie in the VM's RAM (the monitor then sets
 * DEVICE_NEEDS_RESET). */
int vm_net_start(unsigned vm_id, unsigned port, uint64_t features,
                 const struct vmm_net_queue q[VMM_NET_QUEUES]);
/* Device reset (status 0) or FEATURES_OK cleared: the kernel stops using
 * the queues before this returns. */
void vm_net_stop(unsigned vm_id, unsigned port);
/* MSI-X route of a queue's interrupt, whenever the guest changes the table
 * entry, its mask, the function mask, or the queue's vector.  Unmasking
 * delivers an interrupt that was held while masked; *pending says whether
 * one is held now (for the PBA). */
void vm_net_set_msi(unsigned vm_id, unsigned port, unsigned queue, const struct vmm_net_msi *msi);
bool vm_net_msi_pending(unsigned vm_id, unsigned port, unsigned queue);
/* The notify area (the notify capability's window in a memory BAR), after
 * every BAR move: guest writes to [gpa, gpa + VMM_NET_QUEUES * stride)
 * exit to the kernel's fast path, never to the monitor.  gpa 0 = none. */
void vm_net_set_notify(unsigned vm_id, unsigned port, uint64_t gpa, uint32_t stride);
/* The port's MAC from the config (the device config space `mac`) and link
 * state (`status`); false if the VM has no such port. */
bool vm_net_port_info(unsigned vm_id, unsigned port, uint8_t mac[6], bool *link_up, uint16_t *mtu);
/* A control-queue command (virtio 5.1.6.5) the monitor parsed, for the
 * kernel to carry out -- the port's config policy is checked there:
 * 0, or -1 refused (the monitor answers VIRTIO_NET_ERR). */
#define VMM_NET_MC_MAX      64          /* = SW_MC_MAX */
enum vmm_net_ctrl_kind {
    VMM_NET_CTRL_RX_MODE,               /* promisc, allmulti, the multicast list */
    VMM_NET_CTRL_MAC,                   /* mac (refused unless `mac-change = "allow"`) */
    VMM_NET_CTRL_OFFLOADS,              /* offloads: the GUEST_* bits now on, of those negotiated */
};
struct vmm_net_ctrl {
    uint32_t kind;
    uint8_t promisc, allmulti;          /* promisc refused unless `promisc = "allow"` */
    uint8_t mac[6];
    uint32_t nmc;                       /* > VMM_NET_MC_MAX: every group (the list overflowed) */
    uint8_t mc[VMM_NET_MC_MAX][6];
    uint64_t offloads;                  /* VIRTIO_BIT(VIRTIO_NET_F_GUEST_*) */
};
int vm_net_ctrl(unsigned vm_id, unsigned port, const struct vmm_net_ctrl *c);

/* ---- the guest's images (vmm/boot.c loads them; kernel/monitor.c) --------
 * The boot modules the configuration names for the VM -- 0 its kernel, 1
 * its initrd or Multiboot module -- are read into the monitor's memory
 * (len <= 64 KiB a call) or copied straight into guest RAM (len <=
 * VMM_MODULE_CHUNK a call); -1 if out of the module or of guest RAM. */
#define VMM_MODULE_CHUNK    (1ull << 20)
#define VMM_MAX_RAM         8           /* CONFIG_MAX_REGIONS */
int vm_module_read(unsigned vm_id, unsigned mod, uint64_t off, void *buf, size_t len);
int vm_module_load(unsigned vm_id, unsigned mod, uint64_t off, uint64_t gpa, size_t len);
enum vmm_guest_kind { VMM_GUEST_MULTIBOOT, VMM_GUEST_LINUX };
struct vmm_load {
    uint32_t kind;                      /* enum vmm_guest_kind */
    uint32_t nmod;                      /* 1: a kernel; 2: and an initrd / module */
    uint64_t mod_len[2];
    char mod_name[2][64];               /* (the Multiboot module's string) */
    char cmdline[544];                  /* the config's bootargs (+ " nethv.boot=N" at restarts) */
    uint32_t nram;
    struct { uint64_t gpa, size; } ram[VMM_MAX_RAM];    /* the VM's RAM regions */
};
/* Where the guest starts: VMM_BOOT_LONG64 (the Linux 64-bit entry: flat
 * __BOOT_CS 0x10/__BOOT_DS 0x18 at GUEST_GDT, CR3 GUEST_PML4, RSI) or
 * VMM_BOOT_PROT32 (the Multiboot machine state: flat 32-bit, paging off,
 * EAX, EBX); the kernel builds the CPU state from it. */
enum vmm_boot_mode { VMM_BOOT_NONE, VMM_BOOT_LONG64, VMM_BOOT_PROT32 };
struct vmm_boot { uint32_t mode; uint64_t rip, rax, rbx, rsi; };
/* vmm/boot.c: the images into RAM (after vmm_create / vmm_reset wrote the
 * firmware tables); 0, or -1 with a console line. */
int vmm_load_guest(unsigned vm_id, const char *name, const struct vmm_load *l, struct vmm_boot *b);

/* ---- monitor entry points (vmm/) ------------------------------------------ */
struct vmm;
enum vmm_platform {
    VMM_PLATFORM_TEST,          /* bare-metal test guests: test devices only */
    VMM_PLATFORM_PC,            /* a PC for stock OSes: UART, APICs, PCI, ACPI ... */
};
struct vmm_create_args {
    unsigned vm_id;
    const char *name;
    unsigned vcpus;
    uint64_t ram_bytes;         /* RAM from GPA 0 (the loader's layout) */
    enum vmm_platform platform;
    unsigned net_ports;         /* virtio-net devices (config ports of this VM) */
};
struct vmm *vmm_create(const struct vmm_create_args *a);
void vmm_handle_exit(struct vmm *m, const struct vmm_request *rq, struct vmm_reply *rp);
/* The VM restarts (vm_reset): every device back to its power-on
 * state, the firmware tables rewritten into the cleared RAM.  Called on the
 * CPU of vCPU 0 while no vCPU of the VM runs; takes m->lock.  0, or -1
 * (the kernel then stops the VM). */
int vmm_reset(struct vmm *m, const struct vmm_create_args *a);
/* Print the monitor's own counters (per device model, e.g. each virtio-net
 * function's accesses by register block) to the console.  Any CPU, any
 * time: the reads are racy, no lock taken. */
void vmm_print_stats(struct vmm *m);
/* A device timer armed with vm_dev_timer expired (see there); takes m->lock. */
void vmm_timer_expired(struct vmm *m, unsigned id);
/* Feed a console byte to the guest's UART (COM1); false when its FIFO is
 * full (the caller keeps the byte and retries later).  Takes m->lock. */
bool vmm_uart_input(struct vmm *m, char c);

#endif
