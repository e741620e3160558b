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
#include <arch/vcpu.h>

#define VM_MAX          CONFIG_MAX_VMS
#define VM_MAX_VCPUS    CONFIG_MAX_VCPUS
#define VM_MAX_RAM      CONFIG_MAX_REGIONS

enum vcpu_state { VCPU_RUNNABLE, VCPU_HALTED, VCPU_WAIT_SIPI, VCPU_STOPPED };
enum vm_state { VM_RUNNING, VM_STOPPED };
enum exit_handler { BY_KERNEL, BY_MONITOR, BY__COUNT };

struct vm;

struct vcpu {
    struct vcpu_hw hw;          /* first: backends see only this */
    struct vm *vm;
    unsigned index;
    unsigned host_cpu;
    volatile enum vcpu_state state;
    uint64_t timer_deadline;    /* host TSC; 0 = none (HC_TIMER_ONESHOT, LAPIC timer) */
    uint64_t timer_period;      /* TSC ticks; 0 = one-shot (LAPIC periodic mode) */
    uint8_t timer_vector;       /* < 16: expire silently (LVT masked) */
    /* virtual local APIC (PC platform; NULL for test VMs, which get posted
     * vectors injected directly): architectural register page, see vlapic.h */
    uint8_t *vapic;
    /* INIT-SIPI-SIPI from another vCPU (vm_vcpu_start): set by any CPU,
     * consumed by the owner CPU's run loop */
    volatile bool start_pending;
    uint8_t start_vector;
    bool timer_hw_armed;        /* preemption timer set for timer_deadline */
    struct vcpu *next_on_cpu;   /* run queue of host_cpu */
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
    struct vmm *monitor;
    bool monitor_is_test;       /* test platform: bare-metal test guest */
    /* exits per normalized reason and per handler; relaxed atomics */
    uint64_t exits[VCPU_EXIT__COUNT][BY__COUNT];
    char console_buf[128];
    unsigned console_len;
};

extern struct vm vms[VM_MAX];
extern unsigned nvms;

/* BSP: create every VM of the config and load its guest images. */
void vms_create(const struct nethv_config *cfg, const struct boot_info *bi);
/* Every CPU: run the vCPUs pinned here until all VMs have stopped. */
void vcpu_scheduler(void);
/* Checked translation: host pointer for [gpa, gpa+len) of this VM's RAM or NULL. */
void *vm_gpa_ptr(struct vm *vm, uint64_t gpa, uint64_t len);
void vm_stop(struct vm *vm, int code, const char *why);
/* Length of the instruction that caused exit e (owner CPU): the backend's,
 * else decoded from guest memory; 0 if unknown (kernel/exit.c). */
unsigned vcpu_insn_len(struct vcpu *v, const struct vcpu_exit *e);
bool vms_all_stopped(void);
void vm_print_stats(const struct vm *vm);

#endif
