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

/* ---- tests ---------------------------------------------------------------------------- */

static void test_root_and_checksums(void **state)
{
    build_and_parse(1);
    assert_int_equal(info.rsdp_revision, 2);
    assert_true(info.root_is_xsdt);
    assert_int_equal(info.ntables, 3);
    assert_int_equal(info.nbad, 0);
    assert_memory_equal(guest + GUEST_ACPI_BASE, "RSD PTR ", 8);
}

static void test_madt(void **state)
{
    build_and_parse(4);
    assert_true(info.have_madt);
    assert_true(info.pcat_compat);
    assert_int_equal(info.lapic_base, GUEST_LAPIC_BASE);
    assert_int_equal(info.ncpus, 4);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(info.cpu[i].apic_id, i);
    assert_int_equal(info.nioapics, 1);
    assert_int_equal(info.ioapic[0].id, 4);            /* after the LAPIC IDs */
    assert_int_equal(info.ioapic[0].address, GUEST_IOAPIC_BASE);
    assert_int_equal(info.ioapic[0].gsi_base, 0);
    assert_int_equal(info.nisos, 2);
    assert_int_equal(info.iso[0].source, 0);
    assert_int_equal(info.iso[0].gsi, 2);
    assert_int_equal(info.iso[1].source, 9);
    assert_int_equal(info.iso[1].gsi, 9);
    assert_int_equal(info.iso[1].flags, 0xd);          /* level, active high */
    assert_int_equal(info.nlapic_nmis, 1);
    assert_int_equal(info.lapic_nmi[0].uid, ACPI_UID_ALL);
    assert_int_equal(info.lapic_nmi[0].lint, 1);
}

static void test_fadt_dsdt(void **state)
{
    build_and_parse(1);
    assert_true(info.have_fadt);
    assert_int_equal(info.fadt_revision, 5);
    assert_false(info.hw_reduced);
    assert_int_equal(info.sci_irq, 9);
    assert_int_equal(info.smi_cmd, 0);
    assert_int_equal(info.pm1a_cnt, 0x604);
    assert_true(info.reset_supported);
    assert_int_equal(info.reset_reg.address, 0xcf9);
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
