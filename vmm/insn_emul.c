/*
 * Carrying out a decoded MMIO instruction on a struct vcpu_regs (the
 * monitor's: vmm/decode.h): register writes, the ALU with its flags,
 * string instructions' counts and pointer updates, effective addresses.
 * The classification and register reads are in vmm/decode_mmio.c,
 * which the kernel links too.
 */
#include <stddef.h>
#include <string.h>
#include "decode.h"

static uint64_t mask_of(unsigned size)
{
    return insn_size_mask(size);
}

static uint64_t sign_extend(uint64_t v, unsigned size)
{
    uint64_t sign = 1ull << (8 * size - 1);

    v &= mask_of(size);
    return (v ^ sign) - sign;
}

static uint64_t *gpr(struct vcpu_regs *r, unsigned reg)
{
    return (uint64_t *)((char *)r + insn_gpr_offset[reg & 15]);
}

void insn_gpr_write(struct vcpu_regs *r, unsigned reg, unsigned size, bool high8, uint64_t val)
{
    uint64_t *p = gpr(r, reg);

    if (high8)
        *p = (*p & ~0xff00ull) | (val & 0xff) << 8;
    else if (size >= 4)
        *p = val & mask_of(size);             /* 32-bit writes zero-extend */
    else
        *p = (*p & ~mask_of(size)) | (val & mask_of(size));
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
    uint64_t mask = mask_of(size), top = 1ull << (8 * size - 1);
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
        return in->imm & mask_of(m->size);
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
    return res & mask_of(m->size);
}

int insn_mmio_apply(const struct insn *in, struct vcpu_regs *r, uint64_t mem_val)
{
    const struct insn_mmio *m = &in->mmio;
    uint64_t res;

    mem_val &= mask_of(m->size);
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
    *off = ea & mask_of(in->addrsize);
    return true;
}
