/*
 * Host tests for kernel/acpi.c: synthetic ACPI tables in a fake physical
 * memory buffer.  The fake map() hands out a fresh malloc'd copy of exactly
 * the requested length, so ASan flags any read past what was mapped.
 *
 * Optional: NETHV_ACPI_MEMDUMP=file runs the parser over a raw dump of a
 * real guest's low memory (RSDP found in 0xe0000-0xfffff), e.g.
 *   qemu-system-x86_64 -machine q35 -m 128 -display none -monitor stdio
 *   (qemu) pmemsave 0 0x8000000 "q35.mem"
 */
#include "../../kernel/acpi.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- firmware layouts, spelled out to build tables with ----------------------
 * kernel/acpi.c reads fields by the byte offsets nethv/acpi.h names; these
 * structs give the same layouts field by field (ACPI 6.4), and the asserts
 * after them check the two agree. */

struct acpi_rsdp {                  /* §5.2.5.3 */
    char     signature[8];
    uint8_t  checksum;
    char     oem_id[6];
    uint8_t  revision;
    uint32_t rsdt_address;
    uint32_t length;                /* 2.0+ from here */
    uint64_t xsdt_address;
    uint8_t  extended_checksum;
    uint8_t  reserved[3];
} __attribute__((packed));

struct acpi_sdt_header {            /* §5.2.6 */
    char     signature[4];
    uint32_t length;
    uint8_t  revision;
    uint8_t  checksum;
    char     oem_id[6];
    char     oem_table_id[8];
    uint32_t oem_revision;
    uint32_t creator_id;
    uint32_t creator_revision;
} __attribute__((packed));

struct acpi_gas {                   /* §5.2.3.2 */
    uint8_t  space_id, bit_width, bit_offset, access_size;
    uint64_t address;
} __attribute__((packed));

struct acpi_madt_lapic {            /* §5.2.12.2 */
    uint8_t type, length, uid, apic_id;
    uint32_t flags;
} __attribute__((packed));

struct acpi_madt_ioapic {           /* §5.2.12.3 (not parsed) */
    uint8_t type, length, id, reserved;
    uint32_t address, gsi_base;
} __attribute__((packed));

struct acpi_madt_iso {              /* §5.2.12.5 (not parsed) */
    uint8_t type, length, bus, source;
    uint32_t gsi;
    uint16_t flags;
} __attribute__((packed));

struct acpi_madt_lapic_nmi {        /* §5.2.12.7 (not parsed) */
    uint8_t type, length, uid;
    uint16_t flags;
    uint8_t lint;
} __attribute__((packed));

struct acpi_madt_lapic_override {   /* §5.2.12.8 */
    uint8_t type, length;
    uint16_t reserved;
    uint64_t address;
} __attribute__((packed));

struct acpi_madt_x2apic {           /* §5.2.12.12 */
    uint8_t type, length;
    uint16_t reserved;
    uint32_t x2apic_id, flags, uid;
} __attribute__((packed));

struct acpi_madt_x2apic_nmi {       /* §5.2.12.13 (not parsed) */
    uint8_t type, length;
    uint16_t flags;
    uint32_t uid;
    uint8_t lint, reserved[3];
} __attribute__((packed));

struct acpi_fadt {                  /* §5.2.9, up to the ACPI 2.0 end */
    struct acpi_sdt_header hdr;
    uint32_t firmware_ctrl, dsdt;
    uint8_t  reserved0, preferred_pm_profile;
    uint16_t sci_int;
    uint32_t smi_cmd;
    uint8_t  acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
    uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
    uint32_t pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
    uint8_t  pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
    uint8_t  gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
    uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
    uint8_t  duty_offset, duty_width, day_alrm, mon_alrm, century;
    uint16_t iapc_boot_arch;
    uint8_t  reserved1;
    uint32_t flags;
    struct acpi_gas reset_reg;      /* ACPI 2.0+ from here */
    uint8_t  reset_value;
    uint16_t arm_boot_arch;
    uint8_t  minor_version;
    uint64_t x_firmware_ctrl, x_dsdt;
    struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
    struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
} __attribute__((packed));

struct acpi_mcfg_entry {            /* PCI Firmware Spec 3.x §4.1.2 */
    uint64_t base;
    uint16_t segment;
    uint8_t  bus_start, bus_end;
    uint32_t reserved;
} __attribute__((packed));

#define SAME(s, f, off) _Static_assert(offsetof(struct s, f) == (off), #s "." #f)
SAME(acpi_rsdp, revision, ACPI_RSDP_REVISION);
SAME(acpi_rsdp, rsdt_address, ACPI_RSDP_RSDT);
SAME(acpi_rsdp, length, ACPI_RSDP_LENGTH);
SAME(acpi_rsdp, xsdt_address, ACPI_RSDP_XSDT);
SAME(acpi_rsdp, length, ACPI_RSDP_V1_LEN);
_Static_assert(sizeof(struct acpi_rsdp) == ACPI_RSDP_V2_LEN, "RSDP size");
SAME(acpi_sdt_header, length, ACPI_SDT_LENGTH);
_Static_assert(sizeof(struct acpi_sdt_header) == ACPI_SDT_HDR_LEN, "SDT header size");
SAME(acpi_gas, space_id, ACPI_GAS_SPACE);
SAME(acpi_gas, address, ACPI_GAS_ADDRESS);
SAME(acpi_madt_lapic, apic_id, ACPI_MADT_LAPIC_ID);
SAME(acpi_madt_lapic, flags, ACPI_MADT_LAPIC_FLAGS);
_Static_assert(sizeof(struct acpi_madt_lapic) == ACPI_MADT_LAPIC_LEN, "LAPIC entry");
SAME(acpi_madt_lapic_override, address, ACPI_MADT_LAPIC_OVR_ADDR);
_Static_assert(sizeof(struct acpi_madt_lapic_override) == ACPI_MADT_LAPIC_OVR_LEN, "override");
SAME(acpi_madt_x2apic, x2apic_id, ACPI_MADT_X2APIC_ID);
SAME(acpi_madt_x2apic, flags, ACPI_MADT_X2APIC_FLAGS);
_Static_assert(sizeof(struct acpi_madt_x2apic) == ACPI_MADT_X2APIC_LEN, "x2APIC entry");
SAME(acpi_fadt, dsdt, ACPI_FADT_DSDT);
SAME(acpi_fadt, smi_cmd, ACPI_FADT_SMI_CMD);
SAME(acpi_fadt, acpi_enable, ACPI_FADT_ACPI_ENABLE);
SAME(acpi_fadt, pm1a_cnt_blk, ACPI_FADT_PM1A_CNT);
SAME(acpi_fadt, pm1b_cnt_blk, ACPI_FADT_PM1B_CNT);
SAME(acpi_fadt, flags, ACPI_FADT_FLAGS);
SAME(acpi_fadt, reset_reg, ACPI_FADT_V1_LEN);
SAME(acpi_fadt, reset_reg, ACPI_FADT_RESET_REG);
SAME(acpi_fadt, reset_value, ACPI_FADT_RESET_VALUE);
SAME(acpi_fadt, x_dsdt, ACPI_FADT_X_DSDT);
SAME(acpi_fadt, x_pm1a_cnt_blk, ACPI_FADT_X_PM1A_CNT);
SAME(acpi_fadt, x_pm1b_cnt_blk, ACPI_FADT_X_PM1B_CNT);
SAME(acpi_fadt, x_pm2_cnt_blk, ACPI_FADT_READ_LEN);
_Static_assert(sizeof(struct acpi_fadt) == 244, "FADT (2.0 part) size");
SAME(acpi_mcfg_entry, segment, ACPI_MCFG_SEGMENT);
SAME(acpi_mcfg_entry, bus_start, ACPI_MCFG_BUS_START);
SAME(acpi_mcfg_entry, bus_end, ACPI_MCFG_BUS_END);
_Static_assert(sizeof(struct acpi_mcfg_entry) == ACPI_MCFG_ENTRY_LEN, "MCFG entry");

/* ---- fake physical memory -------------------------------------------------- */

#define MEM_SIZE  0x20000
#define MAX_MAPS  8192

static uint8_t mem_buf[MEM_SIZE];
static const uint8_t *mem = mem_buf;
static size_t mem_size = MEM_SIZE;
static void *maps[MAX_MAPS];
static size_t nmaps;
static uint64_t next_free;

static const void *fake_map(uint64_t phys, size_t len)
{
    void *p;
    if (phys > mem_size || len > mem_size - phys)
        return NULL;
    assert_true(nmaps < MAX_MAPS);
    p = malloc(len ? len : 1);
    assert_non_null(p);
    memcpy(p, mem + phys, len);
    maps[nmaps++] = p;
    return p;
}

static char logbuf[65536];
static size_t loglen;

static void cap_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(logbuf + loglen, sizeof logbuf - loglen, fmt, ap);
    va_end(ap);
    if (n > 0)
        loglen += (size_t)n < sizeof logbuf - loglen ? (size_t)n
                                                   : sizeof logbuf - loglen - 1;
}

static bool logged(const char *s)
{
    return strstr(logbuf, s) != NULL;
}

static int setup(void **state)
{
    memset(mem_buf, 0, sizeof mem_buf);
    mem = mem_buf;
    mem_size = MEM_SIZE;
    next_free = 0x1000;
    nmaps = 0;
    loglen = 0;
    logbuf[0] = '\0';
    return 0;
}

static int teardown(void **state)
{
    for (size_t i = 0; i < nmaps; i++)
        free(maps[i]);
    nmaps = 0;
    return 0;
}

/* ---- table builders --------------------------------------------------------- */

struct tb {
    uint8_t buf[8192];
    size_t  len;
};

static void tb_init(struct tb *t, const char *sig, uint8_t rev)
{
    struct acpi_sdt_header h = { .revision = rev };
    memcpy(h.signature, sig, 4);
    memcpy(h.oem_id, "NETHV ", 6);
    memcpy(h.oem_table_id, "TESTTBL ", 8);
    memset(t, 0, sizeof *t);
    memcpy(t->buf, &h, sizeof h);
    t->len = sizeof h;
}

static void tb_add(struct tb *t, const void *p, size_t n)
{
    assert_true(t->len + n <= sizeof t->buf);
    memcpy(t->buf + t->len, p, n);
    t->len += n;
}

static uint8_t csum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return (uint8_t)-s;
}

/* Finalize (length, checksum) and copy to `at` (0: next free slot). */
static uint64_t tb_place_at(struct tb *t, uint64_t at)
{
    uint32_t len = (uint32_t)t->len;
    memcpy(t->buf + 4, &len, 4);
    t->buf[9] = 0;
    t->buf[9] = csum(t->buf, t->len);
    if (!at) {
        at = next_free;
        next_free = (next_free + t->len + 15) & ~15ull;
    }
    assert_true(at + t->len <= MEM_SIZE);
    memcpy(mem_buf + at, t->buf, t->len);
    return at;
}

static uint64_t tb_place(struct tb *t) { return tb_place_at(t, 0); }

static void tb_u8(struct tb *t, uint8_t v) { tb_add(t, &v, 1); }

/* RSDP copy as the loader would keep it. */
static size_t make_rsdp(uint8_t out[36], uint8_t rev, uint32_t rsdt, uint64_t xsdt)
{
    struct acpi_rsdp r = { .revision = rev, .rsdt_address = rsdt };
    memcpy(r.signature, "RSD PTR ", 8);
    memcpy(r.oem_id, "NETHV ", 6);
    r.checksum = csum((uint8_t *)&r, 20);
    if (rev >= 2) {
        r.length = 36;
        r.xsdt_address = xsdt;
        r.extended_checksum = csum((uint8_t *)&r, 36);
    }
    memcpy(out, &r, 36);
    return rev >= 2 ? 36 : 20;
}

static uint64_t make_root(const char *sig, const uint64_t *ents, size_t n)
{
    struct tb t;
    tb_init(&t, sig, 1);
    for (size_t i = 0; i < n; i++) {
        if (sig[0] == 'X') {
            tb_add(&t, &ents[i], 8);
        } else {
            uint32_t e = (uint32_t)ents[i];
            tb_add(&t, &e, 4);
        }
    }
    return tb_place(&t);
}

static void madt_begin(struct tb *t, uint32_t lapic, uint32_t flags)
{
    tb_init(t, "APIC", 3);
    tb_add(t, &lapic, 4);
    tb_add(t, &flags, 4);
}

static void madt_lapic(struct tb *t, uint8_t uid, uint8_t id, uint32_t flags)
{
    struct acpi_madt_lapic e = { 0, 8, uid, id, flags };
    tb_add(t, &e, sizeof e);
}

static void madt_x2apic(struct tb *t, uint32_t id, uint32_t uid, uint32_t flags)
{
    struct acpi_madt_x2apic e = { 9, 16, 0, id, flags, uid };
    tb_add(t, &e, sizeof e);
}

static void madt_ioapic(struct tb *t, uint8_t id, uint32_t addr, uint32_t gsi)
{
    struct acpi_madt_ioapic e = { 1, 12, id, 0, addr, gsi };
    tb_add(t, &e, sizeof e);
}

static void madt_iso(struct tb *t, uint8_t src, uint32_t gsi, uint16_t flags)
{
    struct acpi_madt_iso e = { 2, 10, 0, src, gsi, flags };
    tb_add(t, &e, sizeof e);
}

static void madt_nmi(struct tb *t, uint8_t uid, uint8_t lint)
{
    struct acpi_madt_lapic_nmi e = { 4, 6, uid, 5, lint };
    tb_add(t, &e, sizeof e);
}

static uint64_t std_madt(void)
{
    struct tb t;
    madt_begin(&t, 0xfee00000, 1);        /* PCAT_COMPAT */
    madt_lapic(&t, 0, 0, ACPI_CPU_ENABLED);
    madt_lapic(&t, 1, 1, ACPI_CPU_ENABLED);
    madt_ioapic(&t, 0, 0xfec00000, 0);
    madt_iso(&t, 0, 2, 0);
    madt_iso(&t, 9, 9, 0xd);
    madt_nmi(&t, 0xff, 1);
    return tb_place(&t);
}

/* QEMU-style \_S5: Name(_S5, Package(4){0,0,0,0}) */
static const uint8_t s5_qemu[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04,
                                   0x00, 0x00, 0x00, 0x00 };
/* Name(\_S5, Package(4){5,5,0,0}) with BytePrefix elements */
static const uint8_t s5_root_byte[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x08,
                                        0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00 };

static uint64_t make_aml_table(const char *sig, const uint8_t *aml, size_t n)
{
    struct tb t;
    /* some unrelated AML before: Scope(\_SB) { Name(ABCD, 1) } */
    static const uint8_t pre[] = { 0x10, 0x0b, '\\', '_', 'S', 'B', '_',
                                   0x08, 'A', 'B', 'C', 'D', 0x01 };
    tb_init(&t, sig, 1);
    tb_add(&t, pre, sizeof pre);
    if (aml)
        tb_add(&t, aml, n);
    tb_u8(&t, 0xa3);                /* a trailing Noop */
    return tb_place(&t);
}

struct fadt_opts {
    uint32_t len;                   /* 116, 244, 276 ... */
    uint64_t dsdt32, x_dsdt;
    uint32_t pm1a, pm1b;
    struct acpi_gas x_pm1a;
    uint32_t flags;
    struct acpi_gas reset;
    uint8_t  reset_value;
    uint32_t smi_cmd;
    uint8_t  acpi_enable;
};

static uint64_t make_fadt(const struct fadt_opts *o)
{
    struct acpi_fadt f;
    struct tb t;
    uint8_t pad[64] = { 0 };

    memset(&f, 0, sizeof f);
    f.dsdt = (uint32_t)o->dsdt32;
    f.sci_int = 9;
    f.smi_cmd = o->smi_cmd;
    f.acpi_enable = o->acpi_enable;
    f.acpi_disable = (uint8_t)(o->acpi_enable + 1);
    f.pm1a_evt_blk = 0x600;
    f.pm1a_cnt_blk = o->pm1a;
    f.pm1b_cnt_blk = o->pm1b;
    f.pm1_cnt_len = 2;
    f.flags = o->flags;
    f.reset_reg = o->reset;
    f.reset_value = o->reset_value;
    f.x_dsdt = o->x_dsdt;
    f.x_pm1a_cnt_blk = o->x_pm1a;
    tb_init(&t, "FACP", o->len >= 244 ? 3 : 1);
    tb_add(&t, (uint8_t *)&f + sizeof f.hdr,
           (o->len < sizeof f ? o->len : sizeof f) - sizeof f.hdr);
    if (o->len > sizeof f)
        tb_add(&t, pad, o->len - sizeof f);
    return tb_place(&t);
}

static uint64_t make_mcfg(uint64_t base, uint8_t bus_end, unsigned n)
{
    struct tb t;
    uint8_t rsv[8] = { 0 };
    tb_init(&t, "MCFG", 1);
    tb_add(&t, rsv, sizeof rsv);
    for (unsigned i = 0; i < n; i++) {
        struct acpi_mcfg_entry e = { base + i * 0x10000000ull, (uint16_t)i, 0,
                                     bus_end, 0 };
        tb_add(&t, &e, sizeof e);
    }
    return tb_place(&t);
}

/* An HPET table (IA-PC HPET 1.0a §3.2.4): listed, not parsed. */
static uint64_t make_hpet(uint64_t base)
{
    struct tb t;
    uint32_t id = 0x8086a201;
    struct acpi_gas gas = { ACPI_GAS_MEMORY, 64, 0, 0, base };
    uint8_t tail[4] = { 0, 0x80, 0, 0 };
    tb_init(&t, "HPET", 1);
    tb_add(&t, &id, 4);
    tb_add(&t, &gas, sizeof gas);
    tb_add(&t, tail, sizeof tail);
    return tb_place(&t);
}

static uint64_t make_waet(void)
{
    struct tb t;
    uint32_t flags = 2;
    tb_init(&t, "WAET", 1);
    tb_add(&t, &flags, 4);
    return tb_place(&t);
}

static const struct fadt_opts std_fadt = {
    .len = 244, .pm1a = 0x604, .smi_cmd = 0xb2, .acpi_enable = 0xf1,
    .flags = ACPI_FADT_RESET_REG_SUP,
    .reset = { ACPI_GAS_IO, 8, 0, 1, 0xcf9 }, .reset_value = 0x06,
};

/* The standard ACPI 2.0 set: XSDT -> FACP(->DSDT) APIC HPET MCFG WAET. */
static size_t std_set(uint8_t rsdp[36], const uint8_t *s5, size_t s5len)
{
    struct fadt_opts fo = std_fadt;
    uint64_t dsdt = make_aml_table("DSDT", s5, s5len);
    fo.x_dsdt = dsdt;
    fo.dsdt32 = dsdt;
    uint64_t ents[] = { make_fadt(&fo), std_madt(), make_hpet(0xfed00000),
                        make_mcfg(0xb0000000, 255, 1), make_waet() };
    uint64_t xsdt = make_root("XSDT", ents, 5);
    uint64_t rsdt = make_root("RSDT", ents, 5);
    return make_rsdp(rsdp, 2, (uint32_t)rsdt, xsdt);
}

static int parse(const uint8_t *rsdp, size_t n, struct acpi_info *info)
{
    return acpi_parse(rsdp, n, fake_map, info, cap_log);
}

/* NETHV_ACPI_SEED=dir: save the fake memory, RSDP copied to address 0
 * (below the first table), as a seed for tests/host/fuzz_acpi.c. */
static void write_seed(const char *name, const uint8_t *rsdp, size_t n)
{
    const char *dir = getenv("NETHV_ACPI_SEED");
    char path[512];
    uint8_t *img;
    FILE *fp;

    if (!dir)
        return;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    img = malloc(next_free);
    assert_non_null(img);
    memcpy(img, mem_buf, next_free);
    memcpy(img, rsdp, n);
    fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(img, 1, next_free, fp), next_free);
    fclose(fp);
    free(img);
}

/* ---- tests: good sets ----------------------------------------------------------- */

static void test_full_xsdt(void **state)
{
    uint8_t rsdp[36];
    static struct acpi_info in;
    size_t n = std_set(rsdp, s5_root_byte, sizeof s5_root_byte);

    assert_int_equal(parse(rsdp, n, &in), ACPI_OK);
    assert_string_equal(logbuf, "");            /* nothing to complain about */
    write_seed("xsdt-full", rsdp, n);
    assert_true(in.root_is_xsdt);
    assert_int_equal(in.ntables, 5);
    assert_int_equal(in.nbad, 0);
    assert_string_equal(in.tables, " FACP APIC HPET MCFG WAET");

    assert_true(in.have_madt);
    assert_int_equal(in.lapic_base, 0xfee00000);
    assert_int_equal(in.ncpus, 2);
    assert_int_equal(in.apic_id[0], 0);
    assert_int_equal(in.apic_id[1], 1);
    assert_int_equal(in.ncpus_off, 0);
    assert_int_equal(in.ncpus_dropped, 0);

    assert_true(in.have_fadt);
    assert_false(in.hw_reduced);
    assert_int_equal(in.smi_cmd, 0xb2);
    assert_int_equal(in.acpi_enable, 0xf1);
    assert_int_equal(in.pm1a_cnt, 0x604);
    assert_int_equal(in.pm1b_cnt, 0);
    assert_int_equal(in.reset_port, 0xcf9);
    assert_int_equal(in.reset_value, 6);
    assert_true(in.have_dsdt);
    assert_true(in.s5_valid);
    assert_int_equal(in.slp_typa, 5);
    assert_int_equal(in.slp_typb, 5);

    assert_int_equal(in.nmcfg, 1);
    assert_int_equal(in.mcfg[0].base, 0xb0000000);
    assert_int_equal(in.mcfg[0].segment, 0);
    assert_int_equal(in.mcfg[0].bus_start, 0);
    assert_int_equal(in.mcfg[0].bus_end, 255);
}

static void test_summary(void **state)
{
    uint8_t rsdp[36];
    static struct acpi_info in;
    size_t n = std_set(rsdp, s5_qemu, sizeof s5_qemu);

    assert_int_equal(parse(rsdp, n, &in), ACPI_OK);
    acpi_print_summary(&in, cap_log);
    assert_string_equal(logbuf,
        "acpi: XSDT, 5 tables: FACP APIC HPET MCFG WAET (0 skipped); ECAM segments: 1\n"
        "acpi: MADT lapic 0xfee00000, 2 CPUs (+0 not enabled, +0 over the limit)\n"
        "acpi: FADT pm1a_cnt 0x604 pm1b_cnt 0x0 smi_cmd 0xb2/0xf1 reset 0xcf9=0x6, "
        "S5 slp_typ 0/0\n");
    acpi_print_summary(&in, NULL);              /* silent, no crash */
}

/* ACPI 1.0: 20-byte RSDP, RSDT only, 116-byte FADT. */
static void test_rsdt_only_acpi1(void **state)
{
    uint8_t rsdp[36];
    static struct acpi_info in;
    struct fadt_opts fo = { .len = 116, .pm1a = 0x404, .smi_cmd = 0xb2,
                            .acpi_enable = 0xa0, .flags = ACPI_FADT_RESET_REG_SUP,
                            .reset = std_fadt.reset, .reset_value = 6 };
    fo.dsdt32 = make_aml_table("DSDT", s5_root_byte, sizeof s5_root_byte);
    uint64_t ents[] = { std_madt(), make_fadt(&fo) };
    uint64_t rsdt = make_root("RSDT", ents, 2);
    size_t n = make_rsdp(rsdp, 0, (uint32_t)rsdt, 0);

    assert_int_equal(n, 20);
    assert_int_equal(parse(rsdp, n, &in), ACPI_OK);
    write_seed("rsdt-acpi1", rsdp, n);
    assert_false(in.root_is_xsdt);
    assert_int_equal(in.ntables, 2);
    assert_string_equal(in.tables, " APIC FACP");
    assert_true(in.have_madt);
    assert_int_equal(in.ncpus, 2);
    assert_true(in.have_fadt);
    assert_int_equal(in.pm1a_cnt, 0x404);
    assert_int_equal(in.smi_cmd, 0xb2);
    assert_int_equal(in.acpi_enable, 0xa0);
    /* flag set, but a 116-byte FADT has no reset register */
    assert_int_equal(in.reset_port, 0);
    assert_true(in.have_dsdt);
    assert_true(in.s5_valid);
    assert_int_equal(in.slp_typa, 5);
    assert_int_equal(in.nmcfg, 0);
}

/* ACPI 2.0 RSDP but the loader only kept 20 bytes: RSDT path. */
static void test_rsdp_v2_short_copy(void **state)
{
    uint8_t rsdp[36];
    static struct acpi_info in;
    std_set(rsdp, s5_qemu, sizeof s5_qemu);
    assert_int_equal(parse(rsdp, 20, &in), ACPI_OK);
    assert_false(in.root_is_xsdt);
    assert_true(logged("copy too short for the XSDT"));
    assert_true(in.have_fadt);
}

/* FADT longer than our struct (ACPI 5+: 276 bytes) is fine. */
static void test_fadt_long(void **state)
{
    uint8_t rsdp[36];
    static struct acpi_info in;
    struct fadt_opts fo = std_fadt;
    fo.len = 276;
    fo.x_dsdt = make_aml_table("DSDT", s5_qemu, sizeof s5_qemu);
    uint64_t ents[] = { make_fadt(&fo) };
    size_t n = make_rsdp(rsdp, 2, 0, make_root("XSDT", ents, 1));
    assert_int_equal(parse(rsdp, n, &in), ACPI_OK);
    assert_true(in.have_fadt);
    assert_true(in.s5_valid);
    assert_false(in.have_madt);
    acpi_print_summary(&in, cap_log);
    assert_true(logged("acpi: no MADT\n"));
}

/* ---- tests: RSDP / root problems ---------------------------------------------------- */

static void test_bad_rsdp(void **state)
{
    uint8_t rsdp[36];
    static struct acpi_info in;
    size_t n = std_set(rsdp, s5_qemu, sizeof s5_qemu);

    rsdp[8] ^= 1;                                   /* checksum */
    assert_int_equal(parse(rsdp, n, &in), ACPI_E_RSDP);
    assert_true(logged("RSDP: bad checksum"));
    rsdp[8] ^= 1;
    assert_int_equal(parse(rsdp, 19, &in), ACPI_E_RSDP);     /* short */
    assert_int_equal(parse(rsdp, 0, &in), ACPI_E_RSDP);
    rsdp[0] = 'r';                                  /* signature */
    assert_int_equal(parse(rsdp, n, &in), ACPI_E_RSDP);
    rsdp[0] = 'R';
    assert_int_equal(parse(rsdp, n, &in), ACPI_OK);
    assert_int_equal(acpi_parse(NULL, n, fake_map, &in, NULL), ACPI_E_ARG);
    assert_int_equal(acpi_parse(rsdp, n, NULL, &in, NULL), ACPI_E_ARG);
    assert_int_equal(acpi_parse(rsdp, n, fake_map, NULL, NULL), ACPI_E_ARG);
}

/* Bad extended checksum: XSDT not trusted, RSDT used. */
static void test_bad_ext_checksum(void **state)
{
    uint8_t rsdp[36];
    static struct acpi_info in;
    size_t n = std_set(rsdp, s5_qemu, sizeof s5_qemu);

    rsdp[32] ^= 0x55;
    assert_int_equal(parse(rsdp, n, &in), ACPI_OK);
    assert_true(logged("bad extended checksum"));
    assert_false(in.root_is_xsdt);
    assert_true(in.have_madt && in.have_fadt && in.nmcfg == 1);

    /* RSDP length field beyond the copy: also falls back */
    n = std_set(rsdp, s5_qemu, sizeof s5_qemu);
    uint32_t len = 40;
    memcpy(rsdp + 20, &len, 4);
    rsdp[32] = 0;
    rsdp[32] = csum(rsdp, 36);
    assert_int_equal(parse(rsdp, n, &in), ACPI_OK);
    assert_false(in.root_is_xsdt);
    assert_true(logged("acpi: RSDP: length field 40 unusable, XSDT ignored\n"));
}

/* XSDT broken: RSDT fallback.  Both broken: ACPI_E_ROOT. */
static void test_root_fallback(void **state)
{
    uint8_t rsdp[36];
    static struct acpi_info in;
    uint64_t ents[] = { std_madt() };
    uint64_t xsdt = make_root("XSDT", ents, 1);
    uint64_t rsdt = make_root("RSDT", ents, 1);
    size_t n = make_rsdp(rsdp, 2, (uint32_t)rsdt, xsdt);

    mem_buf[xsdt + 20] ^= 1;                        /* corrupt XSDT */
    assert_int_equal(parse(rsdp, n, &in), ACPI_OK);
    assert_false(in.root_is_xsdt);
    assert_true(in.have_madt);
    assert_true(logged("skip XSDT at 0x"));
    assert_true(logged("XSDT: unusable, trying the RSDT"));

    mem_buf[rsdt + 20] ^= 1;                        /* and the RSDT */
    assert_int_equal(parse(rsdp, n, &in), ACPI_E_ROOT);

    /* root pointers outside memory */
    n = make_rsdp(rsdp, 2, 0x7ff00000, 0x100000000ull);
    assert_int_equal(parse(rsdp, n, &in), ACPI_E_ROOT);
    assert_true(logged("header not mapped"));
    n = make_rsdp(rsdp, 2, 0, 0);
    assert_int_equal(parse(rsdp, n, &in), ACPI_E_ROOT);
    /* root with wrong signature */
    n = make_rsdp(rsdp, 0, (uint32_t)ents[0], 0);
    assert_int_equal(parse(rsdp, n, &in), ACPI_E_ROOT);
    assert_true(logged("wrong signature"));
}

/* ---- tests: bad tables are skipped ------------------------------------------------- */

static void test_bad_table_checksum(void **state)
{
    uint8_t rsdp[36];
    static struct acpi_info in;
    uint64_t madt = std_madt();
    uint64_t ents[] = { madt, make_hpet(0xfed00000) };
    size_t n = make_rsdp(rsdp, 2, 0, make_root("XSDT", ents, 2));

    mem_buf[madt + 40] ^= 0x10;                     /* MADT flags byte */
    assert_int_equal(parse(rsdp, n, &in), ACPI_OK);
    assert_false(in.have_madt);
    assert_int_equal(in.ncpus, 0);
    assert_int_equal(in.nbad, 1);
    assert_true(logged("acpi: skip APIC at 0x"));
    assert_true(logged(": bad checksum\n"));
    assert_string_equal(in.tables, " HPET");        /* bad one not listed */
    acpi_print_summary(&in, cap_log);
    assert_true(logged("acpi: XSDT, 2 tables: HPET (1 skipped); ECAM segments: 0\n"));
}

static void test_bad_lengths(void **state)
{
    uint8_t rsdp[36];
    static struct acpi_info in;
    struct tb t;
    uint64_t ents[6];
    uint32_t v;

    /* 1: length 20 < header */
    tb_init(&t, "APIC", 1);
    ents[0] = tb_place(&t);
    v = 20;
    memcpy(mem_buf + ents[0] + 4, &v, 4);
    /* 2: MADT with valid checksum but shorter than the MADT fixed part */
    tb_init(&t, "APIC", 1);
    tb_add(&t, "\0\0\xe0\xfe", 4);
    ents[1] = tb_place(&t);
    /* 3: absurd length (checksum irrelevant) */
    tb_init(&t, "MCFG", 1);
    ents[2] = tb_place(&t);
    v = 0x40000000;
    memcpy(mem_buf + ents[2] + 4, &v, 4);
    /* 4: length runs past the end of (fake) memory */
    tb_init(&t, "HPET", 1);
    ents[3] = tb_place_at(&t, MEM_SIZE - 64);
    v = 200;
    memcpy(mem_buf + ents[3] + 4, &v, 4);
    /* 5: FADT shorter than ACPI 1.0's 116 bytes */
    tb_init(&t, "FACP", 1);
    for (int i = 0; i < 40; i++)
        tb_u8(&t, 0);
    ents[4] = tb_place(&t);
    /* 6: a good MADT after all that */
    ents[5] = std_madt();

    size_t n = make_rsdp(rsdp, 2, 0, make_root("XSDT", ents, 6));
    assert_int_equal(parse(rsdp, n, &in), ACPI_OK);
    assert_true(logged("too short: length 20"));
    assert_true(logged("skip APIC at 0x"));
    assert_true(logged("too long: length 1073741824"));
    assert_true(logged("not mapped: length 200"));
    assert_true(logged("skip FACP at 0x"));
    assert_int_equal(in.nbad, 5);
    assert_false(in.have_fadt);
    assert_int_equal(in.nmcfg, 0);
    assert_string_equal(in.tables, " APIC FACP APIC");  /* header and checksum good */
    assert_true(in.have_madt);
    assert_int_equal(in.ncpus, 2);

    /* root table whose length is not a multiple of the entry size */
    tb_init(&t, "XSDT", 1);
    tb_add(&t, &ents[5], 8);
    tb_add(&t, "\1\2\3", 3);
    n = make_rsdp(rsdp, 2, 0, tb_place(&t));
    assert_int_equal(parse(rsdp, n, &in), ACPI_OK);
    assert_int_equal(in.ntables, 1);
    assert_true(in.have_madt);
    assert_true(logged("not a whole number of entries"));
}

/* Table pointers that the map refuses (outside the fake memory). */
static void test_unmapped_pointers(void **state)
{
    uint8_t rsdp[36];
    static struct acpi_info in;
    struct fadt_opts fo = std_fadt;
    fo.x_dsdt = 0x12345678000ull;                   /* nowhere */
    fo.dsdt32 = 0xfff00000;                         /* nowhere either */
    uint64_t ents[] = { 0x80000000, 0, UINT64_MAX - 8, make_fadt(&fo), std_madt() };
    size_t n = make_rsdp(rsdp, 2, 0, make_root("XSDT", ents, 5));

    assert_int_equal(parse(rsdp, n, &in), ACPI_OK);
    assert_true(logged("header not mapped"));
    assert_true(logged("null address"));
    assert_true(logged("address out of range"));
    assert_true(in.have_fadt);
    assert_false(in.have_dsdt);
    assert_false(in.s5_valid);
    assert_true(logged("skip DSDT at 0x12345678000: header not mapped"));
    assert_true(logged("skip DSDT at 0xfff00000: header not mapped"));
    assert_true(in.have_madt);
    assert_int_equal(in.nbad, 5);
}

static void test_duplicates(void **state)
{
    uint8_t rsdp[36];
    static struct acpi_info in;
    struct tb t;
    madt_begin(&t, 0xfee00000, 0);
    madt_lapic(&t, 0, 7, ACPI_CPU_ENABLED);
    uint64_t ents[] = { std_madt(), tb_place(&t) };
    size_t n = make_rsdp(rsdp, 2, 0, make_root("XSDT", ents, 2));
    assert_int_equal(parse(rsdp, n, &in), ACPI_OK);
    assert_int_equal(in.ncpus, 2);                  /* the first one wins */
    assert_true(logged("APIC: duplicate table ignored"));
}

/* ---- tests: MADT ---------------------------------------------------------------------- */

static size_t one_table(uint8_t rsdp[36], uint64_t table)
{
    return make_rsdp(rsdp, 2, 0, make_root("XSDT", &table, 1));
}

static void test_madt_cpus(void **state)
{
    uint8_t rsdp[36];
    static struct acpi_info in;
    struct tb t;
    static const uint8_t short_lapic[] = { 0, 4, 0, 0 };
    static const uint8_t unknown[] = { 0x7f, 6, 1, 2, 3, 4 };

    madt_begin(&t, 0xfee00000, 0);
    madt_lapic(&t, 0, 0, ACPI_CPU_ENABLED);
    madt_lapic(&t, 1, 1, 0);                                /* disabled */
    madt_lapic(&t, 2, 2, ACPI_CPU_ONLINE_CAPABLE);          /* hot-pluggable */
    madt_lapic(&t, 3, 0xff, ACPI_CPU_ENABLED);              /* invalid id */
    tb_add(&t, short_lapic, sizeof short_lapic);            /* too short */
    tb_add(&t, unknown, sizeof unknown);                    /* ignored */
    madt_x2apic(&t, 300, 300, ACPI_CPU_ENABLED);
    madt_x2apic(&t, 0, 9, ACPI_CPU_ENABLED);                /* dup of lapic 0 */
    madt_x2apic(&t, 301, 301, 0);                           /* disabled */
    madt_x2apic(&t, 0xffffffff, 5, ACPI_CPU_ENABLED);       /* invalid */
    {
        struct acpi_madt_x2apic_nmi e = { 10, 12, 0, 300, 1, { 0 } };
        tb_add(&t, &e, sizeof e);
    }
    assert_int_equal(parse(rsdp, one_table(rsdp, tb_place(&t)), &in), ACPI_OK);
    assert_true(in.have_madt);
    write_seed("madt-mixed", rsdp, 36);
    /* enabled only: online-capable 2 is a hot-plug slot, not started */
    assert_int_equal(in.ncpus, 2);
    assert_int_equal(in.apic_id[0], 0);
    assert_int_equal(in.apic_id[1], 300);
    assert_int_equal(in.ncpus_off, 3);
    assert_int_equal(in.ncpus_dropped, 0);
    assert_true(logged("APIC: entry too short, skipped: type 0\n"));
    assert_true(logged("APIC: duplicate apic id 0, ignored\n"));
    assert_true(logged("APIC: invalid processor apic id 255, ignored\n"));
    assert_true(logged("APIC: invalid processor apic id 4294967295, ignored\n"));

    loglen = 0;
    logbuf[0] = '\0';
    acpi_print_summary(&in, cap_log);
    assert_true(logged("acpi: MADT lapic 0xfee00000, 2 CPUs (+3 not enabled, +0 over the limit)\n"));
}

static void test_madt_lapic_override(void **state)
{
    uint8_t rsdp[36];
    static struct acpi_info in;
    struct tb t;
    struct acpi_madt_lapic_override o = { 5, 12, 0, 0x1234fee00000ull };

    madt_begin(&t, 0xfee00000, 1);
    madt_lapic(&t, 0, 0, ACPI_CPU_ENABLED);
    tb_add(&t, &o, sizeof o);
    madt_lapic(&t, 1, 1, ACPI_CPU_ENABLED);
    assert_int_equal(parse(rsdp, one_table(rsdp, tb_place(&t)), &in), ACPI_OK);
    assert_int_equal(in.lapic_base, 0x1234fee00000ull);
    assert_int_equal(in.ncpus, 2);
}

static void test_madt_limits(void **state)
{
    uint8_t rsdp[36];
    static struct acpi_info in;
    struct tb t;

    madt_begin(&t, 0xfee00000, 1);
    for (unsigned i = 0; i < ACPI_MAX_CPUS + 6; i++)
        madt_x2apic(&t, i, i, ACPI_CPU_ENABLED);
    /* entry types the kernel does not use, skipped without complaint */
    for (unsigned i = 0; i < 20; i++) {
        madt_ioapic(&t, (uint8_t)i, 0xfec00000 + i * 0x1000, i * 24);
        madt_iso(&t, (uint8_t)i, i, 0);
        madt_nmi(&t, (uint8_t)i, 1);
    }
    madt_x2apic(&t, 1000, 1000, ACPI_CPU_ENABLED);         /* still counted */
    uint64_t ents[] = { tb_place(&t), make_mcfg(0xb0000000, 255, ACPI_MAX_MCFG + 2) };
    size_t n = make_rsdp(rsdp, 2, 0, make_root("XSDT", ents, 2));
    assert_int_equal(parse(rsdp, n, &in), ACPI_OK);
    assert_int_equal(in.ncpus, ACPI_MAX_CPUS);
    assert_int_equal(in.apic_id[ACPI_MAX_CPUS - 1], ACPI_MAX_CPUS - 1);
    assert_int_equal(in.ncpus_dropped, 7);
    assert_int_equal(in.nmcfg, ACPI_MAX_MCFG);
    assert_int_equal(in.mcfg[ACPI_MAX_MCFG - 1].segment, ACPI_MAX_MCFG - 1);
    assert_true(logged("acpi: MCFG: 6 allocations, only the first 4 used\n"));
    assert_false(logged("APIC:"));
    loglen = 0;
    acpi_print_summary(&in, cap_log);
    assert_true(logged("64 CPUs (+0 not enabled, +7 over the limit)\n"));
    assert_true(logged("ECAM segments: 4\n"));
}

static void test_madt_bad_entries(void **state)
{
    uint8_t rsdp[36];
    static struct acpi_info in;
    struct tb t;
    static const uint8_t zero_len[] = { 0, 0, 0, 0, 0, 0, 0, 0 };
    static const uint8_t overrun[] = { 1, 40, 0, 0 };

    madt_begin(&t, 0xfee00000, 1);
    madt_lapic(&t, 0, 0, ACPI_CPU_ENABLED);
    tb_add(&t, zero_len, sizeof zero_len);
    madt_lapic(&t, 1, 1, ACPI_CPU_ENABLED);     /* never reached */
    assert_int_equal(parse(rsdp, one_table(rsdp, tb_place(&t)), &in), ACPI_OK);
    assert_int_equal(in.ncpus, 1);
    assert_true(logged("acpi: APIC: entry length < 2 at offset 52, rest ignored\n"));

    madt_begin(&t, 0xfee00000, 1);
    madt_lapic(&t, 0, 0, ACPI_CPU_ENABLED);
    tb_add(&t, overrun, sizeof overrun);
    assert_int_equal(parse(rsdp, one_table(rsdp, tb_place(&t)), &in), ACPI_OK);
    assert_int_equal(in.ncpus, 1);
    assert_true(logged("acpi: APIC: entry overruns table at offset 52, rest ignored\n"));

    /* a trailing single byte (no room for an entry header) is harmless */
    madt_begin(&t, 0xfee00000, 1);
    madt_lapic(&t, 0, 0, ACPI_CPU_ENABLED);
    tb_u8(&t, 0);
    assert_int_equal(parse(rsdp, one_table(rsdp, tb_place(&t)), &in), ACPI_OK);
    assert_int_equal(in.ncpus, 1);
}

/* ---- tests: FADT ---------------------------------------------------------------------- */

static void test_fadt_fields(void **state)
{
    uint8_t rsdp[36];
    static struct acpi_info in;
    struct fadt_opts fo = std_fadt;

    /* X_PM1a_CNT in I/O space wins over the legacy block */
    fo.x_pm1a = (struct acpi_gas){ ACPI_GAS_IO, 16, 0, 2, 0x1004 };
    fo.pm1b = 0x1104;
    fo.x_dsdt = make_aml_table("DSDT", s5_qemu, sizeof s5_qemu);
    assert_int_equal(parse(rsdp, one_table(rsdp, make_fadt(&fo)), &in), ACPI_OK);
    assert_int_equal(in.pm1a_cnt, 0x1004);
    assert_int_equal(in.pm1b_cnt, 0x1104);
    assert_true(in.have_dsdt);

    /* X_ in memory space: not usable for port I/O, legacy used */
    fo.x_pm1a = (struct acpi_gas){ ACPI_GAS_MEMORY, 16, 0, 2, 0xfe000000 };
    assert_int_equal(parse(rsdp, one_table(rsdp, make_fadt(&fo)), &in), ACPI_OK);
    assert_int_equal(in.pm1a_cnt, 0x604);
    assert_true(logged("acpi: FACP: X_PM1a_CNT_BLK unusable for port I/O: space 0 "
                       "address 0xfe000000\n"));

    /* X_ I/O address above 64 KiB, legacy block too: none */
    fo.x_pm1a = (struct acpi_gas){ ACPI_GAS_IO, 16, 0, 2, 0x11004 };
    fo.pm1a = 0x10604;
    assert_int_equal(parse(rsdp, one_table(rsdp, make_fadt(&fo)), &in), ACPI_OK);
    assert_int_equal(in.pm1a_cnt, 0);

    /* reset register in memory space: not usable by acpi_reset */
    fo = std_fadt;
    fo.reset = (struct acpi_gas){ ACPI_GAS_MEMORY, 8, 0, 1, 0xfe000000 };
    assert_int_equal(parse(rsdp, one_table(rsdp, make_fadt(&fo)), &in), ACPI_OK);
    assert_int_equal(in.reset_port, 0);
    assert_true(logged("acpi: FACP: RESET_REG unusable for port I/O: space 0 address "
                       "0xfe000000\n"));
    fo.reset = (struct acpi_gas){ ACPI_GAS_IO, 8, 0, 1, 0x10cf9 };
    assert_int_equal(parse(rsdp, one_table(rsdp, make_fadt(&fo)), &in), ACPI_OK);
    assert_int_equal(in.reset_port, 0);

    /* a FADT that ends inside the reset register's block: no reset */
    for (uint32_t len = 116; len <= 129; len++) {
        fo = std_fadt;
        fo.len = len;
        assert_int_equal(parse(rsdp, one_table(rsdp, make_fadt(&fo)), &in), ACPI_OK);
        assert_int_equal(in.reset_port, len > 128 ? 0xcf9 : 0);
        assert_int_equal(in.reset_value, len > 128 ? 6 : 0);
    }

    /* HW-reduced, no reset support, SMI_CMD out of range */
    fo = std_fadt;
    fo.flags = ACPI_FADT_HW_REDUCED;
    fo.smi_cmd = 0x12345;
    assert_int_equal(parse(rsdp, one_table(rsdp, make_fadt(&fo)), &in), ACPI_OK);
    assert_true(in.hw_reduced);
    assert_int_equal(in.reset_port, 0);
    assert_int_equal(in.smi_cmd, 0);
    assert_true(logged("acpi: FACP: SMI_CMD 0x12345 beyond I/O space, ignored\n"));
    assert_true(logged("acpi: FACP: no DSDT address\n"));
    assert_false(in.have_dsdt);
    loglen = 0;
    acpi_print_summary(&in, cap_log);
    assert_true(logged("acpi: FADT hw-reduced pm1a_cnt 0x604 pm1b_cnt 0x0 smi_cmd 0x0/0x0 "
                       "reset 0x0=0x0, no DSDT\n"));
}

static void test_dsdt_choice(void **state)
{
    uint8_t rsdp[36];
    static struct acpi_info in;
    static const uint8_t s5_7[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02,
                                    0x0a, 0x07, 0x00 };
    struct fadt_opts fo = std_fadt;
    fo.dsdt32 = make_aml_table("DSDT", s5_7, sizeof s5_7);
    fo.x_dsdt = make_aml_table("DSDT", s5_root_byte, sizeof s5_root_byte);
    uint64_t fadt = make_fadt(&fo);

    assert_int_equal(parse(rsdp, one_table(rsdp, fadt), &in), ACPI_OK);
    assert_int_equal(in.slp_typa, 5);               /* X_DSDT preferred */

    mem_buf[fo.x_dsdt + 40] ^= 1;                   /* X_DSDT bad: 32-bit used */
    assert_int_equal(parse(rsdp, one_table(rsdp, fadt), &in), ACPI_OK);
    assert_int_equal(in.slp_typa, 7);
    assert_int_equal(in.slp_typb, 0);
    assert_true(logged("skip DSDT at 0x"));

    /* wrong signature at the DSDT pointer */
    fo.dsdt32 = fo.x_dsdt = make_aml_table("SSDT", s5_7, sizeof s5_7);
    assert_int_equal(parse(rsdp, one_table(rsdp, make_fadt(&fo)), &in), ACPI_OK);
    assert_false(in.have_dsdt);
    assert_true(logged(": wrong signature SSDT\n"));
}

/* ---- tests: \_S5 ------------------------------------------------------------------------ */

static bool s5(const uint8_t *aml, size_t n, uint8_t *a, uint8_t *b)
{
    /* copy to an exact-size heap block so ASan sees any overread */
    uint8_t *p = malloc(n ? n : 1);
    bool r;
    memcpy(p, aml, n);
    *a = *b = 0xee;
    r = acpi_find_s5(p, n, a, b);
    free(p);
    return r;
}

static void test_s5_variants(void **state)
{
    uint8_t a, b;

    assert_true(s5(s5_qemu, sizeof s5_qemu, &a, &b));
    assert_int_equal(a, 0);
    assert_int_equal(b, 0);
    assert_true(s5(s5_root_byte, sizeof s5_root_byte, &a, &b));
    assert_int_equal(a, 5);
    assert_int_equal(b, 5);

    static const uint8_t one_op[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x05,
                                      0x02, 0x0a, 0x07, 0x01 };
    assert_true(s5(one_op, sizeof one_op, &a, &b));
    assert_int_equal(a, 7);
    assert_int_equal(b, 1);

    static const uint8_t plain[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x02,
                                     0x06, 0x03 };
    assert_true(s5(plain, sizeof plain, &a, &b));
    assert_int_equal(a, 6);
    assert_int_equal(b, 3);

    /* one WordPrefix integer: a in bits 7:0, b in 15:8 */
    static const uint8_t packed[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x01,
                                      0x0b, 0x07, 0x03 };
    assert_true(s5(packed, sizeof packed, &a, &b));
    assert_int_equal(a, 7);
    assert_int_equal(b, 3);

    static const uint8_t dword[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x0c, 0x02,
                                     0x0c, 0x05, 0, 0, 0, 0x0c, 0x04, 0, 0, 0 };
    assert_true(s5(dword, sizeof dword, &a, &b));
    assert_int_equal(a, 5);
    assert_int_equal(b, 4);

    /* two-byte PkgLength (0x46 0x04 = 70 bytes) */
    uint8_t big[80] = { 0x08, '_', 'S', '5', '_', 0x12, 0x46, 0x04, 0x04, 0x0a,
                        0x02, 0x0a, 0x01 };
    assert_true(s5(big, 6 + 70, &a, &b));
    assert_int_equal(a, 2);
    assert_int_equal(b, 1);
    assert_false(s5(big, 6 + 69, &a, &b));          /* package overruns */

    /* a reference (CondRefOf(\_S5)) before the definition is skipped */
    static const uint8_t ref_first[] = { 0x5b, 0x12, '\\', '_', 'S', '5', '_', 0x00,
                                         0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04,
                                         0x0a, 0x03, 0x0a, 0x02 };
    assert_true(s5(ref_first, sizeof ref_first, &a, &b));
    assert_int_equal(a, 3);
    assert_int_equal(b, 2);
}

static void test_s5_rejects(void **state)
{
    uint8_t a, b;
    static const uint8_t none[] = { 0x08, '_', 'S', '4', '_', 0x12, 0x06, 0x04,
                                    0, 0, 0, 0 };
    static const uint8_t not_pkg[] = { 0x08, '_', 'S', '5', '_', 0x0a, 0x05 };
    static const uint8_t no_nameop[] = { 0x70, '_', 'S', '5', '_', 0x12, 0x06, 0x04,
                                         0, 0, 0, 0 };
    static const uint8_t too_big[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04,
                                       0x0a, 0x08, 0, 0 };
    static const uint8_t zero_elems[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x02,
                                          0x00, 0xa3 };
    static const uint8_t bad_elem[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x02,
                                        0xff, 0x00 };
    static const uint8_t pkglen_small[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x01,
                                            0x02, 0x00, 0x00 };
    static const uint8_t elem_past_pkg[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x03,
                                             0x02, 0x00, 0x00 };
    static const uint8_t cut[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04,
                                   0x0a };
    static const uint8_t cut_pkglen[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x46 };

    assert_false(s5(none, sizeof none, &a, &b));
    assert_false(s5(not_pkg, sizeof not_pkg, &a, &b));
    assert_false(s5(no_nameop, sizeof no_nameop, &a, &b));
    assert_false(s5(too_big, sizeof too_big, &a, &b));
    assert_false(s5(zero_elems, sizeof zero_elems, &a, &b));
    assert_false(s5(bad_elem, sizeof bad_elem, &a, &b));
    assert_false(s5(pkglen_small, sizeof pkglen_small, &a, &b));
    assert_false(s5(elem_past_pkg, sizeof elem_past_pkg, &a, &b));
    for (size_t n = 0; n <= sizeof cut; n++)
        assert_false(s5(cut, n, &a, &b));
    assert_false(s5(cut_pkglen, sizeof cut_pkglen, &a, &b));
    assert_false(acpi_find_s5(NULL, 10, &a, &b));
    /* "_S5_" at offset 0 has no room for a NameOp */
    assert_false(s5(s5_qemu + 1, sizeof s5_qemu - 1, &a, &b));
}

static void test_s5_missing_and_ssdt(void **state)
{
    uint8_t rsdp[36];
    static struct acpi_info in;
    struct fadt_opts fo = std_fadt;

    fo.x_dsdt = make_aml_table("DSDT", NULL, 0);
    uint64_t fadt = make_fadt(&fo);
    assert_int_equal(parse(rsdp, one_table(rsdp, fadt), &in), ACPI_OK);
    assert_true(in.have_dsdt);
    assert_false(in.s5_valid);
    acpi_print_summary(&in, cap_log);
    assert_true(logged(", no \\_S5\n"));

    /* the same, plus an SSDT (listed before the FADT) carrying \_S5 */
    uint64_t ents[] = { make_aml_table("SSDT", NULL, 0),
                        make_aml_table("SSDT", s5_root_byte, sizeof s5_root_byte),
                        fadt };
    size_t n = make_rsdp(rsdp, 2, 0, make_root("XSDT", ents, 3));
    assert_int_equal(parse(rsdp, n, &in), ACPI_OK);
    write_seed("ssdt-s5", rsdp, n);
    assert_true(in.s5_valid);
    assert_int_equal(in.slp_typa, 5);
}

/* ---- tests: power-off / reset -------------------------------------------------------------- */

struct io_op {
    char     kind;                  /* 'b' out8, 'w' out16 */
    uint16_t port;
    uint16_t val;
};

struct fake_io {
    uint16_t pm1a, pm1b;            /* register contents */
    uint16_t pm1a_port, pm1b_port, smi_port;
    uint8_t  enable_val;
    bool     smi_sets_sci;
    struct io_op ops[32];
    unsigned nops;
    uint32_t slept_ms;
};

static uint16_t f_in16(void *ctx, uint16_t port)
{
    struct fake_io *f = ctx;
    if (port == f->pm1a_port)
        return f->pm1a;
    if (port == f->pm1b_port)
        return f->pm1b;
    fail_msg("in16 from unexpected port %#x", port);
    return 0;
}

static void f_record(struct fake_io *f, char kind, uint16_t port, uint16_t val)
{
    assert_true(f->nops < 32);
    f->ops[f->nops++] = (struct io_op){ kind, port, val };
}

static void f_out16(void *ctx, uint16_t port, uint16_t val)
{
    struct fake_io *f = ctx;
    f_record(f, 'w', port, val);
    if (port == f->pm1a_port)
        f->pm1a = val & (uint16_t)~ACPI_PM1_SLP_EN;
    else if (port == f->pm1b_port)
        f->pm1b = val & (uint16_t)~ACPI_PM1_SLP_EN;
    else
        fail_msg("out16 to unexpected port %#x", port);
}

static void f_out8(void *ctx, uint16_t port, uint8_t val)
{
    struct fake_io *f = ctx;
    f_record(f, 'b', port, val);
    if (port == f->smi_port && val == f->enable_val && f->smi_sets_sci)
        f->pm1a |= ACPI_PM1_SCI_EN;
}

static void f_delay(void *ctx, uint32_t ms)
{
    ((struct fake_io *)ctx)->slept_ms += ms;
}

static struct acpi_info pm_info(void)
{
    struct acpi_info in;
    memset(&in, 0, sizeof in);
    in.have_fadt = true;
    in.pm1a_cnt = 0x604;
    in.smi_cmd = 0xb2;
    in.acpi_enable = 0xf1;
    in.s5_valid = true;
    in.slp_typa = 5;
    in.slp_typb = 2;
    return in;
}

static void test_poweroff_smi_enable(void **state)
{
    struct acpi_info in = pm_info();
    struct fake_io f = { .pm1a = 0x1c00 | 0x0002, .pm1a_port = 0x604,
                         .smi_port = 0xb2, .enable_val = 0xf1, .smi_sets_sci = true };
    struct acpi_port_ops io = { f_in16, f_out16, f_out8, f_delay, &f };

    assert_int_equal(acpi_poweroff(&in, &io), ACPI_E_TIMEOUT);
    assert_int_equal(f.nops, 3);
    assert_int_equal(f.ops[0].kind, 'b');
    assert_int_equal(f.ops[0].port, 0xb2);
    assert_int_equal(f.ops[0].val, 0xf1);
    /* old SLP_TYP (7) cleared, BM_RLD (bit 1) and SCI_EN kept */
    assert_int_equal(f.ops[1].kind, 'w');
    assert_int_equal(f.ops[1].port, 0x604);
    assert_int_equal(f.ops[1].val, 5 << 10 | 0x2 | ACPI_PM1_SCI_EN);
    assert_int_equal(f.ops[2].port, 0x604);
    assert_int_equal(f.ops[2].val, 5 << 10 | ACPI_PM1_SLP_EN | 0x2 | ACPI_PM1_SCI_EN);
    assert_int_equal(f.slept_ms, 1000);
}

static void test_poweroff_already_acpi(void **state)
{
    struct acpi_info in = pm_info();
    struct fake_io f = { .pm1a = ACPI_PM1_SCI_EN, .pm1a_port = 0x604,
                         .pm1b_port = 0x704, .smi_port = 0xb2, .enable_val = 0xf1 };
    struct acpi_port_ops io = { f_in16, f_out16, f_out8, f_delay, &f };

    in.pm1b_cnt = 0x704;
    assert_int_equal(acpi_poweroff(&in, &io), ACPI_E_TIMEOUT);
    assert_int_equal(f.nops, 4);                    /* no SMI write */
    assert_int_equal(f.ops[0].port, 0x604);
    assert_int_equal(f.ops[0].val, 5 << 10 | 1);
    assert_int_equal(f.ops[1].port, 0x704);
    assert_int_equal(f.ops[1].val, 2 << 10);
    assert_int_equal(f.ops[2].port, 0x604);
    assert_int_equal(f.ops[2].val, 5 << 10 | 1 | ACPI_PM1_SLP_EN);
    assert_int_equal(f.ops[3].port, 0x704);
    assert_int_equal(f.ops[3].val, 2 << 10 | ACPI_PM1_SLP_EN);
}

static void test_poweroff_sci_never_set(void **state)
{
    struct acpi_info in = pm_info();
    struct fake_io f = { .pm1a_port = 0x604, .smi_port = 0xb2, .enable_val = 0xf1 };
    struct acpi_port_ops io = { f_in16, f_out16, f_out8, f_delay, &f };

    assert_int_equal(acpi_poweroff(&in, &io), ACPI_E_TIMEOUT);
    assert_int_equal(f.slept_ms, ACPI_ENABLE_POLL_MS + 1000);
    assert_int_equal(f.nops, 3);                    /* tried anyway */
    assert_int_equal(f.ops[2].val, 5 << 10 | ACPI_PM1_SLP_EN);

    /* no SMI_CMD: nothing to enable, straight to the sleep write */
    memset(&f.ops, 0, sizeof f.ops);
    f.nops = 0;
    f.slept_ms = 0;
    in.smi_cmd = 0;
    assert_int_equal(acpi_poweroff(&in, &io), ACPI_E_TIMEOUT);
    assert_int_equal(f.nops, 2);
    assert_int_equal(f.slept_ms, 1000);
}

static void test_poweroff_unsupported(void **state)
{
    struct acpi_info in = pm_info();
    struct fake_io f = { .pm1a_port = 0x604 };
    struct acpi_port_ops io = { f_in16, f_out16, f_out8, f_delay, &f };
    struct acpi_port_ops bad = { f_in16, f_out16, NULL, f_delay, &f };

    assert_int_equal(acpi_poweroff(NULL, &io), ACPI_E_ARG);
    assert_int_equal(acpi_poweroff(&in, NULL), ACPI_E_ARG);
    assert_int_equal(acpi_poweroff(&in, &bad), ACPI_E_ARG);
    in.s5_valid = false;
    assert_int_equal(acpi_poweroff(&in, &io), ACPI_E_NOSUPP);
    in = pm_info();
    in.pm1a_cnt = 0;
    assert_int_equal(acpi_poweroff(&in, &io), ACPI_E_NOSUPP);
    in = pm_info();
    in.hw_reduced = true;
    assert_int_equal(acpi_poweroff(&in, &io), ACPI_E_NOSUPP);
    assert_int_equal(f.nops, 0);
}

static void test_reset(void **state)
{
    struct acpi_info in = pm_info();
    struct fake_io f = { .pm1a_port = 0x604 };
    struct acpi_port_ops io = { f_in16, f_out16, f_out8, f_delay, &f };

    assert_int_equal(acpi_reset(&in, &io), ACPI_E_NOSUPP);
    assert_int_equal(f.nops, 0);
    in.reset_port = 0xcf9;
    in.reset_value = 6;
    assert_int_equal(acpi_reset(&in, &io), ACPI_E_TIMEOUT);
    assert_int_equal(f.nops, 1);
    assert_int_equal(f.ops[0].kind, 'b');
    assert_int_equal(f.ops[0].port, 0xcf9);
    assert_int_equal(f.ops[0].val, 6);
    assert_int_equal(acpi_reset(&in, NULL), ACPI_E_ARG);
}

/* End to end: parsed QEMU-like tables drive the power-off writes. */
static void test_parse_then_poweroff(void **state)
{
    uint8_t rsdp[36];
    static struct acpi_info in;
    size_t n = std_set(rsdp, s5_qemu, sizeof s5_qemu);
    struct fake_io f = { .pm1a_port = 0x604, .smi_port = 0xb2, .enable_val = 0xf1,
                         .smi_sets_sci = true };
    struct acpi_port_ops io = { f_in16, f_out16, f_out8, f_delay, &f };

    assert_int_equal(parse(rsdp, n, &in), ACPI_OK);
    assert_int_equal(acpi_poweroff(&in, &io), ACPI_E_TIMEOUT);
    assert_int_equal(f.nops, 3);
    assert_int_equal(f.ops[0].port, 0xb2);
    assert_int_equal(f.ops[2].val, ACPI_PM1_SLP_EN | ACPI_PM1_SCI_EN);
}

/* ---- optional: a real memory dump ------------------------------------------------------------ */

static void test_memdump(void **state)
{
    const char *path = getenv("NETHV_ACPI_MEMDUMP");
    static struct acpi_info in;
    uint8_t *buf;
    FILE *fp;
    long sz;

    if (!path)
        skip();
    fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    assert_true(sz > 0x100000);
    buf = malloc((size_t)sz);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)sz, fp), (size_t)sz);
    fclose(fp);
    mem = buf;
    mem_size = (size_t)sz;

    size_t at = 0;
    for (size_t p = 0xe0000; p < 0x100000; p += 16) {
        if (memcmp(buf + p, "RSD PTR ", 8) == 0) {
            at = p;
            break;
        }
    }
    assert_true(at != 0);
    size_t n = buf[at + 15] >= 2 ? 36 : 20;
    assert_int_equal(parse(buf + at, n, &in), ACPI_OK);
    acpi_print_summary(&in, cap_log);
    fputs(logbuf, stdout);
    assert_true(in.have_madt && in.have_fadt && in.s5_valid);
    assert_true(in.ncpus >= 1);
    assert_int_not_equal(in.pm1a_cnt, 0);
    mem = mem_buf;
    mem_size = MEM_SIZE;
    free(buf);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_full_xsdt),
        T(test_summary),
        T(test_rsdt_only_acpi1),
        T(test_rsdp_v2_short_copy),
        T(test_fadt_long),
        T(test_bad_rsdp),
        T(test_bad_ext_checksum),
        T(test_root_fallback),
        T(test_bad_table_checksum),
        T(test_bad_lengths),
        T(test_unmapped_pointers),
        T(test_duplicates),
        T(test_madt_cpus),
        T(test_madt_lapic_override),
        T(test_madt_limits),
        T(test_madt_bad_entries),
        T(test_fadt_fields),
        T(test_dsdt_choice),
        T(test_s5_variants),
        T(test_s5_rejects),
        T(test_s5_missing_and_ssdt),
        T(test_poweroff_smi_enable),
        T(test_poweroff_already_acpi),
        T(test_poweroff_sci_never_set),
        T(test_poweroff_unsupported),
        T(test_reset),
        T(test_parse_then_poweroff),
        T(test_memdump),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
