/*
 * MMIO semantics of decoded instructions: which memory instructions nethv
 * emulates (decode_mmio_classify), and the helpers that carry them out on
 * a struct vcpu_regs.  See arch/decode.h.
 */
#include <stddef.h>
#include <string.h>
#include <arch/decode.h>

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static uint64_t sign_extend(uint64_t v, unsigned size)
{
    uint64_t sign = 1ull << (8 * size - 1);

    v &= size_mask(size);
    return (v ^ sign) - sign;
}

/* ---- classification ------------------------------------------------------------ */

/* What each op does besides its operands: device read/write, register, flags. */
static void set_effects(struct insn_mmio *m)
{
    switch (m->op) {
    case INSN_OP_MOV:
        m->read = m->writes_reg = !m->mem_dst;
        m->write = m->mem_dst;
        break;
    case INSN_OP_MOVZX: case INSN_OP_MOVSX: case INSN_OP_LODS:
        m->read = m->writes_reg = true;
        break;
    case INSN_OP_CMP: case INSN_OP_TEST:
        m->read = m->writes_flags = true;
        break;
    case INSN_OP_XCHG:
        m->read = m->write = m->writes_reg = true;
        break;
    case INSN_OP_MOVS:
        m->read = m->write = true;
        break;
    case INSN_OP_STOS:
        m->write = true;
        break;
    case INSN_OP_NOT:
        m->read = m->write = true;
        break;
    default:                                    /* ALU, INC/DEC/NEG */
        m->read = m->writes_flags = true;
        m->write = m->mem_dst;
        m->writes_reg = !m->mem_dst;
        break;
    }
}

/* ModRM.reg as the register operand; byte registers 4-7 without REX are AH-BH. */
static void set_reg(struct insn *in, bool byte)
{
    unsigned reg = ((in->modrm >> 3) & 7) | (in->rex_r ? 8u : 0u);

    if (byte && !in->rex && reg >= 4) {
        reg -= 4;
        in->mmio.reg_high8 = true;
    }
    in->mmio.reg = (uint8_t)reg;
}

static void classify_string(struct insn *in)
{
    struct insn_mmio *m = &in->mmio;

    switch (in->opcode & 0xfe) {
    case 0xa4: m->op = INSN_OP_MOVS; break;
    case 0xaa: m->op = INSN_OP_STOS; break;
    case 0xac: m->op = INSN_OP_LODS; break;
    default: return;
    }
    m->size = m->reg_size = (in->opcode & 1) ? in->opsize : 1;
    m->mem_dst = m->op != INSN_OP_LODS;
    m->rep = in->rep != 0;
    /* source DS:rSI (override allowed), destination ES:rDI */
    in->mem.seg = m->op == INSN_OP_STOS ? INSN_SEG_ES
                : in->seg_override != INSN_SEG_NONE ? in->seg_override : INSN_SEG_DS;
}

/* One-byte map with a ModRM memory operand or moffs. */
static void classify_1byte(struct insn *in)
{
    struct insn_mmio *m = &in->mmio;
    unsigned op = in->opcode, reg = (in->modrm >> 3) & 7;
    bool byte = !(op & 1);

    if (op < 0x40 && (op & 7) < 4) {            /* ALU r/m,r and r,r/m */
        m->op = (uint8_t)(INSN_OP_ADD + (op >> 3));
        m->mem_dst = !(op & 2);
        set_reg(in, byte);
    } else if (op >= 0x80 && op <= 0x83) {      /* group 1: ALU r/m, imm */
        m->op = (uint8_t)(INSN_OP_ADD + reg);
        m->mem_dst = m->src_imm = true;
        byte = op != 0x81 && op != 0x83;
    } else if (op == 0x84 || op == 0x85 || op == 0x86 || op == 0x87) {
        m->op = op < 0x86 ? INSN_OP_TEST : INSN_OP_XCHG;
        m->mem_dst = true;
        set_reg(in, byte);
    } else if (op >= 0x88 && op <= 0x8b) {
        m->op = INSN_OP_MOV;
        m->mem_dst = !(op & 2);
        set_reg(in, byte);
    } else if (op >= 0xa0 && op <= 0xa3) {      /* moffs: AL/rAX */
        m->op = INSN_OP_MOV;
        m->mem_dst = (op & 2) != 0;
    } else if ((op == 0xc6 || op == 0xc7) && reg == 0) {
        m->op = INSN_OP_MOV;
        m->mem_dst = m->src_imm = true;
    } else if (op == 0xf6 || op == 0xf7) {
        static const uint8_t grp3[8] = { INSN_OP_TEST, INSN_OP_TEST, INSN_OP_NOT, INSN_OP_NEG };
        m->op = grp3[reg];                      /* MUL/IMUL/DIV/IDIV: not emulated */
        m->mem_dst = true;
        m->src_imm = reg < 2;
    } else if ((op == 0xfe || op == 0xff) && reg < 2) {
        m->op = reg ? INSN_OP_DEC : INSN_OP_INC;
        m->mem_dst = true;
    } else if (op == 0x63 && in->mode == CPU_MODE_64) {
        m->op = in->opsize == 8 ? INSN_OP_MOVSX : INSN_OP_MOV;     /* MOVSXD */
        set_reg(in, false);
        m->size = in->opsize == 8 ? 4 : in->opsize;
        m->reg_size = in->opsize;
        return;
    } else {
        return;
    }
    m->size = m->reg_size = byte ? 1 : in->opsize;
}

void decode_mmio_classify(struct insn *in)
{
    struct insn_mmio *m = &in->mmio;

    if (in->enc != INSN_ENC_LEGACY)
        return;
    if (in->map == INSN_MAP_1BYTE && in->opcode >= 0xa4 && in->opcode <= 0xad)
        classify_string(in);
    else if (in->map == INSN_MAP_1BYTE && in->has_mem)
        classify_1byte(in);
    else if (in->map == INSN_MAP_0F && in->has_mem && (in->opcode & 0xf6) == 0xb6) {
        m->op = in->opcode & 8 ? INSN_OP_MOVSX : INSN_OP_MOVZX;   /* 0F B6/B7/BE/BF */
        m->size = in->opcode & 1 ? 2 : 1;
        m->reg_size = in->opsize;
        set_reg(in, false);
    }
    if (m->op != INSN_OP_NONE)
        set_effects(m);
    else
        memset(m, 0, sizeof(*m));
}

/* ---- registers ------------------------------------------------------------------ */

static const uint8_t gpr_offset[16] = {
    offsetof(struct vcpu_regs, gpr.rax), offsetof(struct vcpu_regs, gpr.rcx),
    offsetof(struct vcpu_regs, gpr.rdx), offsetof(struct vcpu_regs, gpr.rbx),
    offsetof(struct vcpu_regs, rsp),     offsetof(struct vcpu_regs, gpr.rbp),
    offsetof(struct vcpu_regs, gpr.rsi), offsetof(struct vcpu_regs, gpr.rdi),
    offsetof(struct vcpu_regs, gpr.r8),  offsetof(struct vcpu_regs, gpr.r9),
    offsetof(struct vcpu_regs, gpr.r10), offsetof(struct vcpu_regs, gpr.r11),
    offsetof(struct vcpu_regs, gpr.r12), offsetof(struct vcpu_regs, gpr.r13),
    offsetof(struct vcpu_regs, gpr.r14), offsetof(struct vcpu_regs, gpr.r15),
};

static uint64_t *gpr(struct vcpu_regs *r, unsigned reg)
{
    return (uint64_t *)((char *)r + gpr_offset[reg & 15]);
}

uint64_t insn_gpr_read(const struct vcpu_regs *r, unsigned reg, unsigned size, bool high8)
{
    uint64_t v = *(const uint64_t *)((const char *)r + gpr_offset[reg & 15]);

    return high8 ? (v >> 8) & 0xff : v & size_mask(size);
}

void insn_gpr_write(struct vcpu_regs *r, unsigned reg, unsigned size, bool high8, uint64_t val)
{
    uint64_t *p = gpr(r, reg);

    if (high8)
        *p = (*p & ~0xff00ull) | (val & 0xff) << 8;
    else if (size >= 4)
        *p = val & size_mask(size);             /* 32-bit writes zero-extend */
    else
        *p = (*p & ~size_mask(size)) | (val & size_mask(size));
}

/* ---- ALU ------------------------------------------------------------------------ */

static bool parity_even(uint64_t v)
{
    v &= 0xff;
    v ^= v >> 4;
    v ^= v >> 2;
    v ^= v >> 1;
    return !(v & 1);
}

uint64_t insn_alu(unsigned op, unsigned size, uint64_t a, uint64_t b, uint64_t rflags,
                  uint64_t *result)
{
    uint64_t mask = size_mask(size), top = 1ull << (8 * size - 1);
    uint64_t cin = rflags & INSN_FL_CF, res, cf = 0, of = 0, af = 0;
    bool keep_cf = false;

    a &= mask;
    b &= mask;
    switch (op) {
    case INSN_OP_INC: case INSN_OP_DEC:
        keep_cf = true;                         /* INC/DEC leave CF */
        b = 1;
        cin = 0;
        op = op == INSN_OP_INC ? INSN_OP_ADD : INSN_OP_SUB;
        break;
    case INSN_OP_NEG:
        b = a;
        a = 0;
        op = INSN_OP_SUB;
        break;
    case INSN_OP_NOT:
        *result = ~a & mask;
        return rflags;
    default:
        break;
    }
    switch (op) {
    case INSN_OP_ADD: case INSN_OP_ADC:
        res = (a + b + (op == INSN_OP_ADC ? cin : 0)) & mask;
        cf = ((a & b) | ((a | b) & ~res)) & top;
        of = (a ^ res) & (b ^ res) & top;
        af = (a ^ b ^ res) & 0x10;
        break;
    case INSN_OP_SUB: case INSN_OP_SBB: case INSN_OP_CMP:
        res = (a - b - (op == INSN_OP_SBB ? cin : 0)) & mask;
        cf = ((~a & b) | ((~a | b) & res)) & top;
        of = (a ^ b) & (a ^ res) & top;
        af = (a ^ b ^ res) & 0x10;
        break;
    case INSN_OP_AND: case INSN_OP_TEST:
        res = a & b;
        break;
    case INSN_OP_OR:
        res = a | b;
        break;
    case INSN_OP_XOR:
        res = a ^ b;
        break;
    default:
        *result = a;
        return rflags;
    }
    *result = res;
    if (keep_cf)
        cf = rflags & INSN_FL_CF;
    rflags &= ~INSN_FL_ARITH;
    return rflags | (cf ? INSN_FL_CF : 0) | (of ? INSN_FL_OF : 0) | (af ? INSN_FL_AF : 0)
         | (res & top ? INSN_FL_SF : 0) | (res ? 0 : INSN_FL_ZF)
         | (parity_even(res) ? INSN_FL_PF : 0);
}

/* ---- MMIO data movement ----------------------------------------------------------- */

static uint64_t reg_operand(const struct insn *in, const struct vcpu_regs *r)
{
    const struct insn_mmio *m = &in->mmio;

    if (m->src_imm)
        return in->imm & size_mask(m->size);
    return insn_gpr_read(r, m->reg, m->size, m->reg_high8);
}

uint64_t insn_mmio_store_value(const struct insn *in, const struct vcpu_regs *r, uint64_t mem_old)
{
    const struct insn_mmio *m = &in->mmio;
    uint64_t res = 0;

    switch (m->op) {
    case INSN_OP_MOV: case INSN_OP_XCHG:
        res = reg_operand(in, r);
        break;
    case INSN_OP_STOS:
        res = insn_gpr_read(r, 0, m->size, false);
        break;
    case INSN_OP_MOVS:
        res = mem_old;
        break;
    default:
        if (m->op >= INSN_OP_ADD && m->op <= INSN_OP_NEG && m->mem_dst)
            insn_alu(m->op, m->size, mem_old, reg_operand(in, r), r->rflags, &res);
        break;
    }
    return res & size_mask(m->size);
}

int insn_mmio_apply(const struct insn *in, struct vcpu_regs *r, uint64_t mem_val)
{
    const struct insn_mmio *m = &in->mmio;
    uint64_t res;

    mem_val &= size_mask(m->size);
    switch (m->op) {
    case INSN_OP_NONE:
        return -1;
    case INSN_OP_MOV: case INSN_OP_XCHG:
        if (m->writes_reg)
            insn_gpr_write(r, m->reg, m->reg_size, m->reg_high8, mem_val);
        return 0;
    case INSN_OP_MOVZX:
        insn_gpr_write(r, m->reg, m->reg_size, false, mem_val);
        return 0;
    case INSN_OP_MOVSX:
        insn_gpr_write(r, m->reg, m->reg_size, false, sign_extend(mem_val, m->size));
        return 0;
    case INSN_OP_LODS:
        insn_gpr_write(r, 0, m->size, false, mem_val);
        return 0;
    case INSN_OP_MOVS: case INSN_OP_STOS:
        return 0;
    default:                                    /* ALU, TEST, INC/DEC/NOT/NEG */
        if (m->mem_dst) {
            r->rflags = insn_alu(m->op, m->size, mem_val, reg_operand(in, r), r->rflags, &res);
        } else {
            r->rflags = insn_alu(m->op, m->size, reg_operand(in, r), mem_val, r->rflags, &res);
            if (m->writes_reg)
                insn_gpr_write(r, m->reg, m->size, m->reg_high8, res);
        }
        return 0;
    }
}

/* ---- string instructions and addresses --------------------------------------------- */

uint64_t insn_string_count(const struct insn *in, const struct vcpu_regs *r)
{
    return in->mmio.rep ? insn_gpr_read(r, 1, in->addrsize, false) : 1;
}

static void add_at_addrsize(const struct insn *in, struct vcpu_regs *r, unsigned reg, uint64_t d)
{
    insn_gpr_write(r, reg, in->addrsize, false, insn_gpr_read(r, reg, 8, false) + d);
}

void insn_string_advance(const struct insn *in, struct vcpu_regs *r, uint64_t n)
{
    uint64_t d = n * in->mmio.size;

    if (r->rflags & INSN_FL_DF)
        d = -d;
    if (in->mmio.op == INSN_OP_MOVS || in->mmio.op == INSN_OP_LODS)
        add_at_addrsize(in, r, 6, d);           /* rSI */
    if (in->mmio.op == INSN_OP_MOVS || in->mmio.op == INSN_OP_STOS)
        add_at_addrsize(in, r, 7, d);           /* rDI */
    if (in->mmio.rep)
        add_at_addrsize(in, r, 1, -n);          /* rCX */
}

bool insn_mem_offset(const struct insn *in, const struct vcpu_regs *r, uint64_t *off)
{
    const struct insn_mem *mm = &in->mem;
    uint64_t ea = mm->disp;

    if (!in->has_mem)
        return false;
    if (mm->base == INSN_REG_RIP)
        ea += r->rip + in->len;
    else if (mm->base != INSN_REG_NONE)
        ea += insn_gpr_read(r, mm->base, 8, false);
    if (mm->index != INSN_REG_NONE)
        ea += insn_gpr_read(r, mm->index, 8, false) * mm->scale;
    *off = ea & size_mask(in->addrsize);
    return true;
}
