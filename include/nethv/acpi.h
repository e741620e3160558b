/*
 * ACPI table discovery: RSDP -> XSDT/RSDT -> MADT (CPUs, local APIC base),
 * FADT (-> DSDT/SSDT \_S5: power-off; reset register), MCFG (PCI ECAM).
 * Only what the kernel uses is kept (kernel/acpi_glue.c, kernel/pci.c); other
 * tables are listed in the summary and otherwise ignored.  Pure parsing, no
 * allocation, no global state.
 *
 * Physical memory is reached only through the caller's acpi_map_fn: it must
 * return a pointer to `len` readable bytes at physical `phys`, or NULL when
 * any part of that range is not mapped (the kernel passes an identity map
 * with a RAM/ACPI-range check, the host tests a fake memory buffer).  Every
 * table is fetched in two steps (header, then the header's length), its
 * length and checksum are checked, and only then is it parsed; a bad table
 * is skipped and the reason logged.  Nothing here writes to the tables.
 *
 * Firmware fields are read by byte offset (ACPI_*_OFF below) with memcpy,
 * so unaligned firmware data never becomes an unaligned typed access.
 * References are to the ACPI 6.4 specification (uefi.org/specs/ACPI/6.4_A).
 * Compiles freestanding (kernel) and hosted (-DNETHV_HOST=1).
 */
#ifndef NETHV_ACPI_H
#define NETHV_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- callbacks ------------------------------------------------------------ */

typedef const void *(*acpi_map_fn)(uint64_t phys, size_t len);
/* printf-style logger; each call is one complete line ending in '\n'.
 * May be NULL (silent). */
typedef void (*acpi_log_fn)(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* ---- limits ---------------------------------------------------------------- */

#define ACPI_MAX_CPUS       64      /* enabled processors remembered */
#define ACPI_MAX_MCFG       4       /* MCFG allocations remembered */
#define ACPI_MAX_TABLES     32      /* root-table signatures listed */
#define ACPI_MAX_TABLE_LEN  (16u << 20)   /* sanity cap on any SDT length */

/* ---- firmware layouts: byte offsets (all fields little-endian) ----------- */

/* Root System Description Pointer, §5.2.5.3.  The checksum covers the first
 * 20 bytes; the extended checksum (revision >= 2) covers `length` bytes. */
#define ACPI_RSDP_V1_LEN        20
#define ACPI_RSDP_V2_LEN        36
#define ACPI_RSDP_REVISION      15      /* u8: 0 = ACPI 1.0, 2 = 2.0+ */
#define ACPI_RSDP_RSDT          16      /* u32 */
#define ACPI_RSDP_LENGTH        20      /* u32 (2.0+) */
#define ACPI_RSDP_XSDT          24      /* u64 (2.0+) */

/* System Description Table header, §5.2.6 (36 bytes; checksum covers
 * `length`): signature at 0, then: */
#define ACPI_SDT_LENGTH         4       /* u32: whole table, header included */
#define ACPI_SDT_HDR_LEN        36

/* Generic Address Structure, §5.2.3.2 (12 bytes). */
#define ACPI_GAS_SPACE          0       /* u8: ACPI_GAS_MEMORY, ACPI_GAS_IO, ... */
#define ACPI_GAS_ADDRESS        4       /* u64 */
#define ACPI_GAS_MEMORY         0
#define ACPI_GAS_IO             1

/* MADT, §5.2.12: header, local APIC address, flags, then entries
 * {u8 type, u8 length, ...}. */
#define ACPI_MADT_LAPIC_ADDR    36      /* u32 */
#define ACPI_MADT_ENTRIES       44
#define ACPI_MADT_LAPIC         0       /* Processor Local APIC, §5.2.12.2: */
#define ACPI_MADT_LAPIC_LEN     8
#define ACPI_MADT_LAPIC_ID      3       /*   u8 APIC ID */
#define ACPI_MADT_LAPIC_FLAGS   4       /*   u32 ACPI_CPU_* */
#define ACPI_MADT_LAPIC_OVR     5       /* Local APIC Address Override, §5.2.12.8: */
#define ACPI_MADT_LAPIC_OVR_LEN 12
#define ACPI_MADT_LAPIC_OVR_ADDR 4      /*   u64 local APIC address */
#define ACPI_MADT_X2APIC        9       /* Processor Local x2APIC, §5.2.12.12: */
#define ACPI_MADT_X2APIC_LEN    16
#define ACPI_MADT_X2APIC_ID     4       /*   u32 x2APIC ID */
#define ACPI_MADT_X2APIC_FLAGS  8       /*   u32 ACPI_CPU_* */
/* Local APIC / x2APIC flags (§5.2.12.2) */
#define ACPI_CPU_ENABLED         (1u << 0)
#define ACPI_CPU_ONLINE_CAPABLE  (1u << 1)   /* ACPI 6.3+: may be hot-added */

/*
 * FADT, §5.2.9 (Table 5.9).  ACPI 1.0 FADTs end at 116 bytes, the fields we
 * read end at 196; a shorter table is copied into a zeroed buffer of that
 * size, so a field past its end reads as 0 = "not provided".
 */
#define ACPI_FADT_DSDT          40      /* u32 */
#define ACPI_FADT_SMI_CMD       48      /* u32 (an I/O port) */
#define ACPI_FADT_ACPI_ENABLE   52      /* u8 */
#define ACPI_FADT_PM1A_CNT      64      /* u32 I/O port */
#define ACPI_FADT_PM1B_CNT      68      /* u32 I/O port */
#define ACPI_FADT_FLAGS         112     /* u32 ACPI_FADT_* */
#define ACPI_FADT_V1_LEN        116
#define ACPI_FADT_RESET_REG     116     /* GAS */
#define ACPI_FADT_RESET_VALUE   128     /* u8 */
#define ACPI_FADT_X_DSDT        140     /* u64 */
#define ACPI_FADT_X_PM1A_CNT    172     /* GAS */
#define ACPI_FADT_X_PM1B_CNT    184     /* GAS */
#define ACPI_FADT_READ_LEN      196     /* end of X_PM1b_CNT_BLK */
#define ACPI_FADT_RESET_REG_SUP (1u << 10)  /* Table 5.10 */
#define ACPI_FADT_HW_REDUCED    (1u << 20)  /* Table 5.10 */

/* MCFG (PCI Firmware Spec 3.x, §4.1.2): header, 8 reserved bytes, then
 * 16-byte allocations: */
#define ACPI_MCFG_ENTRIES       44
#define ACPI_MCFG_ENTRY_LEN     16
#define ACPI_MCFG_BASE          0       /* u64 ECAM base for bus 0 */
#define ACPI_MCFG_SEGMENT       8       /* u16 */
#define ACPI_MCFG_BUS_START     10      /* u8 */
#define ACPI_MCFG_BUS_END       11      /* u8 */

/* ---- power-off constants ---------------------------------------------------- */

/* PM1 control register bits: ACPI 6.4 §4.8.4.2.1 "PM1 Control Registers",
 * Table 4.13 (Fixed Hardware Feature Control Bits). */
#define ACPI_PM1_SCI_EN        (1u << 0)    /* 1: ACPI mode (SCI), 0: legacy SMI */
#define ACPI_PM1_SLP_TYP_SHIFT 10           /* SLP_TYPx, bits 12:10 */
#define ACPI_PM1_SLP_TYP_MASK  (7u << ACPI_PM1_SLP_TYP_SHIFT)
#define ACPI_PM1_SLP_EN        (1u << 13)   /* write 1: enter SLP_TYPx state */
/* \_S5 package, §7.4.2 (\_Sx System States): {SLP_TYPa, SLP_TYPb, ...}. */
#define ACPI_SLP_TYP_MAX       7
/* Legacy -> ACPI mode (FADT SMI_CMD / ACPI_ENABLE fields, Table 5.9):
 * write ACPI_ENABLE to SMI_CMD, then poll PM1a_CNT.SCI_EN. */
#define ACPI_ENABLE_POLL_MS    3000         /* how long we wait for SCI_EN */
#define ACPI_ENABLE_POLL_STEP  10           /* ms between polls */

/* ---- parse result -------------------------------------------------------------- */

struct acpi_mcfg_seg {
    uint64_t base;
    uint16_t segment;
    uint8_t  bus_start, bus_end;
};

struct acpi_info {
    /* root table */
    bool     root_is_xsdt;
    uint32_t ntables;               /* entries in the root table */
    uint32_t nbad;                  /* tables skipped as invalid */
    char     tables[ACPI_MAX_TABLES * 5 + 1];   /* " FACP APIC ...": valid ones */

    /* MADT */
    bool     have_madt;
    uint64_t lapic_base;            /* type-5 override applied */
    /* Enabled processors (xAPIC or x2APIC IDs) in MADT order: the CPUs to
     * start.  Online-capable (hot-pluggable) and disabled ones only count. */
    uint32_t ncpus;
    uint32_t ncpus_off;             /* present but not enabled */
    uint32_t ncpus_dropped;         /* enabled CPUs beyond ACPI_MAX_CPUS */
    uint32_t apic_id[ACPI_MAX_CPUS];

    /* FADT */
    bool     have_fadt;
    bool     hw_reduced;            /* ACPI_FADT_HW_REDUCED: no PM1 blocks */
    uint16_t smi_cmd;               /* 0: no legacy mode / already ACPI */
    uint8_t  acpi_enable;
    uint16_t pm1a_cnt;              /* I/O port, 0: none */
    uint16_t pm1b_cnt;              /* I/O port, 0: none */
    uint16_t reset_port;            /* FADT reset register in I/O space; 0: none */
    uint8_t  reset_value;

    /* DSDT (or an SSDT): \_S5 */
    bool     have_dsdt;
    bool     s5_valid;
    uint8_t  slp_typa, slp_typb;

    /* MCFG */
    uint32_t nmcfg;                 /* entries in mcfg[] */
    struct acpi_mcfg_seg mcfg[ACPI_MAX_MCFG];
};

enum acpi_status {
    ACPI_OK        =  0,
    ACPI_E_ARG     = -1,            /* NULL pointer argument */
    ACPI_E_RSDP    = -2,            /* RSDP copy missing, short or bad checksum */
    ACPI_E_ROOT    = -3,            /* neither XSDT nor RSDT usable */
    ACPI_E_NOSUPP  = -4,            /* poweroff/reset: no usable registers */
    ACPI_E_TIMEOUT = -5,            /* SCI_EN never set / still running */
};

/*
 * Parse everything reachable from the RSDP copy (boot_info.rsdp, rsdp_len
 * 20 or 36).  `out` is zeroed first.  Returns ACPI_OK when the RSDP and a
 * root table were valid (individual tables may still be absent or skipped:
 * see out->have_*), else a negative enum acpi_status.
 */
int acpi_parse(const uint8_t *rsdp, size_t rsdp_len, acpi_map_fn map,
               struct acpi_info *out, acpi_log_fn log);

/* Lines starting "acpi: " describing what acpi_parse found. */
void acpi_print_summary(const struct acpi_info *info, acpi_log_fn log);

/*
 * Find the \_S5 package in an AML byte stream (DSDT/SSDT body, header
 * excluded).  Returns true and the SLP_TYP values on success.  Heuristic,
 * not an AML interpreter: see kernel/acpi.c for the exact pattern.
 */
bool acpi_find_s5(const uint8_t *aml, size_t len, uint8_t *slp_typa,
                  uint8_t *slp_typb);

/* ---- power-off / reset through caller-supplied port I/O ---------------------------- */

struct acpi_port_ops {
    uint16_t (*in16)(void *ctx, uint16_t port);
    void     (*out16)(void *ctx, uint16_t port, uint16_t val);
    void     (*out8)(void *ctx, uint16_t port, uint8_t val);
    void     (*delay_ms)(void *ctx, uint32_t ms);
    void     *ctx;
};

/*
 * Soft-off (S5).  Sequence:
 *   1. if SMI_CMD != 0 and PM1a_CNT.SCI_EN is clear: out8(SMI_CMD,
 *      ACPI_ENABLE), then poll SCI_EN every ACPI_ENABLE_POLL_STEP ms for up
 *      to ACPI_ENABLE_POLL_MS; if it never sets, carry on anyway;
 *   2. PM1a_CNT <- (old & ~(SLP_TYP|SLP_EN)) | SLP_TYPa << 10, then the same
 *      for PM1b_CNT with SLP_TYPb (a before b, §7.4.2);
 *   3. the same values | SLP_EN, PM1a then PM1b;
 *   4. delay 1000 ms.
 * Only returns on failure: ACPI_E_NOSUPP (no \_S5 or no PM1a_CNT port, or
 * HW-reduced) before touching any port, ACPI_E_TIMEOUT if still running.
 */
int acpi_poweroff(const struct acpi_info *info, const struct acpi_port_ops *io);

/*
 * FADT reset register, when supported and in system I/O space:
 * out8(reset_port, reset_value), delay 500 ms.  Returns only on failure
 * (ACPI_E_NOSUPP: unsupported or not I/O space; ACPI_E_TIMEOUT).
 */
int acpi_reset(const struct acpi_info *info, const struct acpi_port_ops *io);

#endif
