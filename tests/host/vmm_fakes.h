/*
 * Kernel services and sibling device models faked for host tests that
 * include the monitor's framework (vmm/devices.c, vmm/vmm.c) directly.
 * Include after vmm/vmm.c; the test supplies vmm_platform_pc_init with the
 * device models under test.  Console lines are recorded in lines[].
 */
#ifndef TESTS_VMM_FAKES_H
#define TESTS_VMM_FAKES_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char lines[16][200];
static unsigned nlines;
void vm_console_line(unsigned vm_id, const char *line)
{
    if (nlines < 16)
        snprintf(lines[nlines++], sizeof(lines[0]), "%s", line);
}
static char last_printk[512];      /* the last printk, also shown on stderr */
void printk(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_printk, sizeof(last_printk), fmt, ap);
    va_end(ap);
    fputs(last_printk, stderr);
}
uint64_t page_alloc(uint64_t npages, uint64_t align, uint64_t limit)
{
    void *p = aligned_alloc(align, npages * PAGE_SIZE);
    memset(p, 0, npages * PAGE_SIZE);
    return (uint64_t)(uintptr_t)p;
}
void page_free(uint64_t phys, uint64_t npages) { free((void *)(uintptr_t)phys); }
bool testdev_io(struct vmm *m, const struct vmm_request *rq, struct vmm_reply *rp) { return false; }
void vmm_cpuid(struct vmm *m, const struct vmm_request *rq, struct vmm_reply *rp) {}
void vmm_cpuid_publish(struct vmm *m) {}
void vmm_msr(struct vmm *m, const struct vmm_request *rq, struct vmm_reply *rp) {}
void vmm_mmio(struct vmm *m, const struct vmm_request *rq, struct vmm_reply *rp) {}
const char *vcpu_exit_name(enum vcpu_exit_reason r) { return "?"; }
/* vmm.c forwards level-triggered EOIs to the IOAPIC model: not under test */
void vmm_ioapic_eoi(struct vmm *m, uint8_t vector) { (void)m; (void)vector; }
/* the kernel's clock port (vm_io_clock): what the monitor registered */
static struct { uint16_t port; uint32_t hz; uint64_t tsc0; } io_clock;
void vm_io_clock(unsigned vm_id, uint16_t port, uint32_t hz, uint64_t tsc0)
{
    (void)vm_id;
    io_clock.port = port;
    io_clock.hz = hz;
    io_clock.tsc0 = tsc0;
}
void vmm_lapic_apic_write(struct vmm *m, unsigned vcpu, unsigned off) { (void)m; (void)vcpu; (void)off; }

#endif
