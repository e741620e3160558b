/*
 * ACPI table discovery: RSDP -> XSDT/RSDT -> MADT, FADT (-> DSDT \_S5),
 * MCFG, HPET.  Pure parsing, no allocation, no global state.
 *
 * Physical memory is reached only through the caller's acpi_map_fn: it must
 * return a pointer to `len` readable bytes at physical `phys`, or NULL when
 * any part of that range is not mapped (the kernel passes an identity map
 * with a RAM/ACPI-range check, the host tests a fake memory buffer).  Every
 * table is fetched in two steps (header, then the header's length), its
 * length and checksum are checked, and only then is it parsed; a bad table
 * is skipped and the reason logged.  Nothing here writes to the tables.
 *
 * References are to the ACPI 6.4 specification (uefi.org/specs/ACPI/6.4_A).
 * Compiles freestanding (kernel) and hosted (-DNETHV_HOST=1); it needs only
 * <stdint.h>, <stddef.h>, <stdbool.h> and memcpy/memcmp/memset.
 */
#ifndef NETHV_ACPI_H
#define NETHV_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- callbacks ------------------------------------------------------------ */

typedef const void *(*acpi_map_fn)(uint64_t phys, size_t len);
/*
 * printf-style logger; each call is one complete line ending in '\n'.
 * acpi.c only ever calls it as log("%s\n", line), so a minimal kernel
 * printf that knows "%s" is enough.  May be NULL (silent).
 */
typedef void (*acpi_log_fn)(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* ---- limits ---------------------------------------------------------------- */

#define ACPI_MAX_CPUS       64
#define ACPI_MAX_IOAPICS    16
#define ACPI_MAX_ISOS       32      /* interrupt source overrides */
#define ACPI_MAX_LAPIC_NMIS 16
#define ACPI_MAX_MCFG       4
#define ACPI_MAX_TABLES     32      /* root-table signatures remembered */
#define ACPI_MAX_TABLE_LEN  (16u << 20)   /* sanity cap on any SDT length */

/* ---- on-firmware layouts (all little-endian, packed) ---------------------------- */

/* Root System Description Pointer, §5.2.5.3.  Checksum covers bytes 0..19;
 * the extended checksum (revision >= 2) covers `length` bytes. */
struct acpi_rsdp {
    char     signature[8];          /* "RSD PTR " */
    uint8_t  checksum;
    char     oem_id[6];
    uint8_t  revision;              /* 0: ACPI 1.0 (20 bytes), 2: ACPI 2.0+ */
    uint32_t rsdt_address;
    /* ACPI 2.0+ */
    uint32_t length;
    uint64_t xsdt_address;
    uint8_t  extended_checksum;
    uint8_t  reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP size");
#define ACPI_RSDP_V1_LEN 20

/* System Description Table header, §5.2.6.  Checksum covers `length`. */
struct acpi_sdt_header {
    char     signature[4];
    uint32_t length;                /* whole table, header included */
    uint8_t  revision;
    uint8_t  checksum;
    char     oem_id[6];
    char     oem_table_id[8];
    uint32_t oem_revision;
    uint32_t creator_id;
    uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_sdt_header) == 36, "SDT header size");

/* Generic Address Structure, §5.2.3.2. */
struct acpi_gas {
    uint8_t  space_id;              /* ACPI_GAS_* */
    uint8_t  bit_width;
    uint8_t  bit_offset;
    uint8_t  access_size;           /* 0 undefined, 1 byte .. 4 qword */
    uint64_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS size");
#define ACPI_GAS_MEMORY   0
#define ACPI_GAS_IO       1
#define ACPI_GAS_PCI_CFG  2

/* MADT, §5.2.12: header, then variable entries {type, length, ...}. */
struct acpi_madt {
    struct acpi_sdt_header hdr;     /* "APIC" */
    uint32_t lapic_address;
    uint32_t flags;                 /* ACPI_MADT_PCAT_COMPAT */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT size");
#define ACPI_MADT_PCAT_COMPAT  (1u << 0)   /* dual 8259s present */

struct acpi_madt_entry {
    uint8_t type;
    uint8_t length;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_entry) == 2, "MADT entry size");

enum acpi_madt_type {
    ACPI_MADT_LAPIC          = 0,   /* processor local APIC */
    ACPI_MADT_IOAPIC         = 1,
    ACPI_MADT_ISO            = 2,   /* interrupt source override */
    ACPI_MADT_NMI_SOURCE     = 3,   /* (not parsed) */
    ACPI_MADT_LAPIC_NMI      = 4,
    ACPI_MADT_LAPIC_OVERRIDE = 5,   /* 64-bit local APIC address */
    ACPI_MADT_X2APIC         = 9,   /* processor local x2APIC */
    ACPI_MADT_X2APIC_NMI     = 10,
};

struct acpi_madt_lapic {
    struct acpi_madt_entry e;       /* type 0, length 8 */
    uint8_t  uid;                   /* ACPI processor UID */
    uint8_t  apic_id;
    uint32_t flags;                 /* ACPI_CPU_* */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "MADT LAPIC size");

struct acpi_madt_ioapic {
    struct acpi_madt_entry e;       /* type 1, length 12 */
    uint8_t  id;
    uint8_t  reserved;
    uint32_t address;
    uint32_t gsi_base;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "MADT IOAPIC size");

struct acpi_madt_iso {
    struct acpi_madt_entry e;       /* type 2, length 10 */
    uint8_t  bus;                   /* 0 = ISA */
    uint8_t  source;                /* bus-relative IRQ */
    uint32_t gsi;
    uint16_t flags;                 /* MPS INTI flags: polarity, trigger */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_iso) == 10, "MADT ISO size");

struct acpi_madt_lapic_nmi {
    struct acpi_madt_entry e;       /* type 4, length 6 */
    uint8_t  uid;                   /* 0xff: all processors */
    uint16_t flags;                 /* MPS INTI flags */
    uint8_t  lint;                  /* LINT0 / LINT1 */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_lapic_nmi) == 6, "MADT LAPIC NMI size");

struct acpi_madt_lapic_override {
    struct acpi_madt_entry e;       /* type 5, length 12 */
    uint16_t reserved;
    uint64_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_lapic_override) == 12, "MADT override size");

struct acpi_madt_x2apic {
    struct acpi_madt_entry e;       /* type 9, length 16 */
    uint16_t reserved;
    uint32_t x2apic_id;
    uint32_t flags;                 /* ACPI_CPU_* */
    uint32_t uid;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_x2apic) == 16, "MADT x2APIC size");

struct acpi_madt_x2apic_nmi {
    struct acpi_madt_entry e;       /* type 10, length 12 */
    uint16_t flags;
    uint32_t uid;                   /* 0xffffffff: all processors */
    uint8_t  lint;
    uint8_t  reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_x2apic_nmi) == 12, "MADT x2APIC NMI size");

/* Local APIC / x2APIC entry flags (§5.2.12) */
#define ACPI_CPU_ENABLED         (1u << 0)
#define ACPI_CPU_ONLINE_CAPABLE  (1u << 1)   /* ACPI 6.3+: may be hot-added */

/*
 * FADT, §5.2.9 (Table 5.9), up to the ACPI 2.0 end (X_GPE1_BLK, 244 bytes).
 * Older/shorter FADTs (ACPI 1.0: 116 bytes) are copied into a zeroed struct,
 * so a field past the table's length reads as 0 = "not provided".
 */
struct acpi_fadt {
    struct acpi_sdt_header hdr;     /* "FACP" */
    uint32_t firmware_ctrl;         /*  36 */
    uint32_t dsdt;                  /*  40 */
    uint8_t  reserved0;             /*  44: ACPI 1.0 INT_MODEL */
    uint8_t  preferred_pm_profile;  /*  45 */
    uint16_t sci_int;               /*  46 */
    uint32_t smi_cmd;               /*  48 */
    uint8_t  acpi_enable;           /*  52 */
    uint8_t  acpi_disable;          /*  53 */
    uint8_t  s4bios_req;            /*  54 */
    uint8_t  pstate_cnt;            /*  55 */
    uint32_t pm1a_evt_blk;          /*  56 */
    uint32_t pm1b_evt_blk;          /*  60 */
    uint32_t pm1a_cnt_blk;          /*  64 */
    uint32_t pm1b_cnt_blk;          /*  68 */
    uint32_t pm2_cnt_blk;           /*  72 */
    uint32_t pm_tmr_blk;            /*  76 */
    uint32_t gpe0_blk;              /*  80 */
    uint32_t gpe1_blk;              /*  84 */
    uint8_t  pm1_evt_len;           /*  88 */
    uint8_t  pm1_cnt_len;           /*  89 */
    uint8_t  pm2_cnt_len;           /*  90 */
    uint8_t  pm_tmr_len;            /*  91 */
    uint8_t  gpe0_blk_len;          /*  92 */
    uint8_t  gpe1_blk_len;          /*  93 */
    uint8_t  gpe1_base;             /*  94 */
    uint8_t  cst_cnt;               /*  95 */
    uint16_t p_lvl2_lat;            /*  96 */
    uint16_t p_lvl3_lat;            /*  98 */
    uint16_t flush_size;            /* 100 */
    uint16_t flush_stride;          /* 102 */
    uint8_t  duty_offset;           /* 104 */
    uint8_t  duty_width;            /* 105 */
    uint8_t  day_alrm;              /* 106 */
    uint8_t  mon_alrm;              /* 107 */
    uint8_t  century;               /* 108 */
    uint16_t iapc_boot_arch;        /* 109 */
    uint8_t  reserved1;             /* 111 */
    uint32_t flags;                 /* 112: ACPI_FADT_* */
    /* ---- end of the ACPI 1.0 FADT (116 bytes) ---- */
    struct acpi_gas reset_reg;      /* 116 */
    uint8_t  reset_value;           /* 128 */
    uint16_t arm_boot_arch;         /* 129 */
    uint8_t  minor_version;         /* 131 */
    uint64_t x_firmware_ctrl;       /* 132 */
    uint64_t x_dsdt;                /* 140 */
    struct acpi_gas x_pm1a_evt_blk; /* 148 */
    struct acpi_gas x_pm1b_evt_blk; /* 160 */
    struct acpi_gas x_pm1a_cnt_blk; /* 172 */
    struct acpi_gas x_pm1b_cnt_blk; /* 184 */
    struct acpi_gas x_pm2_cnt_blk;  /* 196 */
    struct acpi_gas x_pm_tmr_blk;   /* 208 */
    struct acpi_gas x_gpe0_blk;     /* 220 */
    struct acpi_gas x_gpe1_blk;     /* 232 */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_fadt) == 244, "FADT (2.0 part) size");
#define ACPI_FADT_V1_LEN          116
#define ACPI_FADT_RESET_REG_SUP   (1u << 10)  /* Table 5.10 */
#define ACPI_FADT_HW_REDUCED      (1u << 20)  /* Table 5.10 */

/* MCFG (PCI Firmware Spec 3.x, §4.1.2): header, 8 reserved, entries. */
struct acpi_mcfg {
    struct acpi_sdt_header hdr;     /* "MCFG" */
    uint8_t reserved[8];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_mcfg) == 44, "MCFG size");

struct acpi_mcfg_entry {
    uint64_t base;                  /* ECAM base for bus 0 of the segment */
    uint16_t segment;
    uint8_t  bus_start;
    uint8_t  bus_end;
    uint32_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_mcfg_entry) == 16, "MCFG entry size");

/* HPET description table (IA-PC HPET spec 1.0a, §3.2.4). */
struct acpi_hpet {
    struct acpi_sdt_header hdr;     /* "HPET" */
    uint32_t event_timer_block_id;
    struct acpi_gas base;           /* must be system memory */
    uint8_t  hpet_number;
    uint16_t min_tick;
    uint8_t  page_protection;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_hpet) == 56, "HPET size");

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

struct acpi_cpu {
    uint32_t apic_id;               /* xAPIC or x2APIC ID */
    uint32_t uid;                   /* ACPI processor UID */
    uint32_t flags;                 /* ACPI_CPU_ENABLED / _ONLINE_CAPABLE */
    bool     x2apic;                /* from a type-9 entry */
};

struct acpi_ioapic {
    uint8_t  id;
    uint32_t address;
    uint32_t gsi_base;
};

struct acpi_iso {
    uint8_t  bus;
    uint8_t  source;
    uint16_t flags;
    uint32_t gsi;
};

#define ACPI_UID_ALL 0xffffffffu    /* NMI entry applies to every CPU */
struct acpi_lapic_nmi {
    uint32_t uid;                   /* ACPI_UID_ALL or a processor UID */
    uint16_t flags;
    uint8_t  lint;
};

struct acpi_mcfg_seg {
    uint64_t base;
    uint16_t segment;
    uint8_t  bus_start, bus_end;
};

struct acpi_info {
    /* RSDP / root table */
    uint8_t  rsdp_revision;
    char     oem_id[7];
    bool     root_is_xsdt;
    uint8_t  root_revision;
    uint64_t root_address;
    uint32_t ntables;               /* entries in the root table */
    uint32_t nbad;                  /* tables skipped as invalid */
    char     table_sig[ACPI_MAX_TABLES][5];   /* first ACPI_MAX_TABLES valid */

    /* MADT */
    bool     have_madt;
    bool     pcat_compat;           /* 8259 pair present: mask it */
    uint64_t lapic_base;            /* type-5 override applied */
    /* cpu[]: enabled AND online-capable (hot-pluggable, not yet enabled)
     * processors, in MADT order; start only those with ACPI_CPU_ENABLED. */
    uint32_t ncpus;                 /* entries in cpu[] */
    uint32_t ncpus_dropped;         /* usable CPUs beyond ACPI_MAX_CPUS */
    uint32_t ncpus_disabled;        /* neither enabled nor online-capable */
    struct acpi_cpu cpu[ACPI_MAX_CPUS];
    uint32_t nioapics;
    struct acpi_ioapic ioapic[ACPI_MAX_IOAPICS];
    uint32_t nisos;
    struct acpi_iso iso[ACPI_MAX_ISOS];
    uint32_t nlapic_nmis;
    struct acpi_lapic_nmi lapic_nmi[ACPI_MAX_LAPIC_NMIS];

    /* FADT */
    bool     have_fadt;
    uint8_t  fadt_revision;
    uint32_t fadt_flags;
    bool     hw_reduced;            /* ACPI_FADT_HW_REDUCED: no PM1 blocks */
    uint16_t sci_irq;
    uint16_t smi_cmd;               /* 0: no legacy mode / already ACPI */
    uint8_t  acpi_enable;
    uint8_t  acpi_disable;
    uint16_t pm1a_cnt;              /* I/O port, 0: none */
    uint16_t pm1b_cnt;              /* I/O port, 0: none */
    bool     reset_supported;       /* reset_reg/reset_value valid */
    struct acpi_gas reset_reg;
    uint8_t  reset_value;
    uint64_t dsdt_address;

    /* DSDT (or an SSDT): \_S5 */
    bool     have_dsdt;
    bool     s5_valid;
    uint8_t  slp_typa, slp_typb;

    /* MCFG */
    uint32_t nmcfg;                 /* entries in mcfg[] */
    uint32_t nmcfg_total;           /* entries in the table */
    struct acpi_mcfg_seg mcfg[ACPI_MAX_MCFG];

    /* HPET */
    bool     have_hpet;
    uint64_t hpet_base;
    uint8_t  hpet_number;
    uint16_t hpet_min_tick;
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
 * out8(reset_reg.address, reset_value), delay 500 ms.  Returns only on
 * failure (ACPI_E_NOSUPP: unsupported or not I/O space; ACPI_E_TIMEOUT).
 */
int acpi_reset(const struct acpi_info *info, const struct acpi_port_ops *io);

#endif
