/*
 * PCI host bridge: config mechanism #1 (0xcf8/0xcfc), ECAM, the 32-bit
 * memory BAR window, and the function framework documented in pci.h.
 *
 * Mechanism #1: PCI Local Bus 3.0, 3.2.2.3.2 -- CONFIG_ADDRESS is a dword
 * register at 0xcf8 (bit 31 enable, bus 23:16, device 15:11, function
 * 10:8, register 7:2); byte accesses to 0xcf8-0xcfb are other registers
 * (0xcf9 is the reset control register, vmm/pm.c).  ECAM: PCIe 3.0, 7.2.2
 * (bus << 20 | device << 15 | function << 12 | register).
 */
#include <string.h>
#include <nethv/kernel.h>
#include "vmm.h"
#include "pci.h"

#define PCI_ADDR_PORT       0xcf8
#define PCI_DATA_PORT       0xcfc
#define PCI_ADDR_ENABLE     0x80000000u
#define PCI_ADDR_BUS(a)     (((a) >> 16) & 0xff)
#define PCI_ADDR_DEVFN(a)   (((a) >> 8) & 0xff)
#define PCI_ADDR_REG(a)     ((a) & 0xfc)
#define ECAM_BUS(o)         ((unsigned)((o) >> 20) & 0xff)
#define ECAM_DEVFN(o)       ((unsigned)((o) >> 12) & 0xff)
#define ECAM_REG(o)         ((unsigned)(o) & 0xfff)
#define ECAM_FN_SIZE        0x1000u
#define PCI_DEVFN(d, f)     (((d) << 3) | (f))
#define PCI_BAR_MEM_MASK    0xfull  /* type and prefetch bits of a memory BAR */
#define PCI_HDR_MULTIFN     0x80

/* the host bridge: Intel Q35 MCH IDs, class 06.00.00 (host bridge) */
#define HOSTBRIDGE_VENDOR   0x8086
#define HOSTBRIDGE_DEVICE   0x29c0
#define HOSTBRIDGE_CLASS    0x06000000u

struct vmm_pci {
    uint32_t addr;                  /* CONFIG_ADDRESS */
    unsigned nfns;
    uint64_t mmio_next;             /* BAR placement: next free address */
    struct vmm_pci_fn fns[VMM_PCI_MAX_FNS];
};

static struct vmm_pci_fn *pci_find(struct vmm *m, unsigned bus, unsigned devfn)
{
    struct vmm_pci *p = m->pci;
    if (!p || bus != 0)
        return NULL;
    for (unsigned i = 0; i < p->nfns; i++)
        if (p->fns[i].devfn == devfn)
            return &p->fns[i];
    return NULL;
}

static void put16(uint8_t *b, uint16_t v) { b[0] = (uint8_t)v; b[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *b, uint32_t v) { put16(b, (uint16_t)v); put16(b + 2, (uint16_t)(v >> 16)); }
static uint32_t get32(const uint8_t *b) { return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24; }

struct vmm_pci_fn *vmm_pci_add_function(struct vmm *m, unsigned dev, unsigned fn, uint16_t vendor,
                                        uint16_t device, uint32_t class_rev)
{
    struct vmm_pci *p = m->pci;
    if (!p || p->nfns == VMM_PCI_MAX_FNS || dev > 31 || fn > 7 || pci_find(m, 0, PCI_DEVFN(dev, fn)))
        return NULL;
    struct vmm_pci_fn *f = &p->fns[p->nfns++];
    memset(f, 0, sizeof(*f));
    f->devfn = (uint8_t)PCI_DEVFN(dev, fn);
    put16(&f->cfg[PCI_VENDOR_ID], vendor);
    put16(&f->cfg[PCI_DEVICE_ID], device);
    put32(&f->cfg[PCI_CLASS_REVISION], class_rev);
    put16(&f->wmask[PCI_COMMAND], PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
                                  PCI_COMMAND_INTX_OFF);
    f->wmask[PCI_INTERRUPT_LINE] = 0xff;
    f->cap_end = PCI_CAP_START;
    /* a function > 0 makes its function 0 multi-function */
    struct vmm_pci_fn *f0 = fn ? pci_find(m, 0, PCI_DEVFN(dev, 0)) : NULL;
    if (f0)
        f0->cfg[PCI_HEADER_TYPE] |= PCI_HDR_MULTIFN;
    return f;
}

int vmm_pci_set_bar(struct vmm *m, struct vmm_pci_fn *f, unsigned n, uint64_t size, unsigned flags)
{
    struct vmm_pci *p = m->pci;
    bool is64 = flags & VMM_PCI_BAR_MEM64;
    if ((flags & VMM_PCI_BAR_IO) || n + is64 >= VMM_PCI_NBARS || size < 16 || (size & (size - 1)))
        return -1;
    uint64_t addr = ALIGN_UP(p->mmio_next, size);
    if (addr + size > VMM_PCI_MMIO_BASE + VMM_PCI_MMIO_SIZE)
        return -1;
    p->mmio_next = addr + size;
    f->bar[n] = (struct vmm_pci_bar){ size, flags, addr };
    unsigned off = PCI_BAR0 + 4 * n;
    put32(&f->cfg[off], (uint32_t)addr | flags);
    put32(&f->wmask[off], (uint32_t)~(size - 1) & ~(uint32_t)PCI_BAR_MEM_MASK);
    if (is64) {
        put32(&f->cfg[off + 4], (uint32_t)(addr >> 32));
        put32(&f->wmask[off + 4], (uint32_t)(~(size - 1) >> 32));
    }
    f->cfg[PCI_COMMAND] |= PCI_COMMAND_MEMORY;
    return 0;
}

unsigned vmm_pci_add_cap(struct vmm_pci_fn *f, uint8_t id, unsigned len)
{
    unsigned off = f->cap_end;
    if (len < 2 || off + len > VMM_PCI_CFG_SIZE)
        return 0;
    f->cfg[off] = id;
    f->cfg[off + 1] = 0;
    if (f->cap_last)
        f->cfg[f->cap_last + 1] = (uint8_t)off;
    else
        f->cfg[PCI_CAP_PTR] = (uint8_t)off;
    f->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
    f->cap_last = (uint8_t)off;
    f->cap_end = (uint8_t)ALIGN_UP(off + len, 4);
    return off;
}

unsigned vmm_pci_add_msix_cap(struct vmm_pci_fn *f, unsigned nvec, unsigned table_bar,
                              uint32_t table_off, unsigned pba_bar, uint32_t pba_off)
{
    /* +2 message control (table size - 1, function mask, enable),
     * +4 table offset | BIR, +8 PBA offset | BIR */
    unsigned off = vmm_pci_add_cap(f, PCI_CAP_ID_MSIX, 12);
    if (!off || !nvec)
        return 0;
    put16(&f->cfg[off + 2], (uint16_t)(nvec - 1));
    put16(&f->wmask[off + 2], PCI_MSIX_ENABLE | PCI_MSIX_MASKALL);
    put32(&f->cfg[off + 4], table_off | table_bar);
    put32(&f->cfg[off + 8], pba_off | pba_bar);
    return off;
}

uint32_t vmm_pci_cfg_read(struct vmm *m, unsigned bus, unsigned devfn, unsigned off, unsigned size)
{
    struct vmm_pci_fn *f = pci_find(m, bus, devfn);
    if (!f)
        return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    f->cfg_accesses++;
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        if (off + i < VMM_PCI_CFG_SIZE)
            v |= (uint32_t)f->cfg[off + i] << (8 * i);
    return v;
}

/* After a write to the BAR registers: pick up moved BARs. */
static void pci_update_bars(struct vmm *m, struct vmm_pci_fn *f)
{
    for (unsigned n = 0; n < VMM_PCI_NBARS; n++) {
        struct vmm_pci_bar *b = &f->bar[n];
        if (!b->size)
            continue;
        uint64_t addr = get32(&f->cfg[PCI_BAR0 + 4 * n]) & ~PCI_BAR_MEM_MASK;
        if (b->flags & VMM_PCI_BAR_MEM64)
            addr |= (uint64_t)get32(&f->cfg[PCI_BAR0 + 4 * n + 4]) << 32;
        if (addr != b->addr) {
            b->addr = addr;
            if (f->bar_moved)
                f->bar_moved(m, f, n, addr);
        }
    }
}

void vmm_pci_cfg_write(struct vmm *m, unsigned bus, unsigned devfn, unsigned off, unsigned size,
                       uint32_t val)
{
    struct vmm_pci_fn *f = pci_find(m, bus, devfn);
    if (!f)
        return;
    f->cfg_accesses++;
    if (off >= VMM_PCI_CFG_SIZE)
        return;
    for (unsigned i = 0; i < size && off + i < VMM_PCI_CFG_SIZE; i++) {
        uint8_t w = f->wmask[off + i], b = (uint8_t)(val >> (8 * i));
        f->cfg[off + i] = (uint8_t)((f->cfg[off + i] & ~w) | (b & w));
    }
    if (off < PCI_BAR0 + 4 * VMM_PCI_NBARS && off + size > PCI_BAR0)
        pci_update_bars(m, f);
    if (f->cfg_written)
        f->cfg_written(m, f, off, size);
}

static void pci_addr_io(struct vmm *m, void *state, uint16_t port, bool write, unsigned size, uint32_t *val)
{
    struct vmm_pci *p = state;
    if (size != 4) {                /* only dword accesses reach CONFIG_ADDRESS */
        if (!write)
            *val = 0xffffffffu;
        return;
    }
    if (write)
        p->addr = *val & ~3u;
    else
        *val = p->addr;
}

static void pci_data_io(struct vmm *m, void *state, uint16_t port, bool write, unsigned size, uint32_t *val)
{
    struct vmm_pci *p = state;
    unsigned byte = port - PCI_DATA_PORT;
    if (byte + size > 4)
        size = 4 - byte;
    if (!(p->addr & PCI_ADDR_ENABLE)) {
        if (!write)
            *val = 0xffffffffu;
        return;
    }
    unsigned bus = PCI_ADDR_BUS(p->addr), devfn = PCI_ADDR_DEVFN(p->addr);
    unsigned off = PCI_ADDR_REG(p->addr) + byte;
    if (write)
        vmm_pci_cfg_write(m, bus, devfn, off, size, *val);
    else
        *val = vmm_pci_cfg_read(m, bus, devfn, off, size);
}

static void pci_ecam_mmio(struct vmm *m, void *state, uint64_t gpa, bool write, unsigned size, uint64_t *val)
{
    uint64_t o = gpa - VMM_ECAM_BASE;
    unsigned bus = ECAM_BUS(o), devfn = ECAM_DEVFN(o), reg = ECAM_REG(o);
    /* an 8-byte access is two dword accesses (it must not cross a function) */
    for (unsigned done = 0; done < size; done += 4) {
        unsigned n = size - done < 4 ? size - done : 4;
        if (reg + done + n > ECAM_FN_SIZE)
            break;
        if (write) {
            vmm_pci_cfg_write(m, bus, devfn, reg + done, n, (uint32_t)(*val >> (8 * done)));
        } else {
            uint64_t v = vmm_pci_cfg_read(m, bus, devfn, reg + done, n);
            *val = (done ? *val : 0) | v << (8 * done);
        }
    }
}

/* The BAR window: route to the function whose enabled memory BAR covers gpa. */
static void pci_window_mmio(struct vmm *m, void *state, uint64_t gpa, bool write, unsigned size, uint64_t *val)
{
    struct vmm_pci *p = state;
    for (unsigned i = 0; i < p->nfns; i++) {
        struct vmm_pci_fn *f = &p->fns[i];
        if (!(f->cfg[PCI_COMMAND] & PCI_COMMAND_MEMORY) || !f->bar_access)
            continue;
        for (unsigned n = 0; n < VMM_PCI_NBARS; n++) {
            const struct vmm_pci_bar *b = &f->bar[n];
            if (b->size && gpa >= b->addr && gpa - b->addr < b->size) {
                f->bar_access(m, f, n, gpa - b->addr, write, size, val);
                return;
            }
        }
    }
    if (!write)
        *val = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

int vmm_pci_init(struct vmm *m, const struct vmm_create_args *a)
{
    struct vmm_pci *p = vmm_alloc(m, sizeof(*p));
    if (!p)
        return -1;
    p->mmio_next = VMM_PCI_MMIO_BASE;
    m->pci = p;
    if (!vmm_pci_add_function(m, 0, 0, HOSTBRIDGE_VENDOR, HOSTBRIDGE_DEVICE, HOSTBRIDGE_CLASS))
        return -1;
    const struct vmm_dev devs[] = {
        { .name = "pci-cf8", .port_base = PCI_ADDR_PORT, .port_count = 1, .io = pci_addr_io, .state = p },
        { .name = "pci-cfc", .port_base = PCI_DATA_PORT, .port_count = 4, .io = pci_data_io, .state = p },
        { .name = "pci-ecam", .mmio_base = VMM_ECAM_BASE, .mmio_size = VMM_ECAM_SIZE,
          .mmio = pci_ecam_mmio, .state = p },
        { .name = "pci-window", .mmio_base = VMM_PCI_MMIO_BASE, .mmio_size = VMM_PCI_MMIO_SIZE,
          .mmio = pci_window_mmio, .state = p },
    };
    for (unsigned i = 0; i < ARRAY_SIZE(devs); i++)
        if (vmm_add_device(m, &devs[i]))
            return -1;
    return 0;
}
