/*
 * The VM's PCI host bridge and a small framework for PCI functions on
 * bus 0 (vmm/pci.c).
 *
 * Config space is reachable through mechanism #1 (ports 0xcf8 address,
 * 0xcfc-0xcff data, any width at 0xcfc+n) and through ECAM (VMM_ECAM_BASE,
 * one MiB per bus; the ACPI MCFG table describes it with these constants).
 * Device 00:00.0 is a Q35-like host bridge; absent functions read all ones.
 *
 * A device model adds a function:
 *
 *     struct vmm_pci_fn *f = vmm_pci_add_function(m, 3, 0, vendor, device, class_rev);
 *     vmm_pci_set_bar(m, f, 0, 0x4000, VMM_PCI_BAR_MEM64);   // placed in the window
 *     unsigned cap = vmm_pci_add_cap(f, PCI_CAP_ID_VNDR, 16); // fill f->cfg[cap+2..]
 *     f->bar_access = my_bar_access;  f->priv = my_state;
 *
 * - f->cfg is the 256-byte config space (little endian), f->wmask says which
 *   bits the guest may write; the model may change both at any time (under
 *   m->lock).  Offsets 0x100-0xfff (ECAM) read 0: no extended capabilities.
 * - BARs: vmm_pci_set_bar gives the BAR a size (power of two) and an initial
 *   address in the 32-bit MMIO window, with memory decoding on (as firmware
 *   would leave it).  Sizing works by wmask: writing all ones reads back the
 *   size mask.  When the guest moves a BAR, bar_moved(m, f, bar, addr) is
 *   called (addr is the new base; for a 64-bit BAR once per dword written).
 * - Accesses to an enabled memory BAR (command register bit 1) anywhere in
 *   the window come to bar_access(m, f, bar, offset, write, size, val).
 *   I/O BARs are not supported (-1).
 * - cfg_written(m, f, off, size) runs after each guest config write (e.g. to
 *   react to MSI-X enable); MSI-X: vmm_pci_add_msix_cap fills in the
 *   capability; table and PBA accesses arrive through bar_access and are the
 *   device's to serve.
 * All hooks and calls run with m->lock held (device handler context).
 */
#ifndef VMM_PCI_H
#define VMM_PCI_H
#include <stdint.h>
#include <stdbool.h>

struct vmm;

#define VMM_ECAM_BASE       0xb0000000ull
#define VMM_ECAM_BUSES      256u
#define VMM_ECAM_SIZE       ((uint64_t)VMM_ECAM_BUSES << 20)
/* guest RAM below 4 GiB must end here (the E820 / CMOS view) */
#define VMM_PCI_HOLE_START  VMM_ECAM_BASE
/* 32-bit window for memory BARs (host bridge _CRS), below the IOAPIC/LAPIC */
#define VMM_PCI_MMIO_BASE   0xc0000000ull
#define VMM_PCI_MMIO_SIZE   0x3ec00000ull   /* to 0xfebfffff: vmm/dsdt.dsl _CRS */

#define VMM_PCI_CFG_SIZE    256
#define VMM_PCI_MAX_FNS     8
#define VMM_PCI_NBARS       6

/* config header offsets (PCI Local Bus 3.0, 6.1) */
#define PCI_VENDOR_ID       0x00
#define PCI_DEVICE_ID       0x02
#define PCI_COMMAND         0x04
#define PCI_STATUS          0x06
#define PCI_CLASS_REVISION  0x08
#define PCI_HEADER_TYPE     0x0e
#define PCI_BAR0            0x10
#define PCI_SUBSYS_VENDOR   0x2c
#define PCI_SUBSYS_ID       0x2e
#define PCI_CAP_PTR         0x34
#define PCI_INTERRUPT_LINE  0x3c
#define PCI_INTERRUPT_PIN   0x3d
#define PCI_CAP_START       0x40
#define PCI_COMMAND_IO      0x0001
#define PCI_COMMAND_MEMORY  0x0002
#define PCI_COMMAND_MASTER  0x0004
#define PCI_COMMAND_INTX_OFF 0x0400
#define PCI_STATUS_CAP_LIST 0x0010
#define PCI_CAP_ID_MSIX     0x11
#define PCI_CAP_ID_VNDR     0x09
#define PCI_MSIX_ENABLE     0x8000
#define PCI_MSIX_MASKALL    0x4000

/* BAR kinds (low bits of the BAR) */
#define VMM_PCI_BAR_IO      0x01
#define VMM_PCI_BAR_MEM32   0x00
#define VMM_PCI_BAR_MEM64   0x04
#define VMM_PCI_BAR_PREFETCH 0x08

struct vmm_pci_fn;
typedef void vmm_pci_bar_access_fn(struct vmm *m, struct vmm_pci_fn *f, unsigned bar,
                                   uint64_t off, bool write, unsigned size, uint64_t *val);

struct vmm_pci_bar {
    uint64_t size;              /* 0: BAR unused */
    unsigned flags;             /* VMM_PCI_BAR_* */
    uint64_t addr;              /* current base (from the config space) */
};

struct vmm_pci_fn {
    uint8_t devfn;              /* bus 0 only */
    uint8_t cfg[VMM_PCI_CFG_SIZE];
    uint8_t wmask[VMM_PCI_CFG_SIZE];
    struct vmm_pci_bar bar[VMM_PCI_NBARS];
    uint8_t cap_end, cap_last;  /* next free capability offset; last one added */
    vmm_pci_bar_access_fn *bar_access;
    void (*bar_moved)(struct vmm *m, struct vmm_pci_fn *f, unsigned bar, uint64_t addr);
    void (*cfg_written)(struct vmm *m, struct vmm_pci_fn *f, unsigned off, unsigned size);
    void *priv;
    uint64_t cfg_accesses;      /* guest config reads and writes of this function */
};

/* Add function dev.fn on bus 0 (NULL: taken or full). */
struct vmm_pci_fn *vmm_pci_add_function(struct vmm *m, unsigned dev, unsigned fn, uint16_t vendor,
                                        uint16_t device, uint32_t class_rev);
/* Give BAR n a size (power of two, >= 16) and place it (0 or -1). */
int vmm_pci_set_bar(struct vmm *m, struct vmm_pci_fn *f, unsigned n, uint64_t size, unsigned flags);
/* Append a capability of `len` bytes (id and next pointer filled in):
 * its offset in f->cfg, or 0 when config space is full. */
unsigned vmm_pci_add_cap(struct vmm_pci_fn *f, uint8_t id, unsigned len);
/* The MSI-X capability (PCI 3.0, 6.8.2): nvec entries; table and PBA in BARs. */
unsigned vmm_pci_add_msix_cap(struct vmm_pci_fn *f, unsigned nvec, unsigned table_bar,
                              uint32_t table_off, unsigned pba_bar, uint32_t pba_off);
/* Guest-view config accesses (also used by the mechanisms #1 and ECAM). */
uint32_t vmm_pci_cfg_read(struct vmm *m, unsigned bus, unsigned devfn, unsigned off, unsigned size);
void vmm_pci_cfg_write(struct vmm *m, unsigned bus, unsigned devfn, unsigned off, unsigned size,
                       uint32_t val);

#endif
