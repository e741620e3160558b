/*
 * The kernel's fast paths' look at instruction bytes (include/nethv/kinsn.h):
 * lengths for CPUs that do not report them (SVM without NRIP-save, and
 * EPT/NPT violations on both), the check that an MMIO exit was a plain
 * store, and MOV to CR4's operands.  Intel SDM 2A chapter 2 (instruction
 * format) and appendix A (opcode map); AMD APM 3 chapter 1.
 */
#include <stdbool.h>
#include <nethv/kinsn.h>

#define INSN_MAX 15u                    /* SDM 2A 2.3.11 */

#define REX_W 0x8
#define REX_R 0x4
#define REX_B 0x1

struct prefixes {
    unsigned len;                       /* bytes before the opcode */
    bool opsize, addrsize, rep, lock;   /* 66, 67, F2/F3, F0 */
    uint8_t rex;                        /* 0, or 40-4F right before the opcode */
};

/* Legacy prefixes in any order and number (SDM 2A 2.1.1), then in 64-bit
 * mode a REX byte, which counts only directly before the opcode (2.2.1).
 * -1 if no opcode byte follows within `avail` and 15 bytes. */
static int prefixes(const uint8_t *b, unsigned avail, unsigned bits, struct prefixes *p)
{
    *p = (struct prefixes){ 0 };
    for (unsigned i = 0; i < avail && i < INSN_MAX; i++) {
        switch (b[i]) {
        case 0x66: p->opsize = true; break;
        case 0x67: p->addrsize = true; break;
        case 0xf0: p->lock = true; break;
        case 0xf2: case 0xf3: p->rep = true; break;
        case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65: break;
        default:
            if (bits == 64 && (b[i] & 0xf0) == 0x40) {
                p->rex = b[i];
                continue;
            }
            p->len = i;
            return 0;
        }
        p->rex = 0;                     /* a legacy prefix after REX voids it */
    }
    return -1;
}

static unsigned fits(unsigned n, unsigned avail)
{
    return n <= avail && n <= INSN_MAX ? n : 0;
}

unsigned kinsn_len(const uint8_t *b, unsigned avail, unsigned bits)
{
    struct prefixes p;
    if (prefixes(b, avail, bits, &p))
        return 0;
    const uint8_t *op = b + p.len;
    unsigned left = avail - p.len, n = 0;
    switch (op[0]) {
    case 0xf4:                          /* HLT */
    case 0xec: case 0xed:               /* IN AL/eAX, DX */
        n = 1;
        break;
    case 0xe4: case 0xe5:               /* IN AL/eAX, imm8 */
        n = 2;
        break;
    case 0x0f:
        if (left < 2)
            return 0;
        switch (op[1]) {
        case 0x08: case 0x09:           /* INVD, WBINVD */
        case 0x30: case 0x32:           /* WRMSR, RDMSR */
            n = 2;
            break;
        case 0x01:                      /* VMCALL, XSETBV, VMMCALL (ModRM C1, D1, D9) */
            if (left >= 3 && (op[2] == 0xc1 || op[2] == 0xd1 || op[2] == 0xd9))
                n = 3;
            break;
        }
        break;
    }
    return n ? fits(p.len + n, avail) : 0;
}

unsigned kinsn_store_len(const uint8_t *b, unsigned avail, unsigned bits)
{
    struct prefixes p;
    if (prefixes(b, avail, bits, &p) || p.lock)     /* LOCK MOV is #UD */
        return 0;                       /* (F2/F3: XACQUIRE/XRELEASE, still a MOV) */
    /* address size (SDM 2A 2.2.1.3, table 2-4) and operand size (table 2-4;
     * REX.W wins over 66) */
    unsigned asize = bits == 64 ? (p.addrsize ? 4 : 8) :
                     bits == 32 ? (p.addrsize ? 2 : 4) : (p.addrsize ? 4 : 2);
    unsigned osize = p.rex & REX_W ? 8 : bits == 16 ? (p.opsize ? 4 : 2) : (p.opsize ? 2 : 4);
    unsigned i = p.len, imm = 0;
    uint8_t op = b[i++];
    switch (op) {
    case 0xa2: case 0xa3:               /* MOV moffs, AL/eAX: an address-size offset */
        return fits(i + asize, avail);
    case 0x88: case 0x89:               /* MOV r/m, r */
        break;
    case 0xc6:                          /* MOV r/m8, imm8 */
        imm = 1;
        break;
    case 0xc7:                          /* MOV r/m, imm16/32 (sign-extended for 64) */
        imm = osize == 2 ? 2 : 4;
        break;
    default:
        return 0;
    }
    if (i >= avail)
        return 0;
    uint8_t modrm = b[i++];
    unsigned mod = modrm >> 6, reg = (modrm >> 3) & 7, rm = modrm & 7, disp = 0;
    if (mod == 3 || (imm && reg != 0))  /* a register, or not MOV (C6/C7 /1-7) */
        return 0;
    if (asize == 2) {                   /* 16-bit ModRM, SDM 2A table 2-1 */
        disp = mod == 1 ? 1 : mod == 2 || rm == 6 ? 2 : 0;
    } else {                            /* 32/64-bit ModRM and SIB, tables 2-2 and 2-3 */
        uint8_t base = rm;
        if (rm == 4) {
            if (i >= avail)
                return 0;
            base = b[i++] & 7;
        }
        disp = mod == 1 ? 1 : mod == 2 || base == 5 ? 4 : 0;
    }
    return fits(i + disp + imm, avail);
}

int kinsn_mov_to_cr(const uint8_t *b, unsigned avail, unsigned bits,
                    unsigned *cr, unsigned *gpr, unsigned *len)
{
    struct prefixes p;
    if (prefixes(b, avail, bits, &p) || p.lock || !fits(p.len + 3, avail))
        return -1;
    const uint8_t *op = b + p.len;
    if (op[0] != 0x0f || op[1] != 0x22)
        return -1;
    /* the ModRM's mod bits are ignored: always a register (SDM 2B MOV CR) */
    *cr = ((op[2] >> 3) & 7) | (p.rex & REX_R ? 8 : 0);
    *gpr = (op[2] & 7) | (p.rex & REX_B ? 8 : 0);
    *len = p.len + 3;
    return 0;
}
