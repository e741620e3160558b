/* The per-VM monitor's private state (one instance per VM; no globals). */
#ifndef VMM_VMM_H
#define VMM_VMM_H
#include <nethv/vmm_if.h>
#include <nethv/spinlock.h>

#define VMM_NAME_MAX 16

struct vmm {
    unsigned vm_id;
    char name[VMM_NAME_MAX];
    unsigned vcpus;
    uint64_t ram_bytes;
    spinlock_t lock;            /* serializes device state across vCPUs */
    /* debug console (port 0xE9): one line per vCPU-independent buffer */
    char dbg_line[120];
    unsigned dbg_len;
    /* test MMIO device */
    uint32_t testdev_scratch;
    uint32_t testdev_accesses;
    /* counters */
    uint64_t unhandled_io, unhandled_mmio, unhandled_msr;
};

/* Each device model: returns true when it claimed the access. */
bool testdev_io(struct vmm *m, const struct vmm_request *rq, struct vmm_reply *rp);
bool testdev_mmio(struct vmm *m, uint64_t gpa, bool write, unsigned size, uint64_t *val);
void vmm_cpuid(struct vmm *m, const struct vmm_request *rq, struct vmm_reply *rp);
void vmm_msr(struct vmm *m, const struct vmm_request *rq, struct vmm_reply *rp);
void vmm_mmio(struct vmm *m, const struct vmm_request *rq, struct vmm_reply *rp);
void vmm_inject_exception(struct vmm_reply *rp, uint8_t vector, bool has_error, uint32_t error);

#define EXC_UD 6
#define EXC_GP 13
#endif
