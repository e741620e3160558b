/*
 * Console input: keys typed on the hypervisor console (COM1) go to one
 * VM's UART; Ctrl-T starts a hypervisor command:
 *   Ctrl-T s   print every VM's exit and virtio-net statistics, the switch's
 *              ports and MAC table
 *   Ctrl-T f   print every vCPU's flight recorder (its last exits)
 *   Ctrl-T n   switch console input to the next VM
 *   Ctrl-T Ctrl-T   send a literal Ctrl-T to the VM
 * Polled from CPU 0's timer tick; what prints runs later from
 * console_service() on CPU 0 outside interrupt context.  Keys typed after a
 * command reach the VM only once the command has run: its output comes
 * before anything the guest prints in answer (and after Ctrl-T n the keys
 * go to the new VM), whichever CPU the VM runs on.
 */
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/vm.h>
#include <nethv/config.h>
#include <nethv/net.h>
#include <arch/uart.h>
#include <arch/cpu.h>
#include <arch/time.h>
#include <arch/x86.h>

#define CONSOLE_ESCAPE 0x14     /* Ctrl-T */

void console_input_poll(void);
void console_service(void);
void console_input_init(const struct nethv_config *cfg);

#define INPUT_RING 256

static bool escape;
static char ring[INPUT_RING];   /* typed ahead of the guest's UART FIFO */
static unsigned ring_head, ring_len;
static unsigned input_vm;
volatile bool console_pending;
static volatile bool want_stats, want_switch, want_flight;
/* commands typed / run: input waits while they differ (CPU 0 only: the
 * tick's poll and console_service) */
static volatile unsigned cmds_typed, cmds_done;

void console_input_init(const struct nethv_config *cfg)
{
    const char *name = cfg->nvms ? cfg->vm[cfg->console_vm].name : "";
    for (unsigned i = 0; i < nvms; i++)
        if (!strcmp(vms[i].name, name))
            input_vm = i;
}

static void uart_feed(bool in_irq);

void console_input_poll(void)
{
    int c;
    while ((c = uart_getc(COM1_PORT)) >= 0) {
        if (escape) {
            escape = false;
            volatile bool *want = c == 's' ? &want_stats : c == 'f' ? &want_flight :
                                  c == 'n' ? &want_switch : NULL;
            if (want) {
                *want = true;
                cmds_typed++;
                console_pending = true;
                continue;
            }
            if (c != CONSOLE_ESCAPE)
                continue;
        } else if (c == CONSOLE_ESCAPE) {
            escape = true;
            continue;
        }
        if (ring_len < INPUT_RING)
            ring[(ring_head + ring_len++) % INPUT_RING] = (char)c;
    }
    uart_feed(true);
}

/* Typed bytes into the input VM's UART model: from CPU 0's tick for a
 * monitor in ring 0; for one at CPL 3 only from console_service, outside
 * interrupt context (no monitor call from an interrupt handler).  Each
 * kind is fed from one place only, so no byte goes in twice.  At most
 * INPUT_RING bytes a call. */
static void uart_feed(bool in_irq)
{
    if (input_vm >= nvms)
        return;
    struct vm *vm = &vms[input_vm];
    if (in_irq != !vm->umon) {
        if (in_irq && ring_len)
            console_pending = true;     /* console_service feeds it */
        return;
    }
    uint64_t t0 = rdtsc();
    for (unsigned n = 0; n < INPUT_RING && rdtsc() - t0 < tsc_hz / 100; n++) {   /* and 10 ms */
        uint64_t f = irq_save();        /* the tick appends to the ring */
        bool more = ring_len && cmds_done == cmds_typed && vm->state == VM_RUNNING;
        char c = ring[ring_head];
        irq_restore(f);
        if (!more || !monitor_uart_input(vm, c))
            return;
        f = irq_save();
        ring_head = (ring_head + 1) % INPUT_RING;
        ring_len--;
        irq_restore(f);
    }
}

void console_service(void)
{
    unsigned typed = cmds_typed;
    console_pending = false;
    uart_feed(false);
    if (want_stats) {
        want_stats = false;
        for (unsigned i = 0; i < nvms; i++) {
            printk("vm %s: %s\n", vms[i].name, vms[i].state == VM_RUNNING ? "running" : "stopped");
            vm_print_stats(&vms[i]);
            vnet_print_stats(&vms[i]);
        }
        net_print_stats();
        irqoff_print_stats();
    }
    if (want_flight) {
        want_flight = false;
        for (unsigned i = 0; i < nvms; i++)
            vm_print_flight(&vms[i]);
    }
    if (want_switch && nvms) {
        want_switch = false;
        input_vm = (input_vm + 1) % nvms;
        printk("nethv: console input now goes to VM %s\n", vms[input_vm].name);
    }
    cmds_done = typed;
}
