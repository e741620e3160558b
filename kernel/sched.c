/*
 * The per-CPU vCPU scheduler: every CPU runs the vCPUs pinned to it,
 * round-robin with a time slice of one host timer tick when more than one is
 * runnable.  A halted vCPU sleeps until an interrupt is posted to it or its
 * one-shot timer expires; a CPU with nothing runnable halts until the next
 * host interrupt (timer tick or kick IPI).
 */
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/vm.h>
#include <nethv/guest_load.h>
#include <arch/cpu.h>
#include <arch/lapic.h>
#include <arch/regs.h>
#include <arch/x86.h>

extern struct guest_boot_state vm_boot_state[VM_MAX];
enum vcpu_state exit_dispatch(struct vcpu *v, struct vcpu_exit *e);

static struct vcpu *runq[MAX_CPUS];
static bool cpu_ready[MAX_CPUS];

static bool first_run(struct vcpu *v)
{
    if (vcpu_backend->vcpu_init(&v->vm->hw, &v->hw, v->index)) {
        vm_stop(v->vm, -1, "vCPU set-up failed");
        return false;
    }
    if (v->index == 0) {
        const struct guest_boot_state *st = &vm_boot_state[v->vm->id];
        vcpu_backend->set_sregs(&v->hw, &st->sregs);
        vcpu_backend->set_regs(&v->hw, &st->regs);
    }
    return true;
}

/* Move timer expiries into posted interrupts; wake halted vCPUs. */
static void wake_check(struct vcpu *v)
{
    if (v->timer_deadline && rdtsc() >= v->timer_deadline) {
        v->timer_deadline = 0;
        vcpu_post_irq(&v->hw, v->timer_vector);
    }
    if (v->state == VCPU_HALTED && vcpu_has_posted_irq(&v->hw))
        v->state = VCPU_RUNNABLE;
}

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

/* Run one vCPU until it halts, stops, or its slice ends. */
static void run_slice(struct vcpu *v, bool others_waiting)
{
    uint64_t tick0 = this_cpu()->timer_ticks;
    struct vcpu_exit e;

    while (v->state == VCPU_RUNNABLE) {
        if (v->vm->state == VM_STOPPED) {
            v->state = VCPU_STOPPED;
            break;
        }
        wake_check(v);
        deliver_posted(v);
        memset(&e, 0, sizeof(e));
        if (vcpu_backend->run(&v->hw, &e)) {
            e.reason = VCPU_EXIT_ENTRY_FAILED;
            if (!e.fail.what)
                e.fail.what = "backend run() failed";
        }
        v->state = exit_dispatch(v, &e);
        if (others_waiting && this_cpu()->timer_ticks != tick0)
            break;
    }
}

static bool all_stopped(void)
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
    cpu_ready[cpu] = true;

    while (!all_stopped()) {
        bool ran = false;
        unsigned runnable = 0;
        for (struct vcpu *v = runq[cpu]; v; v = v->next_on_cpu) {
            wake_check(v);
            if (v->state == VCPU_RUNNABLE && v->vm->state != VM_STOPPED)
                runnable++;
        }
        for (struct vcpu *v = runq[cpu]; v; v = v->next_on_cpu) {
            if (v->state != VCPU_RUNNABLE || v->vm->state == VM_STOPPED)
                continue;
            run_slice(v, runnable > 1);
            ran = true;
        }
        if (!ran) {
            bool mine_alive = false;
            for (struct vcpu *v = runq[cpu]; v; v = v->next_on_cpu)
                if (v->state != VCPU_STOPPED && v->vm->state != VM_STOPPED)
                    mine_alive = true;
            if (!mine_alive)
                break;
            irq_enable_and_halt();      /* tick or kick */
            irq_disable();
        }
    }
}
