/*
 * Host tests for vmm/decode.c, lengths (the MMIO side is in
 * test_decode_mmio.c):
 *  - hand-written cases across modes and prefixes, the tricky corners,
 *    limits and errors;
 *  - binutils: every instruction in tests/host/decode_cases.h (made by
 *    gen_decode_cases.sh with as + objdump) must decode to objdump's length.
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

#include "decode_cases.h"

#include "decode_test_util.h"

/* ---- lengths -------------------------------------------------------------------- */

struct len_case {
    int mode;
    const char *hex;
    int want;               /* length, or a DECODE_E* code */
    const char *what;
};

#define PFX14 "66 67 2e 3e 26 36 64 65 f0 f2 f3 66 67 2e "

static const struct len_case len_cases[] = {
    /* intercepted instructions */
    { 64, "0f a2", 2, "cpuid" },
    { 64, "f4", 1, "hlt" },
    { 64, "0f 32", 2, "rdmsr" },
    { 64, "0f 30", 2, "wrmsr" },
    { 64, "0f 01 d9", 3, "vmmcall" },
    { 64, "0f 01 c1", 3, "vmcall" },
    { 64, "0f 08", 2, "invd" },
    { 64, "0f 01 d1", 3, "xsetbv" },
    { 64, "0f 20 00", 3, "mov %cr0,%rax: ModRM.mod ignored, no disp" },
    { 64, "0f 22 45", 3, "mov %rbp,%cr0 with mod=01: still no disp8" },
    { 64, "44 0f 20 c0", 4, "mov %cr8,%rax" },
    { 32, "f0 0f 20 c0", 4, "lock mov %cr0 (AMD alias of cr8)" },
    { 64, "0f 23 f8", 3, "mov %rax,%db7" },
    { 32, "0f 24 c0", 3, "mov %tr0,%eax (386)" },
    { 64, "0f 24 c0", DECODE_EINVAL, "no MOV TR in 64-bit mode" },
    { 64, "e4 60", 2, "in $0x60,%al" },
    { 64, "66 e7 80", 3, "out %ax,$0x80" },
    { 64, "ec", 1, "in (%dx),%al" },
    { 64, "f3 6c", 2, "rep insb" },
    { 64, "f3 66 6f", 3, "rep outsw" },
    { 16, "66 f3 6d", 3, "rep insl (16-bit)" },
    { 64, "0f 01 d8", 3, "vmrun" },
    { 64, "0f 0b", 2, "ud2 decodes (the CPU raises #UD)" },
    /* 66 with immediates */
    { 64, "66 b8 34 12", 4, "mov $imm16,%ax" },
    { 64, "b8 78 56 34 12", 5, "mov $imm32,%eax" },
    { 64, "48 b8 88 77 66 55 44 33 22 11", 10, "REX.W B8: imm64" },
    { 64, "66 48 b8 88 77 66 55 44 33 22 11", 11, "REX.W beats 66" },
    { 64, "48 66 b8 34 12", 5, "REX voided by a later 66" },
    { 64, "41 b0 12", 3, "mov $imm8,%r8b" },
    { 64, "66 81 c0 34 12", 5, "add $imm16,%ax" },
    { 64, "48 81 c0 78 56 34 12", 7, "add $imm32,%rax" },
    { 64, "66 83 c0 12", 4, "add $imm8,%ax" },
    { 64, "66 69 c0 34 12", 5, "imul $imm16" },
    { 64, "6b c0 12", 3, "imul $imm8" },
    { 64, "68 78 56 34 12", 5, "push $imm32" },
    { 64, "66 68 34 12", 4, "pushw $imm16" },
    { 64, "66 05 34 12", 4, "add $imm16,%ax (short form)" },
    { 32, "66 b8 34 12", 4, "mov $imm16,%ax (32-bit)" },
    { 16, "b8 34 12", 3, "mov $imm16,%ax (16-bit)" },
    { 16, "66 b8 78 56 34 12", 6, "mov $imm32,%eax (16-bit)" },
    { 16, "66 69 c0 78 56 34 12", 7, "imul $imm32 (16-bit)" },
    { 16, "c7 06 34 12 78 56", 6, "movw $imm16,0x1234" },
    { 16, "66 c7 06 34 12 78 56 34 12", 9, "movl $imm32,0x1234" },
    /* group 3: TEST has an immediate, the others don't */
    { 64, "f6 c0 12", 3, "test $imm8,%al" },
    { 64, "f6 c8 12", 3, "F6 /1: TEST alias" },
    { 64, "f6 d0", 2, "not %al" },
    { 64, "f6 e0", 2, "mul %al" },
    { 64, "f7 c0 78 56 34 12", 6, "test $imm32,%eax" },
    { 64, "66 f7 c0 34 12", 5, "test $imm16,%ax" },
    { 64, "f7 d8", 2, "neg %eax" },
    { 64, "f7 05 00 00 00 00 78 56 34 12", 10, "testl $imm32,0(%rip)" },
    { 16, "f7 06 34 12 78 56", 6, "testw $imm16,0x1234 (16-bit)" },
    { 64, "f7 30", 2, "div (%rax)" },
    /* ModRM forms, 67 */
    { 64, "8b 05 78 56 34 12", 6, "RIP-relative" },
    { 64, "67 8b 05 78 56 34 12", 7, "EIP-relative" },
    { 64, "41 8b 05 78 56 34 12", 7, "REX.B does not turn RIP-relative into r13" },
    { 64, "41 8b 45 00", 4, "r13 needs disp8" },
    { 64, "41 8b 04 24", 4, "r12 needs a SIB" },
    { 64, "8b 04 25 78 56 34 12", 7, "SIB without base or index: disp32" },
    { 64, "8b 04 e5 78 56 34 12", 7, "SIB index*8, no base" },
    { 64, "43 8b 04 e5 78 56 34 12", 8, "SIB index r12, no base" },
    { 64, "8b 44 25 10", 4, "SIB base rbp, mod=01" },
    { 64, "8b 84 24 78 56 34 12", 7, "SIB base rsp, disp32" },
    { 32, "8b 05 78 56 34 12", 6, "absolute disp32 (32-bit)" },
    { 32, "67 8b 00", 3, "67 in 32-bit: (%bx,%si)" },
    { 32, "67 8b 06 34 12", 5, "67 in 32-bit: disp16" },
    { 32, "67 8b 46 10", 4, "67 in 32-bit: bp+disp8" },
    { 32, "67 8b 86 34 12", 5, "67 in 32-bit: bp+disp16" },
    { 32, "67 8b 04", 3, "67 in 32-bit: rm=4 is (%si), no SIB" },
    { 16, "8b 06 34 12", 4, "disp16 (16-bit)" },
    { 16, "8b 46 10", 3, "bp+disp8 (16-bit)" },
    { 16, "8b 04", 2, "(%si) (16-bit)" },
    { 16, "67 8b 04 24", 4, "67 in 16-bit: SIB" },
    { 16, "67 8b 05 78 56 34 12", 7, "67 in 16-bit: disp32" },
    { 16, "67 8b 44 24 10", 5, "67 in 16-bit: SIB + disp8" },
    /* moffs */
    { 64, "a0 88 77 66 55 44 33 22 11", 9, "mov moffs64,%al" },
    { 64, "48 a1 88 77 66 55 44 33 22 11", 10, "mov moffs64,%rax" },
    { 64, "67 a0 78 56 34 12", 6, "67: moffs32" },
    { 64, "66 a3 88 77 66 55 44 33 22 11", 10, "66 does not shrink moffs" },
    { 32, "a1 78 56 34 12", 5, "moffs32 (32-bit)" },
    { 32, "67 a1 34 12", 4, "67: moffs16 (32-bit)" },
    { 16, "a2 34 12", 3, "moffs16 (16-bit)" },
    { 16, "67 a2 78 56 34 12", 6, "67: moffs32 (16-bit)" },
    /* ENTER, RET, far transfers, near branches */
    { 64, "c8 10 00 01", 4, "enter $16,$1" },
    { 16, "66 c8 10 00 01", 5, "enter with 66" },
    { 64, "c2 08 00", 3, "ret $8" },
    { 64, "66 c2 08 00", 4, "ret $8 with 66: still imm16" },
    { 32, "ca 08 00", 3, "lret $8" },
    { 32, "9a 78 56 34 12 10 00", 7, "lcall ptr16:32" },
    { 32, "66 9a 34 12 10 00", 6, "lcall ptr16:16 (32-bit)" },
    { 16, "9a 34 12 10 00", 5, "lcall ptr16:16" },
    { 16, "66 ea 78 56 34 12 10 00", 8, "ljmp ptr16:32 (16-bit)" },
    { 64, "9a 78 56 34 12 10 00", DECODE_EINVAL, "no far direct call in 64-bit" },
    { 64, "ea 78 56 34 12 10 00", DECODE_EINVAL, "no far direct jmp in 64-bit" },
    { 64, "ff 18", 2, "lcall *(%rax)" },
    { 64, "e8 78 56 34 12", 5, "call rel32" },
    { 64, "66 e8 78 56 34 12", 6, "66 call: rel32 in 64-bit (Intel)" },
    { 64, "0f 84 78 56 34 12", 6, "je rel32" },
    { 64, "66 0f 84 78 56 34 12", 7, "66 je: rel32 in 64-bit (Intel)" },
    { 32, "66 e8 34 12", 4, "call rel16 (32-bit with 66)" },
    { 32, "66 0f 84 34 12", 5, "je rel16 (32-bit with 66)" },
    { 16, "e9 34 12", 3, "jmp rel16" },
    { 16, "66 e9 78 56 34 12", 6, "jmp rel32 (16-bit)" },
    { 64, "e3 10", 2, "jrcxz" },
    { 64, "c7 f8 78 56 34 12", 6, "xbegin rel32" },
    { 64, "66 c7 f8 34 12", 5, "xbegin rel16" },
    { 64, "c6 f8 12", 3, "xabort" },
    /* 0F38 / 0F3A / 3DNow! / SSE4a */
    { 64, "66 0f 38 00 c1", 5, "pshufb" },
    { 64, "66 0f 38 00 44 24 10", 7, "pshufb 0x10(%rsp)" },
    { 64, "f2 0f 38 f1 c1", 5, "crc32" },
    { 64, "66 0f 3a 0f c1 04", 6, "palignr $4" },
    { 64, "66 48 0f 3a 16 c0 01", 7, "pextrq $1" },
    { 64, "66 0f 3a 0f 04 24 08", 7, "palignr $8,(%rsp)" },
    { 64, "66 0f 3a 20 05 00 00 00 00 01", 10, "pinsrb RIP-relative + imm8" },
    { 64, "0f 0f c1 9e", 4, "3DNow! pfadd" },
    { 64, "0f 0f 44 24 10 9e", 6, "3DNow! with SIB+disp8" },
    { 64, "66 0f 78 c0 04 08", 6, "extrq $4,$8" },
    { 64, "f2 0f 78 c1 04 08", 6, "insertq $4,$8" },
    { 64, "0f 78 c8", 3, "vmread" },
    { 64, "66 0f 79 c1", 4, "extrq %xmm1" },
    { 64, "f3 0f 1e fa", 4, "endbr64" },
    { 64, "0f ff 00", 3, "ud0 (Intel: ModRM)" },
    { 64, "0f ba 20 05", 4, "bt $5,(%rax)" },
    /* VEX / EVEX / XOP */
    { 64, "c5 fc 58 c1", 4, "vaddps %ymm1" },
    { 64, "c5 f8 77", 3, "vzeroupper: no ModRM" },
    { 64, "c4 e1 7c 77", 4, "vzeroall (VEX3)" },
    { 64, "c4 e3 7d 38 c1 01", 6, "vinserti128 $1" },
    { 64, "c4 e2 7d 18 00", 5, "vbroadcastss (%rax)" },
    { 64, "c4 43 7d 00 44 24 10 1b", 8, "vpermq $0x1b,0x10(%r12)" },
    { 64, "c5 f9 70 c1 1b", 5, "vpshufd $0x1b (VEX map 1 imm8)" },
    { 32, "c5 fc 58 c1", 4, "VEX in 32-bit" },
    { 32, "c4 00", 2, "les (%eax) in 32-bit" },
    { 32, "c5 05 34 12 00 00", 6, "lds 0x1234 in 32-bit" },
    { 32, "c5 06", 2, "lds (%esi) in 32-bit" },
    { 32, "62 00", 2, "bound in 32-bit" },
    { 64, "62 f1 74 48 58 c2", 6, "vaddps %zmm2" },
    { 64, "62 f1 74 48 58 40 01", 7, "vaddps disp8*N" },
    { 64, "62 f3 75 48 25 c2 ff", 7, "vpternlogd $0xff" },
    { 64, "62 f5 74 48 58 c2", 6, "vaddph (EVEX map 5)" },
    { 64, "62 f1 7c 48 7b c1", 6, "EVEX 0F 7B (vcvtpd2qq family)" },
    { 32, "62 f1 74 48 58 c2", 6, "EVEX in 32-bit" },
    { 64, "62 f4 7c 08 01 c0", DECODE_EINVAL, "EVEX map 4 (APX): not decoded" },
    { 64, "62 f1 7c 48 77", DECODE_EINVAL, "no EVEX vzeroupper" },
    { 64, "c4 e4 7d 00 c0", DECODE_EINVAL, "VEX map 4" },
    { 64, "c4 e5 7d 00 c0", DECODE_EINVAL, "VEX map 5 is EVEX-only" },
    { 64, "c5 f8 05", DECODE_EINVAL, "no VEX syscall" },
    { 64, "66 c5 f8 77", DECODE_EINVAL, "66 before VEX" },
    { 64, "f3 c5 f8 77", DECODE_EINVAL, "F3 before VEX" },
    { 64, "48 c5 f8 77", DECODE_EINVAL, "REX before VEX" },
    { 64, "f0 62 f1 74 48 58 c2", DECODE_EINVAL, "LOCK before EVEX" },
    { 64, "2e c5 f8 77", 4, "segment prefix before VEX is fine" },
    { 64, "8f e8 78 c0 c1 01", 6, "XOP vprotb $1" },
    { 64, "8f ea 78 10 c0 78 56 34 12", 9, "XOP bextr $imm32" },
    { 64, "8f e9 78 80 c1", 5, "XOP vfrczps" },
    { 64, "8f c0", 2, "pop %rax" },
    { 64, "8f 00", 2, "pop (%rax)" },
    { 64, "8f e7 78 00 c0", DECODE_EINVAL, "XOP map 7: POP /4 is undefined" },
    /* other validity rules */
    { 32, "06", 1, "push %es" },
    { 64, "06", DECODE_EINVAL, "push %es in 64-bit" },
    { 64, "d6", DECODE_EINVAL, "salc in 64-bit" },
    { 32, "d6", 1, "salc" },
    { 32, "d5 0a", 2, "aad" },
    { 64, "d5 00 90", DECODE_EINVAL, "APX REX2: not decoded" },
    { 64, "82 c0 12", DECODE_EINVAL, "82 in 64-bit" },
    { 32, "82 c0 12", 3, "82 alias of 80" },
    { 64, "0f 04", DECODE_EINVAL, "0F 04" },
    { 64, "0f 0a", DECODE_EINVAL, "0F 0A" },
    { 64, "0f 25 c0", DECODE_EINVAL, "0F 25" },
    { 64, "fe d0", DECODE_EINVAL, "FE /2" },
    { 64, "ff f8", DECODE_EINVAL, "FF /7" },
    { 64, "c6 c8 12", DECODE_EINVAL, "C6 /1" },
    { 64, "c7 f9 00 00 00 00", DECODE_EINVAL, "C7 /7 other than F8" },
    { 32, "40", 1, "inc %eax (not REX outside 64-bit)" },
    { 32, "48 b8 78 56 34 12", 1, "dec %eax, then a new instruction" },
    { 64, "40 40 90", 3, "two REX: the last counts" },
    { 64, "f0 83 00 01", 4, "lock addl" },
    { 64, "9b", 1, "fwait is an instruction of its own" },
    /* the 15-byte limit and truncation */
    { 64, PFX14 "90", 15, "14 prefixes + nop" },
    { 64, PFX14 "67 90", DECODE_ETOOLONG, "15 prefixes + nop" },
    { 64, "66 66 66 66 66 48 b8 88 77 66 55 44 33 22 11", 15, "5 prefixes + REX.W mov imm64" },
    { 64, "66 66 66 66 66 66 48 b8 88 77 66 55 44 33 22 11", DECODE_ETOOLONG, "16 bytes" },
    { 64, "2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e", DECODE_ETOOLONG, "prefixes only" },
    { 32, "64 f0 2e 3e 81 84 24 78 56 34 12 78 56 34 12", 15, "15 bytes exactly (32-bit)" },
    { 32, "64 67 66 f0 81 84 24 78 56 34 12", 10, "67 66: (%si)+disp16, imm16" },
    { 32, "64 f0 2e 3e 3e 81 84 24 78 56 34 12 78 56 34 12", DECODE_ETOOLONG, "16 bytes (32-bit)" },
    { 64, "", DECODE_ETRUNC, "nothing" },
    { 64, "66", DECODE_ETRUNC, "prefix only" },
    { 64, "0f", DECODE_ETRUNC, "escape only" },
    { 64, "0f 38", DECODE_ETRUNC, "0F 38 only" },
    { 64, "e8 12 34", DECODE_ETRUNC, "rel32 cut" },
    { 64, "8b 04", DECODE_ETRUNC, "SIB missing" },
    { 64, "8b 80 00", DECODE_ETRUNC, "disp32 cut" },
    { 64, "c4", DECODE_ETRUNC, "VEX3 cut" },
    { 32, "c4", DECODE_ETRUNC, "LES or VEX? needs the next byte" },
    { 64, "62 f1 74", DECODE_ETRUNC, "EVEX cut" },
    { 64, "48 b8 88 77 66 55 44 33 22", DECODE_ETRUNC, "imm64 cut" },
};

static void test_lengths(void **state)
{
    unsigned i, bad = 0;
    struct insn in;
    int rc;

    for (i = 0; i < NELEM(len_cases); i++) {
        const struct len_case *c = &len_cases[i];
        rc = decode_hex(c->hex, c->mode, &in);
        if (rc == 0)
            rc = in.len;
        if (rc != c->want) {
            print_message("mode %d [%s] %s: got %d (%s), want %d\n", c->mode, c->hex,
                          c->what, rc, rc < 0 ? decode_strerror(rc) : "len", c->want);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* Each successful decode: exact avail decodes the same, one byte less is
 * ETRUNC, more bytes after it change nothing. */
static void test_truncation_consistency(void **state)
{
    unsigned i, n;
    uint8_t b[64];
    struct insn in, in2;

    for (i = 0; i < NELEM(len_cases); i++) {
        if (len_cases[i].want <= 0)
            continue;
        n = (unsigned)unhex(len_cases[i].hex, b, sizeof(b));
        assert_int_equal(decode_exact(b, n, len_cases[i].mode, &in), 0);
        assert_int_equal(decode_exact(b, in.len, len_cases[i].mode, &in2), 0);
        assert_memory_equal(&in, &in2, sizeof(in));
        assert_int_equal(decode_exact(b, in.len - 1u, len_cases[i].mode, &in2), DECODE_ETRUNC);
        memset(b + n, 0xc4, sizeof(b) - n);
        assert_int_equal(decode_insn(b, sizeof(b), len_cases[i].mode, &in2), 0);
        assert_int_equal(in2.len, in.len);
    }
    assert_int_equal(decode_insn(b, 15, (enum cpu_mode)17, &in), DECODE_EINVAL);
}

/* ---- binutils cross-check ------------------------------------------------------- */

static void test_binutils_list(void **state)
{
    unsigned i, bad = 0, n;
    uint8_t b[32];
    struct insn in;
    int rc;

    for (i = 0; i < NELEM(decode_binutils_cases); i++) {
        const struct binutils_case *c = &decode_binutils_cases[i];
        n = (unsigned)unhex(c->hex, b, sizeof(b));
        rc = decode_exact(b, n, c->mode, &in);
        if (rc || in.len != n) {
            print_message("mode %d %s (%s): got %d len %u, want %u\n", c->mode, c->hex,
                          c->text, rc, in.len, n);
            bad++;
        } else if (decode_exact(b, n - 1, c->mode, &in) != DECODE_ETRUNC) {
            print_message("mode %d %s (%s): not ETRUNC with a byte less\n", c->mode, c->hex, c->text);
            bad++;
        }
    }
    print_message("binutils list: %u instructions\n", i);
    assert_int_equal(bad, 0);
}

/* Where objdump and the CPU disagree (SDM 2.3.2, and FWAIT): objdump
 * accepts 66/F2/F3/F0/REX before VEX/EVEX/XOP (#UD), and shows FWAIT (9B)
 * together with the x87 instruction after it. */
static bool known_divergence(const uint8_t *b, size_t n, int mode, int want, int rc,
                             const struct insn *in)
{
    size_t i = 0;
    bool bad_pfx = false;
    struct insn rest;

    while (i < n && (seg_of_prefix(b[i]) >= 0 || b[i] == 0x66 || b[i] == 0x67 ||
                     b[i] == 0xf0 || b[i] == 0xf2 || b[i] == 0xf3 ||
                     (mode == 64 && (b[i] & 0xf0) == 0x40))) {
        bad_pfx |= b[i] != 0x67 && seg_of_prefix(b[i]) < 0;
        i++;
    }
    if (i >= n)
        return false;
    if (rc == DECODE_EINVAL && bad_pfx &&
        (b[i] == 0xc4 || b[i] == 0xc5 || b[i] == 0x62 || b[i] == 0x8f))
        return true;
    if (rc == 0 && b[i] == 0x9b && in->len == i + 1)
        return decode_insn(b + i + 1, n - i - 1, (enum cpu_mode)mode, &rest) == 0 &&
               rest.len == want - (int)(i + 1);
    return false;
}

static void check_stream(int mode, const char *hex, const char *lens, unsigned *checked,
                         unsigned *diverged)
{
    size_t n = strlen(hex) / 2, off, avail;
    uint8_t *b = malloc(n);
    unsigned bad = 0;
    struct insn in;
    int rc, want;

    assert_non_null(b);
    assert_int_equal(unhex(hex, b, n), n);
    assert_int_equal(strlen(lens), n);
    for (off = 0; off < n; off++) {
        if (lens[off] == '.')
            continue;
        want = hexval(lens[off]);
        avail = n - off < 15 ? n - off : 15;
        rc = decode_insn(b + off, avail, (enum cpu_mode)mode, &in);
        (*checked)++;
        if (rc == 0 && in.len == want)
            continue;
        if (known_divergence(b + off, avail, mode, want, rc, &in)) {
            (*diverged)++;
            continue;
        }
        print_message("stream %d @0x%zx: got %d len %u, want %d\n", mode, off, rc, in.len, want);
        bad++;
    }
    free(b);
    assert_int_equal(bad, 0);
}

static void test_binutils_streams(void **state)
{
    unsigned checked = 0, diverged = 0;

    check_stream(64, decode_stream64, decode_stream64_len, &checked, &diverged);
    check_stream(32, decode_stream32, decode_stream32_len, &checked, &diverged);
    check_stream(16, decode_stream16, decode_stream16_len, &checked, &diverged);
    print_message("binutils streams: %u offsets, %u known divergences\n", checked, diverged);
    assert_true(checked > 4000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_truncation_consistency),
        cmocka_unit_test(test_binutils_list),
        cmocka_unit_test(test_binutils_streams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
