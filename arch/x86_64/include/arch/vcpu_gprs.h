/*
 * Byte offsets of the guest GPRs in struct vcpu_gprs (arch/vcpu.h), for the
 * VMX and SVM entry stubs; vcpu.h asserts they match the struct.
 */
#ifndef ARCH_VCPU_GPRS_H
#define ARCH_VCPU_GPRS_H
#define VCPU_GPR_RAX 0x00
#define VCPU_GPR_RBX 0x08
#define VCPU_GPR_RCX 0x10
#define VCPU_GPR_RDX 0x18
#define VCPU_GPR_RSI 0x20
#define VCPU_GPR_RDI 0x28
#define VCPU_GPR_RBP 0x30
#define VCPU_GPR_R8  0x38
#define VCPU_GPR_R9  0x40
#define VCPU_GPR_R10 0x48
#define VCPU_GPR_R11 0x50
#define VCPU_GPR_R12 0x58
#define VCPU_GPR_R13 0x60
#define VCPU_GPR_R14 0x68
#define VCPU_GPR_R15 0x70
#endif
