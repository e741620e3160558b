/* nethv: the kernel's start on the boot CPU. */
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <nethv/power.h>
#include <nethv/acpi_glue.h>
#include <nethv/vm.h>
#include <nethv/net.h>
#include <arch/spec.h>
#include <arch/vcpu.h>
#include <arch/cpu.h>
#include <arch/lapic.h>
#include <arch/paging.h>
#include <arch/pic.h>
#include <arch/regs.h>
#include <arch/smp.h>
#include <arch/time.h>
#include <arch/x86.h>

extern char boot_stack_top[];
void console_init(void);
void cmdline_set(const char *s);
void config_load(const struct boot_info *bi);
extern const struct nethv_config *nethv_config;
extern volatile bool console_pending;
void console_input_poll(void);
void console_service(void);
void console_input_init(const struct nethv_config *cfg);

/* the boot-time self-tests: in nethv-test.elf only (Makefile KSRC_TEST) */
void svm_selftest(void) __attribute__((weak));
void vmx_selftest(void) __attribute__((weak));
void user_selftest(void) __attribute__((weak));


static void timer_tick(struct trap_frame *tf)
{
    this_cpu()->timer_ticks++;
    if (this_cpu()->cpu == 0) {
        console_drain();
        console_input_poll();
        net_tick();             /* uplink NICs without an interrupt */
    }
}

static void kick(struct trap_frame *tf)
{
}

static void timer_start_and_check(void)
{
    irq_register(VEC_TIMER, timer_tick);
    irq_register(VEC_IPI_KICK, kick);
    lapic_timer_periodic(TICK_HZ, VEC_TIMER);
    irq_enable();
    uint64_t deadline = rdtsc() + tsc_hz;     /* 1 s of TSC time */
    while (percpu_area[0].timer_ticks < 3 && rdtsc() < deadline)
        halt();
    irq_disable();
    if (percpu_area[0].timer_ticks < 3)
        panic("timer: the LAPIC timer did not tick (%llu ticks in 1 s)",
              (unsigned long long)percpu_area[0].timer_ticks);
    printk("timer: LAPIC timer ticking at %u Hz\n", TICK_HZ);
}

void kernel_main(const struct boot_info *bi)
{
    /* GS base first: exception reports use it */
    percpu_area[0].self = &percpu_area[0];
    wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)&percpu_area[0]);
    console_init();
    cmdline_set(bi->cmdline);
    printk("\nnethv " NETHV_VERSION " booting (loader: %s)\n", bi->loader[0] ? bi->loader : "unknown");
    printk("cmdline: %s\n", bi->cmdline);
    idt_init();
    idt_load();
    pic_disable();
    mem_init(bi);
    paging_init();
    cpu_init_percpu(0, 0, (uint64_t)(uintptr_t)boot_stack_top);
    irqoff_enable_tracking();
    fpu_init_cpu();
    spec_init((cpuid(1, 0).ecx & CPUID1_ECX_VMX) != 0);
    acpi_init(bi);
    lapic_init_bsp(acpi_lapic_base());
    percpu_area[0].apic_id = lapic_id();
    percpu_area[0].online = true;
    printk("lapic: %s mode, BSP APIC id %u\n", lapic_x2apic() ? "x2APIC" : "xAPIC",
           percpu_area[0].apic_id);
    time_calibrate();
    timer_start_and_check();
    config_load(bi);

    const uint32_t *ids;
    unsigned n = acpi_cpu_apic_ids(&ids);
    if (n > 1)
        smp_boot(ids, n);
    printk("smp: %u of %u CPUs online\n", cpus_online_count, n ? n : 1);
    printk("nethv: boot complete\n");
    static const struct { const char *arg; void (*fn)(void); } selftests[] = {
        { "selftest=svm", svm_selftest }, { "selftest=vmx", vmx_selftest }, { "selftest=user", user_selftest },
    };
    for (unsigned i = 0; i < sizeof(selftests) / sizeof(selftests[0]); i++) {
        if (!cmdline_has(selftests[i].arg))
            continue;
        if (selftests[i].fn)
            selftests[i].fn();
        else
            printk("nethv: %s: not in this image (nethv-test.elf has the self-tests)\n", selftests[i].arg);
    }

    net_init(nethv_config);
    if (nethv_config->nvms && vcpu_select_backend()) {
        monitor_init();
        vms_create(nethv_config, bi);
        if (nvms) {
            console_input_init(nethv_config);
            console_set_buffered(true);
            smp_run_on_aps(vcpu_scheduler);
            vcpu_scheduler();
            /* CPU 0 may have no vCPUs of its own: keep serving the console */
            while (!vms_all_stopped()) {
                if (console_pending)
                    console_service();
                console_drain();
                irq_enable_and_halt();
                irq_disable();
            }
            smp_wait_aps();
            console_set_buffered(false);
            printk("nethv: all VMs stopped\n");
            net_print_stats();  /* the switch's ports (uplink included) and MAC table */
        }
    }

    if (power_off_requested())
        power_off(0);
    power_config_exit(nethv_config->exit);
}
