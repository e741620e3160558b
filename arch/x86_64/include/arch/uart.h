/* 16550 UART (polled) for the hypervisor console. */
#ifndef ARCH_UART_H
#define ARCH_UART_H
#include <stdint.h>
#include <stdbool.h>

#define COM1_PORT       0x3f8
#define DEBUGCON_PORT   0xe9    /* Bochs port_e9_hack / QEMU debugcon */

void uart_init(uint16_t port);
void uart_putc(uint16_t port, char c);              /* waits for room (bounded) */
unsigned uart_tx_room(uint16_t port);               /* bytes uart_tx may send now */
void uart_tx(uint16_t port, char c);                /* no wait: only after uart_tx_room */
int  uart_getc(uint16_t port);          /* -1 when nothing is waiting */
bool debugcon_present(void);
#endif
