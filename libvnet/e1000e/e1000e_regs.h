/* SPDX-License-Identifier: MIT */
/*
 * Intel 82574 registers, bits and descriptors used by libvnet's driver.
 * Section numbers are those of the 82574 GbE Controller Family Datasheet
 * (§10: registers, §7.1 receive, §7.2 transmit, §7.4 interrupts). All
 * registers are 32 bits wide in BAR0 (memory, §10.1); descriptors are
 * little-endian, as is every host libvnet supports. The offsets and bits
 * agree with Linux's e1000e and QEMU's model of the device; where the
 * subsection of a register is not pinned down here it is written ".x"
 * (the register's name is what to look up).
 */
#ifndef VN_E1000E_REGS_H
#define VN_E1000E_REGS_H

#include <stdint.h>

#define E1K_BAR 0               /* §10.1.1: the memory-mapped register space */
#define E1K_BAR_LEN 0x20000u    /* 128 KiB */

/* General (§10.2.2) */
#define E1K_CTRL 0x00000        /* §10.2.2.1 Device Control */
#define E1K_CTRL_SLU (1u << 6)  /*   set link up */
#define E1K_CTRL_RST (1u << 26) /*   software reset, self-clearing */
#define E1K_STATUS 0x00008      /* §10.2.2.2 Device Status */
#define E1K_STATUS_LU (1u << 1) /*   link up */
#define E1K_EERD 0x00014        /* §10.2.2.x EEPROM Read */
#define E1K_EERD_START (1u << 0)
#define E1K_EERD_DONE (1u << 1)
#define E1K_EERD_ADDR_SHIFT 2
#define E1K_EERD_DATA_SHIFT 16
#define E1K_CTRL_EXT 0x00018    /* §10.2.2.3 Extended Device Control */
#define E1K_CTRL_EXT_EIAME (1u << 24) /* extended interrupt auto-mask enable */
#define E1K_CTRL_EXT_IAME (1u << 27)  /* interrupt acknowledge auto-mask */
#define E1K_CTRL_EXT_PBA_CLR (1u << 31) /* clear MSI-X pending bits on IMS writes */
#define E1K_MDIC 0x00020        /* §10.2.2.7 MDI Control: PHY registers */
#define E1K_MDIC_REG_SHIFT 16
#define E1K_MDIC_PHY_SHIFT 21
#define E1K_MDIC_OP_WRITE (1u << 26)
#define E1K_MDIC_OP_READ (2u << 26)
#define E1K_MDIC_READY (1u << 28)
#define E1K_MDIC_ERROR (1u << 30)
#define E1K_PHY_ADDR 1          /* §10.2.2.7: the internal PHY answers at address 1 */
#define E1K_PHY_CTRL 0          /* §10.3.x PHY Control (IEEE 802.3 clause 22 register 0) */
#define E1K_PHY_CTRL_RESTART_AN (1u << 9)
#define E1K_PHY_CTRL_AN_EN (1u << 12)

/* Interrupts (§10.2.4, §7.4) */
#define E1K_ICR 0x000c0         /* §10.2.4.1 Interrupt Cause Read (write 1s to clear) */
#define E1K_IMS 0x000d0         /* §10.2.4.5 Interrupt Mask Set/Read */
#define E1K_IMC 0x000d8         /* §10.2.4.6 Interrupt Mask Clear */
#define E1K_IAM 0x000e0         /* §10.2.4.7 Interrupt Acknowledge Auto-Mask */
#define E1K_EIAC 0x000dc        /* §10.2.4.4 Extended Interrupt Auto Clear (MSI-X) */
#define E1K_IVAR 0x000e4        /* §10.2.4.9 Interrupt Vector Allocation */
#define E1K_INT_TXDW (1u << 0)  /* TX descriptor written back */
#define E1K_INT_LSC (1u << 2)   /* link status change */
#define E1K_INT_RXT0 (1u << 7)  /* receiver timer (a frame written back) */
#define E1K_INT_RXQ0 (1u << 20) /* MSI-X causes (§7.4.2): RX queue 0 */
#define E1K_INT_TXQ0 (1u << 22) /*   TX queue 0 */
#define E1K_INT_OTHER (1u << 24) /*  every other cause (LSC, ...) */
/* IVAR (§10.2.4.9): 4-bit fields {valid bit 3, vector 2:0} per cause */
#define E1K_IVAR_VALID 0x8u
#define E1K_IVAR_RXQ0_SHIFT 0
#define E1K_IVAR_TXQ0_SHIFT 8
#define E1K_IVAR_OTHER_SHIFT 16
#define E1K_IVAR_TX_EVERY_WB (1u << 31) /* a TX interrupt on every write-back */

/* Receive (§10.2.5) */
#define E1K_RCTL 0x00100        /* §10.2.5.1 Receive Control */
#define E1K_RCTL_EN (1u << 1)
#define E1K_RCTL_UPE (1u << 3)  /*   unicast promiscuous */
#define E1K_RCTL_MPE (1u << 4)  /*   multicast promiscuous */
#define E1K_RCTL_LPE (1u << 5)  /*   long packets (over 1522 bytes) */
#define E1K_RCTL_BAM (1u << 15) /*   accept broadcast */
#define E1K_RCTL_BSIZE_SHIFT 16 /*   buffer size, with BSEX below */
#define E1K_RCTL_VFE (1u << 18) /*   VLAN filter (VFTA) on */
#define E1K_RCTL_BSEX (1u << 25) /*  buffer sizes times 16 */
#define E1K_RCTL_SECRC (1u << 26) /* strip the Ethernet CRC */
#define E1K_RDBAL 0x02800       /* §10.2.5.x queue 0 descriptor base low/high */
#define E1K_RDBAH 0x02804
#define E1K_RDLEN 0x02808       /* ring bytes, a multiple of 128 */
#define E1K_RDH 0x02810
#define E1K_RDT 0x02818
#define E1K_RDTR 0x02820        /* RX interrupt delay (0: none) */
#define E1K_RADV 0x0282c        /* RX absolute interrupt delay */
#define E1K_RFCTL 0x05008       /* §10.2.5.x Receive Filter Control (EXSTEN: extended descriptors) */
#define E1K_MTA 0x05200         /* §10.2.5.x Multicast Table Array, 128 registers */
#define E1K_MTA_N 128u
#define E1K_RAL(n) (0x05400u + 8u * (n)) /* §10.2.5.x Receive Address Low/High */
#define E1K_RAH(n) (0x05404u + 8u * (n))
#define E1K_RAH_AV (1u << 31)   /*   address valid */
#define E1K_RAR_N 16u           /*   entries; 0 is the station address */
#define E1K_VFTA 0x05600        /* §10.2.5.x VLAN Filter Table Array, 128 registers */

/* Transmit (§10.2.6) */
#define E1K_TCTL 0x00400        /* §10.2.6.1 Transmit Control */
#define E1K_TCTL_EN (1u << 1)
#define E1K_TCTL_PSP (1u << 3)  /*   pad short packets */
#define E1K_TCTL_CT (0x0fu << 4) /*  collision threshold (15: IEEE 802.3) */
#define E1K_TCTL_COLD (0x3fu << 12) /* collision distance, full duplex */
#define E1K_TIPG 0x00410        /* §10.2.6.2 Transmit IPG */
#define E1K_TIPG_DEFAULT 0x00602008u /* IPGT 8, IPGR1 8, IPGR2 6 (the datasheet's values) */
#define E1K_TDBAL 0x03800
#define E1K_TDBAH 0x03804
#define E1K_TDLEN 0x03808
#define E1K_TDH 0x03810
#define E1K_TDT 0x03818

/* Statistics (§10.2.7): clear on read; 64-bit ones read low, then high. */
#define E1K_CRCERRS 0x04000
#define E1K_ALGNERRC 0x04004
#define E1K_RXERRC 0x0400c
#define E1K_MPC 0x04010         /* missed packets: no room */
#define E1K_RLEC 0x04040
#define E1K_GPRC 0x04074
#define E1K_BPRC 0x04078
#define E1K_MPRC 0x0407c
#define E1K_GPTC 0x04080
#define E1K_GORCL 0x04088
#define E1K_GOTCL 0x04090
#define E1K_RNBC 0x040a0        /* no RX descriptor when a frame came */
#define E1K_RUC 0x040a4
#define E1K_RFC 0x040a8
#define E1K_ROC 0x040ac
#define E1K_RJC 0x040b0

/* §7.1.4 Legacy receive descriptor */
struct e1k_rx_desc {
	uint64_t addr;
	uint16_t len;
	uint16_t csum;
	uint8_t status;
	uint8_t errors;
	uint16_t special;
};
#define E1K_RXD_DD 0x01         /* descriptor done */
#define E1K_RXD_EOP 0x02        /* end of packet */
#define E1K_RXE_MASK 0x97       /* CE, SE, SEQ, CXE, RXE: the frame is bad */

/* §7.2.2 Legacy transmit descriptor */
struct e1k_tx_desc {
	uint64_t addr;
	uint16_t len;
	uint8_t cso;
	uint8_t cmd;
	uint8_t status;
	uint8_t css;
	uint16_t special;
};
#define E1K_TXD_EOP 0x01        /* cmd: end of packet */
#define E1K_TXD_IFCS 0x02       /* cmd: insert the CRC */
#define E1K_TXD_RS 0x08         /* cmd: report status (write DD back) */
#define E1K_TXD_DD 0x01         /* status: descriptor done */

_Static_assert(sizeof(struct e1k_rx_desc) == 16, "§7.1.4: 16-byte RX descriptors");
_Static_assert(sizeof(struct e1k_tx_desc) == 16, "§7.2.2: 16-byte TX descriptors");

#endif
