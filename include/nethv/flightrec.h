/*
 * The flight recorder: per vCPU, the last FLIGHT_RECS exits that reached the
 * kernel (kernel/flightrec.c).  Written only by the vCPU's own CPU, at each
 * exit; printed with every guest fault, every VM stop with a non-zero code,
 * every host exception (the vCPU last run on that CPU) and on Ctrl-T f.
 */
#ifndef NETHV_FLIGHTREC_H
#define NETHV_FLIGHTREC_H

#include <stdint.h>

#define FLIGHT_RECS 64

struct vcpu_exit;

struct flight_rec {
    uint64_t tsc;               /* host TSC at the exit */
    uint64_t rip, cr3;          /* the guest's */
    uint64_t intinfo;           /* event being delivered when the exit came (struct vcpu_exit) */
    uint64_t injected;          /* event injected by the entry that ended here */
    uint32_t hw_reason;         /* VMX basic exit reason / SVM EXITCODE */
    uint16_t cpu;               /* physical CPU */
    uint8_t reason;             /* enum vcpu_exit_reason */
    uint8_t handler;            /* enum exit_handler; BY__COUNT while being handled */
};

struct flight_recorder {
    struct flight_rec rec[FLIGHT_RECS];
    uint64_t count;             /* exits recorded since the vCPU was created */
};

/* Record one exit; returns its slot so the caller can fill in the handler. */
struct flight_rec *flight_record(struct flight_recorder *f, const struct vcpu_exit *e, unsigned cpu);
/* Print the recorder, oldest first, each line prefixed "vm NAME: vCPU N: ". */
void flight_print(const struct flight_recorder *f, const char *vm, unsigned vcpu);

#endif
