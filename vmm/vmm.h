/* The per-VM monitor's private state (one instance per VM; no globals). */
#ifndef VMM_VMM_H
#define VMM_VMM_H
#include <nethv/vmm_if.h>
#include "decode.h"
#include <nethv/spinlock.h>

/* the request's code size as the instruction decoder (vmm/decode.h) names it */
static inline enum cpu_mode vmm_decode_mode(enum cpu_exec_mode m)
{
    return m == MODE_LONG64 ? CPU_MODE_64 : m == MODE_PROT32 ? CPU_MODE_32 : CPU_MODE_16;
}

#define VMM_NAME_MAX 16
#define VMM_MAX_DEVS 32
#define VMM_MAX_MSRS 16
#define VMM_ARENA    (64 * 1024)

struct vmm;

/*
 * A device model: a port range and/or an MMIO range of guest-physical
 * space.  Handlers run with m->lock held; `state` is the device's own
 * (allocated with vmm_alloc: no global device state).  I/O size 1, 2, 4;
 * MMIO size 1, 2, 4, 8.  Reads fill *val; writes take it.
 */
struct vmm_dev {
    const char *name;
    uint16_t port_base, port_count;     /* port_count 0: no ports */
    uint64_t mmio_base, mmio_size;      /* mmio_size 0: no MMIO */
    void (*io)(struct vmm *m, void *state, uint16_t port, bool write, unsigned size, uint32_t *val);
    void (*mmio)(struct vmm *m, void *state, uint64_t gpa, bool write, unsigned size, uint64_t *val);
    void *state;
};

/* An MSR range emulated by a device (e.g. the x2APIC). 0, or -1 to raise #GP. */
struct vmm_msr {
    uint32_t first, count;
    int (*rdmsr)(struct vmm *m, void *state, unsigned vcpu, uint32_t msr, uint64_t *val);
    int (*wrmsr)(struct vmm *m, void *state, unsigned vcpu, uint32_t msr, uint64_t val);
    void *state;
};

struct vmm_vnet;

struct vmm {
    unsigned vm_id;
    char name[VMM_NAME_MAX];
    unsigned vcpus;
    uint64_t ram_bytes;
    unsigned boots;             /* restarts so far (vmm_reset): kept across them */
    spinlock_t lock;            /* serializes device state across vCPUs; all
                                   after it is cleared at every restart */
    /* debug console (port 0xE9): one line per vCPU-independent buffer */
    char dbg_line[120];
    unsigned dbg_len;
    /* test MMIO device */
    uint32_t testdev_scratch;
    uint32_t testdev_accesses;
    /* device models, registered at creation */
    unsigned ndevs, nmsrs;
    struct vmm_dev devs[VMM_MAX_DEVS];
    struct vmm_msr msrs[VMM_MAX_MSRS];
    size_t arena_used;
    uint8_t arena[VMM_ARENA] __attribute__((aligned(64)));
    /* the EFER bits the guest's CPUID grants (vmm_cpuid_publish) */
    uint64_t efer_allowed;
    /* counters */
    uint64_t unhandled_io, unhandled_mmio, unhandled_msr;
    /*
     * Legacy PC devices (uart.c rtc.c pit.c pic.c pci.c pm.c legacy.c).
     * raise_irq: drive guest interrupt line `gsi` (ISA IRQ n = GSI n) to
     * `level`; installed by the IOAPIC/PIC router, NULL drops interrupts.
     * Called with m->lock held (from device handlers or vmm_uart_input), on
     * the CPU of whichever vCPU exited; devices call it only when their line
     * changes.  The router must not take m->lock itself.
     */
    void (*raise_irq)(struct vmm *m, unsigned gsi, bool level);
    struct vmm_uart *uart;      /* COM1, for vmm_uart_input */
    struct vmm_pci *pci;        /* PCI host bridge and functions (pci.h) */
    struct vmm_vnet *vnet[VMM_NET_MAX_PORTS];   /* virtio-net devices (virtio_net.c) */
    int vnet_timer;                             /* their announce timer (vmm_add_timer) */
    unsigned nvnets;
    int power_off_requested;    /* set by PM1_CNT SLP_EN + S5: io_exit stops the VM, code 0 */
    int reset_requested;        /* 0xcf9 / i8042 0xfe / port 0x92: io_exit: VMM_RESET_VM */
    /* interrupt controllers (lapic.c, ioapic.c) */
    struct vmm_lapic *lapic;    /* local APICs: NULL on the test platform */
    enum vmm_platform platform; /* the test device exists on VMM_PLATFORM_TEST only */
    struct vmm_ioapic *ioapic;
    uint64_t lapic_dropped_ipis;        /* NMI/SMI/ExtINT IPIs: not modelled */
    /* device timers (vm_dev_timer ids): expired() runs with m->lock held */
    unsigned ntimers;
    struct vmm_timer {
        void (*expired)(struct vmm *m, void *state);
        void *state;
    } timers[VMM_DEV_TIMERS];
};

/* The PC platform's devices (vmm/platform.c); 0 or -1. */
int vmm_platform_pc_init(struct vmm *m, const struct vmm_create_args *a);

/* PC platform pieces (vmm/msr_pc.c, vmm/acpi_tables.c); 0 or -1. */
int vmm_msr_pc_init(struct vmm *m);
int vmm_acpi_tables_init(struct vmm *m, const struct vmm_create_args *a);
/* WRMSR/RDMSR EFER (every platform): true when handled. */
bool vmm_msr_efer(struct vmm *m, const struct vmm_request *rq, struct vmm_reply *rp);

/* Zeroed memory owned by this monitor instance (device state); NULL when full. */
void *vmm_alloc(struct vmm *m, size_t size);
int vmm_add_device(struct vmm *m, const struct vmm_dev *d);
int vmm_add_msrs(struct vmm *m, const struct vmm_msr *r);
/* A device timer for vm_dev_timer: its id, or -1 when all are taken. */
int vmm_add_timer(struct vmm *m, void (*expired)(struct vmm *m, void *state), void *state);
/* Dispatch to the registered devices; false when no device claims it. */
bool vmm_dev_io(struct vmm *m, uint16_t port, bool write, unsigned size, uint32_t *val);
bool vmm_dev_mmio(struct vmm *m, uint64_t gpa, bool write, unsigned size, uint64_t *val);

/* Legacy PC device models: each registers its ranges (0, or -1 when full). */
int vmm_uart_init(struct vmm *m, const struct vmm_create_args *a);
int vmm_rtc_init(struct vmm *m, const struct vmm_create_args *a);
int vmm_pit_init(struct vmm *m, const struct vmm_create_args *a);
int vmm_pic_init(struct vmm *m, const struct vmm_create_args *a);
int vmm_pci_init(struct vmm *m, const struct vmm_create_args *a);
int vmm_pm_init(struct vmm *m, const struct vmm_create_args *a);
int vmm_legacy_init(struct vmm *m, const struct vmm_create_args *a);
/* virtio-net functions, one per net port, at PCI slots 3, 4, ... (vmm/virtio_net.c) */
int vmm_virtio_net_init(struct vmm *m, const struct vmm_create_args *a);
void vmm_virtio_net_print_stats(struct vmm *m);

/* Each device model: returns true when it claimed the access. */
bool testdev_io(struct vmm *m, const struct vmm_request *rq, struct vmm_reply *rp);
bool testdev_mmio(struct vmm *m, uint64_t gpa, bool write, unsigned size, uint64_t *val);
void vmm_cpuid(struct vmm *m, const struct vmm_request *rq, struct vmm_reply *rp);
void vmm_cpuid_publish(struct vmm *m);
void vmm_msr(struct vmm *m, const struct vmm_request *rq, struct vmm_reply *rp);
void vmm_mmio(struct vmm *m, const struct vmm_request *rq, struct vmm_reply *rp);
void vmm_inject_exception(struct vmm_reply *rp, uint8_t vector, bool has_error, uint32_t error);

#define EXC_UD 6
#define EXC_GP 13
#endif
