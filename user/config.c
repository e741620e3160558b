/*
 * Configuration parser: DTB (libfdt, read-only) -> struct nethv_config.
 * Schema and limits: include/nethv/config.h.  Every failed check names the
 * node, the property and what is wrong in *err.  Builds for the kernel and
 * for the host (tests, fuzzer, tools/cfgcheck.c); no allocation, and of the
 * C library only string functions and snprintf.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <libfdt.h>
#include <nethv/config.h>
#include <nethv/pkt.h>

/* ---- bounded strings (error messages, summary lines) ------------------- */

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

/* printf onto the end of the string in buf[cap], truncating */
__attribute__((format(printf, 3, 4)))
static void append(char *buf, size_t cap, const char *fmt, ...)
{
    size_t n = strlen(buf);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
}

/* ---- parse context and errors -------------------------------------------- */

struct ctx {
    const void          *fdt;
    struct nethv_config *cfg;
    struct config_error *err;
    char                 path[CONFIG_ERR_NODE];   /* node being checked */
};

__attribute__((format(printf, 4, 5)))
static int reject(struct ctx *c, int code, const char *prop, const char *fmt, ...)
{
    va_list ap;

    if (c->err) {
        c->err->code = code;
        copy_str(c->err->node, sizeof(c->err->node), c->path);
        copy_str(c->err->prop, sizeof(c->err->prop), prop ? prop : "");
        va_start(ap, fmt);
        vsnprintf(c->err->msg, sizeof(c->err->msg), fmt, ap);
        va_end(ap);
    }
    return -code;
}

/* c->path = parent + "/" + name (name as in the blob, unit address kept). */
static void set_path(struct ctx *c, const char *parent, const char *name)
{
    snprintf(c->path, sizeof(c->path), "%s/%s", strcmp(parent, "/") ? parent : "", name);
}

static int reject_fdt(struct ctx *c, int fdterr)
{
    return reject(c, CONFIG_EBLOB, NULL, "bad device tree: %s", fdt_strerror(fdterr));
}

/* ---- property access -------------------------------------------------------- */

static uint64_t be_load(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;

    while (n--)
        v = (v << 8) | *p++;
    return v;
}

/* NULL if absent (or a required-property error when `required`). */
static const uint8_t *get_raw(struct ctx *c, int node, const char *name,
                              int required, int *len, int *rc)
{
    const uint8_t *v = fdt_getprop(c->fdt, node, name, len);

    *rc = 0;
    if (!v) {
        if (*len != -FDT_ERR_NOTFOUND)
            *rc = reject_fdt(c, *len);
        else if (required)
            *rc = reject(c, CONFIG_EMISSING, name, "missing required property");
        *len = 0;
    }
    return v;
}

/* 1: read, 0: absent (optional), < 0: error. cells = 1 (u32) or 2 (<hi lo>). */
static int get_cells(struct ctx *c, int node, const char *name, int required,
                     unsigned cells, uint64_t *out)
{
    int len, rc;
    const uint8_t *v = get_raw(c, node, name, required, &len, &rc);

    if (!v)
        return rc;
    if (len != (int)(4 * cells))
        return reject(c, CONFIG_EFORMAT, name, "must be %s (%u bytes), not %u bytes",
                      cells == 1 ? "one cell <n>" : "two cells <hi lo>",
                      4 * cells, (unsigned)len);
    *out = be_load(v, 4 * cells);
    return 1;
}

enum str_class { STR_NAME, STR_TOKEN, STR_TEXT };

static int char_ok(enum str_class cls, char ch)
{
    switch (cls) {
    case STR_NAME:  /* VM and port names */
        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
               ch == '_' || ch == '-';
    case STR_TOKEN: /* module and driver names: printable, no space */
        return ch > ' ' && ch <= '~';
    case STR_TEXT:  /* command lines */
        return ch >= ' ' && ch <= '~';
    }
    return 0;
}

static int check_str(struct ctx *c, const char *prop, const char *what,
                     const char *s, size_t n, size_t max, enum str_class cls)
{
    if (n == 0)
        return reject(c, CONFIG_EVALUE, prop, "%s must not be empty", what);
    if (n > max)
        return reject(c, CONFIG_ELIMIT, prop, "%s too long (%u chars, max %u)",
                      what, (unsigned)n, (unsigned)max);
    for (size_t i = 0; i < n; i++)
        if (!char_ok(cls, s[i]))
            return reject(c, CONFIG_EVALUE, prop, "%s has an invalid character at %u%s",
                          what, (unsigned)i,
                          cls == STR_NAME ? " (allowed: a-z 0-9 _ -)" : "");
    return 0;
}

/* A single NUL-terminated string of 1..max chars, copied into dst[max + 1]. */
static int get_str(struct ctx *c, int node, const char *name, int required,
                   char *dst, size_t max, enum str_class cls)
{
    int len, rc;
    const char *v = (const char *)get_raw(c, node, name, required, &len, &rc);

    if (!v)
        return rc;
    if (len < 1 || v[len - 1] != '\0' || memchr(v, '\0', (size_t)len - 1))
        return reject(c, CONFIG_EFORMAT, name, "must be a single string");
    rc = check_str(c, name, "value", v, (size_t)len - 1, max, cls);
    if (rc < 0)
        return rc;
    memcpy(dst, v, (size_t)len);
    return 1;
}

/* A string from names[] (NULL-terminated); *out = its index. */
static int get_enum(struct ctx *c, int node, const char *name, int required,
                    const char *const *names, unsigned *out)
{
    char buf[32], list[80] = "";
    int rc = get_str(c, node, name, required, buf, sizeof(buf) - 1, STR_TOKEN);

    if (rc <= 0)
        return rc;
    for (unsigned i = 0; names[i]; i++) {
        if (!strcmp(buf, names[i])) {
            *out = i;
            return 1;
        }
        append(list, sizeof(list), "%s%s", i ? "|" : "", names[i]);
    }
    return reject(c, CONFIG_EVALUE, name, "unknown %s '%s' (one of %s)", name, buf, list);
}

static const char *node_name(const struct ctx *c, int node)
{
    const char *n = fdt_get_name(c->fdt, node, NULL);

    return n ? n : "";
}

/* Every property of `node` must be in allowed[]; no subnodes if `leaf`. */
static int check_node(struct ctx *c, int node, const char *const *allowed,
                      int leaf, const char *what)
{
    int off, len;

    fdt_for_each_property_offset(off, c->fdt, node) {
        const char *name;
        const void *v = fdt_getprop_by_offset(c->fdt, off, &name, &len);
        unsigned i;

        if (!v)
            return reject_fdt(c, len);
        if (fdt_getprop(c->fdt, node, name, NULL) != v)    /* not the first one */
            return reject(c, CONFIG_EDUP, name, "duplicate property");
        if (!strcmp(name, "phandle") || !strcmp(name, "linux,phandle"))
            continue;
        for (i = 0; allowed[i] && strcmp(name, allowed[i]); i++)
            ;
        if (!allowed[i])
            return reject(c, CONFIG_EUNKNOWN, name, "unknown property for %s", what);
    }
    if (off != -FDT_ERR_NOTFOUND)
        return reject_fdt(c, off);
    if (leaf && (off = fdt_first_subnode(c->fdt, node)) >= 0) {
        char parent[CONFIG_ERR_NODE];

        copy_str(parent, sizeof(parent), c->path);
        set_path(c, parent, node_name(c, off));
        return reject(c, CONFIG_EUNKNOWN, NULL, "unknown node (%s has no subnodes)", what);
    }
    return 0;
}

/* Name of a VM or port: `name` property, else the node name before '@'. */
static int get_name(struct ctx *c, int node, const char *what, char dst[CONFIG_NAME_MAX + 1])
{
    const char *n = node_name(c, node);
    const char *at = strchr(n, '@');
    size_t len = at ? (size_t)(at - n) : strlen(n);
    int rc = get_str(c, node, "name", 0, dst, CONFIG_NAME_MAX, STR_NAME);

    if (rc)
        return rc < 0 ? rc : 0;
    rc = check_str(c, NULL, what, n, len, CONFIG_NAME_MAX, STR_NAME);
    if (rc < 0)
        return rc;
    memcpy(dst, n, len);
    dst[len] = '\0';
    return 0;
}

static int find_vm(const struct nethv_config *cfg, const char *name)
{
    for (uint32_t i = 0; i < cfg->nvms; i++)
        if (!strcmp(cfg->vm[i].name, name))
            return (int)i;
    return -1;
}

/* A property naming a defined VM; *out = its index. */
static int get_vm_ref(struct ctx *c, int node, const char *prop, int required,
                      uint32_t *out)
{
    char name[CONFIG_NAME_MAX + 1];
    int rc = get_str(c, node, prop, required, name, CONFIG_NAME_MAX, STR_NAME);

    if (rc <= 0)
        return rc;
    rc = find_vm(c->cfg, name);
    if (rc < 0)
        return reject(c, CONFIG_EREF, prop, "unknown VM '%s'", name);
    *out = (uint32_t)rc;
    return 1;
}

/* ---- /vms ------------------------------------------------------------------- */

static const char *const vm_types[] = { "linux", "multiboot", "test", NULL };
static const char *const exit_names[] = { "halt", "reboot", "debug-exit", NULL };
static const char *const monitor_faults[] = { "none", "null", "loop", "wild-syscall", NULL };

static int parse_cpus(struct ctx *c, int node, struct config_vm *vm)
{
    int len, rc;
    const uint8_t *v = get_raw(c, node, "cpus", 1, &len, &rc);
    unsigned n;

    if (!v)
        return rc;
    if (len % 4)
        return reject(c, CONFIG_EFORMAT, "cpus", "must be a list of cells");
    n = (unsigned)len / 4;
    if (n != 1 && n != vm->vcpus)
        return reject(c, CONFIG_EVALUE, "cpus", "has %u entries, must be 1 or vcpus (%u)",
                      n, vm->vcpus);
    for (unsigned i = 0; i < vm->vcpus; i++) {
        uint32_t cpu = (uint32_t)be_load(v + 4 * (n == 1 ? 0 : i), 4);

        if (cpu >= CONFIG_MAX_HOST_CPUS)
            return reject(c, CONFIG_EVALUE, "cpus", "CPU %u out of range (max %u)",
                          cpu, CONFIG_MAX_HOST_CPUS - 1);
        vm->cpu[i] = cpu;
    }
    return 0;
}

static int parse_memmap(struct ctx *c, int node, struct config_vm *vm)
{
    static const char P[] = "memory-map";
    struct config_region *r = vm->region;
    uint64_t sum = 0;
    int len, rc;
    const uint8_t *v = get_raw(c, node, P, 0, &len, &rc);
    unsigned n, i, j;

    if (!v) {
        if (rc < 0)
            return rc;
        r[0].gpa = 0;
        r[0].size = vm->memory;
        vm->nregions = 1;
        return 0;
    }
    if (len == 0 || len % 16)
        return reject(c, CONFIG_EFORMAT, P, "must be <gpa-hi gpa-lo size-hi size-lo> entries");
    n = (unsigned)len / 16;
    if (n > CONFIG_MAX_REGIONS)
        return reject(c, CONFIG_ELIMIT, P, "too many regions (%u, max %u)", n, CONFIG_MAX_REGIONS);
    for (i = 0; i < n; i++) {
        struct config_region x = { be_load(v + 16 * i, 8), be_load(v + 16 * i + 8, 8) };

        if ((x.gpa | x.size) % CONFIG_REGION_ALIGN)
            return reject(c, CONFIG_EVALUE, P, "region %u is not 4 KiB aligned", i);
        if (x.size == 0)
            return reject(c, CONFIG_EVALUE, P, "region %u is empty", i);
        if (x.gpa >= CONFIG_MAX_GPA || x.size > CONFIG_MAX_GPA - x.gpa)
            return reject(c, CONFIG_EVALUE, P, "region %u ends above 0x%llx", i,
                          (unsigned long long)CONFIG_MAX_GPA);
        for (j = i; j > 0 && r[j - 1].gpa > x.gpa; j--)     /* insertion sort */
            r[j] = r[j - 1];
        r[j] = x;
        sum += x.size;          /* n * 2^40 at most: no overflow */
    }
    for (i = 1; i < n; i++)
        if (r[i].gpa < r[i - 1].gpa + r[i - 1].size)
            return reject(c, CONFIG_EOVERLAP, P,
                          "overlapping memory: 0x%llx+0x%llx and 0x%llx+0x%llx",
                          (unsigned long long)r[i - 1].gpa, (unsigned long long)r[i - 1].size,
                          (unsigned long long)r[i].gpa, (unsigned long long)r[i].size);
    if (sum != vm->memory)
        return reject(c, CONFIG_EVALUE, P, "regions sum to 0x%llx bytes, memory is 0x%llx",
                      (unsigned long long)sum, (unsigned long long)vm->memory);
    vm->nregions = n;
    return 0;
}

static int parse_vm(struct ctx *c, int node, struct config_vm *vm)
{
    static const char *const props[] = { "name", "memory", "vcpus", "cpus", "kernel",
        "initrd", "bootargs", "type", "memory-map", "console-rate", "monitor-fault", NULL };
    uint64_t v = 0;
    unsigned type = CONFIG_VM_LINUX;
    int rc;

    if ((rc = check_node(c, node, props, 1, "a VM")) < 0 ||
        (rc = get_name(c, node, "VM name", vm->name)) < 0)
        return rc;
    if (find_vm(c->cfg, vm->name) >= 0)
        return reject(c, CONFIG_EDUP, NULL, "duplicate VM name '%s'", vm->name);

    if ((rc = get_cells(c, node, "memory", 1, 2, &v)) < 0)
        return rc;
    if (v == 0 || v % CONFIG_MEM_ALIGN)
        return reject(c, CONFIG_EVALUE, "memory", "must be a non-zero multiple of 2 MiB (0x%llx)",
                      (unsigned long long)v);
    if (v > CONFIG_MAX_GPA)
        return reject(c, CONFIG_ELIMIT, "memory", "too large (0x%llx, max 0x%llx)",
                      (unsigned long long)v, (unsigned long long)CONFIG_MAX_GPA);
    vm->memory = v;

    if ((rc = get_cells(c, node, "vcpus", 1, 1, &v)) < 0)
        return rc;
    if (v < 1 || v > CONFIG_MAX_VCPUS)
        return reject(c, CONFIG_EVALUE, "vcpus", "must be 1..%u (%llu)", CONFIG_MAX_VCPUS,
                      (unsigned long long)v);
    vm->vcpus = (uint32_t)v;

    if ((rc = parse_cpus(c, node, vm)) < 0 ||
        (rc = get_str(c, node, "kernel", 1, vm->kernel, CONFIG_MODULE_MAX, STR_TOKEN)) < 0 ||
        (rc = get_str(c, node, "initrd", 0, vm->initrd, CONFIG_MODULE_MAX, STR_TOKEN)) < 0 ||
        (rc = get_str(c, node, "bootargs", 0, vm->bootargs, CONFIG_BOOTARGS_MAX, STR_TEXT)) < 0 ||
        (rc = get_enum(c, node, "type", 0, vm_types, &type)) < 0)
        return rc;
    vm->type = (enum config_vm_type)type;

    v = CONFIG_CONSOLE_RATE_DEFAULT;
    if ((rc = get_cells(c, node, "console-rate", 0, 1, &v)) < 0)
        return rc;
    if (v < CONFIG_CONSOLE_RATE_MIN || v > CONFIG_CONSOLE_RATE_MAX)
        return reject(c, CONFIG_EVALUE, "console-rate", "must be %u..%u bytes/s (%llu)",
                      CONFIG_CONSOLE_RATE_MIN, CONFIG_CONSOLE_RATE_MAX, (unsigned long long)v);
    vm->console_rate = (uint32_t)v;

    unsigned mf = CONFIG_MONFAULT_NONE;
    if ((rc = get_enum(c, node, "monitor-fault", 0, monitor_faults, &mf)) < 0)
        return rc;
    if (mf != CONFIG_MONFAULT_NONE && vm->type != CONFIG_VM_TEST)
        return reject(c, CONFIG_EVALUE, "monitor-fault", "only a type = \"test\" VM's monitor may fail on purpose");
    vm->monitor_fault = (enum config_monitor_fault)mf;
    return parse_memmap(c, node, vm);
}

/* ---- /net ------------------------------------------------------------------- */

static const char *const port_types[] = { "vm", "uplink", NULL };
static const char *const nic_names[] = CONFIG_NIC_NAMES;

static int parse_vm_port(struct ctx *c, int node, struct config_port *p)
{
    static const char *const props[] = { "name", "type", "vm", "mac", "vlan", "allowed-macs",
                                         "mtu", "promisc", "mac-change", NULL };
    static const char *const policy[] = { "deny", "allow", NULL };
    unsigned promisc = 0, mac_change = 0;
    const struct nethv_config *cfg = c->cfg;
    static const uint8_t zero[6];
    uint64_t vlan = 0;
    int len, rc;
    const uint8_t *mac;

    if ((rc = check_node(c, node, props, 1, "a vm port")) < 0 ||
        (rc = get_vm_ref(c, node, "vm", 1, &p->vm)) < 0 ||
        !(mac = get_raw(c, node, "mac", 1, &len, &rc)))
        return rc;
    if (len != 6)
        return reject(c, CONFIG_EFORMAT, "mac", "must be 6 bytes [xx xx xx xx xx xx], not %u",
                      (unsigned)len);
    if (mac[0] & 1)
        return reject(c, CONFIG_EVALUE, "mac", "must be unicast (multicast bit set)");
    if (!memcmp(mac, zero, 6))
        return reject(c, CONFIG_EVALUE, "mac", "must not be all-zero");
    for (uint32_t i = 0; i < cfg->nports; i++) {
        const struct config_port *o = &cfg->port[i];
        if (o->type != CONFIG_PORT_VM)
            continue;
        if (!memcmp(o->mac, mac, 6))
            return reject(c, CONFIG_EDUP, "mac", "duplicate MAC (also port '%s')", o->name);
        for (uint32_t k = 0; k < o->nallowed; k++)
            if (!memcmp(o->allowed[k], mac, 6))
                return reject(c, CONFIG_EDUP, "mac", "duplicate MAC (in port '%s''s allowed-macs)",
                              o->name);
    }
    memcpy(p->mac, mac, 6);

    if ((rc = get_cells(c, node, "vlan", 0, 1, &vlan)) < 0)
        return rc;
    if (vlan > CONFIG_VLAN_MAX)
        return reject(c, CONFIG_EVALUE, "vlan", "must be 0..%u (%llu)", CONFIG_VLAN_MAX,
                      (unsigned long long)vlan);
    p->vlan = (uint16_t)vlan;

    uint64_t mtu = CONFIG_MTU_DEFAULT;
    if ((rc = get_cells(c, node, "mtu", 0, 1, &mtu)) < 0)
        return rc;
    if (mtu < CONFIG_MTU_MIN || mtu > CONFIG_MTU_MAX)
        return reject(c, CONFIG_EVALUE, "mtu", "must be %u..%u (%llu)", CONFIG_MTU_MIN, CONFIG_MTU_MAX,
                      (unsigned long long)mtu);
    p->mtu = (uint32_t)mtu;
    if ((rc = get_enum(c, node, "promisc", 0, policy, &promisc)) < 0 ||
        (rc = get_enum(c, node, "mac-change", 0, policy, &mac_change)) < 0)
        return rc;
    p->allow_promisc = (uint8_t)promisc;
    p->allow_mac_change = (uint8_t)mac_change;

    const uint8_t *am = get_raw(c, node, "allowed-macs", 0, &len, &rc);
    if (rc < 0)
        return rc;
    if (am) {
        if (len == 0 || len % 6)
            return reject(c, CONFIG_EFORMAT, "allowed-macs",
                          "must be 6 bytes per MAC [xx xx xx xx xx xx ...], not %u", (unsigned)len);
        if (len / 6 > CONFIG_MAX_ALLOWED_MACS)
            return reject(c, CONFIG_ELIMIT, "allowed-macs", "at most %u MACs, not %u",
                          CONFIG_MAX_ALLOWED_MACS, (unsigned)(len / 6));
        for (int i = 0; i < len / 6; i++) {
            const uint8_t *m = am + 6 * i;
            if (m[0] & 1)
                return reject(c, CONFIG_EVALUE, "allowed-macs",
                              "MAC %u must be unicast (multicast bit set)", (unsigned)i + 1);
            if (!memcmp(m, zero, 6))
                return reject(c, CONFIG_EVALUE, "allowed-macs", "MAC %u must not be all-zero", (unsigned)i + 1);
            if (!memcmp(m, p->mac, 6))
                return reject(c, CONFIG_EDUP, "allowed-macs", "MAC %u is the port's own `mac`", (unsigned)i + 1);
            for (uint32_t j = 0; j < cfg->nports; j++) {
                const struct config_port *o = &cfg->port[j];
                bool taken = o->type == CONFIG_PORT_VM && !memcmp(o->mac, m, 6);
                for (uint32_t k = 0; o->type == CONFIG_PORT_VM && k < o->nallowed; k++)
                    taken |= !memcmp(o->allowed[k], m, 6);
                if (taken)
                    return reject(c, CONFIG_EDUP, "allowed-macs",
                                  "MAC %u is port '%s''s already", (unsigned)i + 1, o->name);
            }
            for (int k = 0; k < i; k++)
                if (!memcmp(am + 6 * k, m, 6))
                    return reject(c, CONFIG_EDUP, "allowed-macs", "MAC %u repeats MAC %u",
                                  (unsigned)i + 1, (unsigned)k + 1);
            memcpy(p->allowed[i], m, 6);
        }
        p->nallowed = (uint32_t)(len / 6);
    }
    return 0;
}

static int parse_uplink(struct ctx *c, int node, struct config_port *p)
{
    static const char *const props[] = { "name", "type", "nic", NULL };
    unsigned nic = CONFIG_NIC_AUTO, uplinks = 0;
    int rc;

    for (uint32_t i = 0; i < c->cfg->nports; i++)
        uplinks += c->cfg->port[i].type == CONFIG_PORT_UPLINK;
    if (uplinks >= CONFIG_MAX_UPLINKS)
        return reject(c, CONFIG_ELIMIT, NULL, "too many uplink ports (max %u)",
                      CONFIG_MAX_UPLINKS);
    if ((rc = check_node(c, node, props, 1, "an uplink port")) < 0 ||
        (rc = get_enum(c, node, "nic", 1, nic_names, &nic)) < 0)
        return rc;
    p->nic = (enum config_nic)nic;
    p->mtu = CONFIG_MTU_DEFAULT;
    return 0;
}

static int parse_port(struct ctx *c, int node, struct config_port *p)
{
    unsigned type;
    int rc;

    if ((rc = get_name(c, node, "port name", p->name)) < 0)
        return rc;
    for (uint32_t i = 0; i < c->cfg->nports; i++)
        if (!strcmp(c->cfg->port[i].name, p->name))
            return reject(c, CONFIG_EDUP, NULL, "duplicate port name '%s'", p->name);
    if ((rc = get_enum(c, node, "type", 1, port_types, &type)) < 0)
        return rc;
    p->type = (enum config_port_type)type;
    return type == CONFIG_PORT_VM ? parse_vm_port(c, node, p) : parse_uplink(c, node, p);
}

/* ---- the tree ----------------------------------------------------------- */

/* Parse every child of the node at `parent` (path `ppath`) with `one`. */
static int parse_children(struct ctx *c, const char *ppath, int parent, const char *what,
                          uint32_t max, uint32_t *count,
                          int (*one)(struct ctx *, int, uint32_t))
{
    int node, rc;

    fdt_for_each_subnode(node, c->fdt, parent) {
        set_path(c, ppath, node_name(c, node));
        if (*count == max) {
            copy_str(c->path, sizeof(c->path), ppath);
            return reject(c, CONFIG_ELIMIT, NULL, "too many %s (max %u)", what, max);
        }
        if ((rc = one(c, node, *count)) < 0)
            return rc;
        ++*count;
    }
    return node == -FDT_ERR_NOTFOUND ? 0 : reject_fdt(c, node);
}

static int one_vm(struct ctx *c, int node, uint32_t i)
{
    return parse_vm(c, node, &c->cfg->vm[i]);
}

static int one_port(struct ctx *c, int node, uint32_t i)
{
    return parse_port(c, node, &c->cfg->port[i]);
}

static int parse_global(struct ctx *c, int node)
{
    static const char *const props[] = { "console-vm", "exit", NULL };
    unsigned e = CONFIG_EXIT_HALT;
    int rc;

    if ((rc = check_node(c, node, props, 1, "/nethv")) < 0 ||
        (rc = get_vm_ref(c, node, "console-vm", 0, &c->cfg->console_vm)) < 0 ||
        (rc = get_enum(c, node, "exit", 0, exit_names, &e)) < 0)
        return rc;
    c->cfg->exit = (enum config_exit)e;
    return 0;
}

/*
 * One walk over the structure block with overflow-proof arithmetic, before
 * libfdt walks it: libfdt 1.6.1's fdt_next_tag() adds a property's length to
 * an int, so a length near 2^32 sends it back to the same tag forever (found
 * by fuzz_config.c).  Nesting and strings are left to fdt_check_full().
 */
static int check_struct(struct ctx *c, const uint8_t *blob)
{
    const uint8_t *s = blob + fdt_off_dt_struct(blob);
    uint64_t size = fdt_size_dt_struct(blob), pos = 0;

    while (size - pos >= 4) {
        uint32_t tag = (uint32_t)be_load(s + pos, 4);
        const uint8_t *nul;

        pos += 4;
        if (tag == FDT_END)
            return 0;
        if (tag == FDT_BEGIN_NODE) {
            if (!(nul = memchr(s + pos, '\0', size - pos)))
                break;
            pos += (uint64_t)(nul - (s + pos)) + 1;
        } else if (tag == FDT_PROP) {
            if (size - pos < 8)
                break;
            pos += 8 + be_load(s + pos, 4);
        } else if (tag != FDT_END_NODE && tag != FDT_NOP) {
            break;
        }
        pos = (pos + 3) & ~3ull;
        if (pos > size)
            break;
    }
    return reject(c, CONFIG_EBLOB, NULL, "bad device tree: broken structure block");
}

static int check_blob(struct ctx *c, const void *dtb, size_t len)
{
    int rc;

    if (!dtb || len < sizeof(struct fdt_header))
        return reject(c, CONFIG_EBLOB, NULL, "blob too small (%llu bytes)",
                      (unsigned long long)len);
    if ((uintptr_t)dtb % 8)
        return reject(c, CONFIG_EBLOB, NULL, "blob not 8-byte aligned");
    if (len > CONFIG_DTB_MAX)
        return reject(c, CONFIG_EBLOB, NULL, "blob too large (%llu bytes, max %u)",
                      (unsigned long long)len, CONFIG_DTB_MAX);
    if ((rc = fdt_check_header(dtb)) != 0)
        return reject_fdt(c, rc);
    /* < 16 names nodes by full path; libfdt 1.6.1's fdt_check_full() then
     * dereferences NULL (found by fuzz_config.c).  dtc writes 17. */
    if (fdt_version(dtb) < 17)
        return reject(c, CONFIG_EBLOB, NULL, "unsupported DTB version %u (need 17)",
                      fdt_version(dtb));
    if (fdt_totalsize(dtb) > len)
        return reject(c, CONFIG_EBLOB, NULL, "truncated blob (%u of %u bytes)",
                      (unsigned)len, fdt_totalsize(dtb));
    if ((rc = check_struct(c, dtb)) < 0)
        return rc;
    if ((rc = fdt_check_full(dtb, len)) != 0)
        return reject_fdt(c, rc);
    return 0;
}

static int parse_root(struct ctx *c)
{
    static const char *const props[] = { "compatible", "model", "#address-cells",
        "#size-cells", NULL };
    static const char *const none[] = { NULL };
    struct nethv_config *cfg = c->cfg;
    int node, len, rc;
    const char *compat;

    copy_str(c->path, sizeof(c->path), "/");
    if ((rc = check_node(c, 0, props, 0, "the root node")) < 0)
        return rc;
    compat = (const char *)get_raw(c, 0, "compatible", 1, &len, &rc);
    if (!compat)
        return rc;
    if (!fdt_stringlist_contains(compat, len, CONFIG_COMPATIBLE))
        return reject(c, CONFIG_EVALUE, "compatible", "must contain \"%s\"", CONFIG_COMPATIBLE);
    fdt_for_each_subnode(node, c->fdt, 0) {
        const char *n = node_name(c, node);

        set_path(c, "/", n);
        if (strcmp(n, "vms") && strcmp(n, "net") && strcmp(n, "nethv"))
            return reject(c, CONFIG_EUNKNOWN, NULL, "unknown node (expected vms, net, nethv)");
        if (fdt_subnode_offset(c->fdt, 0, n) != node)
            return reject(c, CONFIG_EDUP, NULL, "duplicate node");
    }

    if ((node = fdt_subnode_offset(c->fdt, 0, "vms")) < 0) {
        copy_str(c->path, sizeof(c->path), "/vms");
        return reject(c, CONFIG_EMISSING, NULL, "missing required node");
    }
    copy_str(c->path, sizeof(c->path), "/vms");
    if ((rc = check_node(c, node, none, 0, "/vms")) < 0 ||
        (rc = parse_children(c, "/vms", node, "VMs", CONFIG_MAX_VMS, &cfg->nvms, one_vm)) < 0)
        return rc;
    if (cfg->nvms == 0) {
        copy_str(c->path, sizeof(c->path), "/vms");
        return reject(c, CONFIG_EMISSING, NULL, "no VMs defined");
    }

    if ((node = fdt_subnode_offset(c->fdt, 0, "net")) >= 0) {
        copy_str(c->path, sizeof(c->path), "/net");
        if ((rc = check_node(c, node, none, 0, "/net")) < 0 ||
            (rc = parse_children(c, "/net", node, "ports", CONFIG_MAX_PORTS, &cfg->nports,
                                 one_port)) < 0)
            return rc;
    }
    if ((node = fdt_subnode_offset(c->fdt, 0, "nethv")) >= 0) {
        copy_str(c->path, sizeof(c->path), "/nethv");
        return parse_global(c, node);
    }
    return 0;
}

int config_parse(const void *dtb, size_t len, struct nethv_config *out,
                 struct config_error *err)
{
    struct ctx c = { .fdt = dtb, .cfg = out, .err = err };
    int rc;

    if (err)
        memset(err, 0, sizeof(*err));
    memset(out, 0, sizeof(*out));
    if ((rc = check_blob(&c, dtb, len)) < 0)
        return rc;
    return parse_root(&c);
}

/* ---- summary ------------------------------------------------------------ */

/* names[v] of a NULL-terminated list; "?" past its end */
static const char *name_of(const char *const *names, unsigned v)
{
    for (unsigned i = 0; names[i]; i++)
        if (i == v)
            return names[i];
    return "?";
}


static void print_vm(const struct config_vm *vm, char *b, size_t cap)
{
    snprintf(b, cap, "config: vm %s: %s, %u vcpu%s on cpu", vm->name,
             name_of(vm_types, vm->type), vm->vcpus, vm->vcpus > 1 ? "s" : "");
    for (uint32_t i = 0; i < vm->vcpus && i < CONFIG_MAX_VCPUS; i++)
        append(b, cap, "%s%u", i ? "," : " ", vm->cpu[i]);
    append(b, cap, ", %llu MiB", (unsigned long long)(vm->memory >> 20));
    if (vm->nregions > 1 || vm->region[0].gpa != 0)
        for (uint32_t i = 0; i < vm->nregions && i < CONFIG_MAX_REGIONS; i++)
            append(b, cap, "%s0x%llx+0x%llx", i ? "," : " at ",
                   (unsigned long long)vm->region[i].gpa,
                   (unsigned long long)vm->region[i].size);
    append(b, cap, ", kernel %s", vm->kernel);
    if (vm->initrd[0])
        append(b, cap, ", initrd %s", vm->initrd);
    if (vm->bootargs[0])
        append(b, cap, ", bootargs \"%s\"", vm->bootargs);
    if (vm->console_rate != CONFIG_CONSOLE_RATE_DEFAULT)
        append(b, cap, ", console %u bytes/s", vm->console_rate);
}

static void print_port(const struct nethv_config *cfg, const struct config_port *p,
                       char *b, size_t cap)
{
    if (p->type == CONFIG_PORT_UPLINK) {
        snprintf(b, cap, "config: port %s: uplink, nic %s", p->name, config_nic_name(p->nic));
        return;
    }
    snprintf(b, cap, "config: port %s: vm %s, mac " MAC_FMT, p->name,
             p->vm < cfg->nvms ? cfg->vm[p->vm].name : "?", MAC_ARGS(p->mac));
    if (p->vlan)
        append(b, cap, ", vlan %u", p->vlan);
    else
        append(b, cap, ", untagged");
    for (uint32_t i = 0; i < p->nallowed; i++)
        append(b, cap, "%s" MAC_FMT, i ? " " : ", also from ", MAC_ARGS(p->allowed[i]));
    if (p->mtu != CONFIG_MTU_DEFAULT)
        append(b, cap, ", mtu %u", p->mtu);
    if (p->allow_promisc)
        append(b, cap, ", promisc allowed");
    if (p->allow_mac_change)
        append(b, cap, ", mac-change allowed");
}

void config_print(const struct nethv_config *cfg, config_printf_fn pr)
{
    char line[CONFIG_BOOTARGS_MAX + 256];

    pr("config: %u vm%s, %u port%s, console vm %s, exit %s\n",
       cfg->nvms, cfg->nvms == 1 ? "" : "s", cfg->nports, cfg->nports == 1 ? "" : "s",
       cfg->console_vm < cfg->nvms ? cfg->vm[cfg->console_vm].name : "-",
       name_of(exit_names, cfg->exit));
    for (uint32_t i = 0; i < cfg->nvms && i < CONFIG_MAX_VMS; i++) {
        print_vm(&cfg->vm[i], line, sizeof(line));
        pr("%s\n", line);
    }
    for (uint32_t i = 0; i < cfg->nports && i < CONFIG_MAX_PORTS; i++) {
        print_port(cfg, &cfg->port[i], line, sizeof(line));
        pr("%s\n", line);
    }
}
