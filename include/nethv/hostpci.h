/*
 * The host's PCI bus as the kernel's own drivers see it (kernel/pci.c):
 * configuration space through ECAM (ACPI MCFG) or the legacy 0xCF8/0xCFC
 * ports, a bus scan, BAR decode, the capability list, and MSI / MSI-X
 * aimed at the boot CPU's local APIC.  Guests never see the host bus.
 *
 * References: PCI Local Bus 3.0 (config header 6.1, capabilities 6.7,
 * MSI/MSI-X 6.8), PCI Express Base 3.0 7.2.2 (ECAM).
 *
 * Context: BSP, at boot, interrupts off (netdev_probe), except where a
 * function says otherwise.  No locking: probing is single-threaded.
 */
#ifndef NETHV_HOSTPCI_H
#define NETHV_HOSTPCI_H

#include <stdint.h>
#include <stdbool.h>
#include <arch/cpu.h>

/* ---- configuration header (PCI 3.0 6.1, type 0) ---- */
#define PCI_VENDOR_ID       0x00    /* 16 */
#define PCI_DEVICE_ID       0x02    /* 16 */
#define PCI_COMMAND         0x04    /* 16 */
#define  PCI_CMD_IO          (1u << 0)
#define  PCI_CMD_MEM         (1u << 1)
#define  PCI_CMD_MASTER      (1u << 2)
#define  PCI_CMD_INTX_OFF    (1u << 10)
#define PCI_STATUS          0x06    /* 16 */
#define  PCI_STATUS_CAPS     (1u << 4)
#define PCI_CLASS_REV       0x08    /* 32: class<<8 | revision */
#define PCI_HEADER_TYPE     0x0e    /* 8 */
#define  PCI_HEADER_MULTIFN  0x80
#define PCI_BAR0            0x10    /* 6 BARs, 32 bit each */
#define  PCI_BAR_IO          (1u << 0)
#define  PCI_BAR_MEM64       (2u << 1)  /* type bits 2:1 = 10b */
#define  PCI_BAR_MEM_TYPE    (3u << 1)
#define  PCI_BAR_PREFETCH    (1u << 3)
#define PCI_SUBSYS_ID       0x2e    /* 16 */
#define PCI_CAP_PTR         0x34    /* 8, low 2 bits reserved */

/* ---- capabilities (PCI 3.0 6.7, 6.8) ---- */
#define PCI_CAP_MSI         0x05
#define PCI_CAP_VENDOR      0x09
#define PCI_CAP_MSIX        0x11
/* MSI (6.8.1): +2 control, +4 address lo, +8 address hi (64-bit) | data */
#define  MSI_CTRL_ENABLE     (1u << 0)
#define  MSI_CTRL_MME_MASK   (7u << 4)  /* multiple message enable */
#define  MSI_CTRL_64BIT      (1u << 7)
#define  MSI_CTRL_PVM        (1u << 8)  /* per-vector masking */
/* MSI-X (6.8.2): +2 control, +4 table offset|BIR, +8 PBA offset|BIR */
#define  MSIX_CTRL_SIZE_MASK 0x7ffu     /* table size - 1 */
#define  MSIX_CTRL_FMASK     (1u << 14) /* function mask */
#define  MSIX_CTRL_ENABLE    (1u << 15)
#define  MSIX_BIR_MASK       0x7u
#define  MSIX_ENTRY_SIZE     16         /* addr lo, addr hi, data, vector control */
#define  MSIX_VEC_MASKED     (1u << 0)
/* Message address/data toward a local APIC (SDM 3A 11.11.1/11.11.2):
 * physical destination mode, fixed delivery, edge-triggered. */
#define MSI_ADDR_BASE       0xfee00000u
#define MSI_ADDR_DEST_SHIFT 12

/* Vectors for host devices (VEC_HOSTDEV_FIRST..LAST, arch/regs.h) are
 * allocated by pci_irq_alloc. */

struct pci_bar {
    uint64_t base;          /* bus address (= physical); 0 if unassigned */
    uint64_t size;          /* 0: BAR not implemented */
    bool io, mem64, prefetch;
};

struct pci_dev {
    uint16_t seg;
    uint8_t bus, dev, fn;
    uint16_t vendor, device;
    uint32_t class_rev;
    uint8_t header_type;    /* without PCI_HEADER_MULTIFN */
    struct pci_bar bar[6];  /* filled by pci_read_bars */
    char name[16];          /* "0000:00:03.0" */
};

/* Configuration space; off < 4096 with ECAM, < 256 with the ports. */
uint32_t pci_read32(const struct pci_dev *d, unsigned off);
uint16_t pci_read16(const struct pci_dev *d, unsigned off);
uint8_t pci_read8(const struct pci_dev *d, unsigned off);
void pci_write32(const struct pci_dev *d, unsigned off, uint32_t v);
void pci_write16(const struct pci_dev *d, unsigned off, uint16_t v);

/* Call fn for every function on the host buses (IDs and class read, BARs
 * not) until it returns true; returns whether one did.  The pci_dev is the
 * scanner's: copy it to keep it. */
bool pci_scan(bool (*fn)(const struct pci_dev *d, void *arg), void *arg);

/* Decode (address, size, type) the BARs of a type-0 function into d->bar.
 * Sizing turns its decoding off for a moment: only for a device that no
 * one else is using. */
void pci_read_bars(struct pci_dev *d);

/* Offset of the first (or the next after `after`, 0 = from the start)
 * capability with this ID; 0 if none. */
unsigned pci_find_cap(const struct pci_dev *d, unsigned id, unsigned after);

/* Enable memory decode and bus mastering (and disable INTx). */
void pci_enable(const struct pci_dev *d);

/* Map a memory BAR uncached and return its kernel pointer; NULL if the BAR
 * is not memory, unassigned, or cannot be mapped. */
volatile void *pci_map_bar(const struct pci_dev *d, unsigned bar);

/* A free device vector with h registered for it; 0 if none is left. */
unsigned pci_irq_alloc(irq_handler_t h);

/* MSI with one message (vector) to the BSP's LAPIC; false if the function
 * has no MSI capability. */
bool pci_msi_enable(const struct pci_dev *d, unsigned vector);

/* MSI-X: map the table and program entry `entry` with `vector` toward the
 * BSP (unmasked); the function is enabled by the first call.  false if no
 * MSI-X capability or entry out of range. */
bool pci_msix_set(const struct pci_dev *d, unsigned entry, unsigned vector);

/* arch/x86_64/mmio_map.c: make [pa, pa+len) reachable through the identity
 * map, uncached (PCD|PWT), for MMIO above the boot-time map (64-bit BARs).
 * BSP at boot (before other CPUs use the new range).  false: out of page
 * table memory or an address beyond 48 bits. */
bool mmio_map(uint64_t pa, uint64_t len);

#endif
