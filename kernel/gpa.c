/*
 * The guest-memory boundary: every access to guest memory by the kernel or
 * a monitor goes through these checked translations (range and overflow),
 * nothing else dereferences guest-physical addresses.
 */
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <nethv/vm.h>
#include <nethv/vmm_if.h>
#include <arch/regs.h>

void *vm_gpa_ptr(struct vm *vm, uint64_t gpa, uint64_t len)
{
    if (gpa + len < gpa)
        return NULL;
    for (unsigned i = 0; i < vm->nram; i++) {
        const struct vm_ram *r = &vm->ram[i];
        if (gpa >= r->gpa && len <= r->size && gpa - r->gpa <= r->size - len)
            return phys_to_virt(r->hpa + (gpa - r->gpa));
    }
    return NULL;
}

/* Also the VM being created (id == nvms, RAM allocated): its monitor writes
 * firmware tables (ACPI) into guest RAM from vmm_create. */
static struct vm *vm_by_id(unsigned id)
{
    return id < nvms || (id == nvms && id < VM_MAX && vms[id].nram) ? &vms[id] : NULL;
}

/* Copy in page-sized pieces: RAM regions need not be contiguous in host
 * memory.  Guest memory into out, or (out NULL) from in into guest memory. */
static int gpa_copy(unsigned vm_id, uint64_t gpa, uint8_t *out, const uint8_t *in, size_t len)
{
    struct vm *vm = vm_by_id(vm_id);
    for (size_t off = 0, chunk; vm && off < len; off += chunk) {
        chunk = PAGE_SIZE - ((gpa + off) & (PAGE_SIZE - 1));
        if (chunk > len - off)
            chunk = len - off;
        uint8_t *p = vm_gpa_ptr(vm, gpa + off, chunk);
        if (!p)
            return -1;
        if (out)
            memcpy(out + off, p, chunk);
        else
            memcpy(p, in + off, chunk);
    }
    return vm ? 0 : -1;
}

int vm_gpa_read(unsigned vm_id, uint64_t gpa, void *buf, size_t len)
{
    return gpa_copy(vm_id, gpa, buf, NULL, len);
}

int vm_gpa_write(unsigned vm_id, uint64_t gpa, const void *buf, size_t len)
{
    return gpa_copy(vm_id, gpa, NULL, buf, len);
}

/*
 * Guest-linear -> guest-physical through the guest's own page tables
 * (SDM 3A 4.3 32-bit, 4.5 4-level).  PAE without long mode is not walked
 * yet.  Returns ~0 when unmapped or not walkable.
 */
static uint64_t gla_walk(struct vm *vm, uint64_t cr0, uint64_t cr3, uint64_t cr4, uint64_t efer,
                         uint64_t gla)
{
    if (!(cr0 & CR0_PG))
        return gla;
    if (efer & EFER_LMA) {
        uint64_t table = cr3 & PTE_ADDR_MASK;
        for (int level = 4; level >= 1; level--) {
            uint64_t e;
            unsigned idx = (unsigned)(gla >> (12 + 9 * (level - 1))) & 511;
            if (vm_gpa_read(vm->id, table + idx * 8, &e, 8) || !(e & PTE_P))
                return ~0ull;
            if (level == 1 || (level <= 3 && (e & PTE_PS))) {
                uint64_t size = 1ull << (12 + 9 * (level - 1));
                return (e & PTE_ADDR_MASK & ~(size - 1)) | (gla & (size - 1));
            }
            table = e & PTE_ADDR_MASK;
        }
        return ~0ull;
    }
    if (cr4 & CR4_PAE)
        return ~0ull;
    uint32_t pde, pte;
    if (vm_gpa_read(vm->id, (cr3 & 0xfffff000u) + ((gla >> 22) & 1023) * 4, &pde, 4) || !(pde & PTE_P))
        return ~0ull;
    if (pde & PTE_PS)
        return (pde & 0xffc00000u) | (gla & 0x3fffff);
    if (vm_gpa_read(vm->id, (pde & 0xfffff000u) + ((gla >> 12) & 1023) * 4, &pte, 4) || !(pte & PTE_P))
        return ~0ull;
    return (pte & 0xfffff000u) | (gla & 0xfff);
}

/*
 * Where the guest's IDT sends `vector`: the gate's offset (64-bit, 32-bit
 * interrupt/trap gates, SDM 3A 6.11 and 6.14.1) or the real-mode IVT's IP
 * (SDM 3A 20.1.4), compared with RIP/EIP/IP as the exit reports it.  ~0:
 * beyond the IDT's limit, a task gate, not present, or unmapped.
 */
uint64_t vm_idt_target(struct vm *vm, const struct vcpu_sregs *s, unsigned vector)
{
    if (!(s->cr0 & CR0_PE)) {
        uint16_t ip;
        if (vector * 4u + 3 > s->idt.limit ||
            vm_gpa_read(vm->id, (s->idt.base + vector * 4u) & 0xfffff, &ip, 2))
            return ~0ull;
        return ip;
    }
    bool lm = s->efer & EFER_LMA;
    unsigned size = lm ? 16 : 8;
    if (vector * size + size - 1 > s->idt.limit)
        return ~0ull;
    uint32_t g[4] = { 0, 0, 0, 0 };
    uint64_t gla = s->idt.base + vector * size;
    for (unsigned i = 0; i < size / 4; i++) {      /* dword by dword: a gate may cross a page */
        uint64_t gpa = gla_walk(vm, s->cr0, s->cr3, s->cr4, s->efer, gla + i * 4);
        if (gpa == ~0ull || vm_gpa_read(vm->id, gpa, &g[i], 4))
            return ~0ull;
    }
    unsigned type = (g[1] >> 8) & 0xf;
    if (!(g[1] & (1u << 15)) || (type != 0xe && type != 0xf))
        return ~0ull;
    uint64_t off = (g[0] & 0xffff) | (g[1] & 0xffff0000u);
    return lm ? off | (uint64_t)g[2] << 32 : off;
}

/* Read up to VMM_INSN_MAX bytes at CS:RIP into rq->insn (stops at an unmapped page). */
void vm_fetch_insn(struct vm *vm, struct vmm_request *rq, uint64_t cs_base)
{
    uint64_t gla = (rq->mode == MODE_LONG64 ? 0 : cs_base) + rq->regs.rip;
    if (rq->mode != MODE_LONG64)
        gla &= 0xffffffffu;
    rq->insn_avail = 0;
    while (rq->insn_avail < VMM_INSN_MAX) {
        uint64_t gpa = gla_walk(vm, rq->cr0, rq->cr3, rq->cr4, rq->efer, gla + rq->insn_avail);
        if (gpa == ~0ull || vm_gpa_read(vm->id, gpa, &rq->insn[rq->insn_avail], 1))
            break;
        rq->insn_avail++;
    }
}
