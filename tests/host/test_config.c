/*
 * Host tests for user/config.c (unity build).  Each case starts from one
 * good configuration (good[] below), applies a few edits, builds the DTB in
 * memory with libfdt's sequential-write API and checks either the parsed
 * result or the error's code, node, property and message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <libfdt.h>

#include "../../user/config.c"

/* Tables below list only the fields they need. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- a tiny tree description -------------------------------------------- */

enum { OP_SET, OP_DEL, OP_DELNODE, OP_ADD };     /* ADD: append, even if present */

struct tprop {
    const char *node;   /* "/" = root; NULL ends an edit list */
    const char *name;   /* NULL: the node itself */
    const void *val;
    int         len;
    int         op;
};

#define BE(x)      (uint8_t)((x) >> 24), (uint8_t)((x) >> 16), (uint8_t)((x) >> 8), (uint8_t)(x)
#define BYTES(...) (const uint8_t[]){ __VA_ARGS__ }, (int)sizeof((const uint8_t[]){ __VA_ARGS__ })
#define U32(x)     BYTES(BE(x))
#define U64(hi, lo) BYTES(BE(hi), BE(lo))
#define STR(s)     s, (int)sizeof(s)
#define REGION(gh, gl, sh, sl) BE(gh), BE(gl), BE(sh), BE(sl)
#define DEL(n, p)  { n, p, NULL, 0, OP_DEL }
#define DELNODE(n) { n, NULL, NULL, 0, OP_DELNODE }
#define NODE(n)    { n, NULL, NULL, 0, OP_SET }
#define ADD(n, p, ...) { n, p, __VA_ARGS__, OP_ADD }

static const struct tprop good[] = {
    { "/", "compatible", STR("nethv,config-1") },
    { "/nethv", "console-vm", STR("b") },
    { "/nethv", "exit", STR("debug-exit") },
    { "/vms/a", "memory", U64(0, 0x10000000) },
    { "/vms/a", "vcpus", U32(1) },
    { "/vms/a", "cpus", U32(0) },
    { "/vms/a", "kernel", STR("vmlinuz") },
    { "/vms/a", "initrd", STR("initrd.img") },
    { "/vms/a", "bootargs", STR("console=ttyS0") },
    { "/vms/b", "memory", U64(1, 0) },
    { "/vms/b", "vcpus", U32(2) },
    { "/vms/b", "cpus", BYTES(BE(2), BE(3)) },
    { "/vms/b", "kernel", STR("mb.elf") },
    { "/vms/b", "type", STR("multiboot") },
    { "/vms/b", "memory-map", BYTES(REGION(1, 0, 0, 0x40000000), REGION(0, 0, 0, 0xc0000000)) },
    { "/net/pa", "type", STR("vm") },
    { "/net/pa", "vm", STR("a") },
    { "/net/pa", "mac", BYTES(0x52, 0x54, 0, 0, 0, 0x0a) },
    { "/net/pb", "type", STR("vm") },
    { "/net/pb", "vm", STR("b") },
    { "/net/pb", "mac", BYTES(0x52, 0x54, 0, 0, 0, 0x0b) },
    { "/net/pb", "vlan", U32(100) },
    { "/net/up", "type", STR("uplink") },
    { "/net/up", "nic", STR("e1000e") },
    { NULL },
};

#define MAXP 256
struct tree {
    struct tprop p[MAXP];
    int n;
};

static int under(const char *path, const char *node)
{
    size_t n = strlen(node);

    return !strcmp(path, node) || (!strncmp(path, node, n) && path[n] == '/');
}

static void tree_edit(struct tree *t, const struct tprop *e)
{
    int i, j;

    for (i = j = 0; i < t->n; i++) {
        const struct tprop *p = &t->p[i];
        int same = !strcmp(p->node, e->node) && p->name && e->name && !strcmp(p->name, e->name);

        if (e->op == OP_DELNODE ? under(p->node, e->node) : (same && e->op == OP_DEL))
            continue;
        if (same && e->op == OP_SET) {
            t->p[j++] = *e;
            e = NULL;       /* done */
            for (i++; i < t->n; i++)
                t->p[j++] = t->p[i];
            break;
        }
        t->p[j++] = t->p[i];
    }
    t->n = j;
    if (e && (e->op == OP_SET || e->op == OP_ADD)) {
        assert_true(t->n < MAXP);
        t->p[t->n++] = *e;
    }
}

static void tree_edits(struct tree *t, const struct tprop *e)
{
    for (; e->node; e++)
        tree_edit(t, e);
}

static void tree_set(struct tree *t, const char *node, const char *name, const void *val, int len)
{
    struct tprop e = { node, name, val, len, OP_SET };

    tree_edit(t, &e);
}

/* A minimal valid VM at `node`. */
static void tree_vm(struct tree *t, const char *node)
{
    static const uint8_t mem[] = { BE(0), BE(0x200000) }, one[] = { BE(1) }, zero[] = { BE(0) };

    tree_set(t, node, "memory", mem, sizeof(mem));
    tree_set(t, node, "vcpus", one, sizeof(one));
    tree_set(t, node, "cpus", zero, sizeof(zero));
    tree_set(t, node, "kernel", STR("k"));
}

/* Emit the node at `path`, its properties, then its children in first-seen order. */
static void emit(void *fdt, const struct tree *t, const char *path)
{
    const char *prefix = strcmp(path, "/") ? path : "";
    size_t plen = strlen(prefix);
    char done[64][256];
    int ndone = 0;

    char name[256];

    /* "a#2" is emitted as a second node named "a" */
    snprintf(name, sizeof(name), "%.*s", (int)strcspn(strrchr(path, '/') + 1, "#"),
             strrchr(path, '/') + 1);
    assert_int_equal(fdt_begin_node(fdt, name), 0);
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->p[i].node, path) && t->p[i].name)
            assert_int_equal(fdt_property(fdt, t->p[i].name, t->p[i].val, t->p[i].len), 0);
    for (int i = 0; i < t->n; i++) {
        const char *n = t->p[i].node;
        char child[256];
        int k;

        if (strncmp(n, prefix, plen) || n[plen] != '/' || !n[plen + 1])
            continue;
        snprintf(child, sizeof(child), "%s/%.*s", prefix,
                 (int)strcspn(n + plen + 1, "/"), n + plen + 1);
        for (k = 0; k < ndone && strcmp(done[k], child); k++)
            ;
        if (k < ndone)
            continue;
        assert_true(ndone < 64);
        strcpy(done[ndone++], child);
        emit(fdt, t, child);
    }
    assert_int_equal(fdt_end_node(fdt), 0);
}

static uint64_t blob[16384];            /* 128 KiB, 8-byte aligned */

static size_t build(const struct tree *t)
{
    memset(blob, 0, sizeof(blob));
    assert_int_equal(fdt_create(blob, sizeof(blob)), 0);
    assert_int_equal(fdt_finish_reservemap(blob), 0);
    emit(blob, t, "/");
    assert_int_equal(fdt_finish(blob), 0);
    return fdt_totalsize(blob);
}

static void tree_good(struct tree *t)
{
    t->n = 0;
    tree_edits(t, good);
}

static struct nethv_config cfg;
static struct config_error err;

/* ---- test cases ------------------------------------------------------------ */

struct tcase {
    const char  *name;
    struct tprop edit[7];     /* up to 6 edits, NULL-terminated */
    void       (*tree_hook)(struct tree *t);
    const void *(*blob_hook)(uint8_t *b, size_t *len);
    void       (*check)(const struct nethv_config *c);      /* good cases */
    int          code;                                      /* 0: must parse */
    const char  *node, *prop, *msg;
};

#define ERR(c, n, p, m) .code = CONFIG_##c, .node = n, .prop = p, .msg = m

/* Hooks for the cases that need loops, long values or a broken blob. */
static void many_vms(struct tree *t, int n)
{
    static char path[CONFIG_MAX_VMS + 1][24];

    for (int i = 0; i < n; i++) {
        snprintf(path[i], sizeof(path[i]), "/vms/v%d", i);
        tree_vm(t, path[i]);
    }
}
static void vms_16(struct tree *t) { many_vms(t, CONFIG_MAX_VMS - 2); }
static void vms_17(struct tree *t) { many_vms(t, CONFIG_MAX_VMS - 1); }

static void many_ports(struct tree *t, int n)
{
    static char path[CONFIG_MAX_PORTS + 1][24];
    static uint8_t mac[CONFIG_MAX_PORTS + 1][6];

    for (int i = 0; i < n; i++) {
        snprintf(path[i], sizeof(path[i]), "/net/p%d", i);
        memcpy(mac[i], (uint8_t[]){ 0x02, 0, 0, 0, 1, (uint8_t)i }, 6);
        tree_set(t, path[i], "type", STR("vm"));
        tree_set(t, path[i], "vm", STR("a"));
        tree_set(t, path[i], "mac", mac[i], 6);
    }
}
static void ports_32(struct tree *t) { many_ports(t, CONFIG_MAX_PORTS - 3); }
static void ports_33(struct tree *t) { many_ports(t, CONFIG_MAX_PORTS - 2); }

static void long_name_node(struct tree *t) { tree_vm(t, "/vms/abcdefghijklmnop"); }
static void name_15_node(struct tree *t) { tree_vm(t, "/vms/abcdefghijklmno"); }
static void unit_address(struct tree *t) { tree_vm(t, "/vms/c@1"); tree_vm(t, "/vms/c@2"); }

static void long_bootargs(struct tree *t)
{
    static char s[CONFIG_BOOTARGS_MAX + 2];

    memset(s, 'x', sizeof(s) - 1);
    tree_set(t, "/vms/a", "bootargs", s, sizeof(s));
}

static void max_bootargs(struct tree *t)
{
    static char s[CONFIG_BOOTARGS_MAX + 1];

    memset(s, 'x', sizeof(s) - 1);
    tree_set(t, "/vms/a", "bootargs", s, sizeof(s));
}

static void nine_regions(struct tree *t)
{
    static uint8_t map[9 * 16];

    for (int i = 0; i < 9; i++) {
        uint8_t r[16] = { REGION(0, 0x400000 * i, 0, 0x200000) };
        memcpy(map + 16 * i, r, 16);
    }
    tree_set(t, "/vms/a", "memory-map", map, sizeof(map));
}

static const void *truncate1(uint8_t *b, size_t *len) { *len -= 1; return b; }
static const void *tiny(uint8_t *b, size_t *len) { *len = 16; return b; }
static const void *huge(uint8_t *b, size_t *len) { *len = CONFIG_DTB_MAX + 1; return b; }
static const void *bad_magic(uint8_t *b, size_t *len) { b[0] ^= 0xff; return b; }
static const void *old_version(uint8_t *b, size_t *len) { b[23] = 7; b[27] = 2; return b; }
static const void *null_blob(uint8_t *b, size_t *len) { return NULL; }
static const void *unaligned(uint8_t *b, size_t *len) { memmove(b + 4, b, *len); return b + 4; }

static const void *bad_tag(uint8_t *b, size_t *len)
{
    /* the struct block starts with the root's FDT_BEGIN_NODE: break the
     * first property's tag behind it (root name "" padded to 4 bytes) */
    uint32_t off = fdt_off_dt_struct(b) + 8;

    b[off] = 0x7f;
    return b;
}

static const void *prop_len_wrap(uint8_t *b, size_t *len)
{
    /* first property's length = -12: libfdt 1.6.1 alone would loop forever */
    uint32_t off = fdt_off_dt_struct(b) + 12;

    memcpy(b + off, (uint8_t[]){ 0xff, 0xff, 0xff, 0xf4 }, 4);
    return b;
}

static const void *no_end_tag(uint8_t *b, size_t *len)
{
    uint32_t off = fdt_off_dt_struct(b) + fdt_size_dt_struct(b) - 4;

    assert_int_equal(b[off + 3], FDT_END);
    b[off + 3] = FDT_NOP;
    return b;
}

static const void *bad_nesting(uint8_t *b, size_t *len)
{
    /* turn the final FDT_END_NODE into a NOP: root never closes */
    uint32_t off = fdt_off_dt_struct(b) + fdt_size_dt_struct(b) - 8;

    assert_int_equal(b[off + 3], FDT_END_NODE);
    b[off + 3] = FDT_NOP;
    return b;
}

/* Checks for the good variants. */
static void check_16_vms(const struct nethv_config *c)
{
    assert_int_equal(c->nvms, CONFIG_MAX_VMS);
    assert_string_equal(c->vm[CONFIG_MAX_VMS - 1].name, "v13");
}
static void check_32_ports(const struct nethv_config *c) { assert_int_equal(c->nports, 32); }
static void check_name_15(const struct nethv_config *c)
{
    assert_string_equal(c->vm[2].name, "abcdefghijklmno");
}
static void check_name_prop(const struct nethv_config *c)
{
    assert_string_equal(c->vm[0].name, "zed");
    assert_int_equal(c->port[0].vm, 0);
}
static void check_one_cpu(const struct nethv_config *c)
{
    assert_int_equal(c->vm[1].vcpus, 2);
    assert_int_equal(c->vm[1].cpu[0], 5);
    assert_int_equal(c->vm[1].cpu[1], 5);
}
static void check_adjacent(const struct nethv_config *c)
{
    assert_int_equal(c->vm[1].nregions, 2);
    assert_int_equal(c->vm[1].region[1].gpa, 0xc0000000);
}
static void check_monitor_fault(const struct nethv_config *c)
{
    assert_int_equal(c->vm[0].monitor_fault, CONFIG_MONFAULT_WILD_SYSCALL);
    assert_int_equal(c->vm[1].monitor_fault, CONFIG_MONFAULT_NONE);
}
static void check_bootargs(const struct nethv_config *c)
{
    assert_int_equal(strlen(c->vm[0].bootargs), CONFIG_BOOTARGS_MAX);
}
static void check_unit(const struct nethv_config *c) { assert_string_equal(c->vm[2].name, "c"); }
static void check_vlan_max(const struct nethv_config *c) { assert_int_equal(c->port[1].vlan, 4094); }
static void check_mtu(const struct nethv_config *c)
{
    assert_int_equal(c->port[0].mtu, CONFIG_MTU_DEFAULT);
    assert_int_equal(c->port[1].mtu, 9000);
}
static void check_policy(const struct nethv_config *c)
{
    assert_int_equal(c->port[0].allow_promisc, 0);
    assert_int_equal(c->port[0].allow_mac_change, 0);
    assert_int_equal(c->port[1].allow_promisc, 1);
    assert_int_equal(c->port[1].allow_mac_change, 1);
}
static void check_no_net(const struct nethv_config *c)
{
    assert_int_equal(c->nports, 0);
    assert_int_equal(c->console_vm, 0);
    assert_int_equal(c->exit, CONFIG_EXIT_HALT);
}

#define LONG64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct tcase cases[] = {
    /* good variants (limits reached, not passed) */
    { "ok_16_vms", .tree_hook = vms_16, .check = check_16_vms },
    { "ok_32_ports", .tree_hook = ports_32, .check = check_32_ports },
    { "ok_name_15_chars", .tree_hook = name_15_node, .check = check_name_15 },
    { "ok_name_property", { { "/vms/a", "name", STR("zed") }, { "/net/pa", "vm", STR("zed") } },
      .check = check_name_prop },
    { "unit_address_duplicate", .tree_hook = unit_address, .code = CONFIG_EDUP, .node = "/vms/c@2",
      .prop = "", .msg = "duplicate VM name 'c'" },
    { "ok_unit_address_one", { { "/vms/c@1", "memory", U64(0, 0x200000) },
      { "/vms/c@1", "vcpus", U32(1) }, { "/vms/c@1", "cpus", U32(0) },
      { "/vms/c@1", "kernel", STR("k") } }, .check = check_unit },
    { "ok_one_cpu_for_all", { { "/vms/b", "cpus", U32(5) } }, .check = check_one_cpu },
    { "ok_adjacent_regions", { { "/vms/b", "memory-map",
      BYTES(REGION(0, 0, 0, 0xc0000000), REGION(0, 0xc0000000, 0, 0x40000000)) } },
      .check = check_adjacent },
    { "ok_bootargs_511", .tree_hook = max_bootargs, .check = check_bootargs },
    { "ok_monitor_fault", { { "/vms/a", "type", STR("test") }, { "/vms/a", "monitor-fault", STR("wild-syscall") } },
      .check = check_monitor_fault },
    { "ok_vlan_4094", { { "/net/pb", "vlan", U32(4094) } }, .check = check_vlan_max },
    { "ok_mtu_9000", { { "/net/pb", "mtu", U32(9000) } }, .check = check_mtu },
    { "ok_policies", { { "/net/pb", "promisc", STR("allow") }, { "/net/pb", "mac-change", STR("allow") },
      { "/net/pa", "promisc", STR("deny") } }, .check = check_policy },
    { "ok_compatible_list", { { "/", "compatible", STR("acme,x\0nethv,config-1") } } },
    { "ok_phandle_ignored", { { "/vms/a", "phandle", U32(1) } } },
    { "ok_no_net_no_nethv", { DELNODE("/net"), DELNODE("/nethv") }, .check = check_no_net },
    { "ok_empty_net", { DELNODE("/net"), NODE("/net"), DELNODE("/nethv") }, .check = check_no_net },

    /* the blob */
    { "truncated_blob", .blob_hook = truncate1, ERR(EBLOB, "", "", "truncated blob") },
    { "blob_too_small", .blob_hook = tiny, ERR(EBLOB, "", "", "blob too small") },
    { "blob_too_large", .blob_hook = huge, ERR(EBLOB, "", "", "blob too large") },
    { "blob_null", .blob_hook = null_blob, ERR(EBLOB, "", "", "blob too small") },
    { "blob_bad_magic", .blob_hook = bad_magic, ERR(EBLOB, "", "", "BADMAGIC") },
    { "blob_old_version", .blob_hook = old_version, ERR(EBLOB, "", "", "DTB version 7") },
    { "blob_unaligned", .blob_hook = unaligned, ERR(EBLOB, "", "", "not 8-byte aligned") },
    { "blob_bad_tag", .blob_hook = bad_tag, ERR(EBLOB, "", "", "bad device tree") },
    { "blob_prop_len_wrap", .blob_hook = prop_len_wrap, ERR(EBLOB, "", "", "broken structure") },
    { "blob_no_end_tag", .blob_hook = no_end_tag, ERR(EBLOB, "", "", "broken structure") },
    { "blob_bad_nesting", .blob_hook = bad_nesting, ERR(EBLOB, "", "", "bad device tree") },

    /* root */
    { "compatible_missing", { DEL("/", "compatible") },
      ERR(EMISSING, "/", "compatible", "missing required property") },
    { "compatible_wrong", { { "/", "compatible", STR("nethv,config-2") } },
      ERR(EVALUE, "/", "compatible", "must contain \"nethv,config-1\"") },
    { "root_unknown_prop", { { "/", "bogus", U32(1) } }, ERR(EUNKNOWN, "/", "bogus", "unknown property") },
    { "root_unknown_node", { NODE("/chosen") }, ERR(EUNKNOWN, "/chosen", "", "unknown node") },
    { "root_duplicate_node", { NODE("/vms#2") }, ERR(EDUP, "/vms", "", "duplicate node") },
    { "vms_missing", { DELNODE("/vms") }, ERR(EMISSING, "/vms", "", "missing required node") },
    { "vms_empty", { DELNODE("/vms"), NODE("/vms") }, ERR(EMISSING, "/vms", "", "no VMs defined") },
    { "vms_prop", { { "/vms", "x", U32(1) } }, ERR(EUNKNOWN, "/vms", "x", "unknown property") },
    { "too_many_vms", .tree_hook = vms_17, ERR(ELIMIT, "/vms", "", "too many VMs (max 16)") },

    /* VM names */
    { "name_too_long_node", .tree_hook = long_name_node,
      ERR(ELIMIT, "/vms/abcdefghijklmnop", "", "VM name too long (16 chars, max 15)") },
    { "name_too_long_prop", { { "/vms/a", "name", STR("abcdefghijklmnop") } },
      ERR(ELIMIT, "/vms/a", "name", "too long") },
    { "name_bad_char", { DELNODE("/vms/b"), { "/vms/a", "name", STR("a.b") } },
      ERR(EVALUE, "/vms/a", "name", "invalid character at 1") },
    { "name_upper_case_node", { NODE("/vms/A") },
      ERR(EVALUE, "/vms/A", "", "invalid character at 0") },
    { "name_empty_prop", { { "/vms/a", "name", STR("") } }, ERR(EVALUE, "/vms/a", "name", "empty") },
    { "name_duplicate_node", { { "/vms/a#2", "memory", U64(0, 0x200000) } },
      ERR(EDUP, "/vms/a", "", "duplicate VM name 'a'") },
    { "name_duplicate", { { "/vms/b", "name", STR("a") } },
      ERR(EDUP, "/vms/b", "", "duplicate VM name 'a'") },

    /* memory, vcpus, cpus */
    { "memory_missing", { DEL("/vms/a", "memory") },
      ERR(EMISSING, "/vms/a", "memory", "missing required property") },
    { "memory_one_cell", { { "/vms/a", "memory", U32(0x10000000) } },
      ERR(EFORMAT, "/vms/a", "memory", "two cells <hi lo>") },
    { "memory_not_aligned", { { "/vms/a", "memory", U64(0, 0x10100000) } },
      ERR(EVALUE, "/vms/a", "memory", "multiple of 2 MiB (0x10100000)") },
    { "memory_zero", { { "/vms/a", "memory", U64(0, 0) } },
      ERR(EVALUE, "/vms/a", "memory", "non-zero") },
    { "memory_too_large", { { "/vms/a", "memory", U64(0x200, 0) } },
      ERR(ELIMIT, "/vms/a", "memory", "too large") },
    { "vcpus_zero", { { "/vms/a", "vcpus", U32(0) } }, ERR(EVALUE, "/vms/a", "vcpus", "must be 1..8 (0)") },
    { "vcpus_nine", { { "/vms/a", "vcpus", U32(9) } }, ERR(EVALUE, "/vms/a", "vcpus", "must be 1..8 (9)") },
    { "vcpus_u64", { { "/vms/a", "vcpus", U64(0, 1) } }, ERR(EFORMAT, "/vms/a", "vcpus", "one cell") },
    { "vcpus_missing", { DEL("/vms/a", "vcpus") }, ERR(EMISSING, "/vms/a", "vcpus", "missing") },
    { "cpus_missing", { DEL("/vms/a", "cpus") }, ERR(EMISSING, "/vms/a", "cpus", "missing") },
    { "cpus_length_mismatch", { { "/vms/b", "cpus", BYTES(BE(0), BE(1), BE(2)) } },
      ERR(EVALUE, "/vms/b", "cpus", "has 3 entries, must be 1 or vcpus (2)") },
    { "cpus_empty", { { "/vms/a", "cpus", NULL, 0 } }, ERR(EVALUE, "/vms/a", "cpus", "has 0 entries") },
    { "cpus_odd_bytes", { { "/vms/a", "cpus", BYTES(0, 0, 0, 0, 1) } },
      ERR(EFORMAT, "/vms/a", "cpus", "list of cells") },
    { "cpus_out_of_range", { { "/vms/a", "cpus", U32(256) } },
      ERR(EVALUE, "/vms/a", "cpus", "CPU 256 out of range") },

    /* strings */
    { "kernel_missing", { DEL("/vms/a", "kernel") }, ERR(EMISSING, "/vms/a", "kernel", "missing") },
    { "kernel_empty", { { "/vms/a", "kernel", STR("") } }, ERR(EVALUE, "/vms/a", "kernel", "empty") },
    { "kernel_not_string", { { "/vms/a", "kernel", BYTES('v', 'm') } },
      ERR(EFORMAT, "/vms/a", "kernel", "single string") },
    { "kernel_two_strings", { { "/vms/a", "kernel", STR("a\0b") } },
      ERR(EFORMAT, "/vms/a", "kernel", "single string") },
    { "kernel_too_long", { { "/vms/a", "kernel", STR(LONG64) } },
      ERR(ELIMIT, "/vms/a", "kernel", "too long (64 chars, max 63)") },
    { "kernel_space", { { "/vms/a", "kernel", STR("vm linuz") } },
      ERR(EVALUE, "/vms/a", "kernel", "invalid character at 2") },
    { "initrd_empty", { { "/vms/a", "initrd", STR("") } }, ERR(EVALUE, "/vms/a", "initrd", "empty") },
    { "bootargs_too_long", .tree_hook = long_bootargs,
      ERR(ELIMIT, "/vms/a", "bootargs", "too long (512 chars, max 511)") },
    { "bootargs_control_char", { { "/vms/a", "bootargs", STR("a\nb") } },
      ERR(EVALUE, "/vms/a", "bootargs", "invalid character at 1") },
    { "type_unknown", { { "/vms/a", "type", STR("windows") } },
      ERR(EVALUE, "/vms/a", "type", "unknown type 'windows' (one of linux|multiboot|test)") },
    { "monitor_fault_not_test", { { "/vms/a", "monitor-fault", STR("null") } },
      ERR(EVALUE, "/vms/a", "monitor-fault", "only a type = \"test\" VM's monitor may fail on purpose") },
    { "monitor_fault_unknown", { { "/vms/a", "type", STR("test") }, { "/vms/a", "monitor-fault", STR("crash") } },
      ERR(EVALUE, "/vms/a", "monitor-fault", "unknown monitor-fault 'crash' (one of none|null|loop|wild-syscall)") },
    { "vm_duplicate_prop", { ADD("/vms/a", "vcpus", U32(2)) },
      ERR(EDUP, "/vms/a", "vcpus", "duplicate property") },
    { "vm_unknown_prop", { { "/vms/a", "bootarg", STR("x") } },
      ERR(EUNKNOWN, "/vms/a", "bootarg", "unknown property for a VM") },
    { "vm_subnode", { NODE("/vms/a/disk") }, ERR(EUNKNOWN, "/vms/a/disk", "", "unknown node") },

    /* memory-map */
    { "map_overlap", { { "/vms/b", "memory-map",
      BYTES(REGION(0, 0, 0, 0xc0000000), REGION(0, 0x80000000, 0, 0x40000000)) } },
      ERR(EOVERLAP, "/vms/b", "memory-map", "overlapping memory") },
    { "map_overlap_unsorted", { { "/vms/b", "memory-map",
      BYTES(REGION(0, 0x80000000, 0, 0x80000000), REGION(0, 0, 0, 0x80001000)) } },
      ERR(EOVERLAP, "/vms/b", "memory-map", "overlapping memory") },
    { "map_not_aligned", { { "/vms/b", "memory-map",
      BYTES(REGION(0, 0x800, 0, 0xc0000000), REGION(1, 0, 0, 0x40000000)) } },
      ERR(EVALUE, "/vms/b", "memory-map", "region 0 is not 4 KiB aligned") },
    { "map_sum_mismatch", { { "/vms/b", "memory-map",
      BYTES(REGION(0, 0, 0, 0xc0000000), REGION(1, 0, 0, 0x20000000)) } },
      ERR(EVALUE, "/vms/b", "memory-map", "sum to 0xe0000000 bytes, memory is 0x100000000") },
    { "map_empty_region", { { "/vms/b", "memory-map",
      BYTES(REGION(0, 0, 1, 0), REGION(1, 0, 0, 0)) } },
      ERR(EVALUE, "/vms/b", "memory-map", "region 1 is empty") },
    { "map_wraps", { { "/vms/b", "memory-map",
      BYTES(REGION(0xffffffff, 0xfffff000, 0, 0x1000)) } },
      ERR(EVALUE, "/vms/b", "memory-map", "region 0 ends above") },
    { "map_crosses_limit", { { "/vms/b", "memory-map",
      BYTES(REGION(0xff, 0xfffff000, 0, 0x2000)) } },
      ERR(EVALUE, "/vms/b", "memory-map", "ends above 0x10000000000") },
    { "map_bad_length", { { "/vms/b", "memory-map", BYTES(BE(0), BE(0), BE(0)) } },
      ERR(EFORMAT, "/vms/b", "memory-map", "entries") },
    { "map_too_many", .tree_hook = nine_regions,
      ERR(ELIMIT, "/vms/a", "memory-map", "too many regions (9, max 8)") },

    /* ports */
    { "port_type_missing", { DEL("/net/pa", "type") }, ERR(EMISSING, "/net/pa", "type", "missing") },
    { "port_type_unknown", { { "/net/pa", "type", STR("tap") } },
      ERR(EVALUE, "/net/pa", "type", "unknown type 'tap'") },
    { "port_unknown_vm", { { "/net/pb", "vm", STR("zz") } }, ERR(EREF, "/net/pb", "vm", "unknown VM 'zz'") },
    { "port_vm_missing", { DEL("/net/pa", "vm") }, ERR(EMISSING, "/net/pa", "vm", "missing") },
    { "mac_missing", { DEL("/net/pa", "mac") }, ERR(EMISSING, "/net/pa", "mac", "missing") },
    { "mac_short", { { "/net/pa", "mac", BYTES(0x52, 0x54, 0, 0, 0) } },
      ERR(EFORMAT, "/net/pa", "mac", "must be 6 bytes") },
    { "mac_multicast", { { "/net/pa", "mac", BYTES(0x01, 0, 0x5e, 0, 0, 1) } },
      ERR(EVALUE, "/net/pa", "mac", "unicast") },
    { "mac_broadcast", { { "/net/pa", "mac", BYTES(0xff, 0xff, 0xff, 0xff, 0xff, 0xff) } },
      ERR(EVALUE, "/net/pa", "mac", "unicast") },
    { "mac_zero", { { "/net/pa", "mac", BYTES(0, 0, 0, 0, 0, 0) } }, ERR(EVALUE, "/net/pa", "mac", "all-zero") },
    { "mac_duplicate", { { "/net/pb", "mac", BYTES(0x52, 0x54, 0, 0, 0, 0x0a) } },
      ERR(EDUP, "/net/pb", "mac", "duplicate MAC (also port 'pa')") },
    { "allowed_macs_partial", { { "/net/pa", "allowed-macs", BYTES(0x02, 0, 0, 0, 0, 1, 0x02) } },
      ERR(EFORMAT, "/net/pa", "allowed-macs", "6 bytes per MAC") },
    { "allowed_macs_multicast", { { "/net/pa", "allowed-macs",
      BYTES(0x02, 0, 0, 0, 0, 1, 0x01, 0, 0x5e, 0, 0, 1) } },
      ERR(EVALUE, "/net/pa", "allowed-macs", "MAC 2 must be unicast") },
    { "allowed_macs_own", { { "/net/pa", "allowed-macs", BYTES(0x52, 0x54, 0, 0, 0, 0x0a) } },
      ERR(EDUP, "/net/pa", "allowed-macs", "the port's own `mac`") },
    { "allowed_macs_other_port", { { "/net/pb", "allowed-macs", BYTES(0x52, 0x54, 0, 0, 0, 0x0a) } },
      ERR(EDUP, "/net/pb", "allowed-macs", "port 'pa''s already") },
    { "allowed_macs_repeat", { { "/net/pa", "allowed-macs",
      BYTES(0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 1) } },
      ERR(EDUP, "/net/pa", "allowed-macs", "MAC 2 repeats MAC 1") },
    { "allowed_macs_nine", { { "/net/pa", "allowed-macs",
      BYTES(2,0,0,0,0,1, 2,0,0,0,0,2, 2,0,0,0,0,3, 2,0,0,0,0,4, 2,0,0,0,0,5, 2,0,0,0,0,6,
            2,0,0,0,0,7, 2,0,0,0,0,8, 2,0,0,0,0,9) } },
      ERR(ELIMIT, "/net/pa", "allowed-macs", "at most 8 MACs, not 9") },
    { "mac_in_allowed_of_other", { { "/net/pa", "allowed-macs", BYTES(0x52, 0x54, 0, 0, 0, 0x0b) } },
      ERR(EDUP, "/net/pb", "mac", "in port 'pa''s allowed-macs") },
    { "vlan_4095", { { "/net/pb", "vlan", U32(4095) } }, ERR(EVALUE, "/net/pb", "vlan", "0..4094") },
    { "vlan_bytes", { { "/net/pb", "vlan", BYTES(0, 1) } }, ERR(EFORMAT, "/net/pb", "vlan", "one cell") },
    { "mtu_9001", { { "/net/pb", "mtu", U32(9001) } }, ERR(EVALUE, "/net/pb", "mtu", "1280..9000 (9001)") },
    { "promisc_yes", { { "/net/pb", "promisc", STR("yes") } },
      ERR(EVALUE, "/net/pb", "promisc", "unknown promisc 'yes' (one of deny|allow)") },
    { "uplink_with_promisc", { { "/net/up", "promisc", STR("allow") } },
      ERR(EUNKNOWN, "/net/up", "promisc", "unknown property for an uplink port") },
    { "mtu_1279", { { "/net/pa", "mtu", U32(1279) } }, ERR(EVALUE, "/net/pa", "mtu", "1280..9000 (1279)") },
    { "uplink_with_mtu", { { "/net/up", "mtu", U32(9000) } },
      ERR(EUNKNOWN, "/net/up", "mtu", "unknown property for an uplink port") },
    { "vm_port_with_nic", { { "/net/pa", "nic", STR("e1000") } },
      ERR(EUNKNOWN, "/net/pa", "nic", "unknown property for a vm port") },
    { "uplink_with_mac", { { "/net/up", "mac", BYTES(0x52, 0x54, 0, 0, 0, 0x0c) } },
      ERR(EUNKNOWN, "/net/up", "mac", "unknown property for an uplink port") },
    { "uplink_nic_unknown", { { "/net/up", "nic", STR("rtl8139") } },
      ERR(EVALUE, "/net/up", "nic", "unknown nic 'rtl8139' (one of auto|e1000|e1000e|virtio-net)") },
    { "uplink_nic_missing", { DEL("/net/up", "nic") }, ERR(EMISSING, "/net/up", "nic", "missing") },
    { "two_uplinks", { { "/net/up2", "type", STR("uplink") }, { "/net/up2", "nic", STR("auto") } },
      ERR(ELIMIT, "/net/up2", "", "too many uplink ports (max 1)") },
    { "too_many_ports", .tree_hook = ports_33, ERR(ELIMIT, "/net", "", "too many ports (max 32)") },
    { "port_name_duplicate", { { "/net/pb", "name", STR("pa") } },
      ERR(EDUP, "/net/pb", "", "duplicate port name 'pa'") },
    { "port_subnode", { NODE("/net/pa/x") }, ERR(EUNKNOWN, "/net/pa/x", "", "unknown node") },
    { "net_prop", { { "/net", "x", U32(1) } }, ERR(EUNKNOWN, "/net", "x", "unknown property") },

    /* /nethv */
    { "console_unknown_vm", { { "/nethv", "console-vm", STR("zz") } },
      ERR(EREF, "/nethv", "console-vm", "unknown VM 'zz'") },
    { "exit_unknown", { { "/nethv", "exit", STR("explode") } },
      ERR(EVALUE, "/nethv", "exit", "unknown exit 'explode'") },
    { "nethv_unknown_prop", { { "/nethv", "log", U32(1) } }, ERR(EUNKNOWN, "/nethv", "log", "unknown property") },
    { "nethv_subnode", { NODE("/nethv/x") }, ERR(EUNKNOWN, "/nethv/x", "", "unknown node") },
};

static void run_case(void **state)
{
    const struct tcase *tc = *state;
    static struct tree t;
    const void *p = blob;
    size_t len;
    int rc;

    tree_good(&t);
    tree_edits(&t, tc->edit);
    if (tc->tree_hook)
        tc->tree_hook(&t);
    len = build(&t);
    if (tc->blob_hook)
        p = tc->blob_hook((uint8_t *)blob, &len);
    rc = config_parse(p, len, &cfg, &err);
    if (rc != -tc->code)
        print_message("got %d: node '%s' prop '%s': %s\n", rc, err.node, err.prop, err.msg);
    assert_int_equal(rc, -tc->code);
    assert_int_equal(err.code, tc->code);
    if (tc->code == 0) {
        if (tc->check)
            tc->check(&cfg);
        return;
    }
    assert_string_equal(err.node, tc->node);
    assert_string_equal(err.prop, tc->prop);
    if (!strstr(err.msg, tc->msg))
        fail_msg("message '%s' lacks '%s'", err.msg, tc->msg);
}

/* ---- whole-config tests ------------------------------------------------------- */

static void test_good_full(void **state)
{
    static struct tree t;
    const struct config_vm *a = &cfg.vm[0], *b = &cfg.vm[1];
    const struct config_port *p = cfg.port;

    tree_good(&t);
    assert_int_equal(config_parse(blob, build(&t), &cfg, &err), 0);
    assert_int_equal(err.code, 0);
    assert_int_equal(cfg.nvms, 2);
    assert_int_equal(cfg.nports, 3);
    assert_int_equal(cfg.console_vm, 1);
    assert_int_equal(cfg.exit, CONFIG_EXIT_DEBUG);

    assert_string_equal(a->name, "a");
    assert_int_equal(a->type, CONFIG_VM_LINUX);
    assert_int_equal(a->memory, 256 << 20);
    assert_int_equal(a->vcpus, 1);
    assert_int_equal(a->cpu[0], 0);
    assert_int_equal(a->nregions, 1);
    assert_int_equal(a->region[0].gpa, 0);
    assert_int_equal(a->region[0].size, 256 << 20);
    assert_string_equal(a->kernel, "vmlinuz");
    assert_string_equal(a->initrd, "initrd.img");
    assert_string_equal(a->bootargs, "console=ttyS0");

    assert_string_equal(b->name, "b");
    assert_int_equal(b->type, CONFIG_VM_MULTIBOOT);
    assert_int_equal(b->memory, 1ull << 32);
    assert_int_equal(b->vcpus, 2);
    assert_int_equal(b->cpu[0], 2);
    assert_int_equal(b->cpu[1], 3);
    assert_int_equal(b->nregions, 2);                   /* sorted by gpa */
    assert_int_equal(b->region[0].gpa, 0);
    assert_int_equal(b->region[0].size, 0xc0000000);
    assert_int_equal(b->region[1].gpa, 1ull << 32);
    assert_int_equal(b->region[1].size, 0x40000000);
    assert_string_equal(b->kernel, "mb.elf");
    assert_string_equal(b->initrd, "");
    assert_string_equal(b->bootargs, "");

    assert_string_equal(p[0].name, "pa");
    assert_int_equal(p[0].type, CONFIG_PORT_VM);
    assert_int_equal(p[0].vm, 0);
    assert_memory_equal(p[0].mac, ((uint8_t[]){ 0x52, 0x54, 0, 0, 0, 0x0a }), 6);
    assert_int_equal(p[0].vlan, 0);
    assert_string_equal(p[1].name, "pb");
    assert_int_equal(p[1].vm, 1);
    assert_memory_equal(p[1].mac, ((uint8_t[]){ 0x52, 0x54, 0, 0, 0, 0x0b }), 6);
    assert_int_equal(p[1].vlan, 100);
    assert_string_equal(p[2].name, "up");
    assert_int_equal(p[2].type, CONFIG_PORT_UPLINK);
    assert_int_equal(p[2].nic, CONFIG_NIC_E1000E);
}

static char printed[4096];

static void capture(const char *fmt, ...)
{
    size_t n = strlen(printed);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(printed + n, sizeof(printed) - n, fmt, ap);
    va_end(ap);
}

static void test_print(void **state)
{
    static struct tree t;

    tree_good(&t);
    assert_int_equal(config_parse(blob, build(&t), &cfg, &err), 0);
    printed[0] = '\0';
    config_print(&cfg, capture);
    assert_string_equal(printed,
        "config: 2 vms, 3 ports, console vm b, exit debug-exit\n"
        "config: vm a: linux, 1 vcpu on cpu 0, 256 MiB, kernel vmlinuz, initrd initrd.img, "
        "bootargs \"console=ttyS0\"\n"
        "config: vm b: multiboot, 2 vcpus on cpu 2,3, 4096 MiB at "
        "0x0+0xc0000000,0x100000000+0x40000000, kernel mb.elf\n"
        "config: port pa: vm a, mac 52:54:00:00:00:0a, untagged\n"
        "config: port pb: vm b, mac 52:54:00:00:00:0b, vlan 100\n"
        "config: port up: uplink, nic e1000e\n");
}

static void test_no_err_struct(void **state)
{
    static struct tree t;

    tree_good(&t);
    tree_set(&t, "/vms/a", "vcpus", U32(0));
    assert_int_equal(config_parse(blob, build(&t), &cfg, NULL), -CONFIG_EVALUE);
}

static void test_format(void **state)
{
    char small[8] = "ab";
    struct nethv_config c = { .nvms = 1, .vm = { { .name = "v" } } };
    struct config_port *p = &c.port[0];

    append(small, sizeof(small), "%s=%u", "cdef", 12345u);
    assert_string_equal(small, "abcdef=");           /* truncated, terminated */
    append(small, sizeof(small), "x");
    assert_string_equal(small, "abcdef=");

    /* MACs with leading-zero bytes; allowed-macs listed after the VLAN */
    strcpy(p->name, "p");
    memcpy(p->mac, (const uint8_t[]){ 0, 1, 0xab, 0x10, 0xff, 9 }, 6);
    memcpy(p->allowed[0], (const uint8_t[]){ 2, 0, 0, 0, 0, 1 }, 6);
    memcpy(p->allowed[1], (const uint8_t[]){ 2, 0, 0, 0, 0, 0xa2 }, 6);
    p->nallowed = 2;
    p->vlan = 7;
    p->mtu = CONFIG_MTU_DEFAULT;
    print_port(&c, p, printed, sizeof(printed));
    assert_string_equal(printed, "config: port p: vm v, mac 00:01:ab:10:ff:09, vlan 7, "
                                 "also from 02:00:00:00:00:01 02:00:00:00:00:a2");
    p->mtu = 9000;                                      /* shown when not the default */
    print_port(&c, p, printed, sizeof(printed));
    assert_string_equal(printed, "config: port p: vm v, mac 00:01:ab:10:ff:09, vlan 7, "
                                 "also from 02:00:00:00:00:01 02:00:00:00:00:a2, mtu 9000");
    p->allow_promisc = p->allow_mac_change = 1;
    print_port(&c, p, printed, sizeof(printed));
    assert_string_equal(printed, "config: port p: vm v, mac 00:01:ab:10:ff:09, vlan 7, "
                                 "also from 02:00:00:00:00:01 02:00:00:00:00:a2, mtu 9000, "
                                 "promisc allowed, mac-change allowed");
}

static void test_long_node_name(void **state)
{
    static struct tree t;
    static const char path[] = "/vms/" LONG64 LONG64;

    tree_good(&t);
    tree_vm(&t, path);
    assert_int_equal(config_parse(blob, build(&t), &cfg, &err), -CONFIG_ELIMIT);
    assert_int_equal(strlen(err.node), CONFIG_ERR_NODE - 1);    /* truncated path */
    assert_memory_equal(err.node, path, CONFIG_ERR_NODE - 1);
}

int main(void)
{
    static struct CMUnitTest tests[ARRAY_SIZE(cases) + 8];
    size_t n = 0;

    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_good_full);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_print);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_no_err_struct);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_format);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_long_node_name);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        tests[n++] = (struct CMUnitTest){ cases[i].name, run_case, NULL, NULL,
                                          (void *)(uintptr_t)&cases[i] };
    return _cmocka_run_group_tests("config", tests, n, NULL, NULL);
}
