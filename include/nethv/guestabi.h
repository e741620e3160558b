/*
 * What a nethv guest can rely on besides the emulated PC: the hypercalls
 * (VMCALL on Intel, VMMCALL on AMD; number in RAX, result in RAX) and the
 * test devices every VM has.  Used by the kernel, the monitor and the
 * bare-metal test guests in guest/.
 */
#ifndef NETHV_GUESTABI_H
#define NETHV_GUESTABI_H

/* Hypercalls */
#define HC_NULL             0   /* returns 0; the kernel's fast path (benchmarks) */
#define HC_TIMER_ONESHOT    1   /* RBX = delay in us, RCX = vector: one external
                                   interrupt with that vector after the delay */
#define HC_VCPU_ID          2   /* returns the vCPU index */
#define HC_DOORBELL         3   /* test VMs only: RBX = GPA of the peer VM's name
                                   (NUL-terminated), RCX = vector: raise that
                                   interrupt in the peer's vCPU 0 from this CPU */
#define HC_INVALID          (-1ull)     /* result of an unknown hypercall */

/* Debug console: bytes written here appear on the hypervisor console as
 * "[vm] line" (port 0xE9, the Bochs/QEMU debug-port convention). */
#define TESTDEV_DEBUG_PORT  0xe9
/* Test exit: a 32-bit write stops the VM and reports the value
 * ("vm NAME: exit code N"); the QEMU isa-debug-exit convention. */
#define TESTDEV_EXIT_PORT   0xf4
/* Test MMIO device (not RAM: every access exits and is emulated):
 *   +0x00 scratch register, 32-bit read/write
 *   +0x04 read-only ID TESTDEV_MMIO_ID
 *   +0x08 access counter (reads and writes so far), read-only */
#define TESTDEV_MMIO_BASE   0xfeb00000u
#define TESTDEV_MMIO_SIZE   0x1000u
#define TESTDEV_MMIO_ID     0x6e657476u     /* "vten" */

#endif
