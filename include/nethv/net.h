/*
 * The kernel's network set-up (kernel/net.c): the switch, its uplink port
 * (a physical NIC, drivers/net/) and one port per VM virtio-net device
 * (kernel/vnet.c), all from the config's /net node.
 */
#ifndef NETHV_NET_H
#define NETHV_NET_H

#include <stdint.h>
#include <stdbool.h>
#include <nethv/config.h>

struct vm;
struct vcpu;
struct vcpu_exit;

/* BSP, after SMP bring-up and before vms_create. */
void net_init(const struct nethv_config *cfg);
/* Every CPU's host timer tick (interrupt context): polls an uplink NIC that
 * has no interrupt (on CPU 0 only). */
void net_tick(void);
/* Milliseconds since boot (TSC), the switch's clock for MAC ageing. */
uint64_t net_now_ms(void);
/* Console: the switch's ports and MAC table, the uplink NIC's counters. */
void net_print_stats(void);

/* kernel/vnet.c.  BSP, from net_init: one switch port per VM port of the
 * config (before the VMs exist: ports name VMs by config index). */
void vnet_init(const struct nethv_config *cfg);
/* One line per virtio-net port of the VM: frames into (rx) and out of (tx)
 * the guest, doorbells handled in the kernel, interrupts, drops by cause.
 * Any CPU. */
void vnet_print_stats(const struct vm *vm);
/* kernel/exit.c, every MMIO exit (the exiting vCPU's CPU): true if it was
 * a write to one of the VM's virtio-net notify windows, handled here (RIP
 * advanced, the TX queue drained); false: the monitor takes the exit. */
bool vnet_notify_exit(struct vcpu *v, const struct vcpu_exit *e);
/* At an exit of a VM with vm.tx_resume set: the TX drains cut at their budget. */
void vnet_tx_resume(struct vm *vm);

#endif
