/*
 * The device-tree configuration (boot module "config.dtb"): parsed by a
 * program at CPL 3 (include/nethv/config_abi.h), checked here, reported.
 */
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/config_abi.h>
#include <arch/time.h>
#include <arch/user.h>
#include <arch/x86.h>

#define CONFIG_MODULE "config.dtb"
#define PARSE_BUDGET_S 10       /* Bochs parses a 4 KiB DTB in well under 1 s */

static struct cfg_result result;
const struct nethv_config *nethv_config;
extern const uint8_t config_elf[], config_elf_end[];

void config_load(const struct boot_info *bi);

static bool terminated(const char *s, size_t cap)
{
    return memchr(s, 0, cap) != NULL;
}

/* What the kernel's use of the config rests on, whatever the parser did:
 * counts, indices, enums and ranges within bounds, every string ended.
 * NULL, or the first broken rule.  (The parser checks far more: names,
 * duplicates, overlaps; it names the node and property of the error.) */
static const char *config_check(const struct nethv_config *c)
{
    if (c->nvms > CONFIG_MAX_VMS || c->nports > CONFIG_MAX_PORTS ||
        (c->nvms && c->console_vm >= c->nvms) || c->exit > CONFIG_EXIT_DEBUG)
        return "counts";
    for (uint32_t i = 0; i < c->nvms; i++) {
        const struct config_vm *v = &c->vm[i];
        uint64_t sum = 0, end = 0;
        if (!terminated(v->name, sizeof(v->name)) || !terminated(v->kernel, sizeof(v->kernel)) ||
            !terminated(v->initrd, sizeof(v->initrd)) || !terminated(v->bootargs, sizeof(v->bootargs)))
            return "VM strings";
        if (v->type > CONFIG_VM_TEST || v->vcpus < 1 || v->vcpus > CONFIG_MAX_VCPUS ||
            v->monitor_fault > CONFIG_MONFAULT_WILD_SYSCALL ||
            v->console_rate < CONFIG_CONSOLE_RATE_MIN || v->console_rate > CONFIG_CONSOLE_RATE_MAX)
            return "VM type, vCPUs or rates";
        for (uint32_t j = 0; j < v->vcpus; j++)
            if (v->cpu[j] >= CONFIG_MAX_HOST_CPUS)
                return "host CPU";
        if (v->nregions < 1 || v->nregions > CONFIG_MAX_REGIONS)
            return "region count";
        for (uint32_t j = 0; j < v->nregions; j++) {
            const struct config_region *r = &v->region[j];
            if (!r->size || ((r->gpa | r->size) & (CONFIG_REGION_ALIGN - 1)) || r->gpa < end ||
                r->size > CONFIG_MAX_GPA || r->gpa > CONFIG_MAX_GPA - r->size)
                return "memory regions";
            end = r->gpa + r->size;
            sum += r->size;
        }
        if (sum != v->memory || v->memory % CONFIG_MEM_ALIGN)
            return "memory size";
    }
    unsigned uplinks = 0;
    for (uint32_t i = 0; i < c->nports; i++) {
        const struct config_port *p = &c->port[i];
        if (p->type == CONFIG_PORT_UPLINK && ++uplinks > CONFIG_MAX_UPLINKS)
            return "uplinks";           /* more would loop (kernel/net.c has one) */
        if (!terminated(p->name, sizeof(p->name)) || p->type > CONFIG_PORT_UPLINK ||
            p->nic > CONFIG_NIC_VIRTIO_NET || p->mtu < CONFIG_MTU_MIN || p->mtu > CONFIG_MTU_MAX ||
            p->allow_promisc > 1 || p->allow_mac_change > 1 ||
            (p->type == CONFIG_PORT_UPLINK && p->mtu != CONFIG_MTU_DEFAULT) ||
            (p->type == CONFIG_PORT_VM && (p->vm >= c->nvms || p->vlan > CONFIG_VLAN_MAX ||
                                           p->nallowed > CONFIG_MAX_ALLOWED_MACS)))
            return "ports";
    }
    return NULL;
}

static int64_t sys_print(void *owner, uint64_t va, uint64_t len, uint64_t a2, uint64_t a3)
{
    char line[CFG_LINE_MAX];
    if (len > sizeof(line) || uspace_read(owner, va, line, len))
        return USER_EINVAL;
    printk("%.*s\n", (int)len, line);
    return 0;
}

static const user_syscall_fn cfg_fns[CFG_SYS__COUNT] = { [CFG_SYS_PRINT] = sys_print };

/* The parser's address space with the DTB in it; 0, or -1 (out of memory) */
static int parser_space(struct uspace *us, const struct boot_module *m, uint64_t *entry)
{
    uint64_t first = m->base & ~(uint64_t)(PAGE_SIZE - 1);
    uint64_t len = m->len < CONFIG_DTB_MAX ? m->len : CONFIG_DTB_MAX;   /* the parser refuses more */
    uint64_t canary = rdtsc() * 0x9e3779b97f4a7c15ull;
    if (uspace_init(us, "config parser") ||
        uspace_load_elf(us, config_elf, (size_t)(config_elf_end - config_elf), entry) ||
        uspace_alloc(us, CFG_OUT, sizeof(struct cfg_result), USER_R | USER_W) ||
        uspace_alloc(us, CFG_TLS, PAGE_SIZE, USER_R | USER_W) ||
        uspace_alloc(us, CFG_STACK, CFG_STACK_SIZE, USER_R | USER_W) ||
        uspace_write(us, CFG_TLS + 0x28, &canary, sizeof(canary)))
        return -1;
    for (uint64_t pa = first; pa < m->base + len; pa += PAGE_SIZE)
        if (uspace_map(us, CFG_DTB + (pa - first), pa, USER_R, false))
            return -1;
    return 0;
}

void config_load(const struct boot_info *bi)
{
    const struct boot_module *m = bootinfo_find_module(bi, CONFIG_MODULE);
    struct uspace us = { 0 };
    uint64_t entry;

    if (!m)
        panic("config: no boot module named \"" CONFIG_MODULE "\" (%u modules given)", bi->nmod);
    if (parser_space(&us, m, &entry))
        panic("config: out of memory for the parser");
    const struct user_syscalls sys = { cfg_fns, CFG_SYS__COUNT, NULL };
    struct user_call c = {
        .us = &us, .entry = entry, .stack_top = CFG_STACK + CFG_STACK_SIZE,
        .arg = (m->base & (PAGE_SIZE - 1)) << 32 | (m->len > CONFIG_DTB_MAX ? CONFIG_DTB_MAX + 1 : m->len),
        .fs_base = CFG_TLS,
        .budget_tsc = tsc_hz * PARSE_BUDGET_S, .sys = &sys, .owner = &us,
    };
    enum user_status st = user_call(&c);
    if (st != USER_REPLIED)
        panic("config: the parser %s: exception %u error %#llx at rip %#llx, cr2 %#llx",
              st == USER_TIMED_OUT ? "did not finish" : "faulted", c.fault.vector,
              (unsigned long long)c.fault.error, (unsigned long long)c.fault.rip,
              (unsigned long long)c.fault.cr2);
    if (uspace_read(&us, CFG_OUT, &result, sizeof(result)))
        panic("config: the parser's result cannot be read");
    uspace_destroy(&us);

    struct config_error *err = &result.err;
    if (result.rc) {
        err->node[sizeof(err->node) - 1] = err->prop[sizeof(err->prop) - 1] = 0;
        err->msg[sizeof(err->msg) - 1] = 0;
        panic("config: %s: node %s: property '%s': %s", CONFIG_MODULE,
              err->node[0] ? err->node : "/", err->prop[0] ? err->prop : "-", err->msg);
    }
    const char *bad = config_check(&result.cfg);
    if (bad)
        panic("config: the parser's result breaks the kernel's rules (%s)", bad);
    for (uint32_t i = 0; i < result.cfg.nvms; i++) {
        const struct config_vm *vm = &result.cfg.vm[i];
        if (!bootinfo_find_module(bi, vm->kernel))
            printk("config: note: VM %s: kernel module \"%s\" was not loaded\n", vm->name, vm->kernel);
        if (vm->initrd[0] && !bootinfo_find_module(bi, vm->initrd))
            printk("config: note: VM %s: initrd module \"%s\" was not loaded\n", vm->name, vm->initrd);
    }
    nethv_config = &result.cfg;
}
