/*
 * MMIO semantics of decoded instructions: which memory instructions nethv
 * emulates (decode_mmio_classify), and reading a register operand.  The
 * helpers that carry them out on a struct vcpu_regs are the monitor's
 * (vmm/insn_emul.c).  See vmm/decode.h.
 */
#include <stddef.h>
#include <string.h>
#include "decode.h"

static uint64_t size_mask(unsigned size)
{
    return insn_size_mask(size);
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

const uint8_t insn_gpr_offset[16] = {
    offsetof(struct vcpu_regs, gpr.rax), offsetof(struct vcpu_regs, gpr.rcx),
    offsetof(struct vcpu_regs, gpr.rdx), offsetof(struct vcpu_regs, gpr.rbx),
    offsetof(struct vcpu_regs, rsp),     offsetof(struct vcpu_regs, gpr.rbp),
    offsetof(struct vcpu_regs, gpr.rsi), offsetof(struct vcpu_regs, gpr.rdi),
    offsetof(struct vcpu_regs, gpr.r8),  offsetof(struct vcpu_regs, gpr.r9),
    offsetof(struct vcpu_regs, gpr.r10), offsetof(struct vcpu_regs, gpr.r11),
    offsetof(struct vcpu_regs, gpr.r12), offsetof(struct vcpu_regs, gpr.r13),
    offsetof(struct vcpu_regs, gpr.r14), offsetof(struct vcpu_regs, gpr.r15),
};

uint64_t insn_gpr_read(const struct vcpu_regs *r, unsigned reg, unsigned size, bool high8)
{
    uint64_t v = *(const uint64_t *)((const char *)r + insn_gpr_offset[reg & 15]);

    return high8 ? (v >> 8) & 0xff : v & size_mask(size);
}
