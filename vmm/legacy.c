/*
 * Legacy PC odds and ends, one set per VM:
 *  - port 0x80-0x8f: POST code (0x80; Linux's io_delay) and DMA page
 *    registers: writes ignored, reads float
 *  - port 0x92: System Control Port A (Intel PIIX/ICH): bit 1 A20 gate
 *    (kept; A20 is always on), bit 0 fast reset (0 -> 1: reset)
 *  - ports 0x60/0x64: an i8042 keyboard controller with nothing attached
 *    (Intel 8042 / IBM PS/2 Technical Reference): self-test answers 0x55,
 *    the command byte reads back, 0xfe pulses reset, device bytes get no
 *    answer (the guest's device probes time out: no keyboard, no mouse)
 *  - floating ports (reads all ones, writes ignored): Super I/O config
 *    (0x2e-0x2f), DMA controllers (0x00-0x1f, 0xc0-0xdf), VGA (0x3b0-0x3df)
 */
#include "vmm.h"

#define POST_BASE       0x80
#define POST_PORTS      16
#define SYSCTL_A        0x92
#define SYSCTL_A_RESET  0x01
#define SYSCTL_A_A20    0x02

#define KBC_DATA        0x60
#define KBC_CMD         0x64    /* write: command; read: status */
/* status register */
#define KBC_STS_OBF     0x01    /* output buffer full: data at 0x60 */
#define KBC_STS_SYS     0x04    /* system flag: self-test passed */
#define KBC_STS_CMD     0x08    /* last write was to the command port */
/* controller commands */
#define KBC_READ_CTR    0x20
#define KBC_WRITE_CTR   0x60
#define KBC_AUX_DISABLE 0xa7
#define KBC_AUX_ENABLE  0xa8
#define KBC_AUX_TEST    0xa9
#define KBC_SELF_TEST   0xaa
#define KBC_KBD_TEST    0xab
#define KBC_KBD_DISABLE 0xad
#define KBC_KBD_ENABLE  0xae
#define KBC_READ_OUT    0xd0
#define KBC_WRITE_OUT   0xd1
#define KBC_PULSE_RESET 0xfe
/* answers */
#define KBC_SELF_TEST_OK 0x55
#define KBC_TEST_OK     0x00
/* command byte (CTR) */
#define KBC_CTR_KBDINT  0x01
#define KBC_CTR_SYS     0x04
#define KBC_CTR_AUXDIS  0x20
#define KBC_CTR_XLATE   0x40
#define KBC_CTR_DEFAULT (KBC_CTR_KBDINT | KBC_CTR_SYS | KBC_CTR_XLATE)
/* output port */
#define KBC_OUT_RESET_N 0x01    /* 0: reset the CPU */
#define KBC_OUT_A20     0x02
#define KBC_OUT_DEFAULT (KBC_OUT_RESET_N | KBC_OUT_A20)

/* floating ranges */
#define SUPERIO_BASE    0x2e    /* Winbond/ITE config index/data (key 0x87) */
#define SUPERIO_PORTS   2
#define DMA1_BASE       0x00    /* 8237 #1 (0x10-0x1f: aliases) */
#define DMA1_PORTS      0x20
#define DMA2_BASE       0xc0    /* 8237 #2 */
#define DMA2_PORTS      0x20
#define VGA_BASE        0x3b0   /* MDA/VGA/CGA registers 0x3b0-0x3df */
#define VGA_PORTS       0x30

struct vmm_legacy {
    uint8_t sysctl_a;
    uint8_t kbc_ctr, kbc_out, kbc_status;
    uint8_t kbc_obuf;
    uint8_t kbc_pending;        /* command whose parameter byte comes at 0x60 */
};

static void reply_all_ones(uint32_t *val, unsigned size)
{
    *val = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

static void float_io(struct vmm *m, void *state, uint16_t port, bool write, unsigned size, uint32_t *val)
{
    if (!write)
        reply_all_ones(val, size);
}

static void sysctl_io(struct vmm *m, void *state, uint16_t port, bool write, unsigned size, uint32_t *val)
{
    struct vmm_legacy *l = state;
    if (!write) {
        *val = l->sysctl_a;
        return;
    }
    if ((*val & SYSCTL_A_RESET) && !(l->sysctl_a & SYSCTL_A_RESET))
        m->reset_requested = 1;
    l->sysctl_a = (uint8_t)(*val & SYSCTL_A_A20);
}

static void kbc_answer(struct vmm_legacy *l, uint8_t v)
{
    l->kbc_obuf = v;
    l->kbc_status |= KBC_STS_OBF;
}

static void kbc_command(struct vmm *m, struct vmm_legacy *l, uint8_t cmd)
{
    l->kbc_status |= KBC_STS_CMD;
    switch (cmd) {
    case KBC_READ_CTR:
        kbc_answer(l, l->kbc_ctr);
        break;
    case KBC_WRITE_CTR:
    case KBC_WRITE_OUT:
        l->kbc_pending = cmd;
        break;
    case KBC_READ_OUT:
        kbc_answer(l, l->kbc_out);
        break;
    case KBC_SELF_TEST:
        kbc_answer(l, KBC_SELF_TEST_OK);
        l->kbc_status |= KBC_STS_SYS;
        break;
    case KBC_KBD_TEST:
    case KBC_AUX_TEST:
        kbc_answer(l, KBC_TEST_OK);
        break;
    case KBC_AUX_DISABLE:
        l->kbc_ctr |= KBC_CTR_AUXDIS;
        break;
    case KBC_AUX_ENABLE:
        l->kbc_ctr &= (uint8_t)~KBC_CTR_AUXDIS;
        break;
    case KBC_PULSE_RESET:
        m->reset_requested = 1;
        break;
    default:                    /* KBC_KBD_DISABLE/ENABLE and the rest: accepted */
        break;
    }
}

static void kbc_data_write(struct vmm *m, struct vmm_legacy *l, uint8_t v)
{
    l->kbc_status &= (uint8_t)~KBC_STS_CMD;
    uint8_t cmd = l->kbc_pending;
    l->kbc_pending = 0;
    if (cmd == KBC_WRITE_CTR) {
        l->kbc_ctr = v;
    } else if (cmd == KBC_WRITE_OUT) {
        if (!(v & KBC_OUT_RESET_N))
            m->reset_requested = 1;
        l->kbc_out = v;
    }
    /* otherwise a byte for the keyboard: no device, no answer */
}

static void kbc_io(struct vmm *m, void *state, uint16_t port, bool write, unsigned size, uint32_t *val)
{
    struct vmm_legacy *l = state;
    if (port == KBC_CMD) {
        if (write)
            kbc_command(m, l, (uint8_t)*val);
        else
            *val = l->kbc_status;
        return;
    }
    if (write) {
        kbc_data_write(m, l, (uint8_t)*val);
    } else {
        *val = l->kbc_obuf;
        l->kbc_status &= (uint8_t)~KBC_STS_OBF;
    }
}

int vmm_legacy_init(struct vmm *m, const struct vmm_create_args *a)
{
    struct vmm_legacy *l = vmm_alloc(m, sizeof(*l));
    if (!l)
        return -1;
    l->sysctl_a = SYSCTL_A_A20;
    l->kbc_ctr = KBC_CTR_DEFAULT;
    l->kbc_out = KBC_OUT_DEFAULT;
    l->kbc_status = KBC_STS_SYS;
    const struct vmm_dev devs[] = {
        { .name = "post-dma-page", .port_base = POST_BASE, .port_count = POST_PORTS, .io = float_io },
        { .name = "sysctl-a", .port_base = SYSCTL_A, .port_count = 1, .io = sysctl_io, .state = l },
        { .name = "i8042-data", .port_base = KBC_DATA, .port_count = 1, .io = kbc_io, .state = l },
        { .name = "i8042-cmd", .port_base = KBC_CMD, .port_count = 1, .io = kbc_io, .state = l },
        { .name = "superio", .port_base = SUPERIO_BASE, .port_count = SUPERIO_PORTS, .io = float_io },
        { .name = "dma1", .port_base = DMA1_BASE, .port_count = DMA1_PORTS, .io = float_io },
        { .name = "dma2", .port_base = DMA2_BASE, .port_count = DMA2_PORTS, .io = float_io },
        { .name = "vga", .port_base = VGA_BASE, .port_count = VGA_PORTS, .io = float_io },
    };
    for (unsigned i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
        if (vmm_add_device(m, &devs[i]))
            return -1;
    return 0;
}
