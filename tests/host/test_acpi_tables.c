/*
 * Host test for the guest's ACPI tables (vmm/acpi_tables.c): build them into
 * a fake 1 MiB of guest RAM and read them back with nethv's own ACPI parser
 * (kernel/acpi.c), which checks every length and checksum.  The parser's
 * fake map() hands out malloc'd copies of exactly the mapped length (ASan
 * flags reads past a table).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arch/x86.h>
#include <nethv/spinlock.h>

/* the generator's own names, kept apart from nethv/acpi.h's */
#define acpi_rsdp   gen_acpi_rsdp
#define acpi_gas    gen_acpi_gas
#define acpi_header gen_acpi_header
#define acpi_fadt   gen_acpi_fadt
#define checksum    gen_checksum
#define header      gen_header
#include "../../vmm/acpi_tables.c"
#undef acpi_rsdp
#undef acpi_gas
#undef acpi_header
#undef acpi_fadt
#undef checksum
#undef header
#include "../../kernel/acpi.c"

/* ---- fakes -------------------------------------------------------------------------- */
#define GUEST_MEM (1u << 20)
static uint8_t guest[GUEST_MEM];
static void *maps[256];
static unsigned nmaps;

int vm_gpa_write(unsigned vm_id, uint64_t gpa, const void *buf, size_t len)
{
    if (gpa > GUEST_MEM || len > GUEST_MEM - gpa)
        return -1;
    memcpy(guest + gpa, buf, len);
    return 0;
}

void printk(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

static const void *fake_map(uint64_t phys, size_t len)
{
    if (phys > GUEST_MEM || len > GUEST_MEM - phys || nmaps == 256)
        return NULL;
    void *p = malloc(len ? len : 1);
    memcpy(p, guest + phys, len);
    maps[nmaps++] = p;
    return p;
}

static void unmap_all(void)
{
    while (nmaps)
        free(maps[--nmaps]);
}

static struct acpi_info info;

static void build_and_parse(unsigned vcpus)
{
    static struct vmm m;
    memset(guest, 0, sizeof(guest));
    memset(&m, 0, sizeof(m));
    m.vcpus = vcpus;
    struct vmm_create_args a = { 0, "t", vcpus, 256u << 20, VMM_PLATFORM_PC, 0 };
    assert_int_equal(vmm_acpi_tables_init(&m, &a), 0);
    assert_int_equal(acpi_parse(guest + GUEST_ACPI_BASE, 36, fake_map, &info, NULL), ACPI_OK);
    unmap_all();
}

/* The kernel's parser keeps only what the kernel uses; the rest of the
 * guest's tables is checked here byte by byte (ACPI 6.4 offsets). */
static const uint8_t *guest_table(uint32_t off, const char *sig)
{
    const uint8_t *t = guest + GUEST_ACPI_BASE + off;
    assert_memory_equal(t, sig, 4);
    return t;
}

/* The nth MADT entry of `type` (§5.2.12), or NULL. */
static const uint8_t *madt_entry(uint8_t type, unsigned nth)
{
    const uint8_t *t = guest_table(OFF_MADT, "APIC");
    uint32_t len = (uint32_t)rd(t + ACPI_SDT_LENGTH, 4);

    for (uint32_t off = ACPI_MADT_ENTRIES; off + 2 <= len && t[off + 1] >= 2; off += t[off + 1])
        if (t[off] == type && nth-- == 0)
            return t + off;
    return NULL;
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_root_and_checksums(void **state)
{
    build_and_parse(1);
    assert_int_equal(guest[GUEST_ACPI_BASE + ACPI_RSDP_REVISION], 2);
    assert_true(info.root_is_xsdt);
    assert_int_equal(info.ntables, 3);
    assert_int_equal(info.nbad, 0);
    assert_string_equal(info.tables, " FACP APIC MCFG");
    assert_memory_equal(guest + GUEST_ACPI_BASE, "RSD PTR ", 8);
}

static void test_madt(void **state)
{
    build_and_parse(4);
    assert_true(info.have_madt);
    assert_int_equal(info.lapic_base, GUEST_LAPIC_BASE);
    assert_int_equal(info.ncpus, 4);
    assert_int_equal(info.ncpus_off, 0);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(info.apic_id[i], i);

    /* MADT flags (§5.2.12): PCAT_COMPAT, dual 8259s */
    assert_int_equal(rd(guest_table(OFF_MADT, "APIC") + 40, 4), 1);
    /* one IOAPIC (§5.2.12.3): id after the LAPIC IDs, address, GSI base */
    const uint8_t *e = madt_entry(1, 0);
    assert_non_null(e);
    assert_int_equal(e[1], 12);
    assert_int_equal(e[2], 4);
    assert_int_equal(rd(e + 4, 4), GUEST_IOAPIC_BASE);
    assert_int_equal(rd(e + 8, 4), 0);
    assert_null(madt_entry(1, 1));
    /* two interrupt source overrides (§5.2.12.5): bus, source, GSI, flags */
    e = madt_entry(2, 0);
    assert_non_null(e);
    assert_int_equal(e[1], 10);
    assert_int_equal(e[2], 0);
    assert_int_equal(e[3], 0);
    assert_int_equal(rd(e + 4, 4), 2);
    e = madt_entry(2, 1);
    assert_non_null(e);
    assert_int_equal(e[3], 9);
    assert_int_equal(rd(e + 4, 4), 9);
    assert_int_equal(rd(e + 8, 2), 0xd);               /* level, active high */
    assert_null(madt_entry(2, 2));
    /* local APIC NMI (§5.2.12.7): all processors, LINT1 */
    e = madt_entry(4, 0);
    assert_non_null(e);
    assert_int_equal(e[1], 6);
    assert_int_equal(e[2], 0xff);
    assert_int_equal(e[5], 1);
}

static void test_fadt_dsdt(void **state)
{
    build_and_parse(1);
    assert_true(info.have_fadt);
    assert_int_equal(guest_table(OFF_FADT, "FACP")[8], 5);       /* revision */
    assert_int_equal(rd(guest_table(OFF_FADT, "FACP") + 46, 2), 9);  /* SCI_INT */
    assert_false(info.hw_reduced);
    assert_int_equal(info.smi_cmd, 0);
    assert_int_equal(info.pm1a_cnt, 0x604);
    assert_int_equal(info.pm1b_cnt, 0);
    assert_int_equal(info.reset_port, 0xcf9);
    assert_int_equal(info.reset_value, 6);
    assert_true(info.have_dsdt);
    assert_true(info.s5_valid);
    assert_int_equal(info.slp_typa, VMM_PM_S5_SLP_TYP);
}

static void test_mcfg(void **state)
{
    build_and_parse(1);
    assert_int_equal(info.nmcfg, 1);
    assert_int_equal(info.mcfg[0].base, GUEST_ECAM_BASE);
    assert_int_equal(info.mcfg[0].segment, 0);
    assert_int_equal(info.mcfg[0].bus_start, 0);
    assert_int_equal(info.mcfg[0].bus_end, GUEST_ECAM_BUSES - 1);
}

static void test_too_many_vcpus(void **state)
{
    static struct vmm m;
    memset(&m, 0, sizeof(m));
    struct vmm_create_args a = { 0, "t", 17, 256u << 20, VMM_PLATFORM_PC, 0 };
    assert_int_equal(vmm_acpi_tables_init(&m, &a), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root_and_checksums),
        cmocka_unit_test(test_madt),
        cmocka_unit_test(test_fadt_dsdt),
        cmocka_unit_test(test_mcfg),
        cmocka_unit_test(test_too_many_vcpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
