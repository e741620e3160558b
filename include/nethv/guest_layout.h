/*
 * Fixed guest-physical layout of a PC-platform (Linux) VM, shared by the
 * monitor's boot loader (vmm/boot.c), the kernel's initial CPU state
 * (kernel/vm.c: the GDT and page tables) and the monitor's ACPI tables
 * (vmm/acpi_tables.c).  Everything below 1 MiB:
 *
 *   0x00000-0x00fff   real-mode IVT/BDA area: left zero
 *   0x01000-0x01fff   GDT of the 64-bit boot entry (__BOOT_CS 0x10, __BOOT_DS 0x18)
 *   0x02000-0x02fff   PML4           \
 *   0x03000-0x03fff   PDPT            > identity map of 0-4 GiB, 2 MiB pages
 *   0x04000-0x07fff   4 page dirs    /
 *   0x10000-0x10fff   boot_params ("zero page")
 *   0x20000-0x20fff   kernel command line
 *   0x9fc00-0xdffff   reserved (EBDA, VGA, option ROMs on a real PC)
 *   0xe0000-0xfffff   ACPI tables: RSDP first (Linux scans 0xe0000-0xfffff
 *                     for it), then XSDT, FADT, DSDT, MADT, MCFG
 *
 * Above RAM (which must end below GUEST_PCI_HOLE):
 *   0xb0000000-0xbfffffff   PCIe ECAM, 256 buses (MCFG; e820 reserved)
 *   0xc0000000-0xfebfffff   32-bit PCI MMIO window (DSDT _CRS)
 *   0xfec00000              IOAPIC, 0xfee00000 LAPIC
 *
 * The kernel goes to its pref_address (16 MiB for Debian's), the initrd as
 * high as initrd_addr_max and RAM allow.
 */
#ifndef NETHV_GUEST_LAYOUT_H
#define NETHV_GUEST_LAYOUT_H

#define GUEST_GDT           0x1000u
#define GUEST_PML4          0x2000u
#define GUEST_PDPT          0x3000u
#define GUEST_PD            0x4000u     /* 4 pages: 0-4 GiB */
#define GUEST_BOOT_PARAMS   0x10000u
#define GUEST_CMDLINE       0x20000u
#define GUEST_CMDLINE_MAX   0x1000u
#define GUEST_LOW_RAM_END   0x9fc00u    /* end of usable conventional memory */
#define GUEST_ACPI_BASE     0xe0000u    /* RSDP here */
#define GUEST_ACPI_END      0x100000u
#define GUEST_HIGH_RAM      0x100000u
#define GUEST_PCI_HOLE      0xb0000000u /* RAM from GPA 0 must end here */
#define GUEST_ECAM_BASE     0xb0000000u /* vmm/dsdt.dsl has it too */
#define GUEST_ECAM_BUSES    256u
#define GUEST_IOAPIC_BASE   0xfec00000u
#define GUEST_LAPIC_BASE    0xfee00000u

#endif
