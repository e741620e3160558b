/*
 * VM and vCPU objects, the kernel's run loop and exit dispatch.
 * A VM is created on the BSP from the config before any vCPU runs; after
 * that each vCPU is touched only by the host CPU it is pinned to, except for
 * the atomic fields (state, posted interrupts) named below.
 */
#ifndef NETHV_VM_H
#define NETHV_VM_H

#include <stdint.h>
#include <stdbool.h>
#include <nethv/config.h>
#include <nethv/bootinfo.h>
#include <nethv/spinlock.h>
#include <nethv/vmm_if.h>
#include <nethv/flightrec.h>
#include <arch/vcpu.h>

#define VM_MAX          CONFIG_MAX_VMS
#define VM_MAX_VCPUS    CONFIG_MAX_VCPUS
#define VM_MAX_RAM      CONFIG_MAX_REGIONS

/* VCPU_PARKED: its VM restarts; the vCPU waits (not run) until vm_restart_park
 * on vCPU 0's CPU has reloaded the VM and given it a new state. */
enum vcpu_state { VCPU_RUNNABLE, VCPU_HALTED, VCPU_WAIT_SIPI, VCPU_STOPPED, VCPU_PARKED };
/* VM_RESTARTING: the guest reset the machine (vm_reset); its vCPUs
 * park on their CPUs, then vCPU 0's CPU reloads it and sets VM_RUNNING. */
enum vm_state { VM_RUNNING, VM_STOPPED, VM_RESTARTING };
#define VM_MAX_RESTARTS 16
enum exit_handler { BY_KERNEL, BY_MONITOR, BY__COUNT };

struct vm;

struct vcpu {
    struct vcpu_hw hw;          /* first: backends see only this */
    struct vm *vm;
    unsigned index;
    unsigned host_cpu;
    volatile enum vcpu_state state;
    unsigned parked_seq;        /* the restart it parked for last (vm_restart_park) */
    uint64_t timer_deadline;    /* host TSC; 0 = none (HC_TIMER_ONESHOT, LAPIC timer) */
    uint64_t timer_period;      /* TSC ticks; 0 = one-shot (LAPIC periodic mode) */
    uint8_t timer_vector;       /* < 16: expire silently (LVT masked) */
    /* virtual local APIC (PC platform; NULL for test VMs, which get posted
     * vectors injected directly): architectural register page, see vlapic.h */
    uint8_t *vapic;
    uint64_t apic_base;         /* IA32_APIC_BASE per the monitor (vm_lapic_base) */
    uint64_t apic_base_applied; /* ... as last given to the backend (set_apic_mode);
                                   ~0 = never */
    uint64_t tsc_deadline;      /* IA32_TSC_DEADLINE as written (guest TSC; 0 = off):
                                   by the kernel's fast path or the monitor */
    /* INIT-SIPI-SIPI from another vCPU (vm_vcpu_start): set by any CPU,
     * consumed by the owner CPU's run loop */
    volatile bool start_pending;
    uint8_t start_vector;
    bool timer_hw_armed;        /* preemption timer set for timer_deadline */
    uint64_t vruntime;          /* TSC ticks run, for fair shares on its CPU (sched.c) */
    uint64_t run_tsc;           /* TSC ticks in its slices (vruntime without catch-up) */
    uint64_t slice_t0;          /* TSC at the start of the slice it is in, 0: none */
    uint64_t exc_loop_rip;      /* exit.c: the #DB/#AC delivery-loop detector */
    uint32_t exc_loop_n;
    uint64_t guest_tsc;         /* ... of those, inside the backend's run() */
    uint64_t slices;            /* run_slice calls */
    struct vcpu *next_on_cpu;   /* run queue of host_cpu */
    struct flight_recorder flight;  /* the last exits (kernel/flightrec.c) */
};

struct vm_ram {
    uint64_t gpa, hpa, size;
};

struct vm {
    unsigned id;
    unsigned cfg_index;         /* index in nethv_config.vm[] (ports name VMs by it) */
    char name[CONFIG_NAME_MAX + 1];
    volatile enum vm_state state;
    int exit_code;
    struct vm_hw hw;
    unsigned nram;
    struct vm_ram ram[VM_MAX_RAM];
    unsigned nvcpus;
    struct vcpu vcpu[VM_MAX_VCPUS];
    struct umon *umon;          /* the monitor at CPL 3 (kernel/monitor.c), or NULL */
    const struct boot_module *boot_mod[2];  /* its kernel, its initrd / module (or NULL) */
    struct vmm_load load;       /* what the monitor's loader is told (vmm/boot.c) */
    bool monitor_is_test;       /* test platform: bare-metal test guest */
    /* exits per normalized reason and per handler; relaxed atomics */
    uint64_t exits[VCPU_EXIT__COUNT][BY__COUNT];
    uint64_t fast_eois;         /* of those by the kernel: LAPIC EOIs (exit.c) */
    uint64_t fast_tsc_deadlines; /* ... and IA32_TSC_DEADLINE writes (exit.c) */
    uint64_t fast_clock_reads;  /* ... and reads of the clock port (exit.c) */
    /* A read-only clock port the kernel answers (vm_io_clock): the ACPI PM
     * timer, (host TSC - clock_tsc0) at clock_hz; clock_port 0 = none */
    uint16_t clock_port;
    uint32_t clock_hz;
    uint64_t clock_tsc0;
    /* device timers (vm_dev_timer): set by any CPU under dev_timer_lock,
     * expired on vCPU 0's CPU (vm_dev_timers_run); dev_timer_next is the
     * earliest deadline (host TSC, 0 = none), read without the lock */
    spinlock_t dev_timer_lock;
    struct { uint64_t deadline, period; } dev_timer[VMM_DEV_TIMERS];
    volatile uint64_t dev_timer_next;
    uint64_t timer_floored;     /* guest timer periods raised to the minimum (vm.c) */
    /* console output (vm_console_line): a token bucket of bytes, refilled
     * at con_rate; what does not fit is dropped and counted */
    spinlock_t con_lock;
    uint32_t con_rate;          /* bytes/s (config console-rate) */
    uint64_t con_tokens, con_tsc, con_dropped, con_dropped_said;
    bool tx_resume;             /* a virtio-net TX drain stopped at its budget
                                 * (kernel/vnet.c): resumed at the next exit */
    unsigned boot_count;        /* 1 at creation, +1 per restart */
    volatile unsigned parked;   /* vCPUs parked for the restart (atomic) */
    unsigned restart_seq;       /* restarts begun (vm_reset, under the stop lock) */
};

extern struct vm vms[VM_MAX];
extern unsigned nvms;

/* BSP: create every VM of the config and load its guest images. */
void vms_create(const struct nethv_config *cfg, const struct boot_info *bi);
/* Every CPU: run the vCPUs pinned here until all VMs have stopped. */
void vcpu_scheduler(void);
/* Checked translation: host pointer for [gpa, gpa+len) of this VM's RAM or NULL. */
void *vm_gpa_ptr(struct vm *vm, uint64_t gpa, uint64_t len);
/* the test image's hook (kernel/test_hooks.c); NULL in nethv.elf */
void vm_test_restart_window(struct vm *vm) __attribute__((weak));

/* vCPU 0's state at (re)boot, from where the monitor's loader says the
 * guest starts (kernel/vm.c); -1 for a mode it does not know. */
struct guest_boot_state {
    struct vcpu_regs regs;
    struct vcpu_sregs sregs;
};
extern struct guest_boot_state vm_boot_state[VM_MAX];
int vm_boot_state_set(struct vm *vm, const struct vmm_boot *b);
struct vcpu_sregs;
/* The target of the guest's IDT gate for `vector` under `s`, ~0 if none (kernel/gpa.c). */
uint64_t vm_idt_target(struct vm *vm, const struct vcpu_sregs *s, unsigned vector);
/* Up to VMM_INSN_MAX bytes at CS:RIP into rq->insn (kernel/gpa.c). */
void vm_fetch_insn(struct vm *vm, struct vmm_request *rq, uint64_t cs_base);
/* Stop the VM (any CPU) with the guest's or the kernel's code. */
void vm_stop(struct vm *vm, int code, const char *why);
/* kernel/vm.c: control bytes of `line` as \xNN into out[cap]; bytes of line taken */
size_t console_escape(char *out, size_t cap, const char *line);
bool token_take(uint64_t *tokens, uint64_t *tsc, uint64_t rate, uint64_t burst_s, uint64_t cost);
/* kernel/monitor.c: every call into a VM's monitor (ring 0 or CPL 3) */
void monitor_init(void);
/* fault: the config's monitor-fault (a CPL-3 monitor fails on purpose; refused for ring 0) */
int monitor_create(struct vm *vm, const struct vmm_create_args *a, unsigned fault);
void monitor_exit(struct vcpu *v, const struct vmm_request *rq, struct vmm_reply *rp);
int monitor_reset(struct vm *vm, const struct vmm_create_args *a);
void monitor_print_stats(struct vm *vm);
void monitor_timer(struct vm *vm, unsigned id);
bool monitor_uart_input(struct vm *vm, char c);
/* The guest reset the machine (any CPU): restart the VM, at most
 * VM_MAX_RESTARTS times (VM_RESTARTING, every vCPU kicked), then stop it. */
void vm_reset(struct vm *vm);
void vm_print_flight(struct vm *vm);
/* The owner CPU of v, its VM restarting: park v; on vCPU 0's CPU, once all
 * are parked, reload the VM and set it running again. */
void vm_restart_park(struct vcpu *v);
/* Length of the instruction that caused exit e (owner CPU): the backend's,
 * else decoded from guest memory; if unknown, `fallback` (the length of
 * the instruction's usual encoding) (kernel/exit.c). */
unsigned vcpu_insn_len(struct vcpu *v, const struct vcpu_exit *e, unsigned fallback);
/* An MMIO exit's instruction length if it was a plain store (MOV to memory,
 * no REP), else 0: what a kernel fast path may step over (kernel/exit.c). */
unsigned vcpu_store_len(struct vcpu *v, const struct vcpu_exit *e);
/* Step the vCPU's RIP past len bytes (owner CPU; kernel/exit.c). */
void vcpu_advance_rip(struct vcpu *v, unsigned len);
bool vms_all_stopped(void);
/* vCPU 0's CPU, between guest runs: expire the VM's due device timers. */
void vm_dev_timers_run(struct vm *vm);
static inline bool vm_dev_timer_due(const struct vm *vm, uint64_t now)
{
    uint64_t next = vm->dev_timer_next;
    return next && now >= next;
}
void vm_print_stats(const struct vm *vm);

#endif
