/*
 * nethv PC platform DSDT.  Compiled with `iasl -tc vmm/dsdt.dsl` (acpica-tools);
 * the AML bytes are committed as vmm/dsdt_aml.h (regenerate with
 * vmm/gen-dsdt.sh after editing).  Must match include/nethv/guest_layout.h
 * (ECAM window) and vmm/pm.h (_S5 sleep type).
 */
DefinitionBlock ("", "DSDT", 2, "NETHV ", "NETHVPC ", 1)
{
    /* soft-off: PM1a/PM1b SLP_TYP = 5 (VMM_PM_S5_SLP_TYP) */
    Name (\_S5, Package (0x04) { 0x05, 0x05, Zero, Zero })

    Scope (\_SB)
    {
        /* PCI host bridge: bus 0-255, config ports 0xcf8-0xcff, the I/O
         * space outside them, legacy VGA window and the 32-bit MMIO hole */
        Device (PCI0)
        {
            Name (_HID, EisaId ("PNP0A08"))
            Name (_CID, EisaId ("PNP0A03"))
            Name (_UID, Zero)
            Name (_SEG, Zero)
            Name (_BBN, Zero)
            Name (_CRS, ResourceTemplate ()
            {
                WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
                    0x0000, 0x0000, 0x00FF, 0x0000, 0x0100)
                IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08)
                WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                    0x0000, 0x0000, 0x0CF7, 0x0000, 0x0CF8)
                WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                    0x0000, 0x0D00, 0xFFFF, 0x0000, 0xF300)
                DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite,
                    0x00000000, 0x000A0000, 0x000BFFFF, 0x00000000, 0x00020000)
                DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,
                    0x00000000, 0xC0000000, 0xFEBFFFFF, 0x00000000, 0x3EC00000)
            })
        }

        /* motherboard resources: the PCIe ECAM window (MCFG), so Linux
         * trusts it; 0xb0000000, 256 buses x 1 MiB */
        Device (MRES)
        {
            Name (_HID, EisaId ("PNP0C02"))
            Name (_UID, One)
            Name (_CRS, ResourceTemplate ()
            {
                Memory32Fixed (ReadWrite, 0xB0000000, 0x10000000)
            })
        }
    }
}
