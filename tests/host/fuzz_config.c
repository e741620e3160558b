/*
 * libFuzzer target for config_parse() (user/config.c, unity build).
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *            -DNETHV_HOST=1 -Iinclude tests/host/fuzz_config.c -lfdt -o build/fuzz_config
 *        (or `make fuzz-build`: build/fuzz/fuzz_config)
 * Run:   mkdir -p build/fuzz-corpus
 *        build/fuzz_config -max_total_time=30 build/fuzz-corpus build/config
 *        (build/config: the DTBs built from config/, as extra seeds)
 *
 * An input that starts with 'G' drives a generator which builds a well-formed
 * tree from schema words and edge values, so the fuzzer reaches the semantic
 * checks; any other input is handed over as a raw DTB.  After a successful
 * parse the result must satisfy the documented invariants.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libfdt.h>

#include "../../user/config.c"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

#include "fuzz_input.h"

static const char *const words[] = {
    "a", "b", "c", "", "vm", "uplink", "auto", "e1000", "e1000e", "virtio-net",
    "linux", "multiboot", "test", "halt", "reboot", "debug-exit", "vmlinuz",
    "initrd.img", "console=ttyS0", "nethv,config-1", "abcdefghijklmnop", "A",
};
static const char *const props[] = {
    "compatible", "console-vm", "exit", "name", "memory", "vcpus", "cpus", "kernel",
    "initrd", "bootargs", "type", "memory-map", "vm", "mac", "vlan", "nic", "phandle",
    "bogus",
};
static const char *const nodes[] = {
    "a", "b", "c", "a@1", "p0", "p1", "up", "A", "abcdefghijklmnop", "x",
};
static const uint32_t cells[] = {
    0, 1, 2, 3, 8, 9, 255, 256, 4094, 4095, 0x1000, 0x200000, 0x10000000,
    0x40000000, 0xc0000000, 0xfffff000, 0xffffffff,
};

static void put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

/* A property value in buf[256]; returns its length. */
static int gen_value(struct in *in, uint8_t *buf)
{
    unsigned k = get8(in), n = get8(in) % 17, i;

    switch (k % 5) {
    case 0: {
        const char *w = words[get8(in) % N(words)];

        memcpy(buf, w, strlen(w) + 1);
        return (int)strlen(w) + 1;
    }
    case 1:             /* n cells from the edge values */
        for (i = 0; i < n; i++)
            put32(buf + 4 * i, cells[get8(in) % N(cells)]);
        return 4 * (int)n;
    case 2:             /* n raw cells */
        for (i = 0; i < n; i++)
            put32(buf + 4 * i, get32(in));
        return 4 * (int)n;
    default:            /* raw bytes (MACs, broken strings) */
        n = get8(in) % 40;
        for (i = 0; i < n; i++)
            buf[i] = (uint8_t)get8(in);
        return (int)n;
    }
}

/* Random properties; returns a mask of the props[] used. */
static uint32_t gen_props(struct in *in, void *fdt)
{
    unsigned n = get8(in) % 10;
    uint32_t used = 0;
    uint8_t buf[256];

    for (unsigned i = 0; i < n; i++) {
        unsigned k = get8(in) % N(props);
        int len = gen_value(in, buf);

        fdt_property(fdt, props[k], buf, len);     /* duplicates allowed */
        used |= 1u << k;
    }
    return used;
}

static void set_default(void *fdt, uint32_t used, const char *name, const void *v, int len)
{
    for (unsigned k = 0; k < N(props); k++)
        if (!strcmp(props[k], name) && (used & (1u << k)))
            return;
    fdt_property(fdt, name, v, len);
}

/* Valid values for the required properties the random ones left out, so
 * that nodes get past their early checks often enough to reach later ones. */
static void gen_defaults(void *fdt, const char *section, unsigned i, uint32_t used)
{
    static const uint8_t mem[] = { 0, 0, 0, 0, 0x10, 0, 0, 0 }, one[] = { 0, 0, 0, 1 };
    const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, (uint8_t)i };

    if (!strcmp(section, "vms")) {
        set_default(fdt, used, "memory", mem, sizeof(mem));
        set_default(fdt, used, "vcpus", one, sizeof(one));
        set_default(fdt, used, "cpus", one, sizeof(one));
        set_default(fdt, used, "kernel", "k", 2);
    } else if (!strcmp(section, "net")) {
        set_default(fdt, used, "type", "vm", 3);
        set_default(fdt, used, "vm", "a", 2);
        set_default(fdt, used, "mac", mac, sizeof(mac));
    }
}

static void gen_section(struct in *in, void *fdt, const char *name)
{
    unsigned n = get8(in) % 20;

    if (fdt_begin_node(fdt, name))
        return;
    for (unsigned i = 0; i < n; i++) {
        const char *base = nodes[get8(in) % N(nodes)];
        char node[32];

        if (get8(in) & 1)
            snprintf(node, sizeof(node), "%s%u", base, i);
        else
            snprintf(node, sizeof(node), "%s", base);
        if (fdt_begin_node(fdt, node))
            return;
        uint32_t used = gen_props(in, fdt);

        if (get8(in) & 1)
            gen_defaults(fdt, name, i, used);
        fdt_end_node(fdt);
    }
    fdt_end_node(fdt);
}

static size_t generate(struct in *in, void *fdt, size_t cap)
{
    static const char *const sections[] = { "nethv", "vms", "net", "foo" };
    unsigned mask = get8(in);

    if (fdt_create(fdt, (int)cap) || fdt_finish_reservemap(fdt) || fdt_begin_node(fdt, ""))
        return 0;
    if (get8(in) % 8)
        fdt_property_string(fdt, "compatible", "nethv,config-1");
    for (unsigned s = 0; s < N(sections); s++)
        if (mask & (1u << s))
            gen_section(in, fdt, sections[s]);
    if (fdt_end_node(fdt) || fdt_finish(fdt))
        return 0;
    return fdt_totalsize(fdt);
}

static void sink(const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    CHECK(!strncmp(line, "config: ", 8));
}

static void check_config(const struct nethv_config *c)
{
    CHECK(c->nvms >= 1 && c->nvms <= CONFIG_MAX_VMS && c->nports <= CONFIG_MAX_PORTS);
    CHECK(c->console_vm < c->nvms);
    for (uint32_t i = 0; i < c->nvms; i++) {
        const struct config_vm *v = &c->vm[i];
        uint64_t sum = 0;

        CHECK(v->name[0] && strlen(v->name) <= CONFIG_NAME_MAX);
        CHECK(v->vcpus >= 1 && v->vcpus <= CONFIG_MAX_VCPUS);
        CHECK(v->memory && v->memory % CONFIG_MEM_ALIGN == 0 && v->kernel[0]);
        CHECK(v->nregions >= 1 && v->nregions <= CONFIG_MAX_REGIONS);
        for (uint32_t r = 0; r < v->nregions; r++) {
            CHECK(r == 0 || v->region[r].gpa >= v->region[r - 1].gpa + v->region[r - 1].size);
            CHECK(v->region[r].gpa + v->region[r].size <= CONFIG_MAX_GPA);
            sum += v->region[r].size;
        }
        CHECK(sum == v->memory);
        for (uint32_t j = 0; j < i; j++)
            CHECK(strcmp(v->name, c->vm[j].name));
    }
    for (uint32_t i = 0; i < c->nports; i++) {
        const struct config_port *p = &c->port[i];

        if (p->type == CONFIG_PORT_VM) {
            CHECK(p->vm < c->nvms && p->vlan <= CONFIG_VLAN_MAX && !(p->mac[0] & 1));
            for (uint32_t j = 0; j < i; j++)
                CHECK(c->port[j].type != CONFIG_PORT_VM || memcmp(p->mac, c->port[j].mac, 6));
        }
    }
    config_print(c, sink);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint64_t gen[65536 / 8];
    static struct nethv_config cfg;
    struct config_error err;
    uint8_t *blob;

    if (size && data[0] == 'G') {
        struct in in = { data + 1, size - 1 };

        size = generate(&in, gen, sizeof(gen));
        if (!size)
            return 0;
        data = (const uint8_t *)gen;
    }
    /* an exact-size heap copy (malloc aligns to 16): ASan sees any overread */
    blob = malloc(size ? size : 1);
    if (!blob)
        return 0;
    memcpy(blob, data, size);
    if (config_parse(blob, size, &cfg, &err) == 0) {
        CHECK(err.code == 0);
        check_config(&cfg);
    } else {
        CHECK(err.code > 0 && err.msg[0]);
        CHECK(strlen(err.node) < CONFIG_ERR_NODE && strlen(err.prop) < CONFIG_ERR_PROP);
    }
    free(blob);
    return 0;
}
