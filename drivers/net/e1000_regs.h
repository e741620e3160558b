/*
 * Intel 8254x (82540EM) and 82574L register facts used by drivers/net/e1000.c.
 * "SDM" = PCI/PCI-X Family of Gigabit Ethernet Controllers Software
 * Developer's Manual (8254x); "82574" = the 82574 GbE Controller Family
 * datasheet.  Offsets are from BAR 0 (memory); registers are 32 bit.
 */
#ifndef DRIVERS_NET_E1000_REGS_H
#define DRIVERS_NET_E1000_REGS_H

#include <stdint.h>

#define E1000_VENDOR_INTEL  0x8086
#define E1000_DEV_82540EM   0x100e      /* QEMU -device e1000 */
#define E1000_DEV_82574L    0x10d3      /* QEMU -device e1000e */

/* Device control, SDM 13.4.1 */
#define E1000_CTRL          0x0000
#define  CTRL_LRST           (1u << 3)   /* link reset (8254x) */
#define  CTRL_ASDE           (1u << 5)   /* auto-speed detection */
#define  CTRL_SLU            (1u << 6)   /* set link up */
#define  CTRL_RST            (1u << 26)  /* device reset, self-clearing */
#define  CTRL_PHY_RST        (1u << 31)
/* Device status, SDM 13.4.2 */
#define E1000_STATUS        0x0008
#define  STATUS_LU           (1u << 1)   /* link up */
/* EEPROM read, SDM 13.4.4 (8254x) / 82574 10.2.2.5: start, done, address, data */
#define E1000_EERD          0x0014
#define  EERD_START          (1u << 0)
#define  EERD_DONE_8254X     (1u << 4)
#define  EERD_ADDR_8254X     8           /* address shift */
#define  EERD_DONE_82574     (1u << 1)
#define  EERD_ADDR_82574     2
#define  EERD_DATA_SHIFT     16
/* Interrupt cause read (clear on read), throttling, mask set/clear: SDM 13.4.17-21 */
#define E1000_ICR           0x00c0
#define E1000_ITR           0x00c4
#define E1000_IMS           0x00d0
#define E1000_IMC           0x00d8
#define  INT_TXDW            (1u << 0)   /* TX descriptor written back */
#define  INT_LSC             (1u << 2)   /* link status change */
#define  INT_RXDMT0          (1u << 4)   /* RX descriptors below threshold */
#define  INT_RXO             (1u << 6)   /* RX overrun */
#define  INT_RXT0            (1u << 7)   /* RX timer: frame received */
/* Receive control, SDM 13.4.22 */
#define E1000_RCTL          0x0100
#define  RCTL_EN             (1u << 1)
#define  RCTL_UPE            (1u << 3)   /* unicast promiscuous */
#define  RCTL_MPE            (1u << 4)   /* multicast promiscuous */
#define  RCTL_RDMTS_HALF     (0u << 8)   /* RXDMT0 at 1/2 of the ring free */
#define  RCTL_BAM            (1u << 15)  /* accept broadcast */
#define  RCTL_BSIZE_2048     (0u << 16)  /* with BSEX = 0 */
#define  RCTL_SECRC          (1u << 26)  /* strip the Ethernet CRC */
/* Transmit control and inter-packet gap, SDM 13.4.33, 13.4.34 */
#define E1000_TCTL          0x0400
#define  TCTL_EN             (1u << 1)
#define  TCTL_PSP            (1u << 3)   /* pad short packets */
#define  TCTL_CT(x)          ((uint32_t)(x) << 4)    /* collision threshold: 0x0f */
#define  TCTL_COLD(x)        ((uint32_t)(x) << 12)   /* collision distance: 0x40 full duplex */
#define E1000_TIPG          0x0410
#define  TIPG_DEFAULT        (10u | 8u << 10 | 6u << 20)   /* IPGT, IPGR1, IPGR2 (copper) */
/* Receive descriptor ring, SDM 13.4.25-29 */
#define E1000_RDBAL         0x2800
#define E1000_RDBAH         0x2804
#define E1000_RDLEN         0x2808      /* bytes, multiple of 128 */
#define E1000_RDH           0x2810
#define E1000_RDT           0x2818
#define E1000_RDTR          0x2820      /* RX delay timer: 0 = interrupt at once */
/* Transmit descriptor ring, SDM 13.4.35-39 */
#define E1000_TDBAL         0x3800
#define E1000_TDBAH         0x3804
#define E1000_TDLEN         0x3808
#define E1000_TDH           0x3810
#define E1000_TDT           0x3818
/* Multicast table array (128 x 32 bit), receive address low/high, SDM 13.4.40-42 */
#define E1000_MTA           0x5200
#define E1000_MTA_N         128
#define E1000_RAL0          0x5400
#define E1000_RAH0          0x5404
#define  RAH_AV              (1u << 31)  /* address valid */

/* Legacy receive descriptor, SDM 3.2.3 (also the 82574's default format,
 * RCTL.DTYP = 0, 82574 7.1.4.1) */
struct e1000_rx_desc {
    uint64_t addr;
    uint16_t length;
    uint16_t csum;
    uint8_t  status;
    uint8_t  errors;
    uint16_t special;
} __attribute__((packed));
_Static_assert(sizeof(struct e1000_rx_desc) == 16, "e1000 RX descriptor");
#define RXD_STAT_DD          (1u << 0)   /* descriptor done */
#define RXD_STAT_EOP         (1u << 1)   /* end of packet */
#define RXD_ERR_MASK         0x97u       /* CE, SE, SEQ, CXE, RXE (SDM 3.2.3.2) */

/* Legacy transmit descriptor, SDM 3.3.3 (82574 7.2.10.1) */
struct e1000_tx_desc {
    uint64_t addr;
    uint16_t length;
    uint8_t  cso;
    uint8_t  cmd;
    uint8_t  status;
    uint8_t  css;
    uint16_t special;
} __attribute__((packed));
_Static_assert(sizeof(struct e1000_tx_desc) == 16, "e1000 TX descriptor");
#define TXD_CMD_EOP          (1u << 0)   /* end of packet */
#define TXD_CMD_IFCS         (1u << 1)   /* insert FCS */
#define TXD_CMD_RS           (1u << 3)   /* report status (DD) */
#define TXD_STAT_DD          (1u << 0)

#endif
