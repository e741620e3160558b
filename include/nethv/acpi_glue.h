/* The kernel's use of the ACPI tables (kernel/acpi_glue.c). */
#ifndef NETHV_ACPI_GLUE_H
#define NETHV_ACPI_GLUE_H
#include <stdint.h>
#include <nethv/bootinfo.h>

/* Parse the tables found through the boot RSDP copy (BSP, once). */
void acpi_init(const struct boot_info *bi);
/* Local APIC MMIO base and enabled CPUs' APIC IDs (MADT); n = 0 if unknown. */
uint64_t acpi_lapic_base(void);
unsigned acpi_cpu_apic_ids(const uint32_t **ids);
/* PCI ECAM segments from the MCFG table; 0 if none. */
struct acpi_mcfg_seg;
unsigned acpi_mcfg_segments(const struct acpi_mcfg_seg **segs);
/* ACPI S5 soft-off through the FADT PM1 control blocks; returns on failure. */
void acpi_power_off(void);
/* Reset through the FADT's reset register (an I/O port); returns on failure. */
void acpi_reboot(void);
#endif
