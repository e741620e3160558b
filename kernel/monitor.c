/*
 * The kernel's one door to each VM's monitor (issue 14).  Every call into a
 * monitor goes through the functions here.  The monitor is vmm/, built as
 * the program build/user/monitor.elf (include/nethv/monitor_abi.h) and
 * embedded; none of vmm/ is linked into this image (tests/image/ring0-symbols.sh
 * checks).  Each VM has its own instance at CPL 3 in an address space of its
 * own (arch/user.h; on Meltdown-affected CPUs its own page tables, KPTI),
 * called on the calling CPU; its system calls are served below on its own
 * VM only.  A monitor that faults, makes a call fail, or overruns its budget is
 * done for: its VM is stopped with a report (the monitor's RIP, the fault,
 * the last request), and the kernel and the other VMs run on.
 *
 * Slots: each vCPU's exits use its own stack and message page (slot =
 * vCPU index), and so do creation, reset (vCPU 0's, while no vCPU runs)
 * and device timers (vCPU 0's CPU, between its guest runs); statistics and
 * console input use the control slot (MON_MAX_VCPUS), one at a time.
 */
#include <string.h>
#include <stdio.h>
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <nethv/monitor_abi.h>
#include <nethv/vm.h>
#include <arch/cpu.h>
#include <arch/cr4.h>
#include <arch/spec.h>
#include <arch/time.h>
#include <arch/user.h>
#include <arch/x86.h>

extern const uint8_t monitor_elf[], monitor_elf_end[];

#define CTL_SLOT        MON_MAX_VCPUS
#define SLOTS           (MON_MAX_VCPUS + 1)
#define BUDGET_MS       200             /* one exit, a timer, statistics */
#define BUDGET_SETUP_MS 2000            /* creation and reset (ACPI tables ...) */
#define GPA_CHUNK_MAX   65536           /* MON_SYS_GPA_READ/WRITE: bytes per call */
#define SETUP_COPY_CREDIT_S 20          /* creation, reset: kernel time in system calls not counted */

#define PRINT_RATE      16384           /* the monitor's own lines: bytes/s, bursts of 8 s */

struct umon {
    struct uspace us;
    spinlock_t print_lock;
    uint64_t print_tokens, print_tsc, print_dropped;
    struct vm *vm;
    uint64_t entry;
    uint64_t msg[SLOTS];                /* physical: the kernel's view of the message pages */
    spinlock_t ctl_lock;                /* the control slot */
    bool dead;
    unsigned long unknown_sys, bad_args;
    char name[40];
};
static struct umon umons[VM_MAX];

/* the calling context of a system call */
struct mctx {
    struct umon *m;
    struct vcpu *v;                     /* the vCPU whose exit or timer this is, or NULL */
    bool setup;                         /* creation or reset: no vCPU of the VM runs */
};

static void bad_arg(struct umon *m, const char *what)
{
    unsigned long n = ++m->bad_args;
    if (report_nth(n))
        printk("vm %s: monitor: bad argument to %s (%lu so far)\n", m->vm->name, what, n);
}

/* `own`: a service of the vCPU's own CPU (its timer, TSC deadline, TSC_AUX,
 * APIC base): only for the calling vCPU, or any while none runs (setup) */
static bool vcpu_ok(struct mctx *c, uint64_t vcpu, bool own, const char *what)
{
    if (vcpu >= c->m->vm->nvcpus || (own && !c->setup && (!c->v || c->v->index != vcpu))) {
        bad_arg(c->m, what);
        return false;
    }
    return true;
}

/* ---- system calls (MON_SYS_*): owner is a struct mctx ---------------------- */

static int64_t sys_console(void *o, uint64_t va, uint64_t len, uint64_t a2, uint64_t a3)
{
    struct mctx *c = o;
    char buf[257];
    if (len > 256 || uspace_read(&c->m->us, va, buf, len))
        return USER_EFAULT;
    buf[len] = 0;
    vm_console_line(c->m->vm->id, buf);     /* escaped and rate-limited there */
    return 0;
}

/* The monitor's own lines (its printk: statistics, reports), printed as a
 * monitor in ring 0 printed them -- "vmm NAME: ..." -- escaped like guest
 * output; a line that does not start so gets that prefix, so that no
 * monitor passes a line off as the kernel's.  PRINT_RATE bytes a second,
 * bursts of 8 s; the rest dropped and counted (monitor_print_stats). */
static int64_t sys_print(void *o, uint64_t va, uint64_t len, uint64_t a2, uint64_t a3)
{
    struct mctx *c = o;
    struct umon *m = c->m;
    char buf[257], out[1100];
    if (len > 256 || uspace_read(&m->us, va, buf, len))
        return USER_EFAULT;
    buf[len] = 0;
    console_escape(out, sizeof(out), buf);
    uint64_t f = spin_lock_irqsave(&m->print_lock);
    bool ok = token_take(&m->print_tokens, &m->print_tsc, PRINT_RATE, 8, len + 1);
    if (!ok)
        m->print_dropped += len + 1;
    spin_unlock_irqrestore(&m->print_lock, f);
    if (!ok)
        return 0;
    char want[48];
    snprintf(want, sizeof(want), "vmm %s: ", m->vm->name);
    printk("%s%s\n", strncmp(out, want, strlen(want)) ? want : "", out);
    return 0;
}

/* guest memory to or from the monitor's buffer, a page of it at a time */
static int64_t gpa_copy(struct mctx *c, uint64_t gpa, uint64_t va, uint64_t len, bool to_guest)
{
    if (len > GPA_CHUNK_MAX)
        return USER_EINVAL;
    uint8_t page[512];
    for (uint64_t off = 0; off < len; off += sizeof(page)) {    /* bound: 128 pieces */
        size_t n = len - off < sizeof(page) ? len - off : sizeof(page);
        if (to_guest) {
            if (uspace_read(&c->m->us, va + off, page, n))
                return USER_EFAULT;
            if (vm_gpa_write(c->m->vm->id, gpa + off, page, n))
                return USER_EINVAL;
        } else {
            if (vm_gpa_read(c->m->vm->id, gpa + off, page, n))
                return USER_EINVAL;
            if (uspace_write(&c->m->us, va + off, page, n))
                return USER_EFAULT;
        }
    }
    return 0;
}

static int64_t sys_gpa_read(void *o, uint64_t gpa, uint64_t va, uint64_t len, uint64_t a3)
{
    return gpa_copy(o, gpa, va, len, false);
}

static int64_t sys_gpa_write(void *o, uint64_t gpa, uint64_t va, uint64_t len, uint64_t a3)
{
    return gpa_copy(o, gpa, va, len, true);
}

/* A boot module of the VM's own (0 its kernel, 1 its initrd / module):
 * [off, off + len) inside it, or NULL.  (Creation and reset only.) */
static const uint8_t *module_bytes(struct mctx *c, uint64_t mod, uint64_t off, uint64_t len)
{
    const struct boot_module *bm = mod < 2 ? c->m->vm->boot_mod[mod] : NULL;
    if (!bm || off > bm->len || len > bm->len - off)
        return NULL;
    return (const uint8_t *)phys_to_virt(bm->base) + off;
}

static int64_t sys_module_read(void *o, uint64_t mod, uint64_t off, uint64_t va, uint64_t len)
{
    struct mctx *c = o;
    const uint8_t *src = c->setup && len <= GPA_CHUNK_MAX ? module_bytes(c, mod, off, len) : NULL;
    if (!src) {
        bad_arg(c->m, "module_read");
        return USER_EINVAL;
    }
    return uspace_write(&c->m->us, va, src, len) ? USER_EFAULT : 0;
}

static int64_t sys_module_load(void *o, uint64_t mod, uint64_t off, uint64_t gpa, uint64_t len)
{
    struct mctx *c = o;
    const uint8_t *src = c->setup && len <= VMM_MODULE_CHUNK ? module_bytes(c, mod, off, len) : NULL;
    if (!src || vm_gpa_write(c->m->vm->id, gpa, src, len)) {
        bad_arg(c->m, "module_load");
        return USER_EINVAL;
    }
    return 0;
}

/* The calls on one of the VM's vCPUs (vcpu_ok: its own, or any; `cond`
 * checks the rest), one line each: the call and what it returns. */
#define VCPU_SYS(name, own, cond, ...)                                                      \
    static int64_t sys_##name(void *o, uint64_t vcpu, uint64_t a1, uint64_t a2, uint64_t a3) \
    {                                                                                       \
        struct mctx *c = o;                                                                 \
        unsigned id = c->m->vm->id, v = (unsigned)vcpu;                                     \
        if (!vcpu_ok(c, vcpu, own, #name) || !(cond))                                       \
            return USER_EINVAL;                                                             \
        __VA_ARGS__;                                                                        \
    }
VCPU_SYS(post_irq, false, a1 <= 255, vm_post_irq(id, v, (uint8_t)a1); return 0)
VCPU_SYS(post_nmi, false, true, vm_post_nmi(id, v); return 0)
VCPU_SYS(lapic_base, true, true, vm_lapic_base(id, v, a1); return 0)
VCPU_SYS(vcpu_start, false, a1 <= 255, vm_vcpu_start(id, v, (uint8_t)a1); return 0)
VCPU_SYS(vcpu_timer, true, a3 <= 255, vm_vcpu_timer(id, v, a1, a2, (uint8_t)a3); return 0)
VCPU_SYS(tsc_deadline, true, true, return (int64_t)vm_tsc_deadline(id, v))
VCPU_SYS(set_tsc_deadline, true, true, vm_set_tsc_deadline(id, v, a1); return 0)
VCPU_SYS(set_tsc_aux, true, a1 <= 0xffffffffull, vm_set_tsc_aux(id, v, (uint32_t)a1); return 0)
VCPU_SYS(guest_tsc, false, true, return (int64_t)vm_guest_tsc(id, v))
#undef VCPU_SYS

/* the monitor may narrow what its guest's CPUID grants, never widen what
 * the kernel offers guests (spec_guest_cpuid: host CPUID as filtered) */
static int64_t sys_set_cr4_allowed(void *o, uint64_t bits, uint64_t a1, uint64_t a2, uint64_t a3)
{
    struct mctx *c = o;
    struct cpuid_regs l1 = cpuid(1, 0), l7 = cpuid(0, 0).eax >= 7 ? cpuid(7, 0) : (struct cpuid_regs){ 0 };
    spec_guest_cpuid(1, 0, &l1);
    spec_guest_cpuid(7, 0, &l7);
    vm_set_cr4_allowed(c->m->vm->id, bits & cr4_guest_allowed(l1.ecx, l1.edx, l7.ebx, l7.ecx, l7.edx));
    return 0;
}

static int64_t sys_io_clock(void *o, uint64_t port, uint64_t hz, uint64_t tsc0, uint64_t a3)
{
    struct mctx *c = o;
    if (port > 0xfffc || !hz || hz > 0xffffffffull) {
        bad_arg(c->m, "io_clock");
        return USER_EINVAL;
    }
    vm_io_clock(c->m->vm->id, (uint16_t)port, (uint32_t)hz, tsc0);
    return 0;
}

static int64_t sys_tsc_khz(void *o, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
    return (int64_t)vm_tsc_khz();
}

static int64_t sys_dev_timer(void *o, uint64_t id, uint64_t deadline, uint64_t period, uint64_t a3)
{
    struct mctx *c = o;
    if (id >= VMM_DEV_TIMERS) {
        bad_arg(c->m, "dev_timer");
        return USER_EINVAL;
    }
    vm_dev_timer(c->m->vm->id, (unsigned)id, deadline, period);
    return 0;
}

static bool port_ok(struct mctx *c, uint64_t port, uint64_t queue, const char *what)
{
    if (port >= VMM_NET_MAX_PORTS || queue >= VMM_NET_QUEUES) {
        bad_arg(c->m, what);
        return false;
    }
    return true;
}

static int64_t sys_net_start(void *o, uint64_t port, uint64_t features, uint64_t va, uint64_t a3)
{
    struct mctx *c = o;
    struct vmm_net_queue q[VMM_NET_QUEUES];
    if (!port_ok(c, port, 0, "net_start"))
        return USER_EINVAL;
    if (uspace_read(&c->m->us, va, q, sizeof(q)))
        return USER_EFAULT;
    return vm_net_start(c->m->vm->id, (unsigned)port, features, q) ? USER_EINVAL : 0;
}

static int64_t sys_net_set_msi(void *o, uint64_t port, uint64_t queue, uint64_t va, uint64_t a3)
{
    struct mctx *c = o;
    struct vmm_net_msi msi;
    if (!port_ok(c, port, queue, "net_set_msi"))
        return USER_EINVAL;
    if (uspace_read(&c->m->us, va, &msi, sizeof(msi)))
        return USER_EFAULT;
    msi.masked = !!*(volatile uint8_t *)&msi.masked;    /* a bool is 0 or 1 */
    vm_net_set_msi(c->m->vm->id, (unsigned)port, (unsigned)queue, &msi);
    return 0;
}

/* Calls on one of the VM's virtio-net ports (and queue), like VCPU_SYS. */
#define PORT_SYS(name, queue, cond, ...)                                                    \
    static int64_t sys_##name(void *o, uint64_t port, uint64_t a1, uint64_t a2, uint64_t a3) \
    {                                                                                       \
        struct mctx *c = o;                                                                 \
        unsigned id = c->m->vm->id, p = (unsigned)port;                                     \
        if (!port_ok(c, port, queue, #name) || !(cond))                                     \
            return USER_EINVAL;                                                             \
        __VA_ARGS__;                                                                        \
    }
PORT_SYS(net_stop, 0, true, vm_net_stop(id, p); return 0)
PORT_SYS(net_msi_pending, a1, true, return vm_net_msi_pending(id, p, (unsigned)a1))
PORT_SYS(net_set_notify, 0, a2 <= 0xffffffffull, vm_net_set_notify(id, p, a1, (uint32_t)a2); return 0)
#undef PORT_SYS

static int64_t sys_net_ctrl(void *o, uint64_t port, uint64_t va, uint64_t a2, uint64_t a3)
{
    struct mctx *c = o;
    struct vmm_net_ctrl nc;
    if (!port_ok(c, port, 0, "net_ctrl"))
        return USER_EINVAL;
    if (uspace_read(&c->m->us, va, &nc, sizeof(nc)))
        return USER_EFAULT;
    return vm_net_ctrl(c->m->vm->id, (unsigned)port, &nc) ? USER_EINVAL : 0;
}

static int64_t sys_net_port_info(void *o, uint64_t port, uint64_t va, uint64_t a2, uint64_t a3)
{
    struct mctx *c = o;
    struct mon_port_info pi;
    bool up = false;
    memset(&pi, 0, sizeof(pi));
    if (!port_ok(c, port, 0, "net_port_info"))
        return USER_EINVAL;
    pi.present = vm_net_port_info(c->m->vm->id, (unsigned)port, pi.mac, &up, &pi.mtu);
    pi.link_up = up;
    return uspace_write(&c->m->us, va, &pi, sizeof(pi)) ? USER_EFAULT : 0;
}

/* spec_guest_cpuid filters the monitor's values of a leaf in place */
static int64_t sys_host_cpuid(void *o, uint64_t leaf, uint64_t sub, uint64_t va, uint64_t a3)
{
    struct mctx *c = o;
    struct cpuid_regs r;
    if (uspace_read(&c->m->us, va, &r, sizeof(r)))
        return USER_EFAULT;
    spec_guest_cpuid((uint32_t)leaf, (uint32_t)sub, &r);
    return uspace_write(&c->m->us, va, &r, sizeof(r)) ? USER_EFAULT : 0;
}

static int64_t sys_guest_xcr0(void *o, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
    return (int64_t)fpu_guest_xcr0();
}

static int64_t sys_xsave_size(void *o, uint64_t xcr0, uint64_t a1, uint64_t a2, uint64_t a3)
{
    return fpu_xsave_size(xcr0);
}

static const user_syscall_fn mon_fns[MON_SYS__COUNT] = {
    [MON_SYS_CONSOLE] = sys_console,
    [MON_SYS_PRINT] = sys_print,
    [MON_SYS_GPA_READ] = sys_gpa_read,
    [MON_SYS_GPA_WRITE] = sys_gpa_write,
    [MON_SYS_MODULE_READ] = sys_module_read,
    [MON_SYS_MODULE_LOAD] = sys_module_load,
    [MON_SYS_POST_IRQ] = sys_post_irq,
    [MON_SYS_POST_NMI] = sys_post_nmi,
    [MON_SYS_LAPIC_BASE] = sys_lapic_base,
    [MON_SYS_VCPU_START] = sys_vcpu_start,
    [MON_SYS_VCPU_TIMER] = sys_vcpu_timer,
    [MON_SYS_TSC_DEADLINE] = sys_tsc_deadline,
    [MON_SYS_SET_TSC_DEADLINE] = sys_set_tsc_deadline,
    [MON_SYS_SET_TSC_AUX] = sys_set_tsc_aux,
    [MON_SYS_SET_CR4_ALLOWED] = sys_set_cr4_allowed,
    [MON_SYS_IO_CLOCK] = sys_io_clock,
    [MON_SYS_GUEST_TSC] = sys_guest_tsc,
    [MON_SYS_TSC_KHZ] = sys_tsc_khz,
    [MON_SYS_DEV_TIMER] = sys_dev_timer,
    [MON_SYS_NET_START] = sys_net_start,
    [MON_SYS_NET_STOP] = sys_net_stop,
    [MON_SYS_NET_SET_MSI] = sys_net_set_msi,
    [MON_SYS_NET_MSI_PENDING] = sys_net_msi_pending,
    [MON_SYS_NET_SET_NOTIFY] = sys_net_set_notify,
    [MON_SYS_NET_PORT_INFO] = sys_net_port_info,
    [MON_SYS_NET_CTRL] = sys_net_ctrl,
    [MON_SYS_HOST_CPUID] = sys_host_cpuid,
    [MON_SYS_GUEST_XCR0] = sys_guest_xcr0,
    [MON_SYS_XSAVE_SIZE] = sys_xsave_size,
};

/* ---- calls ------------------------------------------------------------------ */

static const char *const op_names[] = { "?", "create", "exit", "reset", "stats", "timer", "uart-input" };

static const char *op_name(uint32_t op)
{
    return op < sizeof(op_names) / sizeof(op_names[0]) ? op_names[op] : "?";
}

static struct mon_msg *msg_of(struct umon *m, unsigned slot)
{
    return phys_to_virt(m->msg[slot]);
}

/* vCPU 0's message page for MON_CREATE or MON_RESET of `a` */
static struct mon_msg *setup_msg(struct umon *m, uint32_t op, const struct vmm_create_args *a)
{
    struct mon_msg *msg = msg_of(m, 0);
    memset(msg, 0, sizeof(*msg));
    msg->op = op;
    msg->create = *a;
    msg->create.name = NULL;            /* a kernel pointer: the name goes in name[] */
    strncpy(msg->name, a->name, sizeof(msg->name) - 1);
    msg->load = m->vm->load;
    return msg;
}

/* Where the guest starts, as the monitor's loader replied (read once: the
 * page is the monitor's); -1 with a line for a mode the kernel does not know */
static int boot_state(struct umon *m, struct mon_msg *msg)
{
    struct vmm_boot b = *(volatile struct vmm_boot *)&msg->boot;
    if (vm_boot_state_set(m->vm, &b) == 0)
        return 0;
    printk("vm %s: monitor: no boot state (mode %u)\n", m->vm->name, b.mode);
    return -1;
}

/* One call into the monitor; false (and the VM stopped, the monitor dead)
 * unless it replied.  *reply: its reply value. */
static bool mcall(struct umon *m, struct vcpu *v, unsigned slot, unsigned budget_ms, uint64_t *reply)
{
    if (m->dead)
        return false;
    uint32_t op = msg_of(m, slot)->op;
    struct mctx ctx = { m, v, op == MON_CREATE || op == MON_RESET };
    const struct user_syscalls sys = { mon_fns, MON_SYS__COUNT, &m->unknown_sys };
    struct user_call c = {
        .us = &m->us, .entry = m->entry, .arg = MON_MSG + slot * PAGE_SIZE,
        .stack_top = MON_STACKS + slot * MON_STACK_STRIDE + MON_STACK_SIZE,
        .budget_tsc = tsc_hz / 1000 * budget_ms, .sys = &sys, .owner = &ctx,
        /* creation and reset: copying the boot modules is the kernel's time */
        .sys_credit_tsc = ctx.setup ? tsc_hz * SETUP_COPY_CREDIT_S : 0,
    };
    enum user_status st = user_call(&c);
    if (st == USER_REPLIED) {
        *reply = c.reply;
        return true;
    }
    if (st == USER_BUSY) {      /* a monitor call under way on this CPU: not this one's fault */
        printk("vm %s: monitor: %s call refused, another monitor call is under way on this CPU\n",
               m->vm->name, op_name(op));
        return false;
    }
    m->dead = true;
    char why[160];
    if (st == USER_TIMED_OUT)
        snprintf(why, sizeof(why), "monitor did not reply within %u ms (rip %#llx, %s call, slot %u)", budget_ms,
                 (unsigned long long)c.fault.rip, op_name(op), slot);
    else
        snprintf(why, sizeof(why), "monitor fault: exception %u error %#llx at rip %#llx, cr2 %#llx (%s call, slot %u)",
                 c.fault.vector, (unsigned long long)c.fault.error, (unsigned long long)c.fault.rip,
                 (unsigned long long)c.fault.cr2, op_name(op), slot);
    printk("vm %s: %s\n", m->vm->name, why);
    if (op != MON_CREATE)       /* a VM being created is not one yet: its creation fails */
        vm_stop(m->vm, -1, why);
    return false;
}

static int umon_setup(struct umon *m, struct vm *vm, const struct vmm_create_args *a, unsigned fault)
{
    memset(m, 0, sizeof(*m));
    m->vm = vm;
    snprintf(m->name, sizeof(m->name), "monitor %s", vm->name);
    if (vm->nvcpus > MON_MAX_VCPUS || uspace_init(&m->us, m->name) ||
        uspace_load_elf(&m->us, monitor_elf, (size_t)(monitor_elf_end - monitor_elf), &m->entry) ||
        uspace_alloc(&m->us, MON_ARENA, MON_ARENA_SIZE, USER_R | USER_W))
        return -1;
    for (unsigned s = 0; s < SLOTS; s++) {
        if (s < vm->nvcpus || s == CTL_SLOT) {
            uint64_t msg = MON_MSG + s * PAGE_SIZE, stack = MON_STACKS + s * MON_STACK_STRIDE;
            if (uspace_alloc(&m->us, stack, MON_STACK_SIZE, USER_R | USER_W) ||
                uspace_alloc(&m->us, msg, PAGE_SIZE, USER_R | USER_W))
                return -1;
            m->msg[s] = uspace_phys(&m->us, msg);      /* the kernel's view of it */
        }
        if (s < vm->nvcpus && vm->vcpu[s].vapic &&
            uspace_map(&m->us, MON_VAPIC + s * PAGE_SIZE, virt_to_phys(vm->vcpu[s].vapic), USER_R | USER_W,
                       false))
            return -1;
    }
    vm->umon = m;
    struct mon_msg *msg = setup_msg(m, MON_CREATE, a);
    for (unsigned i = 0; i < vm->nvcpus; i++)
        if (vm->vcpu[i].vapic)
            msg->vapic_mask |= 1u << i;
    msg->fault = fault;
    uint64_t r;
    if (!mcall(m, NULL, 0, BUDGET_SETUP_MS, &r) || r || boot_state(m, msg))
        return -1;
    printk("vm %s: monitor at CPL 3: %u pages of its own (%llu KiB with its %u table pages), %u shared "
           "read-only with the other monitors (code, constants)\n", vm->name, m->us.data_pages,
           (unsigned long long)((m->us.data_pages + m->us.table_pages) * PAGE_SIZE >> 10), m->us.table_pages,
           m->us.shared_pages);
    return 0;
}

/* ---- the door ------------------------------------------------------------------ */

void monitor_init(void)
{
    printk("monitor: each VM's monitor at CPL 3 (%llu KiB program)\n",
           (unsigned long long)((monitor_elf_end - monitor_elf) >> 10));
}

int monitor_create(struct vm *vm, const struct vmm_create_args *a, unsigned fault)
{
    struct umon *m = &umons[vm->id];
    if (umon_setup(m, vm, a, fault) == 0)
        return 0;
    vm->umon = NULL;
    if (m->us.pml4)
        uspace_destroy(&m->us);
    return -1;
}

/* A reply from a CPL-3 monitor, made safe to apply: an action the kernel
 * knows, an event that can be injected, a string that ends. */
static bool as_bool(bool *b)        /* a byte the monitor wrote: any value */
{
    return *(volatile uint8_t *)b != 0;
}

static void reply_check(struct vm *vm, struct vmm_reply *rp)
{
    rp->regs_dirty = as_bool(&rp->regs_dirty);
    rp->inject = as_bool(&rp->inject);
    rp->set_efer = as_bool(&rp->set_efer);
    rp->event.has_error = as_bool(&rp->event.has_error);
    rp->why[sizeof(rp->why) - 1] = 0;
    const struct vcpu_event *e = &rp->event;
    bool event_ok = (e->type == VCPU_EVENT_EXCEPTION && e->vector < 32 && e->vector != 2) ||
                    e->type == VCPU_EVENT_NMI || (e->type == VCPU_EVENT_EXTINT && e->vector >= 16);
    /* the first thing wrong is named; nothing of the reply but the stop is applied */
    if ((unsigned)rp->action > VMM_FAULT_VM)
        snprintf(rp->why, sizeof(rp->why), "monitor replied with action %u", (unsigned)rp->action);
    else if (rp->advance_rip > VMM_INSN_MAX)
        snprintf(rp->why, sizeof(rp->why), "monitor: RIP advance of %u bytes", rp->advance_rip);
    else if (rp->inject && !event_ok)
        snprintf(rp->why, sizeof(rp->why), "monitor: bad event to inject (type %u vector %u)",
                 (unsigned)e->type, e->vector);
    else
        return;
    rp->action = VMM_FAULT_VM;
    rp->regs_dirty = rp->inject = rp->set_efer = false;
    rp->advance_rip = 0;
}

void monitor_exit(struct vcpu *v, const struct vmm_request *rq, struct vmm_reply *rp)
{
    struct umon *m = v->vm->umon;
    struct mon_msg *msg = msg_of(m, v->index);
    msg->op = MON_EXIT;
    msg->rq = *rq;
    memset(&msg->rp, 0, sizeof(msg->rp));
    uint64_t r;
    if (!mcall(m, v, v->index, BUDGET_MS, &r)) {
        memset(rp, 0, sizeof(*rp));
        rp->action = VMM_FAULT_VM;      /* (mcall has stopped it and said why) */
        snprintf(rp->why, sizeof(rp->why), "the monitor's exit call failed");
        return;
    }
    *rp = msg->rp;                      /* once: the page is the monitor's */
    reply_check(v->vm, rp);
}

int monitor_reset(struct vm *vm, const struct vmm_create_args *a)
{
    struct umon *m = vm->umon;
    struct mon_msg *msg = setup_msg(m, MON_RESET, a);
    uint64_t r;
    return mcall(m, NULL, 0, BUDGET_SETUP_MS, &r) && !r && !boot_state(m, msg) ? 0 : -1;
}

void monitor_print_stats(struct vm *vm)
{
    struct umon *m = vm->umon;
    if (!m || m->dead)
        return;
    if (m->unknown_sys || m->bad_args || m->print_dropped)
        printk("vm %s: monitor: %lu unknown system calls, %lu bad arguments, %llu bytes of its lines "
               "dropped (over %u bytes/s)\n", vm->name, m->unknown_sys, m->bad_args,
               (unsigned long long)m->print_dropped, PRINT_RATE);
    if (!spin_trylock(&m->ctl_lock))
        return;
    msg_of(m, CTL_SLOT)->op = MON_STATS;
    uint64_t r;
    mcall(m, NULL, CTL_SLOT, BUDGET_MS, &r);
    spin_unlock(&m->ctl_lock);
}

void monitor_timer(struct vm *vm, unsigned id)
{
    struct umon *m = vm->umon;
    struct mon_msg *msg = msg_of(m, 0);
    msg->op = MON_TIMER;
    msg->timer = id;
    uint64_t r;
    mcall(m, &vm->vcpu[0], 0, BUDGET_MS, &r);
}

bool monitor_uart_input(struct vm *vm, char c)
{
    struct umon *m = vm->umon;
    if (!m || m->dead || !spin_trylock(&m->ctl_lock))
        return false;
    struct mon_msg *msg = msg_of(m, CTL_SLOT);
    msg->op = MON_UART_INPUT;
    msg->timer = (uint8_t)c;
    uint64_t r = 0;
    bool ok = mcall(m, NULL, CTL_SLOT, BUDGET_MS, &r) && r == 1;
    spin_unlock(&m->ctl_lock);
    return ok;
}
