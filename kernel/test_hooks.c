/*
 * Hooks of the test image (nethv-test.elf, Makefile KSRC_TEST) that widen a
 * race window, so that a test hits it on every run instead of one run in
 * many.  nethv.elf has none: its callers test the weak symbol.
 */
#include <stdlib.h>
#include <nethv/kernel.h>
#include <nethv/vm.h>
#include <arch/time.h>

/* test-restart-window=US: vCPU 0's CPU waits this long after it reloaded a
 * restarting VM (its APs waiting for SIPI again) and before the VM runs --
 * where another vCPU's CPU that looks at the VM must not park its vCPU a
 * second time (kernel/vm.c vm_restart_park; qemu-linux/reboot). */
void vm_test_restart_window(struct vm *vm)
{
    char buf[16];
    unsigned long us = cmdline_get("test-restart-window", buf, sizeof(buf)) ? strtoul(buf, NULL, 10) : 0;
    if (!us || us > 1000000)
        return;
    printk("vm %s: test-restart-window: %lu us between the reload and the restart\n", vm->name, us);
    udelay(us);
}
