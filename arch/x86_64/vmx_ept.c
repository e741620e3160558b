/*
 * VMX per-VM state: EPT (entry format for the shared s2pt walker, SDM 3C
 * 28.2.2), the EPT pointer (24.6.11), I/O bitmaps A/B and the MSR bitmap
 * (24.6.4, 24.6.9), VPID blocks.  vm_* calls: the VM's creator, before its
 * vCPUs run (no lock); vm_map later only flushes this CPU (see below).
 */
#include <string.h>
#include <nethv/kernel.h>
#include <nethv/mem.h>
#include <arch/regs.h>
#include <arch/s2pt.h>
#include <arch/vmx.h>

#define VPID_MAX        0xffff

static uint64_t ept_table(uint64_t pa)
{
    return pa | EPT_R | EPT_W | EPT_X;  /* non-leaf: bits 7:3 reserved */
}

static uint64_t ept_leaf(uint64_t pa, unsigned prot, unsigned level)
{
    uint64_t e = pa | (EPT_MT_WB << EPT_MT_SHIFT);
    if (prot & S2_READ)
        e |= EPT_R;
    if (prot & S2_WRITE)
        e |= EPT_W;
    if (prot & S2_EXEC)
        e |= EPT_X;
    if (level == 2)
        e |= EPT_LARGE;
    return e;
}

static bool ept_present(uint64_t e)
{
    return e & (EPT_R | EPT_W | EPT_X);
}

static bool ept_is_leaf(uint64_t e, unsigned level)
{
    return level == 1 || (e & EPT_LARGE);
}

static const struct s2pt_format ept_format = {
    .table = ept_table, .leaf = ept_leaf, .present = ept_present, .is_leaf = ept_is_leaf,
};

uint64_t vmx_eptp(const struct vm_hw *vm)
{
    return vm->s2_root | EPTP_MT_WB | EPTP_WALK4 | (vmx_has_ept_ad() ? EPTP_AD : 0);
}

uint64_t vmx_gpa_to_hpa(const struct vm_hw *vm, uint64_t gpa)
{
    return s2pt_lookup(vm->s2_root, &ept_format, gpa);
}

/* Drop what this CPU cached for the vCPU's EPT and VPID (SDM 3C 28.3.3). */
void vmx_flush_tags(struct vcpu_hw *v)
{
    if (!vmx_invept(INVEPT_SINGLE, vmx_eptp(v->vm)))
        printk("vmx: INVEPT single-context failed\n");
    if (v->tag && !vmx_invvpid(INVVPID_SINGLE, (uint16_t)v->tag, 0))
        printk("vmx: INVVPID %u failed\n", v->tag);
}

int vmx_vm_init(struct vm_hw *vm)
{
    static uint32_t next_vpid = 1;

    if (vmx_discover())
        return -1;
    memset(vm, 0, sizeof(*vm));
    vm->s2_root = page_alloc(1, PAGE_SIZE, 0);
    vm->io_bitmap = page_alloc(2, PAGE_SIZE, 0);
    vm->msr_bitmap = page_alloc(1, PAGE_SIZE, 0);
    if (!vm->s2_root || !vm->io_bitmap || !vm->msr_bitmap) {
        printk("vmx: out of memory for a VM\n");
        return -1;
    }
    vm->s2_pages = 1;
    memset(phys_to_virt(vm->io_bitmap), 0xff, 2 * PAGE_SIZE);     /* every port exits */
    memset(phys_to_virt(vm->msr_bitmap), 0xff, PAGE_SIZE);        /* every MSR exits */

    /* Except MSRs the hardware switches or the host never uses:
     * - PAT, SYSENTER_*, FS/GS base: guest values live in the VMCS and are
     *   saved/loaded at every exit/entry;
     * - SYSCALL MSRs, KERNEL_GS_BASE, TSC_AUX: the host has no SYSCALL,
     *   SWAPGS or RDTSCP; the backend swaps them when a CPU changes vCPU. */
    static const uint32_t pass[] = {
        MSR_IA32_PAT, MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
        MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR,
        MSR_SFMASK, MSR_TSC_AUX,
    };
    for (unsigned i = 0; i < ARRAY_SIZE(pass); i++)
        vmx_msr_passthrough(vm, pass[i], true);

    if (vmx_has_vpid()) {
        uint32_t base = __atomic_fetch_add(&next_vpid, VMX_VPIDS_PER_VM, __ATOMIC_RELAXED);
        if (base + VMX_VPIDS_PER_VM - 1 > VPID_MAX) {
            printk("vmx: out of VPIDs\n");
            return -1;
        }
        vm->tag = base;
    }
    return 0;
}

int vmx_vm_map(struct vm_hw *vm, uint64_t gpa, uint64_t hpa, uint64_t len, unsigned prot)
{
    /* write-only is an EPT misconfiguration; execute-only needs the capability */
    if ((prot & S2_WRITE) && !(prot & S2_READ))
        return -1;
    if (prot == S2_EXEC && !(vmx_caps.ept_vpid & EPT_CAP_EXEC_ONLY))
        return -1;
    int rc = s2pt_map(&vm->s2_root, &vm->s2_pages, &ept_format, gpa, hpa, len, prot);
    /* A changed mapping may be cached under this EPTP.  Only this CPU is
     * flushed here: remapping under running vCPUs on other CPUs needs an
     * IPI shootdown (not yet). */
    if (vmx_this_cpu()->on)
        vmx_invept(INVEPT_SINGLE, vmx_eptp(vm));
    return rc;
}

void vmx_io_passthrough(struct vm_hw *vm, uint16_t port, bool pass)
{
    uint8_t *bm = phys_to_virt(vm->io_bitmap);      /* A: 0-0x7fff, B: 0x8000-0xffff */
    uint8_t bit = (uint8_t)(1u << (port & 7));
    if (pass)
        bm[port >> 3] &= (uint8_t)~bit;
    else
        bm[port >> 3] |= bit;
}

void vmx_msr_passthrough(struct vm_hw *vm, uint32_t msr, bool pass)
{
    uint8_t *bm = phys_to_virt(vm->msr_bitmap);
    unsigned off;           /* read bitmap; the write bitmap is 2 KiB further */
    if (msr <= 0x1fff)
        off = 0;
    else if (msr - 0xc0000000u <= 0x1fff)
        off = 1024;
    else {
        printk("vmx: MSR %#x is outside the MSR bitmap: it always exits\n", msr);
        return;
    }
    unsigned idx = msr & 0x1fff;
    uint8_t bit = (uint8_t)(1u << (idx & 7));
    for (unsigned w = 0; w <= 2048; w += 2048) {
        if (pass)
            bm[off + w + idx / 8] &= (uint8_t)~bit;
        else
            bm[off + w + idx / 8] |= bit;
    }
}

void vmx_msr_intercept(struct vm_hw *vm, uint32_t msr, bool rd, bool wr)
{
    uint8_t *bm = phys_to_virt(vm->msr_bitmap);
    if (msr > 0x1fff) {
        printk("vmx: MSR %#x: no bitmap bit here\n", msr);
        return;
    }
    uint8_t bit = (uint8_t)(1u << (msr & 7));
    for (unsigned w = 0; w <= 2048; w += 2048) {    /* read bitmap, then write bitmap */
        uint8_t *b = &bm[w + msr / 8];
        if (w ? wr : rd)
            __atomic_fetch_or(b, bit, __ATOMIC_RELAXED);
        else
            __atomic_fetch_and(b, (uint8_t)~bit, __ATOMIC_RELAXED);
    }
}
