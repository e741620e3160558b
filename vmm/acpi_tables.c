/*
 * ACPI tables of the PC platform (ACPI 6.x, chapter 5), written into guest
 * RAM at GUEST_ACPI_BASE when the monitor is created.  The loader points
 * boot_params.acpi_rsdp_addr at the RSDP and the e820 map reserves the
 * range; Linux also finds the RSDP by scanning 0xe0000-0xfffff.
 *
 *   +0x000 RSDP (rev 2)        +0x100 FADT (rev 5)   +0x300 MCFG
 *   +0x040 FACS                +0x240 MADT           +0x400 DSDT (iasl: vmm/dsdt.dsl)
 *   +0x080 XSDT -> FADT, MADT, MCFG
 *
 * Fixed-hardware ACPI (not HW-reduced), already enabled (no SMI_CMD): PM1a
 * event/control blocks and the PM timer at 0x600/0x604/0x608 (vmm/pm.c),
 * SCI on IRQ 9 (level, active high), reset through port 0xcf9.  Interrupts:
 * one LAPIC per vCPU (APIC ID = vCPU index), the IOAPIC (ID = vCPU count)
 * at GSI 0, ISA IRQ 0 -> GSI 2, LINT1 = NMI.  BSP, at VM creation.
 */
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/guest_layout.h>
#include "vmm.h"
#include "dsdt_aml.h"

#if __has_include("pm.h")
#include "pm.h"
#endif
#ifndef VMM_PM_S5_SLP_TYP
#define VMM_PM_S5_SLP_TYP   5           /* vmm/pm.h not there yet: the DSDT's _S5 */
#endif
_Static_assert(VMM_PM_S5_SLP_TYP == 5, "vmm/dsdt.dsl's _S5 package says SLP_TYP 5");
#if __has_include("pci.h")
#include "pci.h"
#endif
#ifdef VMM_ECAM_BASE
_Static_assert(VMM_ECAM_BASE == GUEST_ECAM_BASE, "ECAM: vmm/pci.h and nethv/guest_layout.h differ");
#endif

#define PM_BASE         0x600
#define PM1A_EVT        (PM_BASE + 0)
#define PM1A_CNT        (PM_BASE + 4)
#define PM_TMR          (PM_BASE + 8)
#define SCI_IRQ         9
#define RESET_PORT      0xcf9
#define RESET_VALUE     6               /* full reset: SYS_RST | RST_CPU */

#define OFF_RSDP        0x000
#define OFF_FACS        0x040
#define OFF_XSDT        0x080
#define OFF_FADT        0x100
#define OFF_MADT        0x240
#define OFF_MCFG        0x300
#define OFF_DSDT        0x400
#define ACPI_SIZE       0x800

struct acpi_header {
    char sig[4];
    uint32_t length;
    uint8_t revision, checksum;
    char oem_id[6], oem_table_id[8];
    uint32_t oem_revision;
    char creator_id[4];
    uint32_t creator_revision;
} __attribute__((packed));

struct acpi_gas { uint8_t space, bit_width, bit_offset, access_size; uint64_t address; } __attribute__((packed));
#define GAS_IO(port, bits) ((struct acpi_gas){ 1, (bits), 0, 0, (port) })

struct acpi_rsdp {
    char sig[8];
    uint8_t checksum;
    char oem_id[6];
    uint8_t revision;
    uint32_t rsdt;
    uint32_t length;
    uint64_t xsdt;
    uint8_t ext_checksum, reserved[3];
} __attribute__((packed));

struct acpi_fadt {                      /* ACPI 6.4 table 5.9, revision 5 layout */
    struct acpi_header h;
    uint32_t facs, dsdt;
    uint8_t reserved0, pm_profile;
    uint16_t sci_int;
    uint32_t smi_cmd;
    uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
    uint32_t pm1a_evt, pm1b_evt, pm1a_cnt, pm1b_cnt, pm2_cnt, pm_tmr, gpe0, gpe1;
    uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len, gpe0_len, gpe1_len, gpe1_base, cst_cnt;
    uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
    uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
    uint16_t iapc_boot_arch;
    uint8_t reserved1;
    uint32_t flags;
    struct acpi_gas reset_reg;
    uint8_t reset_value;
    uint16_t arm_boot_arch;
    uint8_t minor_version;
    uint64_t x_facs, x_dsdt;
    struct acpi_gas x_pm1a_evt, x_pm1b_evt, x_pm1a_cnt, x_pm1b_cnt, x_pm2_cnt, x_pm_tmr, x_gpe0, x_gpe1;
    struct acpi_gas sleep_control, sleep_status;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_fadt) == 268, "FADT revision 5 is 268 bytes");

#define FADT_WBINVD         (1u << 0)
#define FADT_PROC_C1        (1u << 2)
#define FADT_PWR_BUTTON     (1u << 4)   /* no fixed-feature power button */
#define FADT_SLP_BUTTON     (1u << 5)
#define FADT_RESET_REG_SUP  (1u << 10)
#define BOOT_ARCH_LEGACY    (1u << 0)   /* ISA devices (UART, PIT, RTC) present; no 8042 */
#define BOOT_ARCH_NO_VGA    (1u << 2)

struct madt_lapic { uint8_t type, len, uid, apic_id; uint32_t flags; } __attribute__((packed));
struct madt_ioapic { uint8_t type, len, id, reserved; uint32_t addr, gsi_base; } __attribute__((packed));
struct madt_iso { uint8_t type, len, bus, source; uint32_t gsi; uint16_t flags; } __attribute__((packed));
struct madt_nmi { uint8_t type, len, uid; uint16_t flags; uint8_t lint; } __attribute__((packed));
#define MADT_PCAT_COMPAT    1u          /* dual 8259s present (Linux masks them) */
#define ISO_ACTIVE_HIGH     0x1u
#define ISO_LEVEL           0xcu

struct mcfg_alloc { uint64_t base; uint16_t segment; uint8_t bus_start, bus_end; uint32_t reserved; } __attribute__((packed));

static uint8_t checksum(const void *p, size_t len)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum += ((const uint8_t *)p)[i];
    return (uint8_t)-sum;
}

static void header(struct acpi_header *h, const char *sig, uint32_t len, uint8_t rev)
{
    memcpy(h->sig, sig, 4);
    h->length = len;
    h->revision = rev;
    memcpy(h->oem_id, "NETHV ", 6);
    memcpy(h->oem_table_id, "NETHVPC ", 8);
    h->oem_revision = 1;
    memcpy(h->creator_id, "NTHV", 4);
    h->creator_revision = 1;
}

/* Fill the header, checksum over `len` bytes of `t`, copy to the guest. */
static int emit(struct vmm *m, uint32_t off, void *t, const char *sig, uint32_t len, uint8_t rev)
{
    struct acpi_header *h = t;
    header(h, sig, len, rev);
    h->checksum = 0;
    h->checksum = checksum(t, len);
    return vm_gpa_write(m->vm_id, GUEST_ACPI_BASE + off, t, len);
}

static int write_fadt(struct vmm *m)
{
    struct acpi_fadt f;
    memset(&f, 0, sizeof(f));
    f.facs = GUEST_ACPI_BASE + OFF_FACS;
    f.dsdt = GUEST_ACPI_BASE + OFF_DSDT;
    f.sci_int = SCI_IRQ;
    f.pm1a_evt = PM1A_EVT;
    f.pm1a_cnt = PM1A_CNT;
    f.pm_tmr = PM_TMR;
    f.pm1_evt_len = 4;
    f.pm1_cnt_len = 2;
    f.pm_tmr_len = 4;
    f.p_lvl2_lat = 101;                 /* > 100: no C2 */
    f.p_lvl3_lat = 1001;                /* > 1000: no C3 */
    f.century = 0x32;                   /* CMOS century register */
    f.iapc_boot_arch = BOOT_ARCH_LEGACY | BOOT_ARCH_NO_VGA;
    f.flags = FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON | FADT_SLP_BUTTON | FADT_RESET_REG_SUP;
    f.reset_reg = GAS_IO(RESET_PORT, 8);
    f.reset_value = RESET_VALUE;
    /* X_FIRMWARE_CTRL stays 0: with both set ACPICA installs the FACS twice */
    f.x_dsdt = f.dsdt;
    f.x_pm1a_evt = GAS_IO(PM1A_EVT, 32);
    f.x_pm1a_cnt = GAS_IO(PM1A_CNT, 16);
    f.x_pm_tmr = GAS_IO(PM_TMR, 32);
    return emit(m, OFF_FADT, &f, "FACP", sizeof(f), 5);
}

static int write_madt(struct vmm *m, unsigned vcpus)
{
    uint8_t t[256];
    size_t n = sizeof(struct acpi_header);
    memset(t, 0, sizeof(t));
    uint32_t lapic = GUEST_LAPIC_BASE, flags = MADT_PCAT_COMPAT;
    memcpy(t + n, &lapic, 4);
    memcpy(t + n + 4, &flags, 4);
    n += 8;
    for (unsigned i = 0; i < vcpus; i++, n += sizeof(struct madt_lapic)) {
        struct madt_lapic l = { 0, sizeof(l), (uint8_t)i, (uint8_t)i, 1 };      /* enabled */
        memcpy(t + n, &l, sizeof(l));
    }
    struct madt_ioapic io = { 1, sizeof(io), (uint8_t)vcpus, 0, GUEST_IOAPIC_BASE, 0 };
    struct madt_iso iso[2] = {
        { 2, sizeof(iso[0]), 0, 0, 2, 0 },                                  /* PIT: IRQ 0 -> GSI 2 */
        { 2, sizeof(iso[0]), 0, SCI_IRQ, SCI_IRQ, ISO_ACTIVE_HIGH | ISO_LEVEL },   /* SCI */
    };
    struct madt_nmi nmi = { 4, sizeof(nmi), 0xff, 0, 1 };                  /* all CPUs: LINT1 */
    memcpy(t + n, &io, sizeof(io));
    n += sizeof(io);
    memcpy(t + n, iso, sizeof(iso));
    n += sizeof(iso);
    memcpy(t + n, &nmi, sizeof(nmi));
    n += sizeof(nmi);
    return emit(m, OFF_MADT, t, "APIC", (uint32_t)n, 4);
}

static int write_mcfg(struct vmm *m)
{
    uint8_t t[sizeof(struct acpi_header) + 8 + sizeof(struct mcfg_alloc)];
    memset(t, 0, sizeof(t));
    struct mcfg_alloc a = { GUEST_ECAM_BASE, 0, 0, (uint8_t)(GUEST_ECAM_BUSES - 1), 0 };
    memcpy(t + sizeof(struct acpi_header) + 8, &a, sizeof(a));
    return emit(m, OFF_MCFG, t, "MCFG", sizeof(t), 1);
}

static int write_xsdt_rsdp(struct vmm *m)
{
    uint8_t t[sizeof(struct acpi_header) + 3 * 8];
    memset(t, 0, sizeof(t));
    const uint64_t entries[3] = { GUEST_ACPI_BASE + OFF_FADT, GUEST_ACPI_BASE + OFF_MADT,
                                  GUEST_ACPI_BASE + OFF_MCFG };
    memcpy(t + sizeof(struct acpi_header), entries, sizeof(entries));
    if (emit(m, OFF_XSDT, t, "XSDT", sizeof(t), 1))
        return -1;

    struct acpi_rsdp r;
    memset(&r, 0, sizeof(r));
    memcpy(r.sig, "RSD PTR ", 8);
    memcpy(r.oem_id, "NETHV ", 6);
    r.revision = 2;
    r.length = sizeof(r);
    r.xsdt = GUEST_ACPI_BASE + OFF_XSDT;
    r.checksum = checksum(&r, 20);              /* ACPI 1.0 part */
    r.ext_checksum = checksum(&r, sizeof(r));
    return vm_gpa_write(m->vm_id, GUEST_ACPI_BASE + OFF_RSDP, &r, sizeof(r));
}

int vmm_acpi_tables_init(struct vmm *m, const struct vmm_create_args *a)
{
    _Static_assert(OFF_DSDT + sizeof(dsdt_aml) <= ACPI_SIZE, "DSDT overflows the ACPI area");
    _Static_assert(GUEST_ACPI_BASE + ACPI_SIZE <= GUEST_ACPI_END, "ACPI area outside its e820 range");
    if (a->vcpus > 16) {                /* MADT buffer: 16 LAPIC entries */
        printk("vmm %s: ACPI: more than 16 vCPUs\n", m->name);
        return -1;
    }
    uint8_t facs[64];
    memset(facs, 0, sizeof(facs));
    memcpy(facs, "FACS", 4);
    facs[4] = sizeof(facs);                     /* length; no checksum */
    facs[32] = 2;                               /* version */
    if (vm_gpa_write(m->vm_id, GUEST_ACPI_BASE + OFF_FACS, facs, sizeof(facs)) ||
        vm_gpa_write(m->vm_id, GUEST_ACPI_BASE + OFF_DSDT, dsdt_aml, sizeof(dsdt_aml)) ||
        write_fadt(m) || write_madt(m, a->vcpus) || write_mcfg(m) || write_xsdt_rsdp(m)) {
        printk("vmm %s: ACPI tables do not fit in guest RAM at %#x\n", m->name, GUEST_ACPI_BASE);
        return -1;
    }
    return 0;
}
