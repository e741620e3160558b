/*
 * 16550A UART, COM1 (ports 0x3f8-0x3ff, ISA IRQ 4), one per VM.
 *
 * Register semantics follow the TI PC16550D datasheet (SNLS378), section
 * 8 "Registers".  Transmission is instantaneous: THR is always empty, so
 * LSR.THRE/TEMT stay set, and every written byte goes into a line buffer
 * that is printed with vm_console_line() at '\n' (or when full).  In
 * loopback (MCR.LOOP) written bytes go to our own receiver instead.
 * Received bytes come from vmm_uart_input() into a 16-byte FIFO.
 *
 * Interrupts: the IIR source priority of table 4 (line status > received
 * data > THR empty > modem status).  The data-available interrupt is raised
 * whenever the FIFO holds a byte (the trigger level and the character
 * timeout are not modelled).  The IRQ line follows "an interrupt is pending"
 * (as QEMU, not gated by MCR.OUT2) and is driven through m->raise_irq.
 */
#include "vmm.h"

#define UART_BASE       0x3f8
#define UART_PORTS      8
#define UART_IRQ        4
#define UART_FIFO_SIZE  16

/* register offsets (table 2) */
#define UART_RBR        0   /* read, DLAB=0: receiver buffer */
#define UART_THR        0   /* write, DLAB=0: transmitter holding */
#define UART_DLL        0   /* DLAB=1: divisor latch LSB */
#define UART_IER        1   /* DLAB=0: interrupt enable */
#define UART_DLM        1   /* DLAB=1: divisor latch MSB */
#define UART_IIR        2   /* read: interrupt identification */
#define UART_FCR        2   /* write: FIFO control */
#define UART_LCR        3   /* line control */
#define UART_MCR        4   /* modem control */
#define UART_LSR        5   /* line status */
#define UART_MSR        6   /* modem status */
#define UART_SCR        7   /* scratch */

/* IER */
#define IER_RDI         0x01    /* received data available */
#define IER_THRI        0x02    /* THR empty */
#define IER_RLSI        0x04    /* receiver line status */
#define IER_MSI         0x08    /* modem status */
#define IER_MASK        0x0f    /* bits 4-7 are always 0 on a 16550 */
/* IIR */
#define IIR_NO_INT      0x01
#define IIR_MSI         0x00
#define IIR_THRI        0x02
#define IIR_RDI         0x04
#define IIR_RLSI        0x06
#define IIR_FIFO_ON     0xc0    /* both bits set: FIFOs enabled (16550A) */
/* FCR */
#define FCR_ENABLE      0x01
#define FCR_CLEAR_RX    0x02
#define FCR_CLEAR_TX    0x04
/* LCR */
#define LCR_DLAB        0x80
/* MCR */
#define MCR_DTR         0x01
#define MCR_RTS         0x02
#define MCR_OUT1        0x04
#define MCR_OUT2        0x08
#define MCR_LOOP        0x10
#define MCR_MASK        0x1f
/* LSR */
#define LSR_DR          0x01    /* data ready */
#define LSR_OE          0x02    /* overrun error */
#define LSR_BI          0x10    /* break interrupt */
#define LSR_THRE        0x20    /* THR empty */
#define LSR_TEMT        0x40    /* transmitter empty */
#define LSR_ERRORS      0x1e    /* OE PE FE BI: cleared by reading LSR */
/* MSR: deltas in the low nibble, line states in the high one */
#define MSR_DCTS        0x01
#define MSR_DDSR        0x02
#define MSR_TERI        0x04
#define MSR_DDCD        0x08
#define MSR_DELTAS      0x0f
#define MSR_CTS         0x10
#define MSR_DSR         0x20
#define MSR_RI          0x40
#define MSR_DCD         0x80
/* outside loopback the "other end" is always ready */
#define MSR_LINES_IDLE  (MSR_CTS | MSR_DSR | MSR_DCD)

#define UART_LINE_MAX   160

struct vmm_uart {
    uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
    uint8_t lsr_err;            /* sticky OE/BI until LSR is read */
    uint8_t msr;                /* line states (high nibble) + deltas */
    bool thre_pending;          /* THR-empty interrupt not yet acknowledged */
    bool irq_level;             /* last level driven on UART_IRQ */
    uint8_t rx[UART_FIFO_SIZE];
    unsigned rx_head, rx_count;
    char line[UART_LINE_MAX];
    unsigned line_len;
};

/* The highest-priority pending source (table 4), or IIR_NO_INT. */
static uint8_t uart_iir_source(const struct vmm_uart *u)
{
    if ((u->ier & IER_RLSI) && (u->lsr_err & (LSR_OE | LSR_BI)))
        return IIR_RLSI;
    if ((u->ier & IER_RDI) && u->rx_count)
        return IIR_RDI;
    if ((u->ier & IER_THRI) && u->thre_pending)
        return IIR_THRI;
    if ((u->ier & IER_MSI) && (u->msr & MSR_DELTAS))
        return IIR_MSI;
    return IIR_NO_INT;
}

static void uart_update_irq(struct vmm *m, struct vmm_uart *u)
{
    bool level = uart_iir_source(u) != IIR_NO_INT;
    if (level == u->irq_level)
        return;
    u->irq_level = level;
    if (m->raise_irq)
        m->raise_irq(m, UART_IRQ, level);
}

static void uart_rx_push(struct vmm_uart *u, uint8_t c)
{
    if (u->rx_count == UART_FIFO_SIZE) {
        u->lsr_err |= LSR_OE;           /* the new byte is lost */
        return;
    }
    u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = c;
    u->rx_count++;
}

static uint8_t uart_rx_pop(struct vmm_uart *u)
{
    if (!u->rx_count)
        return 0;
    uint8_t c = u->rx[u->rx_head];
    u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
    u->rx_count--;
    return c;
}

static void uart_flush_line(struct vmm *m, struct vmm_uart *u)
{
    u->line[u->line_len] = 0;
    vm_console_line(m->vm_id, u->line);
    u->line_len = 0;
}

static void uart_transmit(struct vmm *m, struct vmm_uart *u, uint8_t c)
{
    if (u->mcr & MCR_LOOP) {
        uart_rx_push(u, c);
    } else if (c == '\n') {
        uart_flush_line(m, u);
    } else if (c != '\r') {
        u->line[u->line_len++] = (char)c;
        if (u->line_len == UART_LINE_MAX - 1)
            uart_flush_line(m, u);
    }
    u->thre_pending = true;     /* the byte left at once: THR empty again */
}

/* MSR line states: looped back from MCR (section 8.6.3) or an idle peer. */
static uint8_t uart_msr_lines(const struct vmm_uart *u)
{
    if (!(u->mcr & MCR_LOOP))
        return MSR_LINES_IDLE;
    return (u->mcr & MCR_RTS ? MSR_CTS : 0) | (u->mcr & MCR_DTR ? MSR_DSR : 0) |
           (u->mcr & MCR_OUT1 ? MSR_RI : 0) | (u->mcr & MCR_OUT2 ? MSR_DCD : 0);
}

static void uart_set_mcr(struct vmm_uart *u, uint8_t v)
{
    u->mcr = v & MCR_MASK;
    uint8_t old = u->msr & ~MSR_DELTAS, now = uart_msr_lines(u);
    uint8_t changed = old ^ now;
    if (changed & MSR_CTS)
        u->msr |= MSR_DCTS;
    if (changed & MSR_DSR)
        u->msr |= MSR_DDSR;
    if ((old & MSR_RI) && !(now & MSR_RI))      /* trailing edge of RI */
        u->msr |= MSR_TERI;
    if (changed & MSR_DCD)
        u->msr |= MSR_DDCD;
    u->msr = (u->msr & MSR_DELTAS) | now;
}

static uint8_t uart_read(struct vmm_uart *u, unsigned reg)
{
    bool dlab = u->lcr & LCR_DLAB;
    uint8_t v;
    switch (reg) {
    case UART_RBR:
        return dlab ? u->dll : uart_rx_pop(u);
    case UART_IER:
        return dlab ? u->dlm : u->ier;
    case UART_IIR:
        v = uart_iir_source(u);
        if (v == IIR_THRI)
            u->thre_pending = false;    /* reading IIR acknowledges THRE */
        return v | (u->fcr & FCR_ENABLE ? IIR_FIFO_ON : 0);
    case UART_LCR:
        return u->lcr;
    case UART_MCR:
        return u->mcr;
    case UART_LSR:
        v = LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0) | u->lsr_err;
        u->lsr_err = 0;
        return v;
    case UART_MSR:
        v = u->msr;
        u->msr &= ~MSR_DELTAS;
        return v;
    default:
        return u->scr;
    }
}

static void uart_write(struct vmm *m, struct vmm_uart *u, unsigned reg, uint8_t v)
{
    bool dlab = u->lcr & LCR_DLAB;
    switch (reg) {
    case UART_THR:
        if (dlab)
            u->dll = v;
        else
            uart_transmit(m, u, v);
        break;
    case UART_IER:
        if (dlab) {
            u->dlm = v;
        } else {
            /* enabling THRI while THR is empty raises THRE (Linux's THRE test) */
            if ((v & IER_THRI) && !(u->ier & IER_THRI))
                u->thre_pending = true;
            u->ier = v & IER_MASK;
        }
        break;
    case UART_FCR:
        if (v & FCR_CLEAR_RX)
            u->rx_count = 0;
        u->fcr = v & ~(FCR_CLEAR_RX | FCR_CLEAR_TX);
        break;
    case UART_LCR:
        u->lcr = v;
        break;
    case UART_MCR:
        uart_set_mcr(u, v);
        break;
    case UART_SCR:
        u->scr = v;
        break;
    default:                    /* LSR, MSR: read-only (factory test) */
        break;
    }
}

static void uart_io(struct vmm *m, void *state, uint16_t port, bool write, unsigned size, uint32_t *val)
{
    struct vmm_uart *u = state;
    /* a wider access touches consecutive registers, low byte first */
    for (unsigned i = 0; i < size; i++) {
        unsigned reg = (unsigned)(port - UART_BASE + i);
        if (reg >= UART_PORTS)
            break;
        if (write) {
            uart_write(m, u, reg, (uint8_t)(*val >> (8 * i)));
        } else {
            *val &= ~(0xffu << (8 * i));
            *val |= (uint32_t)uart_read(u, reg) << (8 * i);
        }
    }
    uart_update_irq(m, u);
}

bool vmm_uart_input(struct vmm *m, char c)
{
    struct vmm_uart *u = m->uart;
    bool taken = true;
    if (!u)
        return true;                    /* no UART: the byte is dropped */
    uint64_t f = spin_lock_irqsave(&m->lock);
    /* someone is typing: show a pending partial line (a shell prompt) now */
    if (u->line_len)
        uart_flush_line(m, u);
    if (u->rx_count == UART_FIFO_SIZE)
        taken = false;                  /* caller keeps it: no overrun */
    else if (!(u->mcr & MCR_LOOP))      /* in loopback the line is disconnected */
        uart_rx_push(u, (uint8_t)c);
    uart_update_irq(m, u);
    spin_unlock_irqrestore(&m->lock, f);
    return taken;
}

int vmm_uart_init(struct vmm *m, const struct vmm_create_args *a)
{
    struct vmm_uart *u = vmm_alloc(m, sizeof(*u));
    if (!u)
        return -1;
    u->msr = MSR_LINES_IDLE;
    u->dll = 12;                        /* 9600 baud, as after reset by a BIOS */
    m->uart = u;
    struct vmm_dev d = {
        .name = "uart-com1", .port_base = UART_BASE, .port_count = UART_PORTS,
        .io = uart_io, .state = u,
    };
    return vmm_add_device(m, &d);
}
