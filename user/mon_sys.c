/*
 * What the monitor (vmm/) links against at CPL 3 (include/nethv/
 * monitor_abi.h): the kernel services of vmm_if.h as system calls on its
 * own VM (the vm_id arguments are the kernel-side names' and are not
 * sent), printk as console lines, page_alloc from its arena, and the host
 * facts the device models read.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <nethv/monitor_abi.h>
#include <arch/cpu.h>
#include <arch/spec.h>
#include <arch/user.h>
#include "sys.h"

#define SYS(n, ...) sys4((n), __VA_ARGS__)

int vm_gpa_read(unsigned vm_id, uint64_t gpa, void *buf, size_t len)
{
    for (size_t off = 0; off < len; off += 65536) {
        size_t n = len - off < 65536 ? len - off : 65536;
        if (SYS(MON_SYS_GPA_READ, gpa + off, (uint64_t)buf + off, n, 0) < 0)
            return -1;
    }
    return 0;
}

int vm_module_read(unsigned vm_id, unsigned mod, uint64_t off, void *buf, size_t len)
{
    for (size_t done = 0; done < len; done += 65536) {
        size_t n = len - done < 65536 ? len - done : 65536;
        if (sys4(MON_SYS_MODULE_READ, mod, off + done, (uint64_t)buf + done, n) < 0)
            return -1;
    }
    return 0;
}

int vm_module_load(unsigned vm_id, unsigned mod, uint64_t off, uint64_t gpa, size_t len)
{
    return len > VMM_MODULE_CHUNK || sys4(MON_SYS_MODULE_LOAD, mod, off, gpa, len) < 0 ? -1 : 0;
}

int vm_gpa_write(unsigned vm_id, uint64_t gpa, const void *buf, size_t len)
{
    for (size_t off = 0; off < len; off += 65536) {
        size_t n = len - off < 65536 ? len - off : 65536;
        if (SYS(MON_SYS_GPA_WRITE, gpa + off, (uint64_t)buf + off, n, 0) < 0)
            return -1;
    }
    return 0;
}

void vm_post_irq(unsigned vm_id, unsigned vcpu, uint8_t vector) { SYS(MON_SYS_POST_IRQ, vcpu, vector, 0, 0); }
void vm_post_nmi(unsigned vm_id, unsigned vcpu) { SYS(MON_SYS_POST_NMI, vcpu, 0, 0, 0); }

extern uint32_t mon_vapic_mask;         /* from MON_CREATE */
uint8_t *vm_vapic_page(unsigned vm_id, unsigned vcpu)
{
    return vcpu < 32 && (mon_vapic_mask >> vcpu & 1) ? (uint8_t *)(MON_VAPIC + vcpu * 4096ull) : NULL;
}

void vm_lapic_base(unsigned vm_id, unsigned vcpu, uint64_t apic_base)
{
    SYS(MON_SYS_LAPIC_BASE, vcpu, apic_base, 0, 0);
}
void vm_vcpu_start(unsigned vm_id, unsigned vcpu, uint8_t sipi_vector)
{
    SYS(MON_SYS_VCPU_START, vcpu, sipi_vector, 0, 0);
}
void vm_vcpu_timer(unsigned vm_id, unsigned vcpu, uint64_t deadline, uint64_t period, uint8_t vector)
{
    SYS(MON_SYS_VCPU_TIMER, vcpu, deadline, period, vector);
}
uint64_t vm_tsc_deadline(unsigned vm_id, unsigned vcpu) { return (uint64_t)SYS(MON_SYS_TSC_DEADLINE, vcpu, 0, 0, 0); }
void vm_set_tsc_deadline(unsigned vm_id, unsigned vcpu, uint64_t guest_tsc)
{
    SYS(MON_SYS_SET_TSC_DEADLINE, vcpu, guest_tsc, 0, 0);
}
void vm_set_tsc_aux(unsigned vm_id, unsigned vcpu, uint32_t aux) { SYS(MON_SYS_SET_TSC_AUX, vcpu, aux, 0, 0); }
void vm_set_cr4_allowed(unsigned vm_id, uint64_t allowed) { SYS(MON_SYS_SET_CR4_ALLOWED, allowed, 0, 0, 0); }
void vm_io_clock(unsigned vm_id, uint16_t port, uint32_t hz, uint64_t tsc0)
{
    SYS(MON_SYS_IO_CLOCK, port, hz, tsc0, 0);
}
uint64_t vm_guest_tsc(unsigned vm_id, unsigned vcpu) { return (uint64_t)SYS(MON_SYS_GUEST_TSC, vcpu, 0, 0, 0); }
uint64_t vm_tsc_khz(void) { return (uint64_t)SYS(MON_SYS_TSC_KHZ, 0, 0, 0, 0); }
void vm_dev_timer(unsigned vm_id, unsigned id, uint64_t deadline_tsc, uint64_t period)
{
    SYS(MON_SYS_DEV_TIMER, id, deadline_tsc, period, 0);
}

void vm_console_line(unsigned vm_id, const char *line)
{
    size_t n = strlen(line);
    SYS(MON_SYS_CONSOLE, (uint64_t)line, n > 256 ? 256 : n, 0, 0);
}

int vm_net_start(unsigned vm_id, unsigned port, uint64_t features, const struct vmm_net_queue q[VMM_NET_QUEUES])
{
    return SYS(MON_SYS_NET_START, port, features, (uint64_t)q, 0) < 0 ? -1 : 0;
}
void vm_net_stop(unsigned vm_id, unsigned port) { SYS(MON_SYS_NET_STOP, port, 0, 0, 0); }
void vm_net_set_msi(unsigned vm_id, unsigned port, unsigned queue, const struct vmm_net_msi *msi)
{
    SYS(MON_SYS_NET_SET_MSI, port, queue, (uint64_t)msi, 0);
}
bool vm_net_msi_pending(unsigned vm_id, unsigned port, unsigned queue)
{
    return SYS(MON_SYS_NET_MSI_PENDING, port, queue, 0, 0) > 0;
}
void vm_net_set_notify(unsigned vm_id, unsigned port, uint64_t gpa, uint32_t stride)
{
    SYS(MON_SYS_NET_SET_NOTIFY, port, gpa, stride, 0);
}
int vm_net_ctrl(unsigned vm_id, unsigned port, const struct vmm_net_ctrl *c)
{
    return SYS(MON_SYS_NET_CTRL, port, (uint64_t)c, 0, 0) < 0 ? -1 : 0;
}
bool vm_net_port_info(unsigned vm_id, unsigned port, uint8_t mac[6], bool *link_up, uint16_t *mtu)
{
    struct mon_port_info pi;
    if (SYS(MON_SYS_NET_PORT_INFO, port, (uint64_t)&pi, 0, 0) < 0 || !pi.present)
        return false;
    memcpy(mac, pi.mac, 6);
    *link_up = pi.link_up;
    *mtu = pi.mtu;
    return true;
}

void spec_guest_cpuid(uint32_t leaf, uint32_t sub, struct cpuid_regs *r)
{
    SYS(MON_SYS_HOST_CPUID, leaf, sub, (uint64_t)r, 0);
}
uint64_t fpu_guest_xcr0(void) { return (uint64_t)SYS(MON_SYS_GUEST_XCR0, 0, 0, 0, 0); }
uint32_t fpu_xsave_size(uint64_t xcr0) { return (uint32_t)SYS(MON_SYS_XSAVE_SIZE, xcr0, 0, 0, 0); }

/* tsc_hz: what the device models count host TSC ticks with */
uint64_t tsc_hz;

/* printk: the monitor's own lines (MON_SYS_PRINT: shown as "vmm NAME: ...",
 * escaped, under the kernel's rate limit for monitors) */
void printk(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    char *s = buf;
    while (*s) {        /* bound: the buffer's 512 bytes */
        char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        SYS(MON_SYS_PRINT, (uint64_t)s, n > 256 ? 256 : n, 0, 0);
        s += n + (nl ? 1 : 0);
    }
}

__attribute__((noreturn)) void panic(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    printk("monitor panic: %s\n", buf);
    for (;;)
        __asm__ volatile("ud2");        /* a fault: the kernel stops this VM with a report */
}

/*
 * page_alloc/page_free over the arena (MON_ARENA_SIZE of zeroed pages the
 * kernel maps): first fit in a bitmap, one bit per page.  "Physical"
 * addresses are the monitor's own (phys_to_virt is the identity).
 */
#define ARENA_PAGES (MON_ARENA_SIZE / PAGE_SIZE)
static uint64_t used[ARENA_PAGES / 64];

uint64_t page_alloc(uint64_t npages, uint64_t align, uint64_t limit)
{
    uint64_t step = align > PAGE_SIZE ? align / PAGE_SIZE : 1;
    for (uint64_t first = 0; npages && first + npages <= ARENA_PAGES; first += step) {
        uint64_t i = 0;
        while (i < npages && !(used[(first + i) / 64] >> ((first + i) % 64) & 1))
            i++;
        if (i < npages)
            continue;
        for (i = 0; i < npages; i++)
            used[(first + i) / 64] |= 1ull << ((first + i) % 64);
        uint64_t va = MON_ARENA + first * PAGE_SIZE;
        memset((void *)va, 0, npages * PAGE_SIZE);
        return va;
    }
    return 0;
}

void page_free(uint64_t phys, uint64_t npages)
{
    if (phys < MON_ARENA || phys >= MON_ARENA + MON_ARENA_SIZE)
        return;
    uint64_t first = (phys - MON_ARENA) / PAGE_SIZE;
    for (uint64_t i = 0; i < npages && first + i < ARENA_PAGES; i++)
        used[(first + i) / 64] &= ~(1ull << ((first + i) % 64));
}
