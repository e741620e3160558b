/*
 * The VM's ACPI fixed-hardware power-management block (vmm/pm.c): the
 * values the FADT and the \_S5 package must carry to match the model.
 * Hardware starts in ACPI mode (SCI_EN reads 1): FADT SMI_CMD = 0.
 */
#ifndef VMM_PM_H
#define VMM_PM_H

#define VMM_PM_BASE         0x600
#define VMM_PM_PORTS        16
#define VMM_PM1A_EVT_BLK    0x600   /* PM1_STS (2 bytes) + PM1_EN (2 bytes) */
#define VMM_PM1_EVT_LEN     4
#define VMM_PM1A_CNT_BLK    0x604   /* PM1_CNT */
#define VMM_PM1_CNT_LEN     2
#define VMM_PM_TMR_BLK      0x608   /* PM_TMR */
#define VMM_PM_TMR_LEN      4
#define VMM_PM_TMR_VAL_EXT  1       /* 32-bit timer: set FADT flag TMR_VAL_EXT */
#define VMM_PM_TMR_HZ       3579545u
#define VMM_GPE0_BLK        0x60c   /* GPE0_STS (2 bytes) + GPE0_EN (2 bytes) */
#define VMM_GPE0_BLK_LEN    4
#define VMM_PM_SCI_IRQ      9       /* FADT SCI_INT (never raised yet) */

/* SLP_TYP for \_S5 (soft off); \_S5 = Package { 5, 5, 0, 0 } */
#define VMM_PM_S5_SLP_TYP   5

/* The reset register (FADT RESET_REG: system I/O 0xcf9, RESET_VALUE 0x06) */
#define VMM_RESET_PORT      0xcf9
#define VMM_RESET_VALUE     0x06

#endif
