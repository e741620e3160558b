/*
 * Host tests for vmm/decode_mmio.c (lengths: test_decode.c):
 * operand kinds and sizes of the MMIO instructions, register write widths
 * (zero-extension, merges, AH..BH), store values, string instructions,
 * effective addresses, and the ALU flags checked against this (x86-64)
 * host CPU.
 */
#include "../../vmm/decode.c"
#include "../../vmm/decode_mmio.c"
#include "../../vmm/insn_emul.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "decode_test_util.h"

/* ---- MMIO classification ------------------------------------------------------------ */

struct mmio_case {
    int mode;
    const char *hex;
    int op, size, reg_size, reg, high8, mem_dst, src_imm;
    uint64_t imm;
};

static const struct mmio_case mmio_cases[] = {
    /* MOV loads, stores, widths, AH..BH vs SPL.. */
    { 64, "8a 00",          INSN_OP_MOV, 1, 1, 0, 0, 0, 0, 0 },
    { 64, "8a 20",          INSN_OP_MOV, 1, 1, 0, 1, 0, 0, 0 },    /* mov (%rax),%ah */
    { 64, "8a 38",          INSN_OP_MOV, 1, 1, 3, 1, 0, 0, 0 },    /* %bh */
    { 64, "40 8a 20",       INSN_OP_MOV, 1, 1, 4, 0, 0, 0, 0 },    /* %spl */
    { 64, "40 8a 38",       INSN_OP_MOV, 1, 1, 7, 0, 0, 0, 0 },    /* %dil */
    { 64, "44 8a 08",       INSN_OP_MOV, 1, 1, 9, 0, 0, 0, 0 },    /* %r9b */
    { 64, "66 8b 08",       INSN_OP_MOV, 2, 2, 1, 0, 0, 0, 0 },
    { 64, "8b 08",          INSN_OP_MOV, 4, 4, 1, 0, 0, 0, 0 },
    { 64, "48 8b 08",       INSN_OP_MOV, 8, 8, 1, 0, 0, 0, 0 },
    { 64, "4c 8b 38",       INSN_OP_MOV, 8, 8, 15, 0, 0, 0, 0 },
    { 64, "88 38",          INSN_OP_MOV, 1, 1, 3, 1, 1, 0, 0 },    /* mov %bh,(%rax) */
    { 64, "66 89 18",       INSN_OP_MOV, 2, 2, 3, 0, 1, 0, 0 },
    { 64, "89 18",          INSN_OP_MOV, 4, 4, 3, 0, 1, 0, 0 },
    { 64, "48 89 24 24",    INSN_OP_MOV, 8, 8, 4, 0, 1, 0, 0 },    /* mov %rsp,(%rsp) */
    { 32, "8a 20",          INSN_OP_MOV, 1, 1, 0, 1, 0, 0, 0 },
    { 16, "8b 07",          INSN_OP_MOV, 2, 2, 0, 0, 0, 0, 0 },
    { 16, "66 89 07",       INSN_OP_MOV, 4, 4, 0, 0, 1, 0, 0 },
    /* moffs */
    { 64, "a1 00 00 b0 fe 00 00 00 00", INSN_OP_MOV, 4, 4, 0, 0, 0, 0, 0 },
    { 64, "a2 00 00 b0 fe 00 00 00 00", INSN_OP_MOV, 1, 1, 0, 0, 1, 0, 0 },
    { 64, "48 a3 00 00 b0 fe 00 00 00 00", INSN_OP_MOV, 8, 8, 0, 0, 1, 0, 0 },
    { 32, "66 a1 00 00 b0 fe", INSN_OP_MOV, 2, 2, 0, 0, 0, 0, 0 },
    /* immediate stores */
    { 64, "c6 00 12",       INSN_OP_MOV, 1, 1, 0, 0, 1, 1, 0x12 },
    { 64, "66 c7 00 34 12", INSN_OP_MOV, 2, 2, 0, 0, 1, 1, 0x1234 },
    { 64, "c7 00 78 56 34 12", INSN_OP_MOV, 4, 4, 0, 0, 1, 1, 0x12345678 },
    { 64, "48 c7 00 ff ff ff ff", INSN_OP_MOV, 8, 8, 0, 0, 1, 1, ~0ull },
    { 64, "48 c7 00 00 00 00 80", INSN_OP_MOV, 8, 8, 0, 0, 1, 1, 0xffffffff80000000ull },
    { 16, "c7 07 34 12",    INSN_OP_MOV, 2, 2, 0, 0, 1, 1, 0x1234 },
    /* MOVZX / MOVSX / MOVSXD */
    { 64, "0f b6 00",       INSN_OP_MOVZX, 1, 4, 0, 0, 0, 0, 0 },
    { 64, "66 0f b6 00",    INSN_OP_MOVZX, 1, 2, 0, 0, 0, 0, 0 },
    { 64, "48 0f b7 08",    INSN_OP_MOVZX, 2, 8, 1, 0, 0, 0, 0 },
    { 64, "0f be 20",       INSN_OP_MOVSX, 1, 4, 4, 0, 0, 0, 0 },  /* to %esp, not AH */
    { 64, "4c 0f bf 00",    INSN_OP_MOVSX, 2, 8, 8, 0, 0, 0, 0 },
    { 64, "48 63 00",       INSN_OP_MOVSX, 4, 8, 0, 0, 0, 0, 0 },
    { 64, "63 00",          INSN_OP_MOV, 4, 4, 0, 0, 0, 0, 0 },
    { 32, "0f b7 00",       INSN_OP_MOVZX, 2, 4, 0, 0, 0, 0, 0 },
    /* ALU both ways, group 1 immediates, TEST, XCHG, unary */
    { 64, "23 00",          INSN_OP_AND, 4, 4, 0, 0, 0, 0, 0 },
    { 64, "21 00",          INSN_OP_AND, 4, 4, 0, 0, 1, 0, 0 },
    { 64, "08 20",          INSN_OP_OR,  1, 1, 0, 1, 1, 0, 0 },    /* or %ah,(%rax) */
    { 64, "48 31 08",       INSN_OP_XOR, 8, 8, 1, 0, 1, 0, 0 },
    { 64, "02 00",          INSN_OP_ADD, 1, 1, 0, 0, 0, 0, 0 },
    { 64, "2b 00",          INSN_OP_SUB, 4, 4, 0, 0, 0, 0, 0 },
    { 64, "38 00",          INSN_OP_CMP, 1, 1, 0, 0, 1, 0, 0 },
    { 64, "3b 00",          INSN_OP_CMP, 4, 4, 0, 0, 0, 0, 0 },
    { 64, "11 00",          INSN_OP_ADC, 4, 4, 0, 0, 1, 0, 0 },
    { 64, "1b 00",          INSN_OP_SBB, 4, 4, 0, 0, 0, 0, 0 },
    { 64, "81 20 ff 00 00 00", INSN_OP_AND, 4, 4, 0, 0, 1, 1, 0xff },
    { 64, "83 08 ff",       INSN_OP_OR,  4, 4, 0, 0, 1, 1, ~0ull },
    { 64, "48 83 30 80",    INSN_OP_XOR, 8, 8, 0, 0, 1, 1, 0xffffffffffffff80ull },
    { 64, "66 81 38 34 12", INSN_OP_CMP, 2, 2, 0, 0, 1, 1, 0x1234 },
    { 64, "80 30 12",       INSN_OP_XOR, 1, 1, 0, 0, 1, 1, 0x12 },
    { 64, "85 00",          INSN_OP_TEST, 4, 4, 0, 0, 1, 0, 0 },
    { 64, "f6 00 12",       INSN_OP_TEST, 1, 1, 0, 0, 1, 1, 0x12 },
    { 64, "f7 00 00 00 00 80", INSN_OP_TEST, 4, 4, 0, 0, 1, 1, 0xffffffff80000000ull },
    { 64, "86 00",          INSN_OP_XCHG, 1, 1, 0, 0, 1, 0, 0 },
    { 64, "48 87 08",       INSN_OP_XCHG, 8, 8, 1, 0, 1, 0, 0 },
    { 64, "ff 00",          INSN_OP_INC, 4, 4, 0, 0, 1, 0, 0 },
    { 64, "fe 08",          INSN_OP_DEC, 1, 1, 0, 0, 1, 0, 0 },
    { 64, "f7 10",          INSN_OP_NOT, 4, 4, 0, 0, 1, 0, 0 },
    { 64, "48 f7 18",       INSN_OP_NEG, 8, 8, 0, 0, 1, 0, 0 },
    { 64, "f0 09 08",       INSN_OP_OR,  4, 4, 1, 0, 1, 0, 0 },    /* lock or */
    /* strings */
    { 64, "f3 a4",          INSN_OP_MOVS, 1, 1, 0, 0, 1, 0, 0 },
    { 64, "48 ab",          INSN_OP_STOS, 8, 8, 0, 0, 1, 0, 0 },
    { 64, "66 ad",          INSN_OP_LODS, 2, 2, 0, 0, 0, 0, 0 },
    /* not emulated */
    { 64, "8b c0",          INSN_OP_NONE, 0, 0, 0, 0, 0, 0, 0 },
    { 64, "0f a2",          INSN_OP_NONE, 0, 0, 0, 0, 0, 0, 0 },
    { 64, "f7 30",          INSN_OP_NONE, 0, 0, 0, 0, 0, 0, 0 },   /* div */
    { 64, "c5 f8 10 00",    INSN_OP_NONE, 0, 0, 0, 0, 0, 0, 0 },   /* vmovups */
    { 64, "ff 30",          INSN_OP_NONE, 0, 0, 0, 0, 0, 0, 0 },   /* push (%rax) */
    { 64, "a6",             INSN_OP_NONE, 0, 0, 0, 0, 0, 0, 0 },   /* cmpsb */
    { 32, "63 00",          INSN_OP_NONE, 0, 0, 0, 0, 0, 0, 0 },   /* arpl */
    { 64, "8d 00",          INSN_OP_NONE, 0, 0, 0, 0, 0, 0, 0 },   /* lea */
};

static void test_mmio_classify(void **state)
{
    unsigned i, bad = 0;
    struct insn in;

    for (i = 0; i < NELEM(mmio_cases); i++) {
        const struct mmio_case *c = &mmio_cases[i];
        const struct insn_mmio *m = &in.mmio;
        assert_int_equal(decode_hex(c->hex, c->mode, &in), 0);
        if (m->op != c->op || m->size != c->size || m->reg_size != c->reg_size ||
            m->reg != c->reg || m->reg_high8 != c->high8 || m->mem_dst != c->mem_dst ||
            m->src_imm != c->src_imm || (c->src_imm && in.imm != c->imm)) {
            print_message("mode %d [%s]: op %u size %u/%u reg %u%s dst %d imm %d 0x%llx\n",
                          c->mode, c->hex, m->op, m->size, m->reg_size, m->reg,
                          m->reg_high8 ? "h" : "", m->mem_dst, m->src_imm,
                          (unsigned long long)in.imm);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* ---- MMIO execution ----------------------------------------------------------------- */

static struct vcpu_regs fill_regs(void)
{
    struct vcpu_regs r;
    unsigned i;

    for (i = 0; i < 16; i++)
        *gpr(&r, i) = 0x1111111111111111ull * (i + 1) ^ 0x8080808080808080ull;
    r.rip = 0x1000;
    r.rflags = 0x202;
    return r;
}

struct exec_case {
    int mode;
    const char *hex;
    uint64_t mem;           /* value the device returns */
    int reg;                /* register to preset (-1: none) */
    uint64_t reg_val;
    uint64_t rflags_in;
    int check_reg;          /* register whose final value is checked (-1: none) */
    uint64_t want_reg;
    uint64_t want_store;    /* checked when the insn writes the device */
    uint64_t want_flags;    /* CF PF AF ZF SF OF, checked when it writes flags */
};

#define FL(c, p, a, z, s, o) ((c ? INSN_FL_CF : 0) | (p ? INSN_FL_PF : 0) | (a ? INSN_FL_AF : 0) | \
                              (z ? INSN_FL_ZF : 0) | (s ? INSN_FL_SF : 0) | (o ? INSN_FL_OF : 0))

static const struct exec_case exec_cases[] = {
    /* loads: 32-bit zero-extends, 8/16-bit merge, AH, SPL, R9B */
    { 64, "8b 00", 0x12345678, 0, ~0ull, 0x202, 0, 0x12345678, 0, 0 },
    { 64, "66 8b 00", 0xabcd, 0, ~0ull, 0x202, 0, 0xffffffffffffabcdull, 0, 0 },
    { 64, "8a 00", 0x5a, 0, ~0ull, 0x202, 0, 0xffffffffffffff5aull, 0, 0 },
    { 64, "8a 20", 0x5a, 0, ~0ull, 0x202, 0, 0xffffffffffff5affull, 0, 0 },
    { 64, "40 8a 20", 0x5a, 4, ~0ull, 0x202, 4, 0xffffffffffffff5aull, 0, 0 },
    { 64, "44 8a 08", 0x5a, 9, 0, 0x202, 9, 0x5a, 0, 0 },
    { 64, "48 8b 08", 0x1122334455667788ull, 1, 0, 0x202, 1, 0x1122334455667788ull, 0, 0 },
    { 64, "a1 00 00 b0 fe 00 00 00 00", 0xdeadbeef, 0, ~0ull, 0x202, 0, 0xdeadbeef, 0, 0 },
    { 16, "8b 07", 0x1234, 0, 0xffff0000ffff0000ull, 0x202, 0, 0xffff0000ffff1234ull, 0, 0 },
    /* stores */
    { 64, "88 38", 0, 3, 0x1234, 0x202, -1, 0, 0x12, 0 },                 /* mov %bh */
    { 64, "66 89 18", 0, 3, 0x12345678, 0x202, -1, 0, 0x5678, 0 },
    { 64, "48 89 24 24", 0, 4, 0x1122334455667788ull, 0x202, -1, 0, 0x1122334455667788ull, 0 },
    { 64, "48 c7 00 fe ff ff ff", 0, -1, 0, 0x202, -1, 0, 0xfffffffffffffffeull, 0 },
    { 64, "66 c7 00 34 12", 0, -1, 0, 0x202, -1, 0, 0x1234, 0 },
    /* MOVZX / MOVSX */
    { 64, "0f be 00", 0x80, 0, ~0ull, 0x202, 0, 0xffffff80, 0, 0 },
    { 64, "48 0f be 00", 0x80, 0, 0, 0x202, 0, 0xffffffffffffff80ull, 0, 0 },
    { 64, "66 0f be 00", 0x80, 0, ~0ull, 0x202, 0, 0xffffffffffffff80ull, 0, 0 },
    { 64, "66 0f be 00", 0x80, 0, 0x1111111111110000ull, 0x202, 0, 0x111111111111ff80ull, 0, 0 },
    { 64, "48 63 00", 0x80000000, 0, 0, 0x202, 0, 0xffffffff80000000ull, 0, 0 },
    { 64, "0f b7 00", 0xffff, 0, ~0ull, 0x202, 0, 0xffff, 0, 0 },
    { 64, "0f b6 20", 0xff, 4, ~0ull, 0x202, 4, 0xff, 0, 0 },           /* to %esp */
    /* ALU: store values and flags */
    { 64, "21 00", 0x0f0f, 0, 0xf0f0, 0x202 | INSN_FL_CF | INSN_FL_OF, 0, 0xf0f0, 0, FL(0, 1, 0, 1, 0, 0) },
    { 64, "0b 00", 1, 0, 0x80000000, 0x202, 0, 0x80000001, 0, FL(0, 0, 0, 0, 1, 0) },
    { 64, "33 00", 0xdead, 0, 0xffffffff0000deadull, 0x202, 0, 0, 0, FL(0, 1, 0, 1, 0, 0) },
    { 64, "01 00", 0xffffffff, 0, 1, 0x202, 0, 1, 0, FL(1, 1, 1, 1, 0, 0) },
    { 64, "80 00 7f", 1, -1, 0, 0x202, -1, 0, 0x80, FL(0, 0, 1, 0, 1, 1) },
    { 64, "3b 00", 2, 0, 1, 0x202, 0, 1, 0, FL(1, 1, 1, 0, 1, 0) },      /* cmp: eax - mem */
    { 64, "39 00", 2, 0, 1, 0x202, 0, 1, 0, FL(0, 0, 0, 0, 0, 0) },      /* cmp: mem - eax */
    { 64, "29 00", 0x80000000, 0, 1, 0x202, 0, 1, 0x7fffffff, FL(0, 1, 1, 0, 0, 1) },
    { 64, "13 00", 1, 0, 1, 0x202 | INSN_FL_CF, 0, 3, 0, FL(0, 1, 0, 0, 0, 0) },  /* adc */
    { 64, "1b 00", 1, 0, 1, 0x202 | INSN_FL_CF, 0, 0xffffffff, 0, FL(1, 1, 1, 0, 1, 0) },  /* sbb */
    { 64, "f7 00 00 00 00 80", 0x80000000, -1, 0, 0x202, -1, 0, 0, FL(0, 1, 0, 0, 1, 0) },
    { 64, "84 20", 0x0f, 0, 0xf000, 0x202, 0, 0xf000, 0, FL(0, 1, 0, 1, 0, 0) }, /* test %ah */
    { 64, "83 08 ff", 0x10, -1, 0, 0x202, -1, 0, 0xffffffff, FL(0, 1, 0, 0, 1, 0) },
    { 64, "48 83 20 f0", 0x123456789abcdef1ull, -1, 0, 0x202, -1, 0, 0x123456789abcdef0ull, FL(0, 1, 0, 0, 0, 0) },
    { 64, "02 20", 0x01, 0, 0xff00, 0x202, 0, 0x0000, 0, FL(1, 1, 1, 1, 0, 0) },  /* add (%rax),%ah */
    { 64, "ff 00", 0xffffffff, -1, 0, 0x202 | INSN_FL_CF, -1, 0, 0, FL(1, 1, 1, 1, 0, 0) },  /* inc keeps CF */
    { 64, "ff 08", 0x80000000, -1, 0, 0x202, -1, 0, 0x7fffffff, FL(0, 1, 1, 0, 0, 1) },  /* dec */
    { 64, "f7 18", 1, -1, 0, 0x202, -1, 0, 0xffffffff, FL(1, 1, 1, 0, 1, 0) },     /* neg */
    { 64, "f7 18", 0, -1, 0, 0x202, -1, 0, 0, FL(0, 1, 0, 1, 0, 0) },
    { 64, "f7 10", 0x0f0f0f0f, -1, 0, 0x202 | INSN_FL_ZF, -1, 0, 0xf0f0f0f0, 0 },  /* not */
    /* XCHG: store the register, load the old value */
    { 64, "87 08", 0xcafe, 1, 0xffffffff12345678ull, 0x202, 1, 0xcafe, 0x12345678, 0 },
    { 64, "86 20", 0x12, 0, 0x3456, 0x202, 0, 0x1256, 0x34, 0 },
    /* strings: LODS loads, STOS stores rAX */
    { 64, "ad", 0x12345678, 0, ~0ull, 0x202, 0, 0x12345678, 0, 0 },
    { 64, "66 ab", 0, 0, 0x11112222, 0x202, -1, 0, 0x2222, 0 },
};

static void test_mmio_exec(void **state)
{
    unsigned i, bad = 0;
    struct vcpu_regs r, before;
    struct insn in;
    uint64_t store = 0;

    for (i = 0; i < NELEM(exec_cases); i++) {
        const struct exec_case *c = &exec_cases[i];
        const struct insn_mmio *m = &in.mmio;
        bool ok = true;
        unsigned g;

        assert_int_equal(decode_hex(c->hex, c->mode, &in), 0);
        assert_int_not_equal(m->op, INSN_OP_NONE);
        r = fill_regs();
        if (c->reg >= 0)
            *gpr(&r, (unsigned)c->reg) = c->reg_val;
        r.rflags = c->rflags_in;
        before = r;
        if (m->write)
            store = insn_mmio_store_value(&in, &r, m->read ? c->mem : 0);
        assert_int_equal(insn_mmio_apply(&in, &r, m->read ? c->mem : 0), 0);
        if (c->check_reg >= 0 && *gpr(&r, (unsigned)c->check_reg) != c->want_reg)
            ok = false;
        if (m->write && store != c->want_store)
            ok = false;
        if (m->writes_flags && (r.rflags & INSN_FL_ARITH) != c->want_flags)
            ok = false;
        if ((r.rflags & ~INSN_FL_ARITH) != (before.rflags & ~INSN_FL_ARITH) ||
            (!m->writes_flags && r.rflags != before.rflags))
            ok = false;
        for (g = 0; g < 16; g++)        /* nothing else changes */
            if (*gpr(&r, g) != *gpr(&before, g) && !(m->writes_reg && g == m->reg))
                ok = false;
        if (r.rip != before.rip)
            ok = false;
        if (!ok) {
            print_message("mode %d [%s]: reg %d = 0x%llx, store 0x%llx, flags 0x%llx\n",
                          c->mode, c->hex, c->check_reg,
                          c->check_reg >= 0 ? (unsigned long long)*gpr(&r, (unsigned)c->check_reg) : 0ull,
                          (unsigned long long)store, (unsigned long long)(r.rflags & INSN_FL_ARITH));
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

static void test_mmio_none(void **state)
{
    struct vcpu_regs r = fill_regs(), before = r;
    struct insn in;

    assert_int_equal(decode_hex("0f a2", 64, &in), 0);
    assert_int_equal(insn_mmio_apply(&in, &r, 0), -1);
    assert_memory_equal(&r, &before, sizeof(r));
}

/* ---- ALU flags against the host CPU -------------------------------------------------- */

/* Run one instruction on this CPU with RFLAGS = fin; below the red zone. */
#define HOST_OP(name, type, insn, operands, ...)                                             \
static uint64_t name(uint64_t a, uint64_t b, uint64_t fin, uint64_t *res)                 \
{                                                                                            \
    type x = (type)a, y = (type)b;                                                           \
    uint64_t fout;                                                                           \
    (void)y;                                                                                 \
    __asm__ volatile("lea -128(%%rsp), %%rsp\n\tpush %[fi]\n\tpopfq\n\t" insn " " operands  \
                     "\n\tpushfq\n\tpop %[fo]\n\tlea 128(%%rsp), %%rsp"                     \
                     : [x] "+r"(x), [fo] "=&r"(fout) : [y] "r"(y), [fi] "r"(fin) : "cc");   \
    *res = (uint64_t)x;                                                                      \
    return fout;                                                                             \
}
#define HOST_BIN(op, insn) \
    HOST_OP(host_##op##_1, uint8_t,  insn "b", "%[y], %[x]") \
    HOST_OP(host_##op##_2, uint16_t, insn "w", "%[y], %[x]") \
    HOST_OP(host_##op##_4, uint32_t, insn "l", "%[y], %[x]") \
    HOST_OP(host_##op##_8, uint64_t, insn "q", "%[y], %[x]")
#define HOST_UN(op, insn) \
    HOST_OP(host_##op##_1, uint8_t,  insn "b", "%[x]") \
    HOST_OP(host_##op##_2, uint16_t, insn "w", "%[x]") \
    HOST_OP(host_##op##_4, uint32_t, insn "l", "%[x]") \
    HOST_OP(host_##op##_8, uint64_t, insn "q", "%[x]")
HOST_BIN(add, "add") HOST_BIN(or, "or") HOST_BIN(adc, "adc") HOST_BIN(sbb, "sbb")
HOST_BIN(and, "and") HOST_BIN(sub, "sub") HOST_BIN(xor, "xor") HOST_BIN(cmp, "cmp")
HOST_BIN(test, "test")
HOST_UN(inc, "inc") HOST_UN(dec, "dec") HOST_UN(not, "not") HOST_UN(neg, "neg")

typedef uint64_t host_fn(uint64_t, uint64_t, uint64_t, uint64_t *);
#define HOST_ROW(op) { host_##op##_1, host_##op##_2, host_##op##_4, host_##op##_8 }
static host_fn *const host_ops[][4] = {     /* indexed by insn_op - INSN_OP_ADD */
    HOST_ROW(add), HOST_ROW(or), HOST_ROW(adc), HOST_ROW(sbb), HOST_ROW(and),
    HOST_ROW(sub), HOST_ROW(xor), HOST_ROW(cmp), HOST_ROW(test), HOST_ROW(inc),
    HOST_ROW(dec), HOST_ROW(not), HOST_ROW(neg),
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_alu_vs_host(void **state)
{
    static const uint64_t edge[] = {
        0, 1, 2, 0xf, 0x10, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x7fffffff,
        0x80000000, 0xffffffff, 0x100000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull,
    };
    static const unsigned sizes[] = { 1, 2, 4, 8 };
    unsigned op, si, i, bad = 0, n = 0;

    for (op = INSN_OP_ADD; op <= INSN_OP_NEG; op++) {
        bool logic = op == INSN_OP_AND || op == INSN_OP_OR || op == INSN_OP_XOR || op == INSN_OP_TEST;
        uint64_t mask = logic ? INSN_FL_ARITH & ~INSN_FL_AF : INSN_FL_ARITH;
        for (si = 0; si < 4; si++) {
            for (i = 0; i < 3000; i++) {
                uint64_t a = i < 19 * 19 ? edge[i % 19] : rng(), b = i < 19 * 19 ? edge[i / 19] : rng();
                uint64_t fin = 0x202 | (rng() & INSN_FL_ARITH), want_res, got_res, want_fl, got_fl;
                if (i >= 19 * 19 && (i & 1))    /* small differences, near carries */
                    b = a + (rng() & 3) - 1;
                want_fl = host_ops[op - INSN_OP_ADD][si](a, b, fin, &want_res);
                got_fl = insn_alu(op, sizes[si], a, b, fin, &got_res);
                want_res &= size_mask(sizes[si]);
                n++;
                if ((op != INSN_OP_CMP && op != INSN_OP_TEST && got_res != want_res) ||
                    (got_fl & mask) != (want_fl & mask) ||
                    (got_fl & ~INSN_FL_ARITH) != (fin & ~INSN_FL_ARITH)) {
                    if (bad++ < 10)
                        print_message("op %u size %u a 0x%llx b 0x%llx fin 0x%llx: res 0x%llx/0x%llx fl 0x%llx/0x%llx\n",
                                      op, sizes[si], (unsigned long long)a, (unsigned long long)b,
                                      (unsigned long long)fin, (unsigned long long)got_res,
                                      (unsigned long long)want_res, (unsigned long long)got_fl,
                                      (unsigned long long)want_fl);
                }
            }
        }
    }
    print_message("alu vs host: %u operations\n", n);
    assert_int_equal(bad, 0);
}

/* ---- strings, addresses, modes ---------------------------------------------------------- */

static void test_strings(void **state)
{
    struct vcpu_regs r = fill_regs();
    struct insn in;

    /* rep movsb, 64-bit: rSI/rDI up, rCX down */
    assert_int_equal(decode_hex("f3 a4", 64, &in), 0);
    assert_true(in.mmio.rep && in.mmio.read && in.mmio.write);
    assert_int_equal(in.mem.seg, INSN_SEG_DS);
    r.gpr.rcx = 5; r.gpr.rsi = 0x1000; r.gpr.rdi = 0x2000;
    assert_int_equal(insn_string_count(&in, &r), 5);
    assert_int_equal(insn_mmio_store_value(&in, &r, 0xab), 0xab);
    insn_string_advance(&in, &r, 2);
    assert_int_equal(r.gpr.rcx, 3);
    assert_int_equal(r.gpr.rsi, 0x1002);
    assert_int_equal(r.gpr.rdi, 0x2002);

    /* std; rep stosl with 67 in 64-bit: 32-bit rDI/rCX, zero-extended */
    assert_int_equal(decode_hex("67 f3 ab", 64, &in), 0);
    assert_int_equal(in.mem.seg, INSN_SEG_ES);
    r.rflags |= INSN_FL_DF;
    r.gpr.rcx = 0xffffffff00000002ull; r.gpr.rdi = 0xffffffff00000004ull;
    assert_int_equal(insn_string_count(&in, &r), 2);
    insn_string_advance(&in, &r, 2);
    assert_int_equal(r.gpr.rcx, 0);
    assert_int_equal(r.gpr.rdi, 0xfffffffcull);
    r.rflags &= ~INSN_FL_DF;

    /* 16-bit rep movsw: SI/DI/CX wrap at 16 bits, upper bits kept */
    assert_int_equal(decode_hex("f3 26 a5", 16, &in), 0);
    assert_int_equal(in.mem.seg, INSN_SEG_ES);      /* source override */
    r.gpr.rcx = 0xabcd0001; r.gpr.rsi = 0x1234fffe; r.gpr.rdi = 0x5678fffe;
    assert_int_equal(insn_string_count(&in, &r), 1);
    insn_string_advance(&in, &r, 1);
    assert_int_equal(r.gpr.rcx, 0xabcd0000);
    assert_int_equal(r.gpr.rsi, 0x12340000);
    assert_int_equal(r.gpr.rdi, 0x56780000);

    /* no REP: one element, rCX untouched */
    assert_int_equal(decode_hex("a5", 32, &in), 0);
    r.gpr.rcx = 7;
    assert_int_equal(insn_string_count(&in, &r), 1);
    insn_string_advance(&in, &r, 1);
    assert_int_equal(r.gpr.rcx, 7);
}

static void test_mem_offset(void **state)
{
    struct vcpu_regs r = fill_regs();
    struct insn in;
    uint64_t off;

    r.gpr.rax = 0x1000; r.gpr.rcx = 3; r.gpr.rbx = 0xfff0; r.gpr.rsi = 0x20;
    r.gpr.rbp = 0x8000; r.gpr.r13 = 0x500; r.gpr.r12 = 0x40;
    assert_int_equal(decode_hex("8b 44 88 10", 64, &in), 0);        /* 0x10(%rax,%rcx,4) */
    assert_true(insn_mem_offset(&in, &r, &off));
    assert_int_equal(off, 0x101c);
    assert_int_equal(decode_hex("8b 05 10 00 00 00", 64, &in), 0);  /* 0x10(%rip) */
    assert_int_equal(in.mem.base, INSN_REG_RIP);
    assert_true(insn_mem_offset(&in, &r, &off));
    assert_int_equal(off, 0x1000 + 6 + 0x10);
    assert_int_equal(decode_hex("43 8b 44 25 f0", 64, &in), 0);     /* -0x10(%r13,%r12) */
    assert_true(insn_mem_offset(&in, &r, &off));
    assert_int_equal(off, 0x530);
    assert_int_equal(decode_hex("8b 40 20", 16, &in), 0);           /* 0x20(%bx,%si) wraps */
    assert_true(insn_mem_offset(&in, &r, &off));
    assert_int_equal(off, (0xfff0 + 0x20 + 0x20) & 0xffff);
    assert_int_equal(in.mem.seg, INSN_SEG_DS);
    assert_int_equal(decode_hex("8b 46 fe", 16, &in), 0);           /* -2(%bp): SS */
    assert_int_equal(in.mem.seg, INSN_SEG_SS);
    assert_true(insn_mem_offset(&in, &r, &off));
    assert_int_equal(off, 0x7ffe);
    assert_int_equal(decode_hex("67 8b 40 f0", 64, &in), 0);        /* 32-bit address */
    r.gpr.rax = 0x100000008ull;
    assert_true(insn_mem_offset(&in, &r, &off));
    assert_int_equal(off, 0xfffffff8ull);
    assert_int_equal(decode_hex("64 8b 04 24", 64, &in), 0);
    assert_int_equal(in.mem.seg, INSN_SEG_FS);
    assert_int_equal(decode_hex("36 8b 00", 64, &in), 0);           /* SS: means nothing */
    assert_int_equal(in.mem.seg, INSN_SEG_DS);
    assert_int_equal(decode_hex("8b 04 24", 32, &in), 0);
    assert_int_equal(in.mem.seg, INSN_SEG_SS);
    assert_int_equal(decode_hex("a1 44 33 22 11", 32, &in), 0);     /* moffs */
    assert_true(insn_mem_offset(&in, &r, &off));
    assert_int_equal(off, 0x11223344);
    assert_int_equal(decode_hex("8b c0", 64, &in), 0);
    assert_false(insn_mem_offset(&in, &r, &off));
}

static void test_cpu_mode(void **state)
{
    const uint32_t L = 1u << 13, D = 1u << 14;

    assert_int_equal(decode_cpu_mode(0, 0, D, 0x2), CPU_MODE_16);          /* real mode */
    assert_int_equal(decode_cpu_mode(1, 0, D, 0x2), CPU_MODE_32);
    assert_int_equal(decode_cpu_mode(1, 0, 0, 0x2), CPU_MODE_16);
    assert_int_equal(decode_cpu_mode(1, 0, D, 0x20002), CPU_MODE_16);      /* VM86 */
    assert_int_equal(decode_cpu_mode(0x80000001, 0x500, L, 0x2), CPU_MODE_64);
    assert_int_equal(decode_cpu_mode(0x80000001, 0x500, D, 0x2), CPU_MODE_32);  /* compat */
    assert_int_equal(decode_cpu_mode(1, 0x100, L, 0x2), CPU_MODE_16);      /* LME, not LMA */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mmio_classify),
        cmocka_unit_test(test_mmio_exec),
        cmocka_unit_test(test_mmio_none),
        cmocka_unit_test(test_alu_vs_host),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_mem_offset),
        cmocka_unit_test(test_cpu_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
