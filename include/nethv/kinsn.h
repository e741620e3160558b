/*
 * The kernel's own look at the bytes at a guest's CS:RIP (kernel/insn.c):
 * only what its fast paths need, never a general decoder.  The monitor
 * decodes everything else with the full decoder (vmm/decode.c),
 * which is not in ring 0.
 *
 * `bits` is the code size: 16, 32 or 64.  Every function reads at most
 * `avail` bytes and at most 15 (an x86 instruction's limit, SDM 2A 2.3.11),
 * and answers 0 (or -1) for anything it does not know, which sends the exit
 * to the monitor.  Compiles freestanding and hosted (tests/host/test_kinsn.c
 * checks it against the full decoder).
 */
#ifndef NETHV_KINSN_H
#define NETHV_KINSN_H

#include <stdint.h>

/* The length of one of the instructions whose exits the kernel completes
 * itself (HLT, IN, RDMSR/WRMSR, VMCALL/VMMCALL, INVD/WBINVD, XSETBV), with
 * its prefixes; 0 for any other bytes. */
unsigned kinsn_len(const uint8_t *b, unsigned avail, unsigned bits);

/* The length of a plain store (MOV to memory: 88, 89, C6 /0, C7 /0, A2,
 * A3; no LOCK prefix): what a doorbell or an EOI write is, and what
 * a fast path may step over without emulating it; 0 for anything else. */
unsigned kinsn_store_len(const uint8_t *b, unsigned avail, unsigned bits);

/* MOV to CRn (0F 22 /r, no LOCK: AMD's LOCK form names CR8): 0 with the CR
 * number, the source GPR (0-15, RSP is 4) and the length; -1 otherwise. */
int kinsn_mov_to_cr(const uint8_t *b, unsigned avail, unsigned bits,
                    unsigned *cr, unsigned *gpr, unsigned *len);

#endif
