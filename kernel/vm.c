/* VM creation from the config, VM stop and restart, statistics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <nethv/vm.h>
#include <nethv/net.h>
#include <nethv/vmm_if.h>
#include <nethv/guest_layout.h>
#include <nethv/spinlock.h>
#include <nethv/vlapic.h>
#include <arch/spec.h>
#include <arch/smp.h>
#include <arch/cpu.h>
#include <arch/time.h>
#include <arch/x86.h>

/* console output per VM (vm_console_line) */
#define VM_CONSOLE_BURST_S 8u           /* the bucket holds 8 s of the VM's rate */
#define VM_CONSOLE_LINE  512u           /* escaped: 4 bytes per byte at most */

/* defined in the test image only (Makefile KSRC_TEST): what says it is one */
void user_selftest(void) __attribute__((weak));

struct vm vms[VM_MAX];
unsigned nvms;
/* initial register state per vCPU 0, applied on its host CPU at first run */
struct guest_boot_state vm_boot_state[VM_MAX];
/* what the VMs were made from, for restarts (both live as long as the kernel) */
static const struct nethv_config *vm_cfg;
static const struct boot_info *vm_bi;

/*
 * cpu-offset=N on the command line: the config's host CPU n is CPU n + N, so
 * the first N CPUs run no vCPU (they still serve the console and the uplink).
 * The QEMU TCG runs use cpu-offset=1 with one CPU more: QEMU's cpu_clear_ignne()
 * rewrites CPU 0's hflags2 without a lock on every x87 state load of any CPU,
 * which can undo CPU 0's own NPT-mode switch at VMRUN or #VMEXIT (README,
 * "The QEMU TCG fault"); a CPU 0 that never enters a guest has no such switch.
 */
static unsigned cpu_offset;

static int cpu_offset_parse(void)
{
    char buf[16], *end;
    if (!cmdline_get("cpu-offset", buf, sizeof(buf)))
        return 0;
    unsigned long n = strtoul(buf, &end, 10);
    if (end == buf || *end || n >= cpus_online_count) {
        printk("vm: cmdline: cpu-offset=%s: must be a number below the %u CPUs online; "
               "no VM started\n", buf, cpus_online_count);
        return -1;
    }
    cpu_offset = (unsigned)n;
    if (n)
        printk("vm: cpu-offset=%lu: the config's CPU n runs on host CPU n+%lu; "
               "CPUs below %lu run no vCPU\n", n, n, n);
    return 0;
}

static unsigned host_cpu_of(const struct config_vm *c, unsigned vcpu)
{
    return c->cpu[c->vcpus == 1 ? 0 : vcpu] + cpu_offset;
}

static int alloc_ram(struct vm *vm, const struct config_vm *c, const char **why)
{
    for (unsigned i = 0; i < c->nregions; i++) {
        uint64_t size = ALIGN_UP(c->region[i].size, PAGE_SIZE);
        uint64_t hpa = page_alloc(size / PAGE_SIZE, 2 * MIB, 0);
        if (!hpa) {
            *why = "not enough contiguous host memory for a RAM region";
            return -1;
        }
        vm->ram[vm->nram++] = (struct vm_ram){ c->region[i].gpa, hpa, size };
        if (vcpu_backend->vm_map(&vm->hw, c->region[i].gpa, hpa, size, S2_RWX)) {
            *why = "second-level page tables: out of memory";
            return -1;
        }
    }
    return 0;
}

/* The images the config names, for the monitor's loader (vmm/boot.c). */
static int load_guest(struct vm *vm, const struct config_vm *c, const struct boot_info *bi,
                      const char *cmdline, const char **why)
{
    const struct boot_module *k = bootinfo_find_module(bi, c->kernel);
    const struct boot_module *initrd = c->initrd[0] ? bootinfo_find_module(bi, c->initrd) : NULL;
    if (!k) {
        *why = "kernel module not among the boot modules";
        return -1;
    }
    if (c->initrd[0] && !initrd) {
        *why = "initrd module not among the boot modules";
        return -1;
    }
    struct vmm_load *l = &vm->load;
    memset(l, 0, sizeof(*l));
    switch (c->type) {
    case CONFIG_VM_MULTIBOOT:
    case CONFIG_VM_TEST:
        l->kind = VMM_GUEST_MULTIBOOT;
        break;
    case CONFIG_VM_LINUX:
        l->kind = VMM_GUEST_LINUX;
        break;
    default:
        *why = "unknown guest type";
        return -1;
    }
    vm->boot_mod[0] = k;
    vm->boot_mod[1] = initrd;
    l->nmod = initrd ? 2 : 1;
    for (unsigned i = 0; i < l->nmod; i++) {
        l->mod_len[i] = vm->boot_mod[i]->len;
        strncpy(l->mod_name[i], vm->boot_mod[i]->name, sizeof(l->mod_name[i]) - 1);
    }
    strncpy(l->cmdline, cmdline, sizeof(l->cmdline) - 1);
    _Static_assert(VMM_MAX_RAM >= VM_MAX_RAM, "struct vmm_load: every RAM region");
    l->nram = vm->nram;
    for (unsigned i = 0; i < vm->nram; i++) {
        l->ram[i].gpa = vm->ram[i].gpa;
        l->ram[i].size = vm->ram[i].size;
    }
    return 0;
}

/* Flat segments (base 0, limit 4 GiB), a busy TSS, no LDT: the two start
 * states below.  long64: 64-bit mode, paging on through the loader's
 * identity map, __BOOT_CS 0x10/__BOOT_DS 0x18 (Linux's 64-bit entry,
 * guest_layout.h); else 32-bit protected mode, paging off, 0x08/0x10 (the
 * Multiboot1 machine state). */
static void guest_state_flat(struct guest_boot_state *st, bool long64, uint64_t entry)
{
    memset(st, 0, sizeof(*st));
    const struct vcpu_seg code = { long64 ? 0x10 : 0x08, long64 ? 0xa09b : 0xc09b, 0xffffffffu, 0 };  /* G, L or D, P, code r/x accessed */
    const struct vcpu_seg data = { long64 ? 0x18 : 0x10, 0xc093, 0xffffffffu, 0 };  /* G, B, P, data r/w accessed */
    st->sregs.cs = code;
    st->sregs.ds = st->sregs.es = st->sregs.fs = st->sregs.gs = st->sregs.ss = data;
    st->sregs.tr = (struct vcpu_seg){ 0, 0x8b, 0xffff, 0 };         /* busy TSS */
    st->sregs.ldtr = (struct vcpu_seg){ 0, SEG_AR_UNUSABLE | 0x82, 0xffff, 0 };
    if (long64) {
        st->sregs.gdt = (struct vcpu_dtable){ GUEST_GDT, 4 * 8 - 1 };
        st->sregs.idt = (struct vcpu_dtable){ 0, 0 };
        st->sregs.cr0 = 0x80000031ull;                              /* PG | NE | ET | PE */
        st->sregs.cr3 = GUEST_PML4;
        st->sregs.cr4 = 0x20;                                       /* PAE */
        st->sregs.efer = 0x500;                                     /* LME | LMA */
    } else {
        st->sregs.gdt = (struct vcpu_dtable){ 0, 0xffff };
        st->sregs.idt = (struct vcpu_dtable){ 0, 0xffff };
        st->sregs.cr0 = 0x11;                                       /* PE | ET */
    }
    st->regs.rflags = 0x2;                                          /* IF = 0 */
    st->regs.rip = entry;
}

int vm_boot_state_set(struct vm *vm, const struct vmm_boot *b)
{
    struct guest_boot_state *st = &vm_boot_state[vm->id];
    switch (b->mode) {
    case VMM_BOOT_LONG64:
        guest_state_flat(st, true, b->rip);
        st->regs.gpr.rsi = b->rsi;
        return 0;
    case VMM_BOOT_PROT32:
        guest_state_flat(st, false, (uint32_t)b->rip);
        st->regs.gpr.rax = (uint32_t)b->rax;
        st->regs.gpr.rbx = (uint32_t)b->rbx;
        return 0;
    default:
        return -1;
    }
}

static void monitor_args(const struct nethv_config *cfg, const struct vm *vm,
                         struct vmm_create_args *a)
{
    const struct config_vm *c = &cfg->vm[vm->cfg_index];
    unsigned net_ports = 0;
    for (unsigned i = 0; i < cfg->nports; i++)
        if (cfg->port[i].type == CONFIG_PORT_VM && cfg->port[i].vm == vm->cfg_index)
            net_ports++;
    /* "test": bare-metal test devices only; "multiboot" and "linux": a PC */
    *a = (struct vmm_create_args){ vm->id, vm->name, vm->nvcpus, c->memory,
                                   c->type == CONFIG_VM_TEST ? VMM_PLATFORM_TEST : VMM_PLATFORM_PC,
                                   net_ports > VMM_NET_MAX_PORTS ? VMM_NET_MAX_PORTS : net_ports };
}

static int create_one(const struct nethv_config *cfg, unsigned ci, const struct boot_info *bi,
                      const char **why)
{
    const struct config_vm *c = &cfg->vm[ci];
    struct vm *vm = &vms[nvms];
    memset(vm, 0, sizeof(*vm));
    vm->id = nvms;
    vm->cfg_index = ci;
    strncpy(vm->name, c->name, sizeof(vm->name) - 1);
    for (unsigned i = 0; i < c->vcpus; i++) {
        unsigned cpu = host_cpu_of(c, i);
        if (cpu >= cpus_online_count) {
            *why = "a vCPU is pinned to a CPU that is not online";
            return -1;
        }
    }
    if (vcpu_backend->vm_init(&vm->hw)) {
        *why = "backend could not set up the VM";
        return -1;
    }
    if (alloc_ram(vm, c, why) || load_guest(vm, c, bi, c->bootargs, why))
        return -1;
    vm->nvcpus = c->vcpus;
    /* "test": bare-metal test devices only; "multiboot" and "linux": a PC */
    enum vmm_platform platform = c->type == CONFIG_VM_TEST ? VMM_PLATFORM_TEST : VMM_PLATFORM_PC;
    for (unsigned i = 0; i < c->vcpus; i++) {
        struct vcpu *v = &vm->vcpu[i];
        v->vm = vm;
        v->index = i;
        v->host_cpu = host_cpu_of(c, i);
        v->hw.host_cpu = v->host_cpu;
        v->state = i == 0 ? VCPU_RUNNABLE : VCPU_WAIT_SIPI;
        if (platform == VMM_PLATFORM_PC) {
            uint64_t pa = page_alloc(1, PAGE_SIZE, 0);
            if (!pa) {
                *why = "no memory for a virtual-APIC page";
                return -1;
            }
            v->vapic = phys_to_virt(pa);
            vlapic_reset(v->vapic, i);
        }
    }
    /* a monitor that fails on purpose: test images only */
    if (c->monitor_fault && !user_selftest) {
        *why = "monitor-fault is accepted by the test image only (nethv-test.elf)";
        return -1;
    }
    struct vmm_create_args a;
    monitor_args(cfg, vm, &a);
    int mc = monitor_create(vm, &a, c->monitor_fault);
    vm->monitor_is_test = a.platform == VMM_PLATFORM_TEST;
    vm->con_rate = cfg->vm[vm->cfg_index].console_rate;
    if (mc) {
        *why = "monitor could not be created";
        return -1;
    }
    vm->boot_count = 1;
    vm->state = VM_RUNNING;
    nvms++;
    return 0;
}

void vms_create(const struct nethv_config *cfg, const struct boot_info *bi)
{
    vm_cfg = cfg;
    vm_bi = bi;
    if (!cfg->nvms)
        return;
    if (!vcpu_backend) {
        printk("vm: no hardware virtualization backend: %u VM(s) not started\n", cfg->nvms);
        return;
    }
    if (cpu_offset_parse())
        return;
    for (unsigned i = 0; i < cfg->nvms; i++) {
        const char *why = "";
        if (create_one(cfg, i, bi, &why)) {
            printk("vm %s: not started: %s\n", cfg->vm[i].name, why);
            continue;
        }
        const struct vm *vm = &vms[nvms - 1];
        printk("vm %s: created: %u vCPU(s), %llu MiB at host %#llx\n", vm->name, vm->nvcpus,
               (unsigned long long)(vm->ram[0].size >> 20), (unsigned long long)vm->ram[0].hpa);
    }
}

/* Every vCPU's flight recorder (those running on other CPUs may be mid-write:
 * their newest line can be torn, the rest stands). */
void vm_print_flight(struct vm *vm)
{
    for (unsigned i = 0; i < vm->nvcpus; i++)
        flight_print(&vm->vcpu[i].flight, vm->name, i);
}

static spinlock_t stop_lock = SPINLOCK_INIT;

/* The guest reset the machine (the monitor's VMM_RESET_VM): restart the VM,
 * at most VM_MAX_RESTARTS times, then stop it.  A stop code never restarts
 * a VM: a test guest's exit code 1 is a failure, not a reset. */
void vm_reset(struct vm *vm)
{
    uint64_t f = spin_lock_irqsave(&stop_lock);
    if (vm->state == VM_STOPPED || vm->state == VM_RESTARTING) {
        spin_unlock_irqrestore(&stop_lock, f);
        return;
    }
    if (vm->boot_count <= VM_MAX_RESTARTS) {
        vm->restart_seq++;                  /* before the state: vm_restart_park */
        __atomic_store_n(&vm->state, VM_RESTARTING, __ATOMIC_SEQ_CST);
        spin_unlock_irqrestore(&stop_lock, f);
        printk("vm %s: reboot requested by the guest; restarting (boot #%u)\n", vm->name,
               vm->boot_count + 1);
        for (unsigned i = 0; i < vm->nvcpus; i++)       /* out of guest mode, to park */
            vcpu_post_irq(&vm->vcpu[i].hw, 0);
        return;
    }
    spin_unlock_irqrestore(&stop_lock, f);
    char msg[80];
    snprintf(msg, sizeof(msg), "guest reset again after %u restarts", VM_MAX_RESTARTS);
    vm_stop(vm, -1, msg);
}

void vm_stop(struct vm *vm, int code, const char *why)
{
    uint64_t f = spin_lock_irqsave(&stop_lock);
    if (vm->state == VM_STOPPED) {
        spin_unlock_irqrestore(&stop_lock, f);
        return;
    }
    vm->exit_code = code;
    __atomic_store_n(&vm->state, VM_STOPPED, __ATOMIC_SEQ_CST);
    spin_unlock_irqrestore(&stop_lock, f);
    printk("vm %s: stopped: %s (code %d)\n", vm->name, why, code);
    vm_print_stats(vm);
    vnet_print_stats(vm);
    if (code != 0)
        vm_print_flight(vm);
    /* vCPUs on other CPUs notice at their next exit; kick them now */
    for (unsigned i = 0; i < vm->nvcpus; i++)
        vcpu_post_irq(&vm->vcpu[i].hw, 0);
}

/* ---- restart (vm_reset) ------------------------------------------------------- */

/* vCPU 0's CPU, every vCPU parked: the VM as at creation, with
 * nethv.boot=N on the command line so the guest can tell its boots apart. */
static int vm_reload(struct vm *vm, const char **why)
{
    const struct config_vm *c = &vm_cfg->vm[vm->cfg_index];
    static char cmdline[VM_MAX][CONFIG_BOOTARGS_MAX + 32];
    char *cl = cmdline[vm->id];

    /* the kernel's datapath lets go of the guest's rings before RAM goes */
    for (unsigned p = 0; p < VMM_NET_MAX_PORTS; p++) {
        vm_net_stop(vm->id, p);
        vm_net_set_notify(vm->id, p, 0, 0);
    }
    uint64_t f = spin_lock_irqsave(&vm->dev_timer_lock);
    memset(vm->dev_timer, 0, sizeof(vm->dev_timer));
    vm->dev_timer_next = 0;
    spin_unlock_irqrestore(&vm->dev_timer_lock, f);
    for (unsigned i = 0; i < vm->nram; i++)
        memset(phys_to_virt(vm->ram[i].hpa), 0, vm->ram[i].size);

    snprintf(cl, sizeof(cmdline[0]), "%s%snethv.boot=%u", c->bootargs, c->bootargs[0] ? " " : "",
             vm->boot_count + 1);
    if (load_guest(vm, c, vm_bi, cl, why))
        return -1;
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        struct vcpu *v = &vm->vcpu[i];
        v->timer_deadline = v->timer_period = 0;
        v->timer_vector = 0;
        v->tsc_deadline = 0;
        v->hw.tsc_aux = 0;
        v->start_pending = false;
        while (vcpu_take_posted_irq(&v->hw) >= 0)
            ;
        if (v->vapic)
            vlapic_reset(v->vapic, i);
    }
    struct vmm_create_args a;
    monitor_args(vm_cfg, vm, &a);
    if (monitor_reset(vm, &a)) {
        *why = "monitor could not be reset";
        return -1;
    }
    /* vCPU 0 is this CPU's: its boot state now; the APs wait for SIPI
     * (start_ap sets their whole state on their CPUs) */
    const struct guest_boot_state *st = &vm_boot_state[vm->id];
    vcpu_backend->set_sregs(&vm->vcpu[0].hw, &st->sregs);
    vcpu_backend->set_regs(&vm->vcpu[0].hw, &st->regs);
    vcpu_backend->reset_events(&vm->vcpu[0].hw);
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        vcpu_fpu_reset(&vm->vcpu[i].hw);        /* nothing of the old guest's x87/SSE */
        spec_vcpu_reset(&vm->vcpu[i].hw);       /* nor its speculation controls */
        vm->vcpu[i].exc_loop_n = 0;
    }
    for (unsigned i = 0; i < vm->nvcpus; i++)
        vm->vcpu[i].state = i == 0 ? VCPU_RUNNABLE : VCPU_WAIT_SIPI;
    return 0;
}

void vm_restart_park(struct vcpu *v)
{
    struct vm *vm = v->vm;
    /* Once per restart.  Its CPU may look again after vCPU 0's has
     * reloaded the VM (the AP back in VCPU_WAIT_SIPI) but before the VM
     * runs: parking it then lost the next boot's SIPI (qemu-linux/reboot). */
    unsigned seq = __atomic_load_n(&vm->restart_seq, __ATOMIC_ACQUIRE);
    if (v->parked_seq != seq) {
        v->parked_seq = seq;
        v->state = VCPU_PARKED;
        if (__atomic_add_fetch(&vm->parked, 1, __ATOMIC_SEQ_CST) == vm->nvcpus && v->index != 0)
            vcpu_post_irq(&vm->vcpu[0].hw, 0);         /* the last one: wake vCPU 0's CPU */
    }
    if (v->index != 0 || __atomic_load_n(&vm->parked, __ATOMIC_SEQ_CST) != vm->nvcpus)
        return;
    const char *why = "";
    if (vm_reload(vm, &why)) {
        vm_stop(vm, -1, why);
        return;
    }
    if (vm_test_restart_window)
        vm_test_restart_window(vm);
    vm->parked = 0;
    uint64_t f = spin_lock_irqsave(&stop_lock);
    bool restarted = vm->state == VM_RESTARTING;
    if (restarted) {
        vm->boot_count++;
        __atomic_store_n(&vm->state, VM_RUNNING, __ATOMIC_SEQ_CST);
    }
    spin_unlock_irqrestore(&stop_lock, f);
    if (!restarted)
        return;                 /* stopped meanwhile */
    for (unsigned i = 1; i < vm->nvcpus; i++)
        vcpu_post_irq(&vm->vcpu[i].hw, 0);             /* their CPUs look again */
}

void vm_print_stats(const struct vm *vm)
{
    char line[320];
    for (int by = 0; by < BY__COUNT; by++) {
        int n = snprintf(line, sizeof(line), "vm %s: exits by %s:", vm->name,
                         by == BY_KERNEL ? "kernel" : "monitor");
        uint64_t total = 0;
        for (int r = 0; r < VCPU_EXIT__COUNT && n < (int)sizeof(line) - 32; r++) {
            uint64_t c = __atomic_load_n(&vm->exits[r][by], __ATOMIC_RELAXED);
            if (c)
                n += snprintf(line + n, sizeof(line) - n, " %s=%llu", vcpu_exit_name(r),
                              (unsigned long long)c);
            total += c;
        }
        n += snprintf(line + n, sizeof(line) - n, "%s total=%llu", total ? "" : " none",
                      (unsigned long long)total);
        if (by == BY_KERNEL && n < (int)sizeof(line))   /* of those, the LAPIC EOIs (exit.c) */
            snprintf(line + n, sizeof(line) - n, " (fast paths: eoi=%llu tsc-deadline=%llu clock=%llu)",
                     (unsigned long long)__atomic_load_n(&vm->fast_eois, __ATOMIC_RELAXED),
                     (unsigned long long)__atomic_load_n(&vm->fast_tsc_deadlines, __ATOMIC_RELAXED),
                     (unsigned long long)__atomic_load_n(&vm->fast_clock_reads, __ATOMIC_RELAXED));
        printk("%s\n", line);
    }
    for (unsigned i = 0; i < vm->nvcpus; i++) {    /* sched.c's accounting */
        /* with the slice it is in (the VM's stop is printed from inside one) */
        /* slice_t0 twice around run_tsc: a slice that ended in between
         * is not counted twice */
        uint64_t t0, run;
        do {
            t0 = __atomic_load_n(&vm->vcpu[i].slice_t0, __ATOMIC_ACQUIRE);
            run = __atomic_load_n(&vm->vcpu[i].run_tsc, __ATOMIC_ACQUIRE);
        } while (t0 != __atomic_load_n(&vm->vcpu[i].slice_t0, __ATOMIC_ACQUIRE));
        uint64_t now = rdtsc();
        run += t0 && now > t0 ? now - t0 : 0;
        printk("vm %s: vCPU %u: ran %llu ms (in guest mode %llu ms) in %llu slices\n", vm->name, i,
               (unsigned long long)(tsc_hz >= 1000 ? run / (tsc_hz / 1000) : 0),
               (unsigned long long)(tsc_hz >= 1000 ? vm->vcpu[i].guest_tsc / (tsc_hz / 1000) : 0),
               (unsigned long long)vm->vcpu[i].slices);
    }
    if (vm->con_dropped)
        printk("vm %s: console: %llu bytes dropped (over %u bytes/s)\n", vm->name,
               (unsigned long long)vm->con_dropped, vm->con_rate);
    uint64_t fl = __atomic_load_n(&vm->timer_floored, __ATOMIC_RELAXED);
    if (fl)
        printk("vm %s: timer periods raised to the minimum: %llu\n", vm->name,
               (unsigned long long)fl);
    monitor_print_stats((struct vm *)vm);
}

/* A VM's console lines (its UART and debug port, through its monitor):
 * control bytes are shown escaped (\xNN) so that no guest drives the
 * operator's terminal, and each VM may print its console-rate (config)
 * bytes a second with bursts of VM_CONSOLE_BURST_S seconds of it; beyond
 * that its lines are dropped and counted, and a note says how many when it
 * prints again. */
/* A token bucket: `rate` a second, at most burst_s seconds of it (full at
 * first), refilled by the TSC; takes `cost` if it holds that much.  The
 * caller holds the lock of *tokens and *tsc. */
bool token_take(uint64_t *tokens, uint64_t *tsc, uint64_t rate, uint64_t burst_s, uint64_t cost)
{
    uint64_t now = rdtsc(), burst = rate * burst_s;
    if (!*tsc) {
        *tsc = now;
        *tokens = burst;
    }
    uint64_t refill = tsc_hz ? (now - *tsc) * rate / tsc_hz : 0;
    if (refill) {
        *tokens = *tokens + refill > burst ? burst : *tokens + refill;
        *tsc = now;
    }
    if (*tokens < cost)
        return false;
    *tokens -= cost;
    return true;
}

/* `line` with control bytes as \xNN (tabs as spaces) into out[cap], cut
 * where it would not fit; returns how many bytes of `line` it took */
size_t console_escape(char *out, size_t cap, const char *line)
{
    size_t n = 0, raw = 0;
    for (const unsigned char *p = (const unsigned char *)line; *p && n + 5 < cap; p++, raw++) {
        if (*p >= 0x20 && *p < 0x7f) {
            out[n++] = (char)*p;
        } else if (*p == '\t') {
            out[n++] = ' ';
        } else {
            static const char hex[] = "0123456789abcdef";
            out[n++] = '\\';
            out[n++] = 'x';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = 0;
    return raw;
}

void vm_console_line(unsigned vm_id, const char *line)
{
    if (vm_id >= nvms)
        return;
    struct vm *vm = &vms[vm_id];
    char out[VM_CONSOLE_LINE];
    size_t raw = console_escape(out, sizeof(out), line);
    uint64_t cost = raw + 1, dropped_note = 0;
    uint64_t f = spin_lock_irqsave(&vm->con_lock);
    uint64_t rate = vm->con_rate ? vm->con_rate : CONFIG_CONSOLE_RATE_DEFAULT;
    bool print = token_take(&vm->con_tokens, &vm->con_tsc, rate, VM_CONSOLE_BURST_S, cost);
    if (print) {
        dropped_note = vm->con_dropped - vm->con_dropped_said;
        vm->con_dropped_said = vm->con_dropped;
    } else {
        vm->con_dropped += cost;
    }
    spin_unlock_irqrestore(&vm->con_lock, f);
    if (dropped_note)
        printk("vm %s: console: dropped %llu bytes (over %llu bytes/s)\n", vm->name,
               (unsigned long long)dropped_note, (unsigned long long)rate);
    if (print) {
        /* the console's ring full (the UART behind): dropped, never waited for */
        char buf[VM_CONSOLE_LINE + CONFIG_NAME_MAX + 8];
        int len = snprintf(buf, sizeof(buf), "[%s] %s\n", vm->name, out);
        if (len > 0 && !console_try_write(buf, (size_t)len < sizeof(buf) ? (size_t)len : sizeof(buf) - 1)) {
            f = spin_lock_irqsave(&vm->con_lock);
            vm->con_dropped += cost;
            spin_unlock_irqrestore(&vm->con_lock, f);
        }
    }
}

void vm_post_irq(unsigned vm_id, unsigned vcpu, uint8_t vector)
{
    if (vm_id < nvms && vcpu < vms[vm_id].nvcpus)
        vcpu_post_irq(&vms[vm_id].vcpu[vcpu].hw, vector);
}

void vm_post_nmi(unsigned vm_id, unsigned vcpu)
{
    if (vm_id < nvms && vcpu < vms[vm_id].nvcpus)
        vcpu_post_nmi(&vms[vm_id].vcpu[vcpu].hw);
}

/* A vCPU of a running VM or of the one being created (its monitor's init
 * asks for the APIC pages from vmm_create). */
static struct vcpu *vcpu_by_id(unsigned vm_id, unsigned vcpu)
{
    return vm_id <= nvms && vm_id < VM_MAX && vcpu < vms[vm_id].nvcpus ? &vms[vm_id].vcpu[vcpu] : NULL;
}

void vm_lapic_base(unsigned vm_id, unsigned vcpu, uint64_t apic_base)
{
    struct vcpu *v = vcpu_by_id(vm_id, vcpu);
    if (v)
        __atomic_store_n(&v->apic_base, apic_base, __ATOMIC_RELAXED);
}

/* The owner CPU applies the real-mode state (sched.c: wake_check); the
 * kick makes it look now rather than at its next tick. */
void vm_vcpu_start(unsigned vm_id, unsigned vcpu, uint8_t sipi_vector)
{
    struct vcpu *v = vcpu_by_id(vm_id, vcpu);
    if (!v || v->state != VCPU_WAIT_SIPI || v->start_pending)
        return;                 /* SIPI to a running CPU is ignored (SDM 3A 8.4.4) */
    v->start_vector = sipi_vector;
    __atomic_store_n(&v->start_pending, true, __ATOMIC_RELEASE);
    vcpu_post_irq(&v->hw, 0);
}

/* The shortest period a guest timer may have: 200 us, KVM's floor for the
 * LAPIC timer (min_timer_period_us).  A period of one count (LAPIC, PIT
 * reload 1) would otherwise be an interrupt per microsecond, a storm that
 * holds the CPU from its other vCPUs.  Raised periods are counted. */
#define TIMER_MIN_PERIOD_US 200u

static uint64_t timer_floor(struct vm *vm, uint64_t period, const char *which)
{
    uint64_t min = tsc_hz / (1000000u / TIMER_MIN_PERIOD_US);
    if (!period || period >= min)
        return period;
    if (__atomic_fetch_add(&vm->timer_floored, 1, __ATOMIC_RELAXED) == 0)
        printk("vm %s: %s period of %llu TSC ticks raised to %u us (the minimum); counted "
               "in the stats\n", vm->name, which, (unsigned long long)period, TIMER_MIN_PERIOD_US);
    return min;
}

void vm_vcpu_timer(unsigned vm_id, unsigned vcpu, uint64_t deadline, uint64_t period, uint8_t vector)
{
    struct vcpu *v = vcpu_by_id(vm_id, vcpu);
    if (!v)
        return;
    period = timer_floor(v->vm, period, "LAPIC timer");
    v->timer_vector = vector;
    v->timer_period = period;
    /* guest TSC = host TSC + offset (two's complement) */
    v->timer_deadline = deadline ? (deadline - v->hw.tsc_offset ? deadline - v->hw.tsc_offset : 1) : 0;
}

void vm_io_clock(unsigned vm_id, uint16_t port, uint32_t hz, uint64_t tsc0)
{
    if (vm_id > nvms || vm_id >= VM_MAX)
        return;
    struct vm *vm = &vms[vm_id];
    vm->clock_hz = hz;
    vm->clock_tsc0 = tsc0;
    __atomic_store_n(&vm->clock_port, port, __ATOMIC_RELEASE);
}

uint64_t vm_tsc_deadline(unsigned vm_id, unsigned vcpu)
{
    struct vcpu *v = vcpu_by_id(vm_id, vcpu);
    return v ? v->tsc_deadline : 0;
}

void vm_set_tsc_deadline(unsigned vm_id, unsigned vcpu, uint64_t guest_tsc)
{
    struct vcpu *v = vcpu_by_id(vm_id, vcpu);
    if (v)
        v->tsc_deadline = guest_tsc;
}

void vm_set_tsc_aux(unsigned vm_id, unsigned vcpu, uint32_t aux)
{
    struct vcpu *v = vcpu_by_id(vm_id, vcpu);
    if (v)
        v->hw.tsc_aux = aux;
}

/* (the VM being created counts: vm_id == nvms) */
void vm_set_cr4_allowed(unsigned vm_id, uint64_t allowed)
{
    if (vm_id <= nvms && vm_id < VM_MAX)
        vms[vm_id].hw.cr4_allowed = allowed;
}

uint64_t vm_guest_tsc(unsigned vm_id, unsigned vcpu)
{
    struct vcpu *v = vcpu_by_id(vm_id, vcpu);
    return rdtsc() + (v ? v->hw.tsc_offset : 0);
}

uint64_t vm_tsc_khz(void)
{
    return tsc_hz / 1000;
}

/* ---- device timers (vmm_if.h: vm_dev_timer) -------------------------------- */

static void dev_timer_next_update(struct vm *vm)
{
    uint64_t next = 0;
    for (unsigned i = 0; i < VMM_DEV_TIMERS; i++) {
        uint64_t d = vm->dev_timer[i].deadline;
        if (d && (!next || d < next))
            next = d;
    }
    __atomic_store_n(&vm->dev_timer_next, next, __ATOMIC_RELEASE);
}

void vm_dev_timer(unsigned vm_id, unsigned id, uint64_t deadline_tsc, uint64_t period)
{
    if (vm_id >= VM_MAX || vm_id > nvms || id >= VMM_DEV_TIMERS)
        return;
    struct vm *vm = &vms[vm_id];
    period = timer_floor(vm, period, "device timer");
    uint64_t f = spin_lock_irqsave(&vm->dev_timer_lock);
    vm->dev_timer[id].deadline = deadline_tsc;
    vm->dev_timer[id].period = deadline_tsc ? period : 0;
    dev_timer_next_update(vm);
    spin_unlock_irqrestore(&vm->dev_timer_lock, f);
    /* vCPU 0's CPU re-arms its preemption timer / sleep bound at its next look */
    if (deadline_tsc && vm->nvcpus && vm->vcpu[0].host_cpu != this_cpu()->cpu)
        vcpu_post_irq(&vm->vcpu[0].hw, 0);
}

void vm_dev_timers_run(struct vm *vm)
{
    uint64_t now = rdtsc();
    unsigned due = 0;
    if (vm->state != VM_RUNNING || !vm_dev_timer_due(vm, now))
        return;
    uint64_t f = spin_lock_irqsave(&vm->dev_timer_lock);
    for (unsigned i = 0; i < VMM_DEV_TIMERS; i++) {
        uint64_t d = vm->dev_timer[i].deadline, p = vm->dev_timer[i].period;
        if (!d || now < d)
            continue;
        due |= 1u << i;
        if (!p)
            d = 0;
        else if ((now - d) / p >= VMM_DEV_TIMER_CATCHUP)
            d = now + p;        /* too far behind: drop the missed periods */
        else
            d += p;             /* catch up: the next one may be due already */
        vm->dev_timer[i].deadline = d;
    }
    dev_timer_next_update(vm);
    spin_unlock_irqrestore(&vm->dev_timer_lock, f);
    for (unsigned i = 0; i < VMM_DEV_TIMERS; i++)
        if (due & (1u << i))
            monitor_timer(vm, i);
}
