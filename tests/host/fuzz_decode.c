/*
 * libFuzzer target for vmm/decode.c and decode_mmio.c, and kernel/insn.c
 * against them.
 *
 * Every input is decoded as 16-, 32- and 64-bit code.  Checked: no read
 * past `avail` (the input, and exact-size copies, are heap buffers under
 * ASan), no crash or UB, only the documented results, length 1-15 and
 * within avail, the same decode from exactly `len` bytes and ETRUNC from
 * one byte less, ETRUNC only when fewer than 15 bytes were given.  Each
 * instruction the MMIO emulator would take runs through the register
 * helpers on a register file made from the input: only its destination
 * register and the arithmetic flags may change.
 *
 * Build and run (from the repository root; `make fuzz-build` builds the same):
 *   mkdir -p build/fuzz/fuzz_decode.corpus
 *   clang -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter \
 *     -Iinclude -Iarch/x86_64/include -DNETHV_HOST=1 \
 *     -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *     -o build/fuzz/fuzz_decode tests/host/fuzz_decode.c
 *   build/fuzz/fuzz_decode -max_total_time=60 -max_len=32 build/fuzz/fuzz_decode.corpus
 */
#include "../../vmm/decode.c"
#include "../../vmm/decode_mmio.c"
#include "../../vmm/insn_emul.c"
#include "../../kernel/insn.c"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

static int decode_copy(const uint8_t *data, size_t n, enum cpu_mode mode, struct insn *in)
{
    uint8_t *copy = malloc(n ? n : 1);
    int rc;

    CHECK(copy);
    memcpy(copy, data, n);
    rc = decode_insn(copy, n, mode, in);
    free(copy);
    return rc;
}

static void check_mmio(const struct insn *in, const uint8_t *data, size_t size)
{
    const struct insn_mmio *m = &in->mmio;
    struct vcpu_regs r, before;
    uint64_t mem = 0, off, n;
    unsigned i, g;

    CHECK(m->op < INSN_OP__COUNT);
    if (m->op == INSN_OP_NONE)
        return;
    CHECK(m->size == 1 || m->size == 2 || m->size == 4 || m->size == 8);
    CHECK(m->reg_size >= m->size && m->reg_size <= 8);
    CHECK(m->reg < 16 && (!m->reg_high8 || (m->reg < 4 && m->size == 1)));
    CHECK(m->read || m->write);
    CHECK(in->has_mem || m->op >= INSN_OP_MOVS);

    /* registers and the device value from the input bytes */
    for (i = 0; i < sizeof(r); i++)
        ((uint8_t *)&r)[i] = data[(i * 7 + 3) % size] ^ (uint8_t)i;
    r.rflags = (r.rflags & INSN_FL_ARITH) | INSN_FL_DF * (data[0] & 1) | 0x202;
    for (i = 0; i < 8; i++)
        mem = mem << 8 | data[(i * 5 + 1) % size];
    before = r;

    if (m->write)
        CHECK((insn_mmio_store_value(in, &r, mem) & ~size_mask(m->size)) == 0);
    CHECK(insn_mmio_apply(in, &r, m->read ? mem : 0) == 0);
    for (g = 0; g < 16; g++)
        if (*gpr(&r, g) != *gpr(&before, g))
            CHECK(m->writes_reg && g == m->reg);
    CHECK((r.rflags & ~INSN_FL_ARITH) == (before.rflags & ~INSN_FL_ARITH));
    CHECK(m->writes_flags || r.rflags == before.rflags);
    CHECK(r.rip == before.rip);

    if (m->op >= INSN_OP_MOVS) {
        n = insn_string_count(in, &r);
        CHECK(m->rep || n == 1);
        insn_string_advance(in, &r, n & 0xff);
    }
    if (in->has_mem) {
        CHECK(insn_mem_offset(in, &r, &off));
        CHECK(in->addrsize == 8 || off >> (8 * in->addrsize) == 0);
    }
}

static void one_mode(const uint8_t *data, size_t size, enum cpu_mode mode)
{
    struct insn in, in2;
    int rc = decode_insn(data, size, mode, &in);

    CHECK(rc == 0 || rc == DECODE_ETRUNC || rc == DECODE_ETOOLONG || rc == DECODE_EINVAL);
    if (rc == DECODE_ETRUNC)
        CHECK(size < INSN_MAX_LEN);
    if (rc)
        return;
    CHECK(in.len >= 1 && in.len <= INSN_MAX_LEN && in.len <= size);
    CHECK(in.opsize == 2 || in.opsize == 4 || in.opsize == 8);
    CHECK(in.addrsize == 2 || in.addrsize == 4 || in.addrsize == 8);
    CHECK(in.len >= (unsigned)in.disp_size + in.imm_size + in.imm2_size + 1);
    CHECK(decode_copy(data, in.len, mode, &in2) == 0);
    CHECK(memcmp(&in, &in2, sizeof(in)) == 0);
    CHECK(decode_copy(data, in.len - 1u, mode, &in2) == DECODE_ETRUNC);
    check_mmio(&in, data, size);
}

/* The kernel's fast-path decoder (kernel/insn.c) accepts only what this
 * decoder decodes the same way (tests/host/test_kinsn.c has both directions). */
static void kernel_agrees(const uint8_t *data, size_t size, enum cpu_mode mode)
{
    struct insn in;
    unsigned n = size > 15 ? 15 : (unsigned)size, cr, gpr, len;
    uint8_t *copy = malloc(n);
    CHECK(copy);
    memcpy(copy, data, n);
    int rc = decode_insn(copy, n, mode, &in);
    unsigned l = kinsn_len(copy, n, (unsigned)mode), s = kinsn_store_len(copy, n, (unsigned)mode);
    CHECK(!l || (!rc && in.len == l));
    CHECK(!s || (!rc && in.len == s && in.mmio.op == INSN_OP_MOV && in.mmio.mem_dst));
    if (!kinsn_mov_to_cr(copy, n, (unsigned)mode, &cr, &gpr, &len))
        CHECK(!rc && in.len == len && in.map == INSN_MAP_0F && in.opcode == 0x22);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        struct insn in;
        CHECK(decode_insn(data, 0, CPU_MODE_64, &in) == DECODE_ETRUNC);
        return 0;
    }
    one_mode(data, size, CPU_MODE_16);
    one_mode(data, size, CPU_MODE_32);
    one_mode(data, size, CPU_MODE_64);
    kernel_agrees(data, size, CPU_MODE_16);
    kernel_agrees(data, size, CPU_MODE_32);
    kernel_agrees(data, size, CPU_MODE_64);
    return 0;
}
