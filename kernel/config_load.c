/* Find, parse and report the device-tree configuration (boot module "config.dtb"). */
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/config.h>
#include <nethv/mem.h>
#include <arch/x86.h>

#define CONFIG_MODULE "config.dtb"

static struct nethv_config config;
const struct nethv_config *nethv_config;

void config_load(const struct boot_info *bi);

void config_load(const struct boot_info *bi)
{
    struct config_error err;
    const struct boot_module *m = bootinfo_find_module(bi, CONFIG_MODULE);

    if (!m)
        panic("config: no boot module named \"" CONFIG_MODULE "\" (%u modules given)", bi->nmod);
    /* libfdt: host-built, may use the red zone: call it with interrupts off */
    uint64_t f = irq_save();
    int rc = config_parse(phys_to_virt(m->base), m->len, &config, &err);
    irq_restore(f);
    if (rc)
        panic("config: %s: node %s: property '%s': %s", CONFIG_MODULE,
              err.node[0] ? err.node : "/", err.prop[0] ? err.prop : "-", err.msg);
    config_print(&config, printk);
    for (uint32_t i = 0; i < config.nvms; i++) {
        const struct config_vm *vm = &config.vm[i];
        if (!bootinfo_find_module(bi, vm->kernel))
            printk("config: note: VM %s: kernel module \"%s\" was not loaded\n", vm->name, vm->kernel);
        if (vm->initrd[0] && !bootinfo_find_module(bi, vm->initrd))
            printk("config: note: VM %s: initrd module \"%s\" was not loaded\n", vm->name, vm->initrd);
    }
    nethv_config = &config;
}
