/*
 * The x86 instruction decoder (decode.c, decode_mmio.c).  Pure functions:
 * any CPU, no locks, no allocation; builds freestanding and for the host.
 *
 * The monitor's (the kernel has only kernel/insn.c for its fast paths).
 * Two uses:
 *  - instruction length after an intercept when the CPU does not report it
 *    (SVM without NRIP-save, e.g. QEMU TCG): the kernel sends up to 15
 *    bytes at the guest RIP, decode_insn() measures them (vmm_handle_exit);
 *  - MMIO emulation after an EPT violation / NPF on a device page: the
 *    same call fills insn.mmio, and the helpers below move data between the
 *    device and the guest registers:
 *
 *        decode_insn(bytes, n, mode, &in);      // 0, or a DECODE_E* code
 *        if (in.mmio.op == INSN_OP_NONE) -> not emulated (inject #UD / stop)
 *        old = in.mmio.read ? device_read(gpa, in.mmio.size) : 0;
 *        if (in.mmio.write)
 *            device_write(gpa, in.mmio.size, insn_mmio_store_value(&in, &regs, old));
 *        insn_mmio_apply(&in, &regs, old);     // destination register, RFLAGS
 *        regs.rip += in.len;                   // (wrap to 16/32 bits outside 64-bit mode)
 *
 *    String instructions (MOVS/STOS/LODS) have one element per iteration:
 *    the caller loops insn_string_count() times (it knows which side of a
 *    MOVS is the device page), then calls insn_string_advance().
 *
 * Coverage: every opcode of the one-byte, 0F, 0F38 and 0F3A maps with all
 * legacy prefixes and REX, and VEX (C4/C5), EVEX (62) and AMD XOP (8F)
 * encodings, in 16-, 32- and 64-bit code; also 3DNow! (0F 0F), SSE4a
 * EXTRQ/INSERTQ, VIA PadLock (0F A6/A7) and 386 MOV TR (0F 24/26).
 * 0F38/0F3A/VEX/EVEX opcodes are decoded by the shape of their map (ModRM,
 * imm8 where the map has one), not checked one by one against the list of
 * defined instructions, nor are undefined ModRM forms (LEA with a register,
 * x87 holes): such an instruction raises #UD on the CPU and never reaches
 * the hypervisor.  Semantics follow the Intel SDM where vendors differ: a
 * 66 prefix on a near branch (E8/E9/0F 8x) in 64-bit mode is ignored
 * (rel32), 0F FF (UD0) takes a ModRM.  66/F2/F3/LOCK/REX before VEX/EVEX/XOP
 * is #UD (DECODE_EINVAL), and FWAIT (9B) is an instruction of its own.
 * Not decoded (DECODE_EINVAL): APX REX2 (D5 in 64-bit mode) and EVEX map 4,
 * VEX map 7.  Cross-checked against GNU binutils by tests/host/test_decode.c.
 */
#ifndef ARCH_DECODE_H
#define ARCH_DECODE_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <arch/vcpu.h>

#define INSN_MAX_LEN 15         /* longer raises #GP (SDM 2, 2.3.11) */

/* Default operand/address size of the code being decoded: real and
 * virtual-8086 mode and 16-bit protected mode (CS.D=0) are 16; CS.D=1 is
 * 32; long mode with CS.L=1 is 64. */
enum cpu_mode { CPU_MODE_16 = 16, CPU_MODE_32 = 32, CPU_MODE_64 = 64 };

/* The mode from guest state: CR0, EFER, the CS access rights in the VMX
 * layout (vcpu_seg.ar: L bit 13, D/B bit 14) and RFLAGS (VM bit 17). */
enum cpu_mode decode_cpu_mode(uint64_t cr0, uint64_t efer, uint32_t cs_ar, uint64_t rflags);

/* decode_insn() results */
enum decode_err {
    DECODE_OK       = 0,
    DECODE_ETRUNC   = -1,   /* needs bytes beyond `avail` (fetch the next page) */
    DECODE_ETOOLONG = -2,   /* would exceed 15 bytes: the CPU raises #GP */
    DECODE_EINVAL   = -3,   /* undefined in this mode (#UD), or not decoded (above) */
};
const char *decode_strerror(int err);

enum insn_enc { INSN_ENC_LEGACY, INSN_ENC_VEX, INSN_ENC_EVEX, INSN_ENC_XOP };

/* insn.map: opcode map */
#define INSN_MAP_1BYTE  0
#define INSN_MAP_0F     1
#define INSN_MAP_0F38   2
#define INSN_MAP_0F3A   3
/* EVEX maps 5 and 6 (FP16) and XOP maps 8, 9, 10 keep their numbers. */

/* insn.prefixes */
#define INSN_P_LOCK     0x01    /* F0 */
#define INSN_P_REPNE    0x02    /* F2 seen */
#define INSN_P_REP      0x04    /* F3 seen */
#define INSN_P_OPSZ     0x08    /* 66 */
#define INSN_P_ADSZ     0x10    /* 67 */

/* Segment registers (override prefix, effective segment of an operand) */
enum insn_seg {
    INSN_SEG_ES, INSN_SEG_CS, INSN_SEG_SS, INSN_SEG_DS, INSN_SEG_FS, INSN_SEG_GS,
    INSN_SEG_NONE = 0xff
};

/* GPR numbers are the encoding's: 0 RAX 1 RCX 2 RDX 3 RBX 4 RSP 5 RBP 6 RSI
 * 7 RDI 8-15 R8-R15 (not the field order of struct vcpu_gprs). */
#define INSN_REG_NONE   0xff
#define INSN_REG_RIP    0xfe    /* mem.base of a RIP-relative operand */

/* A memory operand (ModRM, moffs or string source/destination). */
struct insn_mem {
    uint8_t base;       /* GPR, INSN_REG_RIP or INSN_REG_NONE */
    uint8_t index;      /* GPR or INSN_REG_NONE */
    uint8_t scale;      /* 1, 2, 4, 8 */
    uint8_t seg;        /* effective segment: override, else DS or SS
                           (rBP/rSP base), enum insn_seg */
    uint64_t disp;      /* displacement sign-extended to 64 bits; moffs
                           zero-extended; EVEX disp8 is not scaled by N */
};

/* What an MMIO access does (insn.mmio.op). ADD..CMP are in group-1 order. */
enum insn_op {
    INSN_OP_NONE = 0,   /* no memory operand nethv emulates */
    INSN_OP_ADD, INSN_OP_OR, INSN_OP_ADC, INSN_OP_SBB,
    INSN_OP_AND, INSN_OP_SUB, INSN_OP_XOR, INSN_OP_CMP,
    INSN_OP_TEST,
    INSN_OP_INC, INSN_OP_DEC, INSN_OP_NOT, INSN_OP_NEG,
    INSN_OP_MOV,        /* load (mem_dst false) or store of reg / imm */
    INSN_OP_MOVZX,      /* load, zero-extended from size to reg_size */
    INSN_OP_MOVSX,      /* load, sign-extended (also MOVSXD) */
    INSN_OP_XCHG,       /* reg <-> mem */
    INSN_OP_MOVS,       /* mem[rDI] <- mem[rSI], per element */
    INSN_OP_STOS,       /* mem[rDI] <- rAX */
    INSN_OP_LODS,       /* rAX <- mem[rSI] */
    INSN_OP__COUNT
};

struct insn_mmio {
    uint8_t op;         /* enum insn_op */
    uint8_t size;       /* bytes accessed in memory: 1, 2, 4, 8 */
    uint8_t reg_size;   /* register operand width; != size only for MOVZX/MOVSX */
    uint8_t reg;        /* register operand (GPR number; 0 for moffs and string) */
    bool reg_high8;     /* the register is AH/CH/DH/BH: bits 15:8 of reg 0-3 */
    bool mem_dst;       /* memory is the destination (stores, RMW ALU, CMP m,r) */
    bool src_imm;       /* the other operand is insn.imm, not reg */
    bool read;          /* the device must be read first */
    bool write;         /* a value must be written (insn_mmio_store_value) */
    bool writes_reg;    /* insn_mmio_apply() changes a GPR */
    bool writes_flags;  /* insn_mmio_apply() changes RFLAGS */
    bool rep;           /* string instruction with REP (F3 or F2) */
};

struct insn {
    uint8_t len;        /* total length in bytes, 1-15 */
    uint8_t mode;       /* enum cpu_mode */
    uint8_t enc;        /* enum insn_enc */
    uint8_t map;        /* INSN_MAP_* */
    uint8_t opcode;     /* the opcode byte within its map */
    uint8_t opsize;     /* operand size from mode, 66 and REX.W/VEX.W: 2, 4, 8
                           (instructions with a fixed size keep the rule) */
    uint8_t addrsize;   /* address size from mode and 67: 2, 4, 8 */
    uint8_t prefixes;   /* INSN_P_* */
    uint8_t rep;        /* the last F2/F3 byte (the one that counts), or 0 */
    uint8_t seg_override; /* enum insn_seg: the last override prefix */
    uint8_t rex;        /* legacy REX byte (0x40-0x4f) in effect, or 0 */
    bool rex_w, rex_r, rex_x, rex_b;    /* from REX, VEX, EVEX or XOP */
    bool has_modrm, has_sib, has_mem;   /* has_mem: a memory operand in mem */
    uint8_t modrm, sib;
    uint8_t disp_size;  /* displacement (or moffs) bytes: 0, 1, 2, 4, 8 */
    uint8_t imm_size;   /* bytes of the first immediate: 0, 1, 2, 4, 8 */
    uint8_t imm2_size;  /* bytes of the second (ENTER level, far selector,
                           EXTRQ/INSERTQ index): 0, 1, 2 */
    uint64_t imm;       /* first immediate, sign-extended from imm_size bytes */
    uint16_t imm2;      /* second immediate, zero-extended */
    struct insn_mem mem;
    struct insn_mmio mmio;
};

/*
 * Decode the instruction at bytes[0..avail) (avail may exceed 15; at most
 * 15 bytes are read, never more than avail) in `mode`.  0 with *out filled,
 * or a negative DECODE_E* code (*out then holds nothing useful).
 */
int decode_insn(const uint8_t *bytes, size_t avail, enum cpu_mode mode, struct insn *out);

/* ---- MMIO emulation helpers (decode_mmio.c) -------------------------------
 * They work on struct vcpu_regs (RSP is not in struct vcpu_gprs).  Register
 * writes follow the CPU: 8/16-bit writes merge into the old value, 32-bit
 * writes zero-extend to 64 bits (architecturally undefined outside 64-bit
 * mode, where hardware zeroes too), 64-bit writes replace. */

/* RFLAGS bits computed by the ALU helper */
#define INSN_FL_CF      (1ull << 0)
#define INSN_FL_PF      (1ull << 2)
#define INSN_FL_AF      (1ull << 4)
#define INSN_FL_ZF      (1ull << 6)
#define INSN_FL_SF      (1ull << 7)
#define INSN_FL_DF      (1ull << 10)
#define INSN_FL_OF      (1ull << 11)
#define INSN_FL_ARITH   (INSN_FL_CF | INSN_FL_PF | INSN_FL_AF | INSN_FL_ZF | INSN_FL_SF | INSN_FL_OF)

/* GPR `reg` (encoding number) at `size` bytes; high8: AH/CH/DH/BH of reg 0-3. */
static inline uint64_t insn_size_mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}
extern const uint8_t insn_gpr_offset[16];      /* struct vcpu_regs: offset of GPR n */
uint64_t insn_gpr_read(const struct vcpu_regs *r, unsigned reg, unsigned size, bool high8);
/* (from here on: vmm/insn_emul.c, the monitor's) */
void insn_gpr_write(struct vcpu_regs *r, unsigned reg, unsigned size, bool high8, uint64_t val);

/* One ALU operation at `size` bytes: *result = a OP b (INC/DEC/NOT/NEG use
 * only a; ADC/SBB take CF from rflags); returns RFLAGS with CF PF AF ZF SF
 * OF as the instruction leaves them (AF after logic ops: 0; NOT: unchanged).
 * `op` is an enum insn_op from INSN_OP_ADD to INSN_OP_NEG. */
uint64_t insn_alu(unsigned op, unsigned size, uint64_t a, uint64_t b, uint64_t rflags,
                  uint64_t *result);

/* The value to write to the device (mmio.write): the register or immediate
 * of a store, the result of a read-modify-write given the old device value,
 * rAX for STOS, `mem_old` (the source element) for MOVS.  Call it before
 * insn_mmio_apply() (ADC/SBB read CF). */
uint64_t insn_mmio_store_value(const struct insn *in, const struct vcpu_regs *r, uint64_t mem_old);

/* Complete the instruction given the value read from the device (0 if
 * !mmio.read): write the destination register and RFLAGS.  RIP, rSI/rDI/rCX
 * untouched.  0, or -1 if mmio.op is INSN_OP_NONE. */
int insn_mmio_apply(const struct insn *in, struct vcpu_regs *r, uint64_t mem_val);

/* String instructions: iterations left (rCX at the address size with REP,
 * else 1), and moving rSI/rDI by n elements (down if RFLAGS.DF) and, with
 * REP, counting rCX down by n. */
uint64_t insn_string_count(const struct insn *in, const struct vcpu_regs *r);
void insn_string_advance(const struct insn *in, struct vcpu_regs *r, uint64_t n);

/* Offset of the memory operand within its segment (mem.seg), wrapped to
 * the address size; RIP-relative counts from r->rip + in->len, so r->rip
 * must be the instruction's address.  false if there is no ModRM/moffs
 * memory operand (string operands: rSI/rDI). */
bool insn_mem_offset(const struct insn *in, const struct vcpu_regs *r, uint64_t *off);

/* Internal: decode.c calls it to fill in->mmio. */
void decode_mmio_classify(struct insn *in);

#endif
