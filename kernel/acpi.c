/*
 * ACPI table discovery (see include/nethv/acpi.h for the contract).
 *
 * Trust model: firmware tables are input, not truth.  Every table goes
 * through fetch_table(): map the 36-byte header, sanity-check the length,
 * map the whole table, verify the checksum; only then is it parsed, and
 * every sub-structure is bounds-checked against the table's own length.
 * Multi-byte fields are read with memcpy into local copies, so unaligned
 * firmware data never becomes an unaligned typed access.
 */
#include <nethv/acpi.h>
#include <string.h>

#define SDT_HDR_LEN   ((uint32_t)sizeof(struct acpi_sdt_header))
#define MAX_SSDTS     16            /* SSDTs remembered for the \_S5 fallback */

struct ctx {
    acpi_map_fn       map;
    acpi_log_fn       log;
    struct acpi_info *info;
    uint32_t          nssdt;
    uint64_t          ssdt[MAX_SSDTS];
    bool              have_mcfg;
};

/* ---- log lines without printf: only "%s\n" reaches the caller ------------- */

struct line {
    char   buf[200];
    size_t n;
};

static void l_str(struct line *l, const char *s)
{
    while (*s && l->n + 1 < sizeof l->buf)
        l->buf[l->n++] = *s++;
    if (*s && l->n >= 3)            /* truncated: mark it */
        memcpy(&l->buf[l->n - 3], "...", 3);
    l->buf[l->n] = '\0';
}

static void l_num(struct line *l, uint64_t v, unsigned base)
{
    char tmp[24];
    int i = (int)sizeof tmp - 1;
    tmp[i] = '\0';
    do {
        tmp[--i] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v && i > 0);
    if (base == 16)
        l_str(l, "0x");
    l_str(l, &tmp[i]);
}

static void l_dec(struct line *l, uint64_t v) { l_num(l, v, 10); }
static void l_hex(struct line *l, uint64_t v) { l_num(l, v, 16); }

/* A 4-character signature, non-printable bytes shown as '?'. */
static void l_sig(struct line *l, const char *sig)
{
    char s[5];
    for (int i = 0; i < 4; i++)
        s[i] = (sig[i] >= 0x20 && sig[i] < 0x7f) ? sig[i] : '?';
    s[4] = '\0';
    l_str(l, s);
}

static void l_start(struct line *l)
{
    l->n = 0;
    l_str(l, "acpi: ");
}

static void l_emit(const struct line *l, acpi_log_fn log)
{
    if (log)
        log("%s\n", l->buf);
}

/* "acpi: skip SIG at 0xADDR: why [N]" (value omitted when val_name is NULL) */
static void reject(struct ctx *c, const char *sig, uint64_t phys, const char *why,
                 const char *val_name, uint64_t val)
{
    struct line l;
    c->info->nbad++;
    l_start(&l);
    l_str(&l, "skip ");
    l_sig(&l, sig ? sig : "????");
    l_str(&l, " at ");
    l_hex(&l, phys);
    l_str(&l, ": ");
    l_str(&l, why);
    if (val_name) {
        l_str(&l, " ");
        l_str(&l, val_name);
        l_str(&l, " ");
        l_dec(&l, val);
    }
    l_emit(&l, c->log);
}

/* "acpi: SIG: msg [N]" for problems inside an otherwise valid table. */
static void note(struct ctx *c, const char *sig, const char *msg, bool has_val,
                 uint64_t val)
{
    struct line l;
    l_start(&l);
    l_sig(&l, sig);
    l_str(&l, ": ");
    l_str(&l, msg);
    if (has_val) {
        l_str(&l, " ");
        l_dec(&l, val);
    }
    l_emit(&l, c->log);
}

/* ---- small readers ------------------------------------------------------- */

static uint8_t sum8(const uint8_t *p, size_t len)
{
    uint8_t s = 0;
    while (len--)
        s = (uint8_t)(s + *p++);
    return s;
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/*
 * Map and validate one SDT.  want: expected signature or NULL (any);
 * min_len: smallest acceptable length for this table type.  Returns the
 * table (length in *len_out) or NULL after logging why it was skipped.
 */
static const uint8_t *fetch_table(struct ctx *c, uint64_t phys, const char *want,
                                  uint32_t min_len, uint32_t *len_out)
{
    struct acpi_sdt_header h;
    const void *hp;
    const uint8_t *t;

    if (min_len < SDT_HDR_LEN)
        min_len = SDT_HDR_LEN;
    if (phys == 0) {
        reject(c, want, phys, "null address", NULL, 0);
        return NULL;
    }
    if (phys > UINT64_MAX - ACPI_MAX_TABLE_LEN) {
        reject(c, want, phys, "address out of range", NULL, 0);
        return NULL;
    }
    hp = c->map(phys, sizeof h);
    if (!hp) {
        reject(c, want, phys, "header not mapped", NULL, 0);
        return NULL;
    }
    memcpy(&h, hp, sizeof h);
    if (want && memcmp(h.signature, want, 4) != 0) {
        reject(c, want, phys, "wrong signature", NULL, 0);
        return NULL;
    }
    if (!want)
        want = h.signature;     /* for messages; h outlives every use */
    if (h.length < min_len) {
        reject(c, want, phys, "too short:", "length", h.length);
        return NULL;
    }
    if (h.length > ACPI_MAX_TABLE_LEN) {
        reject(c, want, phys, "too long:", "length", h.length);
        return NULL;
    }
    t = c->map(phys, h.length);
    if (!t) {
        reject(c, want, phys, "not mapped:", "length", h.length);
        return NULL;
    }
    if (sum8(t, h.length) != 0) {
        reject(c, want, phys, "bad checksum", NULL, 0);
        return NULL;
    }
    *len_out = h.length;
    return t;
}

/* ---- MADT ----------------------------------------------------------------- */

static void add_cpu(struct ctx *c, uint32_t apic_id, uint32_t uid, uint32_t flags,
                    bool x2)
{
    struct acpi_info *in = c->info;

    if (!(flags & (ACPI_CPU_ENABLED | ACPI_CPU_ONLINE_CAPABLE))) {
        in->ncpus_disabled++;
        return;
    }
    if ((!x2 && apic_id == 0xff) || (x2 && apic_id == 0xffffffffu)) {
        note(c, "APIC", "invalid processor apic id, ignored", true, apic_id);
        return;
    }
    for (uint32_t i = 0; i < in->ncpus; i++) {
        if (in->cpu[i].apic_id == apic_id) {
            note(c, "APIC", "duplicate apic id, ignored", true, apic_id);
            return;
        }
    }
    if (in->ncpus >= ACPI_MAX_CPUS) {
        in->ncpus_dropped++;
        return;
    }
    in->cpu[in->ncpus++] = (struct acpi_cpu){
        .apic_id = apic_id, .uid = uid, .flags = flags, .x2apic = x2,
    };
}

static void add_nmi(struct ctx *c, uint32_t uid, uint16_t flags, uint8_t lint)
{
    struct acpi_info *in = c->info;
    if (in->nlapic_nmis >= ACPI_MAX_LAPIC_NMIS) {
        note(c, "APIC", "too many local APIC NMI entries, dropped uid", true, uid);
        return;
    }
    in->lapic_nmi[in->nlapic_nmis++] = (struct acpi_lapic_nmi){
        .uid = uid, .flags = flags, .lint = lint,
    };
}

/* Minimum entry length per type we parse; 0 = type ignored. */
static uint8_t madt_min_len(uint8_t type)
{
    switch (type) {
    case ACPI_MADT_LAPIC:          return sizeof(struct acpi_madt_lapic);
    case ACPI_MADT_IOAPIC:         return sizeof(struct acpi_madt_ioapic);
    case ACPI_MADT_ISO:            return sizeof(struct acpi_madt_iso);
    case ACPI_MADT_LAPIC_NMI:      return sizeof(struct acpi_madt_lapic_nmi);
    case ACPI_MADT_LAPIC_OVERRIDE: return sizeof(struct acpi_madt_lapic_override);
    case ACPI_MADT_X2APIC:         return sizeof(struct acpi_madt_x2apic);
    case ACPI_MADT_X2APIC_NMI:     return sizeof(struct acpi_madt_x2apic_nmi);
    default:                       return 0;
    }
}

/* One MADT entry, already known to lie inside the table and be long enough. */
static void madt_entry(struct ctx *c, const uint8_t *p, uint64_t *lapic_override)
{
    struct acpi_info *in = c->info;

    switch (p[0]) {
    case ACPI_MADT_LAPIC: {
        struct acpi_madt_lapic e;
        memcpy(&e, p, sizeof e);
        add_cpu(c, e.apic_id, e.uid, e.flags, false);
        break;
    }
    case ACPI_MADT_X2APIC: {
        struct acpi_madt_x2apic e;
        memcpy(&e, p, sizeof e);
        add_cpu(c, e.x2apic_id, e.uid, e.flags, true);
        break;
    }
    case ACPI_MADT_IOAPIC: {
        struct acpi_madt_ioapic e;
        memcpy(&e, p, sizeof e);
        if (in->nioapics >= ACPI_MAX_IOAPICS) {
            note(c, "APIC", "too many IOAPICs, dropped id", true, e.id);
            break;
        }
        in->ioapic[in->nioapics++] = (struct acpi_ioapic){
            .id = e.id, .address = e.address, .gsi_base = e.gsi_base,
        };
        break;
    }
    case ACPI_MADT_ISO: {
        struct acpi_madt_iso e;
        memcpy(&e, p, sizeof e);
        if (in->nisos >= ACPI_MAX_ISOS) {
            note(c, "APIC", "too many interrupt overrides, dropped irq", true,
                 e.source);
            break;
        }
        in->iso[in->nisos++] = (struct acpi_iso){
            .bus = e.bus, .source = e.source, .flags = e.flags, .gsi = e.gsi,
        };
        break;
    }
    case ACPI_MADT_LAPIC_NMI: {
        struct acpi_madt_lapic_nmi e;
        memcpy(&e, p, sizeof e);
        add_nmi(c, e.uid == 0xff ? ACPI_UID_ALL : e.uid, e.flags, e.lint);
        break;
    }
    case ACPI_MADT_X2APIC_NMI: {
        struct acpi_madt_x2apic_nmi e;
        memcpy(&e, p, sizeof e);
        add_nmi(c, e.uid, e.flags, e.lint);
        break;
    }
    case ACPI_MADT_LAPIC_OVERRIDE: {
        struct acpi_madt_lapic_override e;
        memcpy(&e, p, sizeof e);
        *lapic_override = e.address;
        break;
    }
    default:
        break;
    }
}

static void parse_madt(struct ctx *c, const uint8_t *t, uint32_t len)
{
    struct acpi_info *in = c->info;
    struct acpi_madt m;
    uint64_t override = 0;
    uint32_t off = sizeof m;

    memcpy(&m, t, sizeof m);
    in->have_madt = true;
    in->lapic_base = m.lapic_address;
    in->pcat_compat = (m.flags & ACPI_MADT_PCAT_COMPAT) != 0;

    while (off + sizeof(struct acpi_madt_entry) <= len) {
        uint8_t type = t[off], elen = t[off + 1];
        if (elen < sizeof(struct acpi_madt_entry)) {
            note(c, "APIC", "entry length < 2, rest ignored at offset", true, off);
            break;
        }
        if (elen > len - off) {
            note(c, "APIC", "entry overruns table, rest ignored at offset", true,
                 off);
            break;
        }
        if (elen < madt_min_len(type))
            note(c, "APIC", "entry too short, skipped: type", true, type);
        else
            madt_entry(c, &t[off], &override);
        off += elen;
    }
    if (override)
        in->lapic_base = override;
}

/* ---- FADT / DSDT ------------------------------------------------------------ */

/*
 * PM1x_CNT as an I/O port: the X_ GAS when it is set and in system I/O space
 * below 64 KiB, else the legacy 32-bit block.  0 = not present/not usable.
 */
static uint16_t pm1_port(struct ctx *c, const struct acpi_gas *x, uint32_t legacy,
                         const char *what)
{
    if (x->address) {
        if (x->space_id == ACPI_GAS_IO && x->address <= 0xffff)
            return (uint16_t)x->address;
        note(c, "FACP", what, true, x->space_id);
    }
    if (legacy && legacy <= 0xffff)
        return (uint16_t)legacy;
    return 0;
}

static void scan_s5(struct ctx *c, const uint8_t *t, uint32_t len)
{
    struct acpi_info *in = c->info;
    in->s5_valid = acpi_find_s5(t + SDT_HDR_LEN, len - SDT_HDR_LEN,
                                &in->slp_typa, &in->slp_typb);
}

static void parse_dsdt(struct ctx *c, uint64_t x_dsdt, uint32_t dsdt32)
{
    struct acpi_info *in = c->info;
    const uint8_t *t = NULL;
    uint32_t len = 0;

    if (x_dsdt) {
        t = fetch_table(c, x_dsdt, "DSDT", 0, &len);
        if (t)
            in->dsdt_address = x_dsdt;
    }
    if (!t && dsdt32 && dsdt32 != x_dsdt) {
        t = fetch_table(c, dsdt32, "DSDT", 0, &len);
        if (t)
            in->dsdt_address = dsdt32;
    }
    if (!t) {
        if (!x_dsdt && !dsdt32)
            note(c, "FACP", "no DSDT address", false, 0);
        return;
    }
    in->have_dsdt = true;
    scan_s5(c, t, len);
}

static void parse_fadt(struct ctx *c, const uint8_t *t, uint32_t len)
{
    struct acpi_info *in = c->info;
    struct acpi_fadt f;

    /* Fields past the table's end stay 0 = "not provided". */
    memset(&f, 0, sizeof f);
    memcpy(&f, t, len < sizeof f ? len : sizeof f);

    in->have_fadt = true;
    in->fadt_revision = f.hdr.revision;
    in->fadt_flags = f.flags;
    in->hw_reduced = (f.flags & ACPI_FADT_HW_REDUCED) != 0;
    in->sci_irq = f.sci_int;
    if (f.smi_cmd <= 0xffff) {
        in->smi_cmd = (uint16_t)f.smi_cmd;
        in->acpi_enable = f.acpi_enable;
        in->acpi_disable = f.acpi_disable;
    } else {
        note(c, "FACP", "SMI_CMD beyond I/O space, ignored", true, f.smi_cmd);
    }
    in->pm1a_cnt = pm1_port(c, &f.x_pm1a_cnt_blk, f.pm1a_cnt_blk,
                            "X_PM1a_CNT_BLK unusable for port I/O, space");
    in->pm1b_cnt = pm1_port(c, &f.x_pm1b_cnt_blk, f.pm1b_cnt_blk,
                            "X_PM1b_CNT_BLK unusable for port I/O, space");
    /* reset_value is byte 128: the table must reach it. */
    if ((f.flags & ACPI_FADT_RESET_REG_SUP) &&
        len > offsetof(struct acpi_fadt, reset_value) && f.reset_reg.address) {
        in->reset_supported = true;
        in->reset_reg = f.reset_reg;
        in->reset_value = f.reset_value;
    }
    parse_dsdt(c, f.x_dsdt, f.dsdt);
}

/* ---- MCFG, HPET -------------------------------------------------------------- */

static void parse_mcfg(struct ctx *c, const uint8_t *t, uint32_t len)
{
    struct acpi_info *in = c->info;
    uint32_t n = (len - (uint32_t)sizeof(struct acpi_mcfg)) /
                 (uint32_t)sizeof(struct acpi_mcfg_entry);

    c->have_mcfg = true;
    in->nmcfg_total = n;
    for (uint32_t i = 0; i < n && in->nmcfg < ACPI_MAX_MCFG; i++) {
        struct acpi_mcfg_entry e;
        memcpy(&e, t + sizeof(struct acpi_mcfg) + i * sizeof e, sizeof e);
        in->mcfg[in->nmcfg++] = (struct acpi_mcfg_seg){
            .base = e.base, .segment = e.segment,
            .bus_start = e.bus_start, .bus_end = e.bus_end,
        };
    }
}

static void parse_hpet(struct ctx *c, const uint8_t *t)
{
    struct acpi_info *in = c->info;
    struct acpi_hpet h;

    memcpy(&h, t, sizeof h);
    if (h.base.space_id != ACPI_GAS_MEMORY || h.base.address == 0) {
        note(c, "HPET", "base not in memory space, ignored: space", true,
             h.base.space_id);
        return;
    }
    in->have_hpet = true;
    in->hpet_base = h.base.address;
    in->hpet_number = h.hpet_number;
    in->hpet_min_tick = h.min_tick;
}

/* ---- root table ------------------------------------------------------------------ */

static void root_entry(struct ctx *c, uint64_t phys)
{
    struct acpi_info *in = c->info;
    const uint8_t *t;
    uint32_t len;

    t = fetch_table(c, phys, NULL, 0, &len);
    if (!t)
        return;
    for (uint32_t i = 0; i < ACPI_MAX_TABLES; i++) {
        if (!in->table_sig[i][0]) {
            memcpy(in->table_sig[i], t, 4);
            break;
        }
    }

#define DUP(sig)  note(c, sig, "duplicate table ignored", false, 0)
#define SHORT(sig) reject(c, sig, phys, "too short:", "length", len)
    if (memcmp(t, "APIC", 4) == 0) {
        if (in->have_madt)
            DUP("APIC");
        else if (len < sizeof(struct acpi_madt))
            SHORT("APIC");
        else
            parse_madt(c, t, len);
    } else if (memcmp(t, "FACP", 4) == 0) {
        if (in->have_fadt)
            DUP("FACP");
        else if (len < ACPI_FADT_V1_LEN)
            SHORT("FACP");
        else
            parse_fadt(c, t, len);
    } else if (memcmp(t, "MCFG", 4) == 0) {
        if (c->have_mcfg)
            DUP("MCFG");
        else if (len < sizeof(struct acpi_mcfg))
            SHORT("MCFG");
        else
            parse_mcfg(c, t, len);
    } else if (memcmp(t, "HPET", 4) == 0) {
        if (in->have_hpet)
            DUP("HPET");
        else if (len < sizeof(struct acpi_hpet))
            SHORT("HPET");
        else
            parse_hpet(c, t);
    } else if (memcmp(t, "SSDT", 4) == 0) {
        if (c->nssdt < MAX_SSDTS)
            c->ssdt[c->nssdt++] = phys;
    }
#undef DUP
#undef SHORT
}

static bool walk_root(struct ctx *c, uint64_t phys, bool xsdt)
{
    struct acpi_info *in = c->info;
    const uint32_t esz = xsdt ? 8 : 4;
    const uint8_t *t;
    uint32_t len, n;

    t = fetch_table(c, phys, xsdt ? "XSDT" : "RSDT", 0, &len);
    if (!t)
        return false;
    n = (len - SDT_HDR_LEN) / esz;
    if ((len - SDT_HDR_LEN) % esz)
        note(c, xsdt ? "XSDT" : "RSDT", "length not a whole number of entries:",
             true, len);
    in->root_is_xsdt = xsdt;
    in->root_revision = t[8];
    in->root_address = phys;
    in->ntables = n;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = t + SDT_HDR_LEN + i * esz;
        root_entry(c, xsdt ? rd64(e) : rd32(e));
    }
    return true;
}

/* Some firmware (old QEMU/SeaBIOS among them) puts \_S5 in an SSDT. */
static void s5_from_ssdts(struct ctx *c)
{
    for (uint32_t i = 0; i < c->nssdt && !c->info->s5_valid; i++) {
        uint32_t len;
        const uint8_t *t = fetch_table(c, c->ssdt[i], "SSDT", 0, &len);
        if (t)
            scan_s5(c, t, len);
    }
}

int acpi_parse(const uint8_t *rsdp, size_t rsdp_len, acpi_map_fn map,
               struct acpi_info *out, acpi_log_fn log)
{
    struct ctx c = { .map = map, .log = log, .info = out };
    struct acpi_rsdp r;
    uint64_t xsdt = 0;
    bool ok = false;

    if (!rsdp || !map || !out)
        return ACPI_E_ARG;
    memset(out, 0, sizeof *out);
    memset(&r, 0, sizeof r);
    memcpy(&r, rsdp, rsdp_len < sizeof r ? rsdp_len : sizeof r);

    if (rsdp_len < ACPI_RSDP_V1_LEN || memcmp(r.signature, "RSD PTR ", 8) != 0) {
        note(&c, "RSDP", "missing or short copy, length", true, rsdp_len);
        return ACPI_E_RSDP;
    }
    if (sum8(rsdp, ACPI_RSDP_V1_LEN) != 0) {
        note(&c, "RSDP", "bad checksum", false, 0);
        return ACPI_E_RSDP;
    }
    out->rsdp_revision = r.revision;
    memcpy(out->oem_id, r.oem_id, sizeof r.oem_id);

    if (r.revision >= 2) {
        if (rsdp_len < sizeof r)
            note(&c, "RSDP", "2.0+ but copy too short for the XSDT, length", true,
                 rsdp_len);
        else if (r.length < sizeof r || r.length > rsdp_len)
            note(&c, "RSDP", "length field unusable, XSDT ignored:", true, r.length);
        else if (sum8(rsdp, r.length) != 0)
            note(&c, "RSDP", "bad extended checksum, XSDT ignored", false, 0);
        else
            xsdt = r.xsdt_address;
    }
    if (xsdt) {
        ok = walk_root(&c, xsdt, true);
        if (!ok)
            note(&c, "XSDT", "unusable, trying the RSDT", false, 0);
    }
    if (!ok && r.rsdt_address)
        ok = walk_root(&c, r.rsdt_address, false);
    if (!ok) {
        note(&c, "RSDP", "no usable XSDT or RSDT", false, 0);
        return ACPI_E_ROOT;
    }
    if (!out->s5_valid)
        s5_from_ssdts(&c);
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
    switch (p[0]) {
    case 0x0a:
        if (avail < 2)
            return 0;
        *val = p[1];
        return 2;
    case 0x0b:
        if (avail < 3)
            return 0;
        *val = (uint32_t)p[1] | (uint32_t)p[2] << 8;
        return 3;
    case 0x0c:
        if (avail < 5)
            return 0;
        *val = rd32(p + 1);
        return 5;
    default:
        if (p[0] > 0x07)
            return 0;
        *val = p[0];                /* ZeroOp, OneOp, or a plain byte */
        return 1;
    }
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

static void print_madt(const struct acpi_info *in, acpi_log_fn log)
{
    struct line l;

    l_start(&l);
    l_str(&l, "MADT lapic ");
    l_hex(&l, in->lapic_base);
    l_str(&l, ", ");
    l_dec(&l, in->ncpus);
    l_str(&l, in->ncpus == 1 ? " CPU (apic ids" : " CPUs (apic ids");
    for (uint32_t i = 0; i < in->ncpus; i++) {
        l_str(&l, " ");
        l_dec(&l, in->cpu[i].apic_id);
        if (in->cpu[i].x2apic)
            l_str(&l, "x");
        if (!(in->cpu[i].flags & ACPI_CPU_ENABLED))
            l_str(&l, "*");         /* online-capable, not yet enabled */
    }
    l_str(&l, ")");
    if (in->ncpus_dropped) {
        l_str(&l, " +");
        l_dec(&l, in->ncpus_dropped);
        l_str(&l, " over limit");
    }
    if (in->ncpus_disabled) {
        l_str(&l, " +");
        l_dec(&l, in->ncpus_disabled);
        l_str(&l, " disabled");
    }
    l_str(&l, ", ");
    l_dec(&l, in->nioapics);
    l_str(&l, in->nioapics == 1 ? " IOAPIC" : " IOAPICs");
    for (uint32_t i = 0; i < in->nioapics; i++) {
        l_str(&l, i ? ", id " : " id ");
        l_dec(&l, in->ioapic[i].id);
        l_str(&l, " at ");
        l_hex(&l, in->ioapic[i].address);
        l_str(&l, " gsi ");
        l_dec(&l, in->ioapic[i].gsi_base);
    }
    l_emit(&l, log);

    l_start(&l);
    l_str(&l, "MADT irq overrides:");
    for (uint32_t i = 0; i < in->nisos; i++) {
        l_str(&l, " ");
        l_dec(&l, in->iso[i].source);
        l_str(&l, "->");
        l_dec(&l, in->iso[i].gsi);
        if (in->iso[i].flags) {
            l_str(&l, "/");
            l_hex(&l, in->iso[i].flags);
        }
    }
    if (!in->nisos)
        l_str(&l, " none");
    l_str(&l, "; lapic nmi:");
    for (uint32_t i = 0; i < in->nlapic_nmis; i++) {
        l_str(&l, " lint");
        l_dec(&l, in->lapic_nmi[i].lint);
        l_str(&l, "@");
        if (in->lapic_nmi[i].uid == ACPI_UID_ALL)
            l_str(&l, "all");
        else
            l_dec(&l, in->lapic_nmi[i].uid);
    }
    if (!in->nlapic_nmis)
        l_str(&l, " none");
    l_str(&l, in->pcat_compat ? "; pcat-compat" : "; no 8259");
    l_emit(&l, log);
}

static void print_fadt(const struct acpi_info *in, acpi_log_fn log)
{
    struct line l;

    l_start(&l);
    l_str(&l, "FADT rev ");
    l_dec(&l, in->fadt_revision);
    if (in->hw_reduced)
        l_str(&l, " hw-reduced");
    l_str(&l, " pm1a_cnt ");
    l_hex(&l, in->pm1a_cnt);
    if (in->pm1b_cnt) {
        l_str(&l, " pm1b_cnt ");
        l_hex(&l, in->pm1b_cnt);
    }
    l_str(&l, " sci ");
    l_dec(&l, in->sci_irq);
    if (in->smi_cmd) {
        l_str(&l, " smi_cmd ");
        l_hex(&l, in->smi_cmd);
        l_str(&l, "/");
        l_hex(&l, in->acpi_enable);
    }
    if (in->reset_supported) {
        l_str(&l, in->reset_reg.space_id == ACPI_GAS_IO ? " reset io " :
                  in->reset_reg.space_id == ACPI_GAS_MEMORY ? " reset mem " :
                  " reset other ");
        l_hex(&l, in->reset_reg.address);
        l_str(&l, "=");
        l_hex(&l, in->reset_value);
    }
    if (in->s5_valid) {
        l_str(&l, ", S5 slp_typ ");
        l_dec(&l, in->slp_typa);
        l_str(&l, "/");
        l_dec(&l, in->slp_typb);
    } else {
        l_str(&l, in->have_dsdt ? ", no \\_S5" : ", no DSDT");
    }
    l_emit(&l, log);
}

void acpi_print_summary(const struct acpi_info *in, acpi_log_fn log)
{
    struct line l;

    if (!in || !log)
        return;
    l_start(&l);
    l_str(&l, in->root_is_xsdt ? "XSDT rev " : "RSDT rev ");
    l_dec(&l, in->root_revision);
    l_str(&l, ", ");
    l_dec(&l, in->ntables);
    l_str(&l, " tables:");
    for (uint32_t i = 0; i < ACPI_MAX_TABLES && in->table_sig[i][0]; i++) {
        l_str(&l, " ");
        l_sig(&l, in->table_sig[i]);
    }
    if (in->nbad) {
        l_str(&l, " (");
        l_dec(&l, in->nbad);
        l_str(&l, " skipped)");
    }
    l_emit(&l, log);

    if (in->have_madt) {
        print_madt(in, log);
    } else {
        l_start(&l);
        l_str(&l, "no MADT");
        l_emit(&l, log);
    }
    if (in->have_fadt) {
        print_fadt(in, log);
    } else {
        l_start(&l);
        l_str(&l, "no FADT");
        l_emit(&l, log);
    }
    for (uint32_t i = 0; i < in->nmcfg; i++) {
        l_start(&l);
        l_str(&l, "MCFG ecam ");
        l_hex(&l, in->mcfg[i].base);
        l_str(&l, " seg ");
        l_dec(&l, in->mcfg[i].segment);
        l_str(&l, " bus ");
        l_dec(&l, in->mcfg[i].bus_start);
        l_str(&l, "-");
        l_dec(&l, in->mcfg[i].bus_end);
        l_emit(&l, log);
    }
    if (in->have_hpet) {
        l_start(&l);
        l_str(&l, "HPET ");
        l_hex(&l, in->hpet_base);
        l_str(&l, " min tick ");
        l_dec(&l, in->hpet_min_tick);
        l_emit(&l, log);
    }
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
    if (!in->reset_supported || in->reset_reg.space_id != ACPI_GAS_IO ||
        in->reset_reg.address == 0 || in->reset_reg.address > 0xffff)
        return ACPI_E_NOSUPP;
    io->out8(io->ctx, (uint16_t)in->reset_reg.address, in->reset_value);
    io->delay_ms(io->ctx, 500);
    return ACPI_E_TIMEOUT;
}
