/* 16550 UART, polled.  Register layout: PC16550D datasheet. */
#include <arch/uart.h>
#include <arch/x86.h>

#define UART_THR 0      /* transmit holding (DLAB=0) */
#define UART_RBR 0      /* receive buffer (DLAB=0) */
#define UART_DLL 0      /* divisor latch low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1
#define UART_FCR 2
#define UART_IIR 2      /* read */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define  LCR_8N1   0x03
#define  LCR_DLAB  0x80
#define  FCR_ENABLE_CLEAR 0x07
#define  MCR_DTR_RTS_OUT2 0x0b
#define  LSR_DR    0x01
#define  LSR_THRE  0x20     /* FIFO mode: the transmit FIFO is empty */
#define  IIR_FIFO  0xc0     /* both set: FIFOs enabled (a 16550A) */
#define UART_FIFO_SIZE 16

static unsigned tx_fifo = 1;            /* bytes the transmitter takes when empty */

void uart_init(uint16_t port)
{
    outb(port + UART_IER, 0);
    outb(port + UART_LCR, LCR_DLAB);
    outb(port + UART_DLL, 1);           /* 115200 baud */
    outb(port + UART_DLM, 0);
    outb(port + UART_LCR, LCR_8N1);
    outb(port + UART_FCR, FCR_ENABLE_CLEAR);
    outb(port + UART_MCR, MCR_DTR_RTS_OUT2);
    tx_fifo = (inb(port + UART_IIR) & IIR_FIFO) == IIR_FIFO ? UART_FIFO_SIZE : 1;
}

unsigned uart_tx_room(uint16_t port)
{
    return (inb(port + UART_LSR) & LSR_THRE) ? tx_fifo : 0;
}

void uart_tx(uint16_t port, char c)
{
    outb(port + UART_THR, (uint8_t)c);
}

void uart_putc(uint16_t port, char c)
{
    /* bounded wait: a missing UART must not hang the console */
    for (unsigned i = 0; i < 100000 && !(inb(port + UART_LSR) & LSR_THRE); i++)
        cpu_relax();
    outb(port + UART_THR, (uint8_t)c);
}

int uart_getc(uint16_t port)
{
    if (!(inb(port + UART_LSR) & LSR_DR))
        return -1;
    return inb(port + UART_RBR);
}

bool debugcon_present(void)
{
    return inb(DEBUGCON_PORT) == DEBUGCON_PORT;
}
