/*
 * The per-CPU vCPU scheduler: every CPU runs the vCPUs pinned to it,
 * round-robin with a time slice of one host timer tick when more than one is
 * runnable.  A halted vCPU sleeps until an interrupt is posted to it or its
 * one-shot timer expires; a CPU with nothing runnable halts until the next
 * host interrupt (timer tick or kick IPI), or polls when a LAPIC timer is
 * due sooner.
 *
 * Fair shares: each vCPU accumulates the TSC time it ran (vruntime), and
 * the runnable one that has run least goes next -- round robin when their
 * slices are equal, and a slice cut short (SVM ends a guest's run at the
 * next host tick, whatever its phase) is made up with the next.  A
 * vCPU that becomes due (its timer expired, an interrupt posted while it
 * sleeps) cuts the running one's slice only if it has run less: a sleeper
 * gets its interrupt at once, but a vCPU whose own timer storms (a LAPIC
 * period of 200 us, the floor) cannot cut a busy neighbour's slice at each
 * expiry.  A vCPU's vruntime is kept within one tick of the least on its
 * CPU, so a long sleeper does not monopolize the CPU when it wakes.
 *
 * Interrupt delivery at each guest entry: test VMs (no LAPIC) get posted
 * vectors injected directly; PC-platform vCPUs go through their virtual
 * LAPIC (kernel/vlapic.c): posted vectors -> IRR, arbitration against PPR,
 * IRR -> ISR on injection, an interrupt window only for a deliverable one.
 * The LAPIC timer is the per-vCPU timer_deadline/period/vector, programmed
 * by the monitor (vm_vcpu_timer); VMX's preemption timer makes the running
 * guest exit at the next deadline on its CPU; the monitor's device timers
 * (vm_dev_timer: the PIT) expire on the CPU of the VM's vCPU 0 the same
 * way, as calls into the monitor (monitor_timer).  APs start on SIPI
 * (vm_vcpu_start -> start_ap on their own CPU).  A VM the guest reset
 * (VM_RESTARTING) has its vCPUs parked here; vCPU 0's CPU then reloads it
 * (vm_restart_park, kernel/vm.c).
 */
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/vm.h>
#include <nethv/vlapic.h>
#include <arch/spec.h>
#include <arch/time.h>
#include <arch/smp.h>
#include <arch/cpu.h>
#include <arch/regs.h>
#include <arch/x86.h>

enum vcpu_state exit_dispatch(struct vcpu *v, struct vcpu_exit *e);
extern volatile bool console_pending;
void console_service(void);

static struct vcpu *runq[MAX_CPUS];

static bool first_run(struct vcpu *v)
{
    if (vcpu_backend->vcpu_init(&v->vm->hw, &v->hw, v->index)) {
        vm_stop(v->vm, -1, "vCPU set-up failed");
        return false;
    }
    vcpu_debug_regs_reset(&v->hw);
    spec_vcpu_reset(&v->hw);
    if (v->index == 0) {
        const struct guest_boot_state *st = &vm_boot_state[v->vm->id];
        vcpu_backend->set_sregs(&v->hw, &st->sregs);
        vcpu_backend->set_regs(&v->hw, &st->regs);
    }
    return true;
}

/* SIPI (vm_vcpu_start): real mode at vector << 12, as after INIT (SDM 3A 9.1.1). */
static void start_ap(struct vcpu *v)
{
    struct vcpu_sregs s;
    struct vcpu_regs r;
    struct vcpu_seg data = { 0, 0x93, 0xffff, 0 };

    memset(&s, 0, sizeof(s));
    memset(&r, 0, sizeof(r));
    s.cs = (struct vcpu_seg){ (uint16_t)(v->start_vector << 8), 0x9b, 0xffff,
                              (uint64_t)v->start_vector << 12 };
    s.ds = s.es = s.fs = s.gs = s.ss = data;
    s.tr = (struct vcpu_seg){ 0, 0x8b, 0xffff, 0 };
    s.ldtr = (struct vcpu_seg){ 0, 0x82, 0xffff, 0 };
    s.gdt.limit = s.idt.limit = 0xffff;
    s.cr0 = CR0_ET;
    r.rflags = 2;
    vcpu_backend->reset_events(&v->hw);
    vcpu_backend->set_sregs(&v->hw, &s);
    vcpu_backend->set_regs(&v->hw, &r);
    v->start_pending = false;
    v->state = VCPU_RUNNABLE;
}

/* Move timer expiries into posted interrupts; start APs; wake halted
 * vCPUs (with a LAPIC: only for an interrupt it would deliver now). */
static void wake_check(struct vcpu *v)
{
    uint64_t now = rdtsc();
    if (v->timer_deadline && now >= v->timer_deadline) {
        if (v->timer_period) {
            v->timer_deadline += v->timer_period;
            if (v->timer_deadline <= now)       /* missed periods coalesce */
                v->timer_deadline = now + v->timer_period;
        } else {
            v->timer_deadline = 0;
        }
        if (v->timer_vector >= 16 || !v->vapic)
            vcpu_post_irq(&v->hw, v->timer_vector);
    }
    if (v->index == 0)          /* the VM's device timers (PIT ...) expire here */
        vm_dev_timers_run(v->vm);
    if (v->state == VCPU_WAIT_SIPI && __atomic_load_n(&v->start_pending, __ATOMIC_ACQUIRE))
        start_ap(v);
    if (v->state == VCPU_HALTED &&
        (vcpu_has_posted_nmi(&v->hw) ||
         (v->vapic ? vlapic_has_deliverable(v) : vcpu_has_posted_irq(&v->hw))))
        v->state = VCPU_RUNNABLE;
}

/* The earliest deadline of v that will post an interrupt: its LAPIC timer
 * (masked timers keep time at the next look) and, for a vCPU 0, its VM's
 * device timers; 0 = none. */
static uint64_t next_deadline_of(const struct vcpu *v)
{
    uint64_t next = 0;
    if (v->vm->state != VM_RUNNING)
        return 0;
    if (v->vapic && v->timer_deadline && v->timer_vector >= 16)
        next = v->timer_deadline;
    uint64_t dev = v->index == 0 ? v->vm->dev_timer_next : 0;
    if (dev && (!next || dev < next))
        next = dev;
    return next;
}

/* The earliest of those among the vCPUs of this CPU, or 0. */
static uint64_t next_deadline(struct vcpu *q)
{
    uint64_t next = 0;
    for (struct vcpu *v = q; v; v = v->next_on_cpu) {
        uint64_t d = next_deadline_of(v);
        if (d && (!next || d < next))
            next = d;
    }
    return next;
}

/* A vCPU's vruntime as the scheduler weighs it: never more than one tick
 * behind `floor` (the running one's), so that time asleep is no credit. */
static uint64_t vrt_weighed(const struct vcpu *v, uint64_t floor)
{
    uint64_t credit = tsc_hz / TICK_HZ;
    return v->vruntime + credit < floor ? floor - credit : v->vruntime;
}

/* VMX: the preemption timer makes a running guest exit at the next LAPIC
 * timer deadline on this CPU, its own or a halted neighbour's (otherwise
 * the next host tick would be the resolution), and -- with others waiting
 * -- at the end of its slice (slice_end, host TSC), whether or not the
 * host's tick reaches it: Bochs 2.7 takes no external-interrupt exit while
 * the guest has RFLAGS.IF=0 (measured: a guest spinning with IF=0 got 1
 * such exit in 10 s; with IF=1, 100 per second), and a guest must not hold
 * its CPU on such a platform either.  SVM has none: the host tick. */
static void arm_guest_timer(struct vcpu *v, uint64_t slice_end, uint64_t self_vrt)
{
    uint64_t now = rdtsc(), next = 0;
    /* its own deadlines; a neighbour's only if it is still ahead and the
     * neighbour may cut this slice (has run less: others_due) -- one that
     * is due and may not would make every entry exit at once */
    for (struct vcpu *u = runq[this_cpu()->cpu]; u; u = u->next_on_cpu) {
        uint64_t d = next_deadline_of(u);
        if (d && (u == v || (d > now && vrt_weighed(u, self_vrt) < self_vrt)) && (!next || d < next))
            next = d;
    }
    if (slice_end && (!next || slice_end < next))
        next = slice_end;
    uint64_t ticks = !next ? 0 : next > now ? next - now : 1;
    if (ticks || v->timer_hw_armed)
        vcpu_backend->set_preempt_timer(&v->hw, ticks);
    v->timer_hw_armed = ticks != 0;
}

/* Another vCPU of this CPU has become due (timer expired, or an interrupt
 * posted while it sleeps) and has run less than self (self_vrt, this
 * slice included): end self's slice so that it runs now. */
static bool others_due(struct vcpu *self, uint64_t self_vrt)
{
    uint64_t now = rdtsc();
    for (struct vcpu *v = runq[self->host_cpu]; v; v = v->next_on_cpu) {
        if (v == self || v->state == VCPU_STOPPED || v->vm->state != VM_RUNNING)
            continue;
        bool due = (v->timer_deadline && now >= v->timer_deadline) ||
                   (v->index == 0 && vm_dev_timer_due(v->vm, now)) ||
                   ((v->state == VCPU_HALTED || v->state == VCPU_WAIT_SIPI) &&
                    (vcpu_has_posted_irq(&v->hw) || v->start_pending ||
                     (v->state == VCPU_HALTED && vcpu_has_posted_nmi(&v->hw))));
        if (due && vrt_weighed(v, self_vrt) < self_vrt)
            return true;
    }
    return false;
}

/* A latched NMI goes in ahead of any interrupt once the guest does not
 * block NMIs; until then the backend is asked for a window. */
static void deliver_nmi(struct vcpu *v)
{
    if (!vcpu_has_posted_nmi(&v->hw))
        return;
    if (!vcpu_backend->can_inject_nmi(&v->hw)) {
        vcpu_backend->set_nmi_window(&v->hw, true);
        return;
    }
    struct vcpu_event ev = { VCPU_EVENT_NMI, 2, false, 0 };
    if (vcpu_backend->inject(&v->hw, &ev))
        __atomic_store_n(&v->hw.nmi_pending, 0, __ATOMIC_RELEASE);
}

/* Test VMs (no LAPIC): posted vectors are injected directly, highest first. */
static void deliver_posted(struct vcpu *v)
{
    if (!vcpu_has_posted_irq(&v->hw))
        return;
    if (!vcpu_backend->can_inject_irq(&v->hw)) {
        vcpu_backend->set_irq_window(&v->hw, true);
        return;
    }
    int vec = vcpu_take_posted_irq(&v->hw);
    if (vec >= 32) {            /* 0-31 are not external interrupts: kicks only */
        struct vcpu_event ev = { VCPU_EVENT_EXTINT, (uint8_t)vec, false, 0 };
        vcpu_backend->inject(&v->hw, &ev);
    }
}

/* The vCPU each CPU entered last: a host exception prints its flight
 * recorder (flight_print_cpu, called by arch/x86_64/idt.c). */
static struct vcpu *last_run[MAX_CPUS];

void flight_print_cpu(unsigned cpu)
{
    struct vcpu *v = cpu < MAX_CPUS ? __atomic_load_n(&last_run[cpu], __ATOMIC_RELAXED) : NULL;
    if (!v) {
        printk("nethv: CPU %u has run no vCPU\n", cpu);
        return;
    }
    printk("nethv: CPU %u last ran vm %s vCPU %u:\n", cpu, v->vm->name, v->index);
    flight_print(&v->flight, v->vm->name, v->index);
}

/* Run one vCPU until it halts, stops, or its slice ends. */
static void run_slice(struct vcpu *v, bool others_waiting)
{
    uint64_t tick0 = this_cpu()->timer_ticks;
    struct vcpu_exit e;
    /* no credit for time asleep: within a tick of the least on this CPU */
    uint64_t least = UINT64_MAX;
    for (struct vcpu *u = runq[this_cpu()->cpu]; u; u = u->next_on_cpu)
        if (u != v && u->state == VCPU_RUNNABLE && u->vruntime < least)
            least = u->vruntime;
    if (least != UINT64_MAX)
        v->vruntime = vrt_weighed(v, least);
    uint64_t t0 = rdtsc(), slice = tsc_hz / TICK_HZ;
    v->slices++;
    __atomic_store_n(&v->slice_t0, t0, __ATOMIC_RELAXED);

    while (v->state == VCPU_RUNNABLE) {
        if (v->vm->state != VM_RUNNING) {
            if (v->vm->state == VM_STOPPED)
                v->state = VCPU_STOPPED;
            break;              /* VM_RESTARTING: parked by the scheduler loop */
        }
        wake_check(v);
        deliver_nmi(v);
        if (v->vapic)
            vlapic_inject(v);
        else
            deliver_posted(v);
        arm_guest_timer(v, others_waiting ? t0 + slice : 0, v->vruntime + (rdtsc() - t0));
        memset(&e, 0, sizeof(e));
        __atomic_store_n(&last_run[this_cpu()->cpu], v, __ATOMIC_RELAXED);
        uint64_t r0 = rdtsc();
        int rc = vcpu_backend->run(&v->hw, &e);
        v->guest_tsc += rdtsc() - r0;
        if (rc) {
            e.reason = VCPU_EXIT_ENTRY_FAILED;
            if (!e.fail.what)
                e.fail.what = "backend run() failed";
        }
        v->state = exit_dispatch(v, &e);
        console_drain();
        if (console_pending && this_cpu()->cpu == 0)
            console_service();
        if (others_waiting && (this_cpu()->timer_ticks != tick0 || rdtsc() - t0 >= slice))
            break;
        if (others_due(v, v->vruntime + (rdtsc() - t0)))
            break;
    }
    uint64_t ran = rdtsc() - t0;
    v->vruntime += ran;
    v->run_tsc += ran;
    __atomic_store_n(&v->slice_t0, 0, __ATOMIC_RELEASE);   /* after run_tsc (vm.c reads both) */
}

/*
 * A halted vCPU's LAPIC timer due before the next host tick: poll for it
 * (and for kicks) instead of sleeping a whole tick, so guest timers keep
 * their resolution.  TODO: a one-shot host LAPIC timer instead of polling.
 */
static bool timer_due_soon(struct vcpu *q)
{
    uint64_t next = next_deadline(q), now = rdtsc();
    if (!next)
        return false;
    if (next <= now)
        return true;
    if (next - now > tsc_hz / TICK_HZ)
        return false;           /* the tick comes first */
    while (rdtsc() < next) {
        for (struct vcpu *v = q; v; v = v->next_on_cpu)
            if (vcpu_has_posted_irq(&v->hw) || v->start_pending)
                return true;
        cpu_relax();
    }
    return true;
}

bool vms_all_stopped(void)
{
    for (unsigned i = 0; i < nvms; i++)
        if (vms[i].state != VM_STOPPED)
            return false;
    return true;
}

void vcpu_scheduler(void)
{
    unsigned cpu = this_cpu()->cpu;
    struct vcpu *tail = NULL;

    for (unsigned i = 0; i < nvms; i++)
        for (unsigned j = 0; j < vms[i].nvcpus; j++) {
            struct vcpu *v = &vms[i].vcpu[j];
            if (v->host_cpu != cpu)
                continue;
            v->next_on_cpu = NULL;
            if (tail)
                tail->next_on_cpu = v;
            else
                runq[cpu] = v;
            tail = v;
        }
    if (!runq[cpu])
        return;
    if (vcpu_backend->cpu_enable()) {
        printk("sched: CPU %u could not enable %s; its vCPUs stop\n", cpu, vcpu_backend->name);
        for (struct vcpu *v = runq[cpu]; v; v = v->next_on_cpu)
            vm_stop(v->vm, -1, "virtualization unavailable on its CPU");
        return;
    }
    for (struct vcpu *v = runq[cpu]; v; v = v->next_on_cpu)
        if (!first_run(v))
            v->state = VCPU_STOPPED;

    while (!vms_all_stopped()) {
        unsigned runnable = 0;
        for (struct vcpu *v = runq[cpu]; v; v = v->next_on_cpu) {
            if (v->vm->state == VM_RESTARTING) {
                vm_restart_park(v);     /* vCPU 0's CPU reloads the VM */
                continue;
            }
            wake_check(v);
            if (v->state == VCPU_RUNNABLE && v->vm->state == VM_RUNNING)
                runnable++;
        }
        /* the runnable vCPU that has run least: a slice cut short (by
         * the tick's phase, an exit) is made up for with the next one */
        struct vcpu *pick = NULL;
        for (struct vcpu *v = runq[cpu]; v; v = v->next_on_cpu)
            if (v->state == VCPU_RUNNABLE && v->vm->state == VM_RUNNING &&
                (!pick || v->vruntime < pick->vruntime))
                pick = v;
        if (pick) {
            run_slice(pick, runnable > 1);
            continue;
        }
        bool mine_alive = false;
        for (struct vcpu *v = runq[cpu]; v; v = v->next_on_cpu)
            if (v->state != VCPU_STOPPED && v->vm->state != VM_STOPPED)
                mine_alive = true;
        if (!mine_alive)
            break;
        if (!timer_due_soon(runq[cpu])) {
            irq_enable_and_halt();  /* tick or kick */
            irq_disable();
        }
        console_drain();
        if (console_pending && cpu == 0)
            console_service();
    }
}
