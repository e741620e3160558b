/*
 * The flight recorder (include/nethv/flightrec.h): a ring of the last
 * FLIGHT_RECS exits per vCPU, kept so that a fault -- the guest's, the
 * host's, or the CPU's -- comes with what led to it.
 */
#include <nethv/kernel.h>
#include <nethv/flightrec.h>
#include <nethv/vm.h>
#include <arch/vcpu.h>
#include <arch/x86.h>

struct flight_rec *flight_record(struct flight_recorder *f, const struct vcpu_exit *e, unsigned cpu)
{
    struct flight_rec *r = &f->rec[f->count % FLIGHT_RECS];
    r->tsc = rdtsc();
    r->rip = e->rip;
    r->cr3 = e->cr3;
    r->intinfo = e->intinfo;
    r->injected = e->injected;
    r->hw_reason = e->hw_reason;
    r->cpu = (uint16_t)cpu;
    r->reason = (uint8_t)e->reason;
    r->handler = BY__COUNT;
    __atomic_store_n(&f->count, f->count + 1, __ATOMIC_RELEASE);
    return r;
}

void flight_print(const struct flight_recorder *f, const char *vm, unsigned vcpu)
{
    static const char *const by[] = { [BY_KERNEL] = "kernel", [BY_MONITOR] = "monitor",
                                      [BY__COUNT] = "(being handled)" };
    uint64_t n = __atomic_load_n(&f->count, __ATOMIC_ACQUIRE);
    unsigned shown = n < FLIGHT_RECS ? (unsigned)n : FLIGHT_RECS;
    if (!shown) {
        printk("vm %s: vCPU %u: flight recorder: no exits yet\n", vm, vcpu);
        return;
    }
    uint64_t newest = f->rec[(n - 1) % FLIGHT_RECS].tsc;
    printk("vm %s: vCPU %u: flight recorder, the last %u of %llu exits, oldest first "
           "(t: TSC ticks before the newest; intinfo: event being delivered; inj: event injected):\n",
           vm, vcpu, shown, (unsigned long long)n);
    for (uint64_t i = n - shown; i < n; i++) {
        const struct flight_rec *r = &f->rec[i % FLIGHT_RECS];
        printk("vm %s: vCPU %u:   #%llu t-%llu cpu %u %s (0x%x) rip 0x%llx cr3 0x%llx intinfo 0x%llx "
               "inj 0x%llx %s\n", vm, vcpu, (unsigned long long)i,
               (unsigned long long)(newest - r->tsc), r->cpu,
               vcpu_exit_name((enum vcpu_exit_reason)r->reason), r->hw_reason,
               (unsigned long long)r->rip, (unsigned long long)r->cr3,
               (unsigned long long)r->intinfo, (unsigned long long)r->injected,
               by[r->handler <= BY__COUNT ? r->handler : BY__COUNT]);
    }
}
