/*
 * x86 instruction decoder: prefixes, opcode maps, ModRM/SIB, displacement
 * and immediates, giving the length of any instruction and its operands.
 * See vmm/decode.h for the interface; decode_mmio.c gives the semantics.
 *
 * Opcode facts: Intel SDM Vol. 2, Appendix A (opcode maps) and 2.1-2.3
 * (instruction format, REX, VEX/EVEX); AMD APM Vol. 3 for XOP, 3DNow! and
 * SSE4a EXTRQ/INSERTQ.
 */
#include <string.h>
#include "decode.h"
#include <arch/regs.h>

/* ---- opcode attribute tables ------------------------------------------------
 * One byte per opcode: immediate kind in bits 3:0, flags above. */
enum {
    I_NONE,
    I_B,        /* imm8 */
    I_W,        /* imm16 */
    I_Z,        /* imm16 or imm32 by operand size */
    I_V,        /* imm16/32/64 by operand size (MOV r, imm: B8-BF) */
    I_MOFFS,    /* offset of the address size (A0-A3) */
    I_ENTER,    /* imm16, imm8 */
    I_FAR,      /* ptr16:16 or ptr16:32 by operand size */
    I_REL,      /* rel16/32 like I_Z; always rel32 in 64-bit mode (Intel) */
    I_GRP3,     /* F6/F7: imm8/I_Z only for /0 and /1 (TEST) */
    I_BB,       /* imm8, imm8 */
    I_D,        /* imm32 */
};
#define A_IMM   0x0f
#define A_M     0x10    /* has a ModRM byte */
#define A_X64   0x20    /* invalid in 64-bit mode */
#define A_UD    0x40    /* undefined in every mode */
#define A_R     0x80    /* ModRM.mod ignored, always registers (MOV CR/DR) */

#define M       A_M
#define MB      (A_M | I_B)
#define X       A_X64
#define UD      A_UD
#define R4(a)   a, a, a, a
#define R8(a)   R4(a), R4(a)
#define R16(a)  R8(a), R8(a)
/* rows 0-3 of the one-byte map: ALU r/m,r  r,r/m  AL,ib  eAX,iz */
#define ALU_ROW(x6, x7, xe, xf) M, M, M, M, I_B, I_Z, x6, x7, M, M, M, M, I_B, I_Z, xe, xf

static const uint8_t map_1byte[256] = {
/* 0 */ ALU_ROW(X, X, X, 0 /* 0F escape */),
/* 1 */ ALU_ROW(X, X, X, X),
/* 2 */ ALU_ROW(0 /* ES: */, X, 0 /* CS: */, X),
/* 3 */ ALU_ROW(0 /* SS: */, X, 0 /* DS: */, X),
/* 4 */ R16(0),                                        /* INC/DEC (REX in 64) */
/* 5 */ R16(0),                                        /* PUSH/POP */
/* 6 */ X, X, M | X, M, R4(0), I_Z, M | I_Z, I_B, M | I_B, R4(0),
/* 7 */ R16(I_B),                                      /* Jcc rel8 */
/* 8 */ MB, M | I_Z, MB | X, MB, R8(M), R4(M),
/* 9 */ R8(0), 0, 0, I_FAR | X, 0, R4(0),
/* A */ R4(I_MOFFS), R4(0), I_B, I_Z, 0, 0, R4(0),
/* B */ R8(I_B), R8(I_V),
/* C */ MB, MB, I_W, 0, M | X, M | X, MB, M | I_Z, I_ENTER, 0, I_W, 0, 0, I_B, X, 0,
/* D */ R4(M), I_B | X, I_B | X, X, 0, R8(M),         /* D6 SALC: 16/32 only */
/* E */ R8(I_B), I_REL, I_REL, I_FAR | X, I_B, R4(0),
/* F */ R4(0), 0, 0, M | I_GRP3, M | I_GRP3, R4(0), 0, 0, M, M,
};

static const uint8_t map_0f[256] = {
/* 0 */ M, M, M, M, UD, 0, 0, 0, 0, 0, UD, 0, UD, M, 0, MB,   /* 0F 0F: 3DNow! */
/* 1 */ R16(M),
/* 2 */ R4(M | A_R), M | A_R | X, UD, M | A_R | X, UD, R8(M),   /* 24/26: MOV TR (386) */
/* 3 */ R4(0), 0, 0, UD, 0, UD, UD, UD, UD, R4(UD),           /* 38/3A: escapes */
/* 4 */ R16(M),
/* 5 */ R16(M),
/* 6 */ R16(M),
/* 7 */ R4(MB), M, M, M, 0, M, M, UD, UD, R4(M),              /* 78: see I_BB */
/* 8 */ R16(I_REL),
/* 9 */ R16(M),
/* A */ 0, 0, 0, M, MB, M, M, M, 0, 0, 0, M, MB, M, M, M,      /* A6/A7: VIA PadLock */
/* B */ R8(M), M, M, MB, M, R4(M),
/* C */ M, M, MB, M, MB, MB, MB, M, R8(0),
/* D */ R16(M),
/* E */ R16(M),
/* F */ R16(M),
};

#undef M
#undef MB
#undef X
#undef UD
#undef R4
#undef R8
#undef R16
#undef ALU_ROW

/* ---- byte fetching: never past avail, never past 15 bytes ------------------ */

struct cursor {
    const uint8_t *bytes;
    size_t avail;
    unsigned pos;
};

#define TRY(x) do { int rc_ = (x); if (rc_) return rc_; } while (0)

static int need(const struct cursor *c, unsigned n)
{
    if (c->pos + n > INSN_MAX_LEN)
        return DECODE_ETOOLONG;
    if (c->pos + n > c->avail)
        return DECODE_ETRUNC;
    return 0;
}

static int peek(const struct cursor *c, uint8_t *b)
{
    TRY(need(c, 1));
    *b = c->bytes[c->pos];
    return 0;
}

static int next(struct cursor *c, uint8_t *b)
{
    TRY(peek(c, b));
    c->pos++;
    return 0;
}

/* n (1-8) little-endian bytes, sign-extended to 64 bits */
static int take(struct cursor *c, unsigned n, uint64_t *v)
{
    uint64_t x = 0;
    unsigned i;

    TRY(need(c, n));
    for (i = 0; i < n; i++)
        x |= (uint64_t)c->bytes[c->pos + i] << (8 * i);
    c->pos += n;
    if (n < 8 && (x >> (8 * n - 1)) & 1)
        x |= ~0ull << (8 * n);
    *v = x;
    return 0;
}

/* ---- prefixes ------------------------------------------------------------------ */

static int seg_of_prefix(uint8_t b)
{
    switch (b) {
    case 0x26: return INSN_SEG_ES;
    case 0x2e: return INSN_SEG_CS;
    case 0x36: return INSN_SEG_SS;
    case 0x3e: return INSN_SEG_DS;
    case 0x64: return INSN_SEG_FS;
    case 0x65: return INSN_SEG_GS;
    default:   return -1;
    }
}

/* Consume the legacy prefixes and REX; *op = the first byte after them. */
static int decode_prefixes(struct cursor *c, struct insn *in, uint8_t *op)
{
    uint8_t b;
    int seg;

    for (;;) {
        TRY(next(c, &b));
        seg = seg_of_prefix(b);
        if (seg >= 0) {
            in->seg_override = (uint8_t)seg;
        } else if (b == 0xf0) {
            in->prefixes |= INSN_P_LOCK;
        } else if (b == 0xf2 || b == 0xf3) {
            in->prefixes |= b == 0xf2 ? INSN_P_REPNE : INSN_P_REP;
            in->rep = b;
        } else if (b == 0x66) {
            in->prefixes |= INSN_P_OPSZ;
        } else if (b == 0x67) {
            in->prefixes |= INSN_P_ADSZ;
        } else if (in->mode == CPU_MODE_64 && (b & 0xf0) == 0x40) {
            in->rex = b;        /* counts only right before the opcode */
            continue;
        } else {
            *op = b;
            return 0;
        }
        in->rex = 0;            /* a legacy prefix after REX voids it */
    }
}

/* ---- opcode: escapes, VEX/EVEX/XOP ------------------------------------------- */

/* VEX/EVEX/XOP may not follow 66, F2, F3, LOCK or REX (#UD). */
static bool vex_prefix_ok(const struct insn *in)
{
    return !(in->prefixes & (INSN_P_OPSZ | INSN_P_LOCK)) && !in->rep && !in->rex;
}

/* Attributes of a VEX/EVEX opcode from the shape of its map. */
static int vex_attr(const struct insn *in, uint8_t *attr)
{
    uint8_t a;

    switch (in->map) {
    case INSN_MAP_0F:
        if (in->enc == INSN_ENC_VEX && in->opcode == 0x77) {   /* VZEROUPPER/ALL */
            *attr = 0;
            return 0;
        }
        a = map_0f[in->opcode];
        if (!(a & (A_M | A_UD)))                /* no VEX form of SYSCALL, Jcc, ... */
            return DECODE_EINVAL;
        *attr = (uint8_t)(A_M | ((a & A_IMM) == I_B ? I_B : I_NONE));
        return 0;
    case INSN_MAP_0F38:
        *attr = A_M;
        return 0;
    case 5: case 6:                             /* EVEX only (FP16) */
        *attr = A_M;
        return in->enc == INSN_ENC_EVEX ? 0 : DECODE_EINVAL;
    case INSN_MAP_0F3A:
        *attr = A_M | I_B;
        return 0;
    default:
        return DECODE_EINVAL;
    }
}

/* C4 (VEX3), C5 (VEX2), 62 (EVEX), 8F (XOP): the byte after the escape is
 * already known to start the prefix; consume it and the opcode. */
static int decode_vex(struct cursor *c, struct insn *in, uint8_t esc, uint8_t *attr)
{
    uint8_t p0, p1, p2;
    bool m64 = in->mode == CPU_MODE_64;

    if (!vex_prefix_ok(in))
        return DECODE_EINVAL;
    TRY(next(c, &p0));
    if (esc == 0xc5) {
        in->enc = INSN_ENC_VEX;
        in->map = INSN_MAP_0F;
        in->rex_r = m64 && !(p0 & 0x80);
    } else {
        TRY(next(c, &p1));
        in->rex_r = m64 && !(p0 & 0x80);
        in->rex_x = m64 && !(p0 & 0x40);
        in->rex_b = m64 && !(p0 & 0x20);
        in->rex_w = (p1 & 0x80) != 0;
        if (esc == 0x62) {
            in->enc = INSN_ENC_EVEX;
            in->map = p0 & 7;
            if ((p0 & 0x08) || !(p1 & 0x04))    /* reserved bits (APX uses them) */
                return DECODE_EINVAL;
            TRY(next(c, &p2));
        } else {
            in->enc = esc == 0xc4 ? INSN_ENC_VEX : INSN_ENC_XOP;
            in->map = p0 & 0x1f;
        }
    }
    TRY(next(c, &in->opcode));
    if (in->enc != INSN_ENC_XOP)
        return vex_attr(in, attr);
    switch (in->map) {
    case 8:  *attr = A_M | I_B; return 0;
    case 9:  *attr = A_M;       return 0;
    case 10: *attr = A_M | I_D; return 0;
    default: return DECODE_EINVAL;
    }
}

/* After the prefixes: find the map and opcode, and the opcode's attributes. */
static int decode_opcode(struct cursor *c, struct insn *in, uint8_t b, uint8_t *attr)
{
    uint8_t nb;

    if (b == 0x0f) {
        TRY(next(c, &b));
        if (b == 0x38 || b == 0x3a) {
            in->map = b == 0x38 ? INSN_MAP_0F38 : INSN_MAP_0F3A;
            TRY(next(c, &in->opcode));
            *attr = b == 0x38 ? A_M : A_M | I_B;
            return 0;
        }
        in->map = INSN_MAP_0F;
        in->opcode = b;
        *attr = map_0f[b];
        if ((*attr & A_X64) && in->mode == CPU_MODE_64)
            return DECODE_EINVAL;
        if (b == 0x78 && ((in->prefixes & INSN_P_OPSZ) || in->rep == 0xf2))
            *attr = A_M | I_BB;                 /* EXTRQ/INSERTQ, not VMREAD */
        return (*attr & A_UD) ? DECODE_EINVAL : 0;
    }
    if (b == 0xc4 || b == 0xc5 || b == 0x62) {
        /* outside 64-bit mode LES/LDS/BOUND unless ModRM.mod would be 11 */
        TRY(peek(c, &nb));
        if (in->mode == CPU_MODE_64 || nb >= 0xc0)
            return decode_vex(c, in, b, attr);
    } else if (b == 0x8f) {
        TRY(peek(c, &nb));
        if ((nb & 0x1f) >= 8)                   /* XOP map; POP needs /0 */
            return decode_vex(c, in, b, attr);
    } else if (b == 0xd5 && in->mode == CPU_MODE_64) {
        return DECODE_EINVAL;                   /* APX REX2: not decoded */
    }
    in->map = INSN_MAP_1BYTE;
    in->opcode = b;
    *attr = map_1byte[b];
    if ((*attr & A_X64) && in->mode == CPU_MODE_64)
        return DECODE_EINVAL;
    return 0;
}

/* ---- ModRM, SIB, displacement ------------------------------------------------- */

static void mem_16(struct insn *in, unsigned mod, unsigned rm)
{
    static const uint8_t base[8]  = { 3, 3, 5, 5, INSN_REG_NONE, INSN_REG_NONE, 5, 3 };
    static const uint8_t index[8] = { 6, 7, 6, 7, 6, 7, INSN_REG_NONE, INSN_REG_NONE };

    in->mem.base = base[rm];
    in->mem.index = index[rm];
    if (mod == 0 && rm == 6) {
        in->mem.base = INSN_REG_NONE;
        in->disp_size = 2;
    } else {
        in->disp_size = mod == 1 ? 1 : mod == 2 ? 2 : 0;
    }
}

static int mem_32_64(struct cursor *c, struct insn *in, unsigned mod, unsigned rm)
{
    unsigned base = rm;

    in->disp_size = mod == 1 ? 1 : mod == 2 ? 4 : 0;
    if (rm == 4) {
        in->has_sib = true;
        TRY(next(c, &in->sib));
        base = in->sib & 7;
        in->mem.scale = (uint8_t)(1u << (in->sib >> 6));
        in->mem.index = (uint8_t)(((in->sib >> 3) & 7) | (in->rex_x ? 8 : 0));
        if (in->mem.index == 4)                 /* no index (RSP can't be one) */
            in->mem.index = INSN_REG_NONE;
    }
    if (mod == 0 && base == 5) {
        in->disp_size = 4;
        base = INSN_REG_NONE;
        if (rm == 5 && in->mode == CPU_MODE_64)
            base = INSN_REG_RIP;
    } else {
        base |= in->rex_b ? 8 : 0;
    }
    in->mem.base = (uint8_t)base;
    return 0;
}

static int decode_modrm(struct cursor *c, struct insn *in, uint8_t attr)
{
    unsigned mod, rm;

    if (!(attr & A_M))
        return 0;
    in->has_modrm = true;
    TRY(next(c, &in->modrm));
    mod = in->modrm >> 6;
    rm = in->modrm & 7;
    if (mod == 3 || (attr & A_R))
        return 0;
    in->has_mem = true;
    in->mem.scale = 1;
    in->mem.index = INSN_REG_NONE;
    if (in->addrsize == 2)
        mem_16(in, mod, rm);
    else
        TRY(mem_32_64(c, in, mod, rm));
    if (in->disp_size)
        TRY(take(c, in->disp_size, &in->mem.disp));
    return 0;
}

/* ---- sizes, immediates, group checks ---------------------------------------- */

static void set_sizes(struct insn *in)
{
    bool p66 = in->prefixes & INSN_P_OPSZ, p67 = in->prefixes & INSN_P_ADSZ;

    if (in->rex) {
        in->rex_w = in->rex & 8;
        in->rex_r = in->rex & 4;
        in->rex_x = in->rex & 2;
        in->rex_b = in->rex & 1;
    }
    switch (in->mode) {
    case CPU_MODE_64:
        in->opsize = in->rex_w ? 8 : p66 ? 2 : 4;
        in->addrsize = p67 ? 4 : 8;
        break;
    case CPU_MODE_32:
        in->opsize = p66 ? 2 : 4;
        in->addrsize = p67 ? 2 : 4;
        break;
    default:
        in->opsize = p66 ? 4 : 2;
        in->addrsize = p67 ? 4 : 2;
        break;
    }
}

/* Opcodes valid only for some ModRM.reg values (groups 1a, 3, 4, 5, 11). */
static bool group_ok(const struct insn *in)
{
    unsigned reg = (in->modrm >> 3) & 7;

    if (in->map != INSN_MAP_1BYTE || in->enc != INSN_ENC_LEGACY)
        return true;
    switch (in->opcode) {
    case 0x8f: return reg == 0;
    case 0xc6: case 0xc7: return reg == 0 || in->modrm == 0xf8;  /* XABORT/XBEGIN */
    case 0xfe: return reg < 2;
    case 0xff: return reg != 7;
    default:   return true;
    }
}

static int decode_imm(struct cursor *c, struct insn *in, uint8_t attr)
{
    unsigned z = in->opsize == 2 ? 2 : 4, n = 0, n2 = 0;
    uint64_t v2;

    switch (attr & A_IMM) {
    case I_B:     n = 1; break;
    case I_W:     n = 2; break;
    case I_Z:     n = z; break;
    case I_V:     n = in->opsize; break;
    case I_ENTER: n = 2; n2 = 1; break;
    case I_FAR:   n = z; n2 = 2; break;
    case I_REL:   n = in->mode == CPU_MODE_64 ? 4 : z; break;
    case I_BB:    n = 1; n2 = 1; break;
    case I_D:     n = 4; break;
    case I_GRP3:
        if (((in->modrm >> 3) & 7) < 2)
            n = in->opcode == 0xf6 ? 1 : z;
        break;
    case I_MOFFS:
        in->has_mem = true;
        in->mem.base = in->mem.index = INSN_REG_NONE;
        in->mem.scale = 1;
        in->disp_size = in->addrsize;
        TRY(take(c, in->disp_size, &in->mem.disp));
        if (in->addrsize < 8)
            in->mem.disp &= (1ull << (8 * in->addrsize)) - 1;
        return 0;
    default:
        return 0;
    }
    if (!n)
        return 0;
    in->imm_size = (uint8_t)n;
    TRY(take(c, n, &in->imm));
    if (n2) {
        in->imm2_size = (uint8_t)n2;
        TRY(take(c, n2, &v2));
        in->imm2 = (uint16_t)(v2 & (n2 == 1 ? 0xff : 0xffff));
    }
    return 0;
}

/* Effective segment of the ModRM/moffs operand. */
static uint8_t mem_seg(const struct insn *in)
{
    uint8_t s = in->seg_override;

    if (in->mode == CPU_MODE_64)        /* only FS and GS have a base there */
        return s == INSN_SEG_FS || s == INSN_SEG_GS ? s : INSN_SEG_DS;
    if (s != INSN_SEG_NONE)
        return s;
    return in->mem.base == 4 || in->mem.base == 5 ? INSN_SEG_SS : INSN_SEG_DS;
}

int decode_insn(const uint8_t *bytes, size_t avail, enum cpu_mode mode, struct insn *out)
{
    struct cursor c = { bytes, avail, 0 };
    uint8_t b, attr;
    int rc;

    memset(out, 0, sizeof(*out));
    if (mode != CPU_MODE_16 && mode != CPU_MODE_32 && mode != CPU_MODE_64)
        return DECODE_EINVAL;
    out->mode = (uint8_t)mode;
    out->seg_override = INSN_SEG_NONE;
    out->mem.base = out->mem.index = INSN_REG_NONE;
    rc = decode_prefixes(&c, out, &b);
    if (!rc)
        rc = decode_opcode(&c, out, b, &attr);
    if (!rc) {
        set_sizes(out);
        rc = decode_modrm(&c, out, attr);
    }
    if (!rc && !group_ok(out))
        rc = DECODE_EINVAL;
    if (!rc)
        rc = decode_imm(&c, out, attr);
    if (rc) {
        memset(out, 0, sizeof(*out));
        return rc;
    }
    out->len = (uint8_t)c.pos;
    if (out->has_mem)
        out->mem.seg = mem_seg(out);
    decode_mmio_classify(out);
    return 0;
}

/* ---- misc ----------------------------------------------------------------------- */

enum cpu_mode decode_cpu_mode(uint64_t cr0, uint64_t efer, uint32_t cs_ar, uint64_t rflags)
{
    if (!(cr0 & CR0_PE) || (rflags & (1ull << 17)))     /* real, virtual-8086 */
        return CPU_MODE_16;
    if ((efer & EFER_LMA) && (cs_ar & (1u << 13)))      /* CS.L */
        return CPU_MODE_64;
    return (cs_ar & (1u << 14)) ? CPU_MODE_32 : CPU_MODE_16;   /* CS.D */
}

const char *decode_strerror(int err)
{
    switch (err) {
    case DECODE_OK:       return "ok";
    case DECODE_ETRUNC:   return "truncated";
    case DECODE_ETOOLONG: return "longer than 15 bytes";
    case DECODE_EINVAL:   return "invalid or undecoded opcode";
    default:              return "?";
    }
}
