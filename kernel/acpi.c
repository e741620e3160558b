/*
 * ACPI table discovery (see include/nethv/acpi.h for the contract).
 *
 * Trust model: firmware tables are input, not truth.  Every table goes
 * through fetch_table(): map the 36-byte header, sanity-check the length,
 * map the whole table, verify the checksum; only then is it parsed, and
 * every sub-structure is bounds-checked against the table's own length.
 * Fields are read with rd() (memcpy) at the byte offsets acpi.h names, so
 * unaligned firmware data never becomes an unaligned typed access.
 */
#include <nethv/acpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_SSDTS 16            /* SSDTs remembered for the \_S5 fallback */

struct ctx {
    acpi_map_fn       map;
    acpi_log_fn       log;
    struct acpi_info *info;
    uint32_t          seen;     /* bit i: kinds[i] parsed, later copies ignored */
    uint32_t          nssdt;
    uint64_t          ssdt[MAX_SSDTS];
};

/* "acpi: SIG: ..." for a problem inside a table that is still used. */
#define NOTE(c, fmt, ...) \
    do { if ((c)->log) (c)->log("acpi: " fmt "\n", ##__VA_ARGS__); } while (0)

/* A 4-character signature for messages, non-printable bytes shown as '?'. */
static const char *sig_str(char out[5], const char *sig)
{
    for (int i = 0; i < 4; i++)
        out[i] = sig[i] >= 0x20 && sig[i] < 0x7f ? sig[i] : '?';
    out[4] = '\0';
    return out;
}

/* "acpi: skip SIG at 0xADDR: why" for a table not used at all. */
__attribute__((format(printf, 4, 5)))
static void reject(struct ctx *c, const char *sig, uint64_t phys, const char *fmt, ...)
{
    char why[64], s[5];
    va_list ap;

    c->info->nbad++;
    if (!c->log)
        return;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    c->log("acpi: skip %s at 0x%llx: %s\n", sig_str(s, sig ? sig : "????"),
           (unsigned long long)phys, why);
}

static uint8_t sum8(const uint8_t *p, size_t len)
{
    uint8_t s = 0;
    while (len--)
        s = (uint8_t)(s + *p++);
    return s;
}

/* n (<= 8) bytes little-endian, as x86 stores them */
static uint64_t rd(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    memcpy(&v, p, n);
    return v;
}

/*
 * Map and validate one SDT.  want: expected signature or NULL (any).
 * Returns the table (length in *len_out) or NULL after logging why it was
 * skipped.
 */
static const uint8_t *fetch_table(struct ctx *c, uint64_t phys, const char *want,
                                  uint32_t *len_out)
{
    const uint8_t *h, *t;
    char sig[4], s[5];
    uint32_t len;

    if (phys == 0 || phys > UINT64_MAX - ACPI_MAX_TABLE_LEN) {
        reject(c, want, phys, phys ? "address out of range" : "null address");
        return NULL;
    }
    if (!(h = c->map(phys, ACPI_SDT_HDR_LEN))) {
        reject(c, want, phys, "header not mapped");
        return NULL;
    }
    memcpy(sig, h, 4);
    len = (uint32_t)rd(h + ACPI_SDT_LENGTH, 4);
    if (want && memcmp(sig, want, 4) != 0) {
        reject(c, want, phys, "wrong signature %s", sig_str(s, sig));
        return NULL;
    }
    if (len < ACPI_SDT_HDR_LEN || len > ACPI_MAX_TABLE_LEN) {
        reject(c, sig, phys, "too %s: length %u", len < ACPI_SDT_HDR_LEN ? "short" : "long",
               len);
        return NULL;
    }
    if (!(t = c->map(phys, len))) {
        reject(c, sig, phys, "not mapped: length %u", len);
        return NULL;
    }
    if (sum8(t, len) != 0) {
        reject(c, sig, phys, "bad checksum");
        return NULL;
    }
    *len_out = len;
    return t;
}

/* ---- MADT ----------------------------------------------------------------- */

static void add_cpu(struct ctx *c, uint32_t apic_id, uint32_t flags, bool x2)
{
    struct acpi_info *in = c->info;

    if (!(flags & ACPI_CPU_ENABLED)) {      /* disabled, or a hot-plug slot */
        in->ncpus_off++;
        return;
    }
    if (apic_id == (x2 ? 0xffffffffu : 0xffu)) {
        NOTE(c, "APIC: invalid processor apic id %u, ignored", apic_id);
        return;
    }
    for (uint32_t i = 0; i < in->ncpus; i++) {
        if (in->apic_id[i] == apic_id) {
            NOTE(c, "APIC: duplicate apic id %u, ignored", apic_id);
            return;
        }
    }
    if (in->ncpus < ACPI_MAX_CPUS)
        in->apic_id[in->ncpus++] = apic_id;
    else
        in->ncpus_dropped++;
}

static void parse_madt(struct ctx *c, const uint8_t *t, uint32_t len)
{
    struct acpi_info *in = c->info;
    uint64_t override = 0;
    uint32_t off = ACPI_MADT_ENTRIES;

    in->have_madt = true;
    in->lapic_base = rd(t + ACPI_MADT_LAPIC_ADDR, 4);
    while (off + 2 <= len) {
        const uint8_t *e = t + off;
        uint8_t type = e[0], elen = e[1];
        uint8_t need = type == ACPI_MADT_LAPIC     ? ACPI_MADT_LAPIC_LEN :
                       type == ACPI_MADT_X2APIC    ? ACPI_MADT_X2APIC_LEN :
                       type == ACPI_MADT_LAPIC_OVR ? ACPI_MADT_LAPIC_OVR_LEN : 0;

        if (elen < 2 || elen > len - off) {
            NOTE(c, "APIC: entry %s at offset %u, rest ignored",
                 elen < 2 ? "length < 2" : "overruns table", off);
            break;
        }
        if (elen < need)
            NOTE(c, "APIC: entry too short, skipped: type %u", type);
        else if (type == ACPI_MADT_LAPIC)
            add_cpu(c, e[ACPI_MADT_LAPIC_ID], (uint32_t)rd(e + ACPI_MADT_LAPIC_FLAGS, 4),
                    false);
        else if (type == ACPI_MADT_X2APIC)
            add_cpu(c, (uint32_t)rd(e + ACPI_MADT_X2APIC_ID, 4),
                    (uint32_t)rd(e + ACPI_MADT_X2APIC_FLAGS, 4), true);
        else if (type == ACPI_MADT_LAPIC_OVR)
            override = rd(e + ACPI_MADT_LAPIC_OVR_ADDR, 8);
        off += elen;
    }
    if (override)
        in->lapic_base = override;
}

/* ---- FADT / DSDT ------------------------------------------------------------ */

/* The I/O port a GAS names, or 0 (and a note) when it is not one. */
static uint16_t gas_port(struct ctx *c, const uint8_t *gas, const char *what)
{
    uint64_t a = rd(gas + ACPI_GAS_ADDRESS, 8);

    if (gas[ACPI_GAS_SPACE] == ACPI_GAS_IO && a <= 0xffff)
        return (uint16_t)a;
    NOTE(c, "FACP: %s unusable for port I/O: space %u address 0x%llx", what,
         gas[ACPI_GAS_SPACE], (unsigned long long)a);
    return 0;
}

/* PM1x_CNT: the X_ GAS when it is set and an I/O port, else the legacy
 * 32-bit block.  0 = not present/not usable. */
static uint16_t pm1_port(struct ctx *c, const uint8_t *f, unsigned x_off,
                         unsigned legacy_off, const char *what)
{
    uint32_t legacy = (uint32_t)rd(f + legacy_off, 4);
    uint16_t port = 0;

    if (rd(f + x_off + ACPI_GAS_ADDRESS, 8))
        port = gas_port(c, f + x_off, what);
    return port ? port : legacy <= 0xffff ? (uint16_t)legacy : 0;
}

static void scan_s5(struct ctx *c, const uint8_t *t, uint32_t len)
{
    struct acpi_info *in = c->info;
    in->s5_valid = acpi_find_s5(t + ACPI_SDT_HDR_LEN, len - ACPI_SDT_HDR_LEN,
                                &in->slp_typa, &in->slp_typb);
}

/* X_DSDT when it is set and valid, else the 32-bit DSDT field. */
static void parse_dsdt(struct ctx *c, uint64_t x_dsdt, uint32_t dsdt32)
{
    const uint8_t *t = NULL;
    uint32_t len = 0;

    if (x_dsdt)
        t = fetch_table(c, x_dsdt, "DSDT", &len);
    if (!t && dsdt32 && dsdt32 != x_dsdt)
        t = fetch_table(c, dsdt32, "DSDT", &len);
    if (!x_dsdt && !dsdt32)
        NOTE(c, "FACP: no DSDT address");
    if (t) {
        c->info->have_dsdt = true;
        scan_s5(c, t, len);
    }
}

static void parse_fadt(struct ctx *c, const uint8_t *t, uint32_t len)
{
    struct acpi_info *in = c->info;
    uint8_t f[ACPI_FADT_READ_LEN] = { 0 };  /* past the table's end: 0 = none */
    uint32_t flags, smi;

    memcpy(f, t, len < sizeof f ? len : sizeof f);
    flags = (uint32_t)rd(f + ACPI_FADT_FLAGS, 4);
    smi = (uint32_t)rd(f + ACPI_FADT_SMI_CMD, 4);
    in->have_fadt = true;
    in->hw_reduced = (flags & ACPI_FADT_HW_REDUCED) != 0;
    if (smi <= 0xffff) {
        in->smi_cmd = (uint16_t)smi;
        in->acpi_enable = f[ACPI_FADT_ACPI_ENABLE];
    } else {
        NOTE(c, "FACP: SMI_CMD 0x%x beyond I/O space, ignored", smi);
    }
    in->pm1a_cnt = pm1_port(c, f, ACPI_FADT_X_PM1A_CNT, ACPI_FADT_PM1A_CNT, "X_PM1a_CNT_BLK");
    in->pm1b_cnt = pm1_port(c, f, ACPI_FADT_X_PM1B_CNT, ACPI_FADT_PM1B_CNT, "X_PM1b_CNT_BLK");
    /* RESET_VALUE is byte 128: the table must reach it. */
    if ((flags & ACPI_FADT_RESET_REG_SUP) && len > ACPI_FADT_RESET_VALUE &&
        rd(f + ACPI_FADT_RESET_REG + ACPI_GAS_ADDRESS, 8)) {
        in->reset_port = gas_port(c, f + ACPI_FADT_RESET_REG, "RESET_REG");
        in->reset_value = f[ACPI_FADT_RESET_VALUE];
    }
    parse_dsdt(c, rd(f + ACPI_FADT_X_DSDT, 8), (uint32_t)rd(f + ACPI_FADT_DSDT, 4));
}

/* ---- MCFG --------------------------------------------------------------------- */

static void parse_mcfg(struct ctx *c, const uint8_t *t, uint32_t len)
{
    struct acpi_info *in = c->info;
    uint32_t n = (len - ACPI_MCFG_ENTRIES) / ACPI_MCFG_ENTRY_LEN;

    if (n > ACPI_MAX_MCFG)
        NOTE(c, "MCFG: %u allocations, only the first %u used", n, ACPI_MAX_MCFG);
    for (uint32_t i = 0; i < n && i < ACPI_MAX_MCFG; i++) {
        const uint8_t *e = t + ACPI_MCFG_ENTRIES + i * ACPI_MCFG_ENTRY_LEN;
        in->mcfg[in->nmcfg++] = (struct acpi_mcfg_seg){
            .base = rd(e + ACPI_MCFG_BASE, 8),
            .segment = (uint16_t)rd(e + ACPI_MCFG_SEGMENT, 2),
            .bus_start = e[ACPI_MCFG_BUS_START], .bus_end = e[ACPI_MCFG_BUS_END],
        };
    }
}

/* ---- root table ------------------------------------------------------------------ */

/* The tables parsed; the first valid one of each kind wins. */
static const struct {
    char     sig[5];
    uint32_t min_len;
    void   (*parse)(struct ctx *c, const uint8_t *t, uint32_t len);
} kinds[] = {
    { "APIC", ACPI_MADT_ENTRIES, parse_madt },
    { "FACP", ACPI_FADT_V1_LEN,  parse_fadt },
    { "MCFG", ACPI_MCFG_ENTRIES, parse_mcfg },
};

static void root_entry(struct ctx *c, uint64_t phys)
{
    struct acpi_info *in = c->info;
    size_t n = strlen(in->tables);
    uint32_t len;
    char s[5];
    const uint8_t *t = fetch_table(c, phys, NULL, &len);

    if (!t)
        return;
    if (n + 5 < sizeof in->tables)
        snprintf(in->tables + n, sizeof in->tables - n, " %s", sig_str(s, (const char *)t));
    if (memcmp(t, "SSDT", 4) == 0 && c->nssdt < MAX_SSDTS)
        c->ssdt[c->nssdt++] = phys;
    for (unsigned i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (memcmp(t, kinds[i].sig, 4) != 0)
            continue;
        if (c->seen & 1u << i) {
            NOTE(c, "%s: duplicate table ignored", kinds[i].sig);
        } else if (len < kinds[i].min_len) {
            reject(c, kinds[i].sig, phys, "too short: length %u", len);
        } else {
            c->seen |= 1u << i;
            kinds[i].parse(c, t, len);
        }
    }
}

static bool walk_root(struct ctx *c, uint64_t phys, bool xsdt)
{
    const char *sig = xsdt ? "XSDT" : "RSDT";
    const uint32_t esz = xsdt ? 8 : 4;
    uint32_t len;
    const uint8_t *t = fetch_table(c, phys, sig, &len);

    if (!t)
        return false;
    if ((len - ACPI_SDT_HDR_LEN) % esz)
        NOTE(c, "%s: length %u not a whole number of entries", sig, len);
    c->info->root_is_xsdt = xsdt;
    c->info->ntables = (len - ACPI_SDT_HDR_LEN) / esz;
    for (uint32_t i = 0; i < c->info->ntables; i++)
        root_entry(c, rd(t + ACPI_SDT_HDR_LEN + i * esz, esz));
    return true;
}

int acpi_parse(const uint8_t *rsdp, size_t rsdp_len, acpi_map_fn map,
               struct acpi_info *out, acpi_log_fn log)
{
    struct ctx c = { .map = map, .log = log, .info = out };
    uint64_t xsdt = 0;
    uint32_t rsdt, rlen;
    bool ok = false;

    if (!rsdp || !map || !out)
        return ACPI_E_ARG;
    memset(out, 0, sizeof *out);
    if (rsdp_len < ACPI_RSDP_V1_LEN || memcmp(rsdp, "RSD PTR ", 8) != 0) {
        NOTE(&c, "RSDP: missing or short copy, length %u", (unsigned)rsdp_len);
        return ACPI_E_RSDP;
    }
    if (sum8(rsdp, ACPI_RSDP_V1_LEN) != 0) {
        NOTE(&c, "RSDP: bad checksum");
        return ACPI_E_RSDP;
    }
    if (rsdp[ACPI_RSDP_REVISION] >= 2) {
        rlen = rsdp_len < ACPI_RSDP_V2_LEN ? 0 : (uint32_t)rd(rsdp + ACPI_RSDP_LENGTH, 4);
        if (rsdp_len < ACPI_RSDP_V2_LEN)
            NOTE(&c, "RSDP: 2.0+ but copy too short for the XSDT, length %u",
                 (unsigned)rsdp_len);
        else if (rlen < ACPI_RSDP_V2_LEN || rlen > rsdp_len)
            NOTE(&c, "RSDP: length field %u unusable, XSDT ignored", rlen);
        else if (sum8(rsdp, rlen) != 0)
            NOTE(&c, "RSDP: bad extended checksum, XSDT ignored");
        else
            xsdt = rd(rsdp + ACPI_RSDP_XSDT, 8);
    }
    if (xsdt) {
        ok = walk_root(&c, xsdt, true);
        if (!ok)
            NOTE(&c, "XSDT: unusable, trying the RSDT");
    }
    rsdt = (uint32_t)rd(rsdp + ACPI_RSDP_RSDT, 4);
    if (!ok && rsdt)
        ok = walk_root(&c, rsdt, false);
    if (!ok) {
        NOTE(&c, "RSDP: no usable XSDT or RSDT");
        return ACPI_E_ROOT;
    }
    /* Some firmware (old QEMU/SeaBIOS among them) puts \_S5 in an SSDT. */
    for (uint32_t i = 0; i < c.nssdt && !out->s5_valid; i++) {
        uint32_t len;
        const uint8_t *t = fetch_table(&c, c.ssdt[i], "SSDT", &len);
        if (t)
            scan_s5(&c, t, len);
    }
    return ACPI_OK;
}

/* ---- \_S5 ------------------------------------------------------------------------ */

/*
 * One integer data object, as ASL compilers emit package elements:
 * ZeroOp 0x00, OneOp 0x01, BytePrefix 0x0A b, WordPrefix 0x0B w,
 * DWordPrefix 0x0C d; plus the non-AML "plain byte" 0x02..0x07 some
 * hand-written tables contain.  Returns bytes consumed, 0 if not one.
 */
static size_t aml_int(const uint8_t *p, size_t avail, uint32_t *val)
{
    if (avail < 1)
        return 0;
    if (p[0] <= 0x07) {
        *val = p[0];                /* ZeroOp, OneOp, or a plain byte */
        return 1;
    }
    /* the prefix, then 1, 2 or 4 bytes little-endian */
    size_t n = p[0] == 0x0a ? 1 : p[0] == 0x0b ? 2 : p[0] == 0x0c ? 4 : 0;
    if (!n || avail < 1 + n)
        return 0;
    *val = (uint32_t)rd(p + 1, n);
    return 1 + n;
}

/* Package starting at aml[pos] (PackageOp); fills a/b on success. */
static bool s5_package(const uint8_t *aml, size_t len, size_t pos, uint8_t *a,
                       uint8_t *b)
{
    size_t p, end, nbytes, used;
    uint32_t plen, v0, v1 = 0;
    uint8_t nelem;

    if (pos >= len || aml[pos] != 0x12)             /* PackageOp */
        return false;
    p = pos + 1;
    if (p >= len)
        return false;
    nbytes = aml[p] >> 6;                           /* PkgLength follow bytes */
    if (p + 1 + nbytes >= len)
        return false;
    if (nbytes == 0) {
        plen = aml[p] & 0x3f;
    } else {
        plen = aml[p] & 0x0f;
        for (size_t k = 0; k < nbytes; k++)
            plen |= (uint32_t)aml[p + 1 + k] << (4 + 8 * k);
    }
    /* PkgLength counts itself, NumElements and the elements. */
    if (plen < nbytes + 2 || plen > len - p)
        return false;
    end = p + plen;
    p += 1 + nbytes;
    nelem = aml[p++];
    if (nelem == 0)
        return false;
    used = aml_int(aml + p, end - p, &v0);
    if (!used)
        return false;
    p += used;
    if (nelem == 1) {
        /* One integer: SLP_TYPa in bits 7:0, SLP_TYPb in 15:8 (as ACPICA). */
        v1 = (v0 >> 8) & 0xff;
        v0 &= 0xff;
    } else if (!aml_int(aml + p, end - p, &v1)) {
        return false;
    }
    if (v0 > ACPI_SLP_TYP_MAX || v1 > ACPI_SLP_TYP_MAX)
        return false;
    *a = (uint8_t)v0;
    *b = (uint8_t)v1;
    return true;
}

/*
 * Heuristic, not an interpreter.  Look for the name "_S5_" preceded by
 * NameOp (0x08) or by NameOp + root prefix '\' (0x08 0x5C) and followed by
 * PackageOp (0x12), a PkgLength (1-4 bytes, must fit in the table),
 * NumElements (>= 1) and then integer elements (see aml_int); the first
 * two are SLP_TYPa and SLP_TYPb and must each be <= 7.  The first
 * occurrence that matches wins; references to \_S5 elsewhere (method
 * bodies, CondRefOf) are skipped because they lack the NameOp/PackageOp
 * framing.  A \_S5 built at run time by a method, or defined inside a
 * conditional with a different value on the other branch, is not handled.
 */
bool acpi_find_s5(const uint8_t *aml, size_t len, uint8_t *slp_typa,
                  uint8_t *slp_typb)
{
    if (!aml || len < 6)
        return false;
    for (size_t i = 1; i + 4 <= len; i++) {
        bool named;
        if (memcmp(aml + i, "_S5_", 4) != 0)
            continue;
        named = aml[i - 1] == 0x08 ||
                (aml[i - 1] == '\\' && i >= 2 && aml[i - 2] == 0x08);
        if (named && s5_package(aml, len, i + 4, slp_typa, slp_typb))
            return true;
    }
    return false;
}

/* ---- summary ----------------------------------------------------------------------- */

void acpi_print_summary(const struct acpi_info *in, acpi_log_fn log)
{
    char s5[32];

    if (!in || !log)
        return;
    log("acpi: %s, %u tables:%s (%u skipped); ECAM segments: %u\n",
        in->root_is_xsdt ? "XSDT" : "RSDT", in->ntables, in->tables, in->nbad, in->nmcfg);
    if (in->have_madt)
        log("acpi: MADT lapic 0x%llx, %u CPUs (+%u not enabled, +%u over the limit)\n",
            (unsigned long long)in->lapic_base, in->ncpus, in->ncpus_off, in->ncpus_dropped);
    else
        log("acpi: no MADT\n");
    if (in->s5_valid)
        snprintf(s5, sizeof s5, "S5 slp_typ %u/%u", in->slp_typa, in->slp_typb);
    else
        snprintf(s5, sizeof s5, "%s", in->have_dsdt ? "no \\_S5" : "no DSDT");
    if (in->have_fadt)
        log("acpi: FADT%s pm1a_cnt 0x%x pm1b_cnt 0x%x smi_cmd 0x%x/0x%x reset 0x%x=0x%x, %s\n",
            in->hw_reduced ? " hw-reduced" : "", in->pm1a_cnt, in->pm1b_cnt, in->smi_cmd,
            in->acpi_enable, in->reset_port, in->reset_value, s5);
    else
        log("acpi: no FADT\n");
}

/* ---- power-off / reset -------------------------------------------------------------- */

static bool ops_ok(const struct acpi_port_ops *io)
{
    return io && io->in16 && io->out16 && io->out8 && io->delay_ms;
}

int acpi_poweroff(const struct acpi_info *in, const struct acpi_port_ops *io)
{
    const uint16_t keep = (uint16_t)~(ACPI_PM1_SLP_TYP_MASK | ACPI_PM1_SLP_EN);
    uint16_t a, b = 0;

    if (!in || !ops_ok(io))
        return ACPI_E_ARG;
    if (!in->have_fadt || in->hw_reduced || !in->pm1a_cnt || !in->s5_valid)
        return ACPI_E_NOSUPP;

    /* Legacy (SMM-owned) mode: ask firmware to hand over, wait for SCI_EN. */
    if (!(io->in16(io->ctx, in->pm1a_cnt) & ACPI_PM1_SCI_EN) &&
        in->smi_cmd && in->acpi_enable) {
        io->out8(io->ctx, in->smi_cmd, in->acpi_enable);
        for (uint32_t t = 0; t < ACPI_ENABLE_POLL_MS; t += ACPI_ENABLE_POLL_STEP) {
            if (io->in16(io->ctx, in->pm1a_cnt) & ACPI_PM1_SCI_EN)
                break;
            io->delay_ms(io->ctx, ACPI_ENABLE_POLL_STEP);
        }
    }

    a = (uint16_t)((io->in16(io->ctx, in->pm1a_cnt) & keep) |
                   (uint16_t)(in->slp_typa << ACPI_PM1_SLP_TYP_SHIFT));
    if (in->pm1b_cnt)
        b = (uint16_t)((io->in16(io->ctx, in->pm1b_cnt) & keep) |
                       (uint16_t)(in->slp_typb << ACPI_PM1_SLP_TYP_SHIFT));
    /* SLP_TYP first (a before b), then SLP_EN, like ACPICA. */
    io->out16(io->ctx, in->pm1a_cnt, a);
    if (in->pm1b_cnt)
        io->out16(io->ctx, in->pm1b_cnt, b);
    io->out16(io->ctx, in->pm1a_cnt, (uint16_t)(a | ACPI_PM1_SLP_EN));
    if (in->pm1b_cnt)
        io->out16(io->ctx, in->pm1b_cnt, (uint16_t)(b | ACPI_PM1_SLP_EN));
    io->delay_ms(io->ctx, 1000);
    return ACPI_E_TIMEOUT;
}

int acpi_reset(const struct acpi_info *in, const struct acpi_port_ops *io)
{
    if (!in || !ops_ok(io))
        return ACPI_E_ARG;
    if (!in->reset_port)
        return ACPI_E_NOSUPP;
    io->out8(io->ctx, in->reset_port, in->reset_value);
    io->delay_ms(io->ctx, 500);
    return ACPI_E_TIMEOUT;
}
