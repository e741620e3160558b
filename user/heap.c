/* newlib's system interface for the programs at CPL 3 (the monitor, the
 * configuration parser): malloc's heap, which newlib's stdio may ask for,
 * a fixed one in .bss; nothing else. */
#include <stddef.h>
#include <stdint.h>

void *sbrk(ptrdiff_t incr);
void *sbrk(ptrdiff_t incr)
{
    static uint8_t heap[64 << 10] __attribute__((aligned(16)));
    static size_t top;
    if (incr < 0 || (size_t)incr > sizeof(heap) - top)
        return (void *)-1;
    void *p = heap + top;
    top += (size_t)incr;
    return p;
}
