/*
 * Hypervisor console: COM1, echoed to the debug port (0xE9) when an
 * emulator provides one.  printk formats with newlib's vsnprintf.
 */
#include <stdarg.h>
#include <stdio.h>
#include <nethv/kernel.h>
#include <nethv/spinlock.h>
#include <nethv/power.h>
#include <arch/uart.h>

/*
 * While VMs run, output goes through a ring and reaches the UART without
 * anyone waiting for it (issue 13, item 7): a writer -- often an exit
 * handler with interrupts off -- only copies its bytes in, and the UART's
 * transmit FIFO is refilled whenever it is empty by console_drain(), which
 * never waits (after every exit, in every idle loop, at CPU 0's tick).  A
 * VM's line that finds no room is dropped (console_try_write: the caller
 * counts it).  The hypervisor's own messages are never refused: with the
 * ring full, the oldest bytes not yet sent make room and are counted (a
 * note says how many) -- never a wait for the UART with interrupts off,
 * which guests could otherwise provoke by keeping the ring full.  Until
 * the VMs start, after they stop, and on panic and power-off, the console
 * is synchronous (console_set_buffered).  The debug port
 * (0xE9, emulators only) never waits and is written at once.
 */
#define CON_RING        (64 * 1024)     /* a power of two */
#define UART_TX_FIFO    16              /* 16550A; uart_tx_room says 1 without a FIFO */

static spinlock_t console_lock = SPINLOCK_INIT;   /* the ring and the UART's TX */
static char ring[CON_RING];
static uint64_t ring_head, ring_tail;   /* bytes ever put in / sent out */
static uint64_t ring_lost;              /* oldest bytes discarded for the hypervisor's text */
static bool buffered;
static bool have_debugcon;
static bool console_ready;

void console_init(void);
void console_init(void)
{
    uart_init(COM1_PORT);
    have_debugcon = debugcon_present();
    console_ready = true;
}

/* Bytes of the ring into the UART's empty FIFO; never waits.  Lock held. */
static void send_some(void)
{
    unsigned room = uart_tx_room(COM1_PORT);
    for (; room && ring_tail != ring_head; room--, ring_tail++)
        uart_tx(COM1_PORT, ring[ring_tail & (CON_RING - 1)]);
}

/* Everything in the ring to the UART, waiting for it (bounded per byte by
 * uart_putc).  Lock held. */
static void send_all(void)
{
    for (; ring_tail != ring_head; ring_tail++)
        uart_putc(COM1_PORT, ring[ring_tail & (CON_RING - 1)]);
}

/* n bytes (newlines as CR LF) fit?  Lock held. */
static size_t needed(const char *s, size_t n)
{
    size_t k = n;
    for (size_t i = 0; i < n; i++)
        k += s[i] == '\n';
    return k;
}

static void put_ring(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            ring[ring_head++ & (CON_RING - 1)] = '\r';
        ring[ring_head++ & (CON_RING - 1)] = s[i];
        if (have_debugcon)
            outb(DEBUGCON_PORT, (uint8_t)s[i]);
    }
}

/* own_text: the hypervisor's text (the oldest unsent bytes make room for
 * it); else a VM's, refused when it does not fit */
static bool write_common(const char *s, size_t n, bool own_text)
{
    if (!console_ready)
        console_init();
    uint64_t f = spin_lock_irqsave(&console_lock);
    size_t k = needed(s, n);
    if (!buffered || k > CON_RING) {
        put_ring(s, n);                 /* the ring wraps; send_all sends it in order */
        if (ring_head - ring_tail > CON_RING)
            ring_tail = ring_head - CON_RING;
        send_all();
    } else {
        static const char note[] = "\n[console: older output lost]\n";
        if (ring_head - ring_tail + k > CON_RING) {
            if (!own_text) {
                spin_unlock_irqrestore(&console_lock, f);
                return false;
            }
            /* room for the text and a note where the gap is */
            uint64_t drop = ring_head - ring_tail + k + (sizeof(note) + 1) - CON_RING;
            ring_tail += drop;
            ring_lost += drop;
            put_ring(note, sizeof(note) - 1);
        }
        put_ring(s, n);
        send_some();
    }
    spin_unlock_irqrestore(&console_lock, f);
    return true;
}

void console_write(const char *s, size_t n)
{
    write_common(s, n, true);
}

bool console_try_write(const char *s, size_t n)
{
    return write_common(s, n, false);
}

void console_drain(void)
{
    if (__atomic_load_n(&ring_tail, __ATOMIC_RELAXED) == __atomic_load_n(&ring_head, __ATOMIC_RELAXED))
        return;
    uint64_t f = irq_save();
    if (spin_trylock(&console_lock)) {
        send_some();
        spin_unlock(&console_lock);
    }
    irq_restore(f);
}

void console_set_buffered(bool on)
{
    uint64_t f = spin_lock_irqsave(&console_lock);
    send_all();
    buffered = on;
    spin_unlock_irqrestore(&console_lock, f);
}

static void vprintk(const char *fmt, va_list ap)
{
    char buf[512];
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(buf))
        n = sizeof(buf) - 1;
    console_write(buf, (size_t)n);
}

void printk(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintk(fmt, ap);
    va_end(ap);
}

void panic(const char *fmt, ...)
{
    va_list ap;
    irq_disable();
    buffered = false;                   /* what follows goes out at once */
    printk("\nnethv: PANIC: ");
    va_start(ap, fmt);
    vprintk(fmt, ap);
    va_end(ap);
    printk("\n");
    power_fail_stop();
}
