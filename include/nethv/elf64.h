/* ELF64 (System V gABI; x86-64 psABI): the headers nethv's loaders read --
 * the UEFI loader (the kernel), user.c (programs at CPL 3), the KVM peer's
 * PVH boot shim. */
#ifndef NETHV_ELF64_H
#define NETHV_ELF64_H
#include <stdint.h>

struct elf64_ehdr {
    uint8_t ident[16];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

#define ELF_PT_LOAD     1
#define ELF_PF_X        1
#define ELF_PF_W        2
#define ELF_ET_EXEC     2
#define ELF_EM_X86_64   62
#endif
