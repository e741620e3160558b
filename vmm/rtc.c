/*
 * MC146818 RTC and CMOS RAM (ports 0x70 index / 0x71 data), one per VM.
 *
 * Register meanings: Motorola MC146818A datasheet, "Address map" and
 * registers A-D.  The clock is RTC_EPOCH plus the TSC time since the VM was
 * created (no host RTC dependency).  Writes to the time registers are
 * accepted into CMOS but do not move the clock (Linux writes the RTC only
 * for NTP sync).  Periodic/alarm/update interrupts (IRQ 8) are not raised;
 * register C reads 0.  Bit 7 of port 0x70 is the NMI mask (kept, readable
 * back; NMIs are not delivered through this model anyway).
 */
#include <arch/x86.h>
#include <arch/time.h>
#include "vmm.h"
#include "pci.h"

#define RTC_PORT_INDEX  0x70
#define RTC_PORT_DATA   0x71
#define RTC_INDEX_MASK  0x7f
#define RTC_NMI_DISABLE 0x80
#define CMOS_SIZE       128

/* clock registers (address map) */
#define RTC_SECONDS     0x00
#define RTC_MINUTES     0x02
#define RTC_HOURS       0x04
#define RTC_WEEKDAY     0x06    /* 1 = Sunday */
#define RTC_DAY         0x07
#define RTC_MONTH       0x08
#define RTC_YEAR        0x09
#define RTC_REG_A       0x0a
#define RTC_REG_B       0x0b
#define RTC_REG_C       0x0c
#define RTC_REG_D       0x0d
#define RTC_CENTURY     0x32    /* IBM PC convention (ACPI FADT CENTURY) */
/* register A */
#define REGA_UIP        0x80    /* update in progress: time may change */
#define REGA_DEFAULT    0x26    /* DV = 010 (32.768 kHz), RS = 0110 (1024 Hz) */
/* register B */
#define REGB_SET        0x80
#define REGB_DM_BINARY  0x04    /* data mode: 1 binary, 0 BCD */
#define REGB_24H        0x02
#define REGB_DEFAULT    REGB_24H
#define RTC_HOUR_PM     0x80    /* 12-hour mode */
/* register D */
#define REGD_VRT        0x80    /* valid RAM and time: battery good */
/* UIP is set 244 us before each update (datasheet: tBUC) */
#define RTC_UIP_US      244

/* CMOS memory-size bytes, as read by BIOSes and Linux-era tools */
#define CMOS_BASE_MEM_LO    0x15    /* KiB below 1 MiB */
#define CMOS_EXT_MEM_LO     0x17    /* KiB from 1 MiB (max 65535) */
#define CMOS_EXT_MEM2_LO    0x30    /* same again */
#define CMOS_MEM_16M_LO     0x34    /* 64 KiB units from 16 MiB to below 4 GiB */
#define CMOS_MEM_4G_LO      0x5b    /* 64 KiB units above 4 GiB (3 bytes) */
#define BASE_MEM_KIB        640

/* 2026-01-01 00:00:00 UTC, a Thursday */
#define RTC_EPOCH       1767225600ull
#define SECS_PER_DAY    86400u
#define MICROS          1000000u

struct vmm_rtc {
    uint8_t index;
    uint8_t cmos[CMOS_SIZE];
    uint64_t tsc0;
};

/* Civil date from days since 1970-01-01 (H. Hinnant's days_from_civil inverse). */
static void civil_from_days(uint64_t days, unsigned *y, unsigned *mo, unsigned *d)
{
    uint64_t z = days + 719468;
    uint64_t era = z / 146097;
    uint64_t doe = z - era * 146097;
    uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    uint64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *mo = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = (unsigned)(yoe + era * 400 + (*mo <= 2));
}

static uint64_t rtc_elapsed_us(const struct vmm_rtc *r)
{
    uint64_t t = rdtsc() - r->tsc0, hz = tsc_hz ? tsc_hz : 1;
    return t / hz * MICROS + t % hz * MICROS / hz;
}

static uint8_t rtc_encode(const struct vmm_rtc *r, unsigned v)
{
    if (r->cmos[RTC_REG_B] & REGB_DM_BINARY)
        return (uint8_t)v;
    return (uint8_t)((v / 10) << 4 | (v % 10));
}

/* The value of clock register `reg` now. */
static uint8_t rtc_clock(const struct vmm_rtc *r, unsigned reg)
{
    uint64_t secs = RTC_EPOCH + rtc_elapsed_us(r) / MICROS;
    uint64_t days = secs / SECS_PER_DAY;
    unsigned sod = (unsigned)(secs % SECS_PER_DAY), y, mo, d;
    civil_from_days(days, &y, &mo, &d);
    switch (reg) {
    case RTC_SECONDS:
        return rtc_encode(r, sod % 60);
    case RTC_MINUTES:
        return rtc_encode(r, sod / 60 % 60);
    case RTC_HOURS: {
        unsigned h = sod / 3600;
        if (r->cmos[RTC_REG_B] & REGB_24H)
            return rtc_encode(r, h);
        return (uint8_t)(rtc_encode(r, h % 12 ? h % 12 : 12) | (h >= 12 ? RTC_HOUR_PM : 0));
    }
    case RTC_WEEKDAY:
        return rtc_encode(r, (unsigned)((days + 4) % 7) + 1);  /* 1970-01-01: Thursday */
    case RTC_DAY:
        return rtc_encode(r, d);
    case RTC_MONTH:
        return rtc_encode(r, mo);
    case RTC_YEAR:
        return rtc_encode(r, y % 100);
    default:    /* RTC_CENTURY */
        return rtc_encode(r, y / 100);
    }
}

static uint8_t rtc_read(struct vmm_rtc *r, unsigned reg)
{
    switch (reg) {
    case RTC_SECONDS: case RTC_MINUTES: case RTC_HOURS: case RTC_WEEKDAY:
    case RTC_DAY: case RTC_MONTH: case RTC_YEAR: case RTC_CENTURY:
        return rtc_clock(r, reg);
    case RTC_REG_A: {
        bool uip = rtc_elapsed_us(r) % MICROS >= MICROS - RTC_UIP_US &&
                   !(r->cmos[RTC_REG_B] & REGB_SET);
        return (uint8_t)((r->cmos[RTC_REG_A] & ~REGA_UIP) | (uip ? REGA_UIP : 0));
    }
    case RTC_REG_C:
        return 0;                       /* no interrupt flags: IRQ 8 not modelled */
    case RTC_REG_D:
        return REGD_VRT;
    default:
        return r->cmos[reg];
    }
}

static void rtc_io(struct vmm *m, void *state, uint16_t port, bool write, unsigned size, uint32_t *val)
{
    struct vmm_rtc *r = state;
    if (port == RTC_PORT_INDEX) {
        if (write)
            r->index = (uint8_t)*val;   /* bit 7: NMI disable, kept */
        else
            *val = r->index;
        return;
    }
    unsigned reg = r->index & RTC_INDEX_MASK;
    if (!write) {
        *val = rtc_read(r, reg);
        return;
    }
    if (reg == RTC_REG_A)
        r->cmos[reg] = (uint8_t)(*val & ~REGA_UIP);
    else if (reg != RTC_REG_C && reg != RTC_REG_D)  /* C and D are read-only */
        r->cmos[reg] = (uint8_t)*val;
}

static void cmos_put16(uint8_t *p, uint64_t v)
{
    v = v > 0xffff ? 0xffff : v;
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* RAM is one block from GPA 0; the 32-bit part ends at the PCI hole. */
static void rtc_set_memory_size(struct vmm_rtc *r, uint64_t ram)
{
    const uint64_t k = 1024, m16 = 16 * k * k, g4 = 4 * k * k * k, unit = 64 * k;
    uint64_t low = ram < VMM_PCI_HOLE_START ? ram : VMM_PCI_HOLE_START;
    cmos_put16(&r->cmos[CMOS_BASE_MEM_LO], BASE_MEM_KIB);
    cmos_put16(&r->cmos[CMOS_EXT_MEM_LO], low > k * k ? (low - k * k) / k : 0);
    cmos_put16(&r->cmos[CMOS_EXT_MEM2_LO], low > k * k ? (low - k * k) / k : 0);
    cmos_put16(&r->cmos[CMOS_MEM_16M_LO], low > m16 ? (low - m16) / unit : 0);
    uint64_t high = ram > g4 ? (ram - g4) / unit : 0;
    r->cmos[CMOS_MEM_4G_LO] = (uint8_t)high;
    r->cmos[CMOS_MEM_4G_LO + 1] = (uint8_t)(high >> 8);
    r->cmos[CMOS_MEM_4G_LO + 2] = (uint8_t)(high >> 16);
}

int vmm_rtc_init(struct vmm *m, const struct vmm_create_args *a)
{
    struct vmm_rtc *r = vmm_alloc(m, sizeof(*r));
    if (!r)
        return -1;
    r->tsc0 = rdtsc();
    r->cmos[RTC_REG_A] = REGA_DEFAULT;
    r->cmos[RTC_REG_B] = REGB_DEFAULT;
    rtc_set_memory_size(r, a->ram_bytes);
    struct vmm_dev d = {
        .name = "rtc-cmos", .port_base = RTC_PORT_INDEX, .port_count = 2,
        .io = rtc_io, .state = r,
    };
    return vmm_add_device(m, &d);
}
