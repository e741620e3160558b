/*
 * The few system hooks newlib needs in a freestanding kernel (newlib is
 * configured without syscalls; MISSING_SYSCALL_NAMES: unprefixed names).
 * Only the console is a file; the heap is a fixed kernel array.
 */
#include <errno.h>
#include <stddef.h>
#include <sys/stat.h>
#include <nethv/kernel.h>

#define HEAP_SIZE (1u << 20)
static char heap[HEAP_SIZE] __attribute__((aligned(64)));
static size_t heap_used;

void *sbrk(ptrdiff_t incr);
void *sbrk(ptrdiff_t incr)
{
    if (incr < 0 || (size_t)incr > HEAP_SIZE - heap_used) {
        errno = ENOMEM;
        return (void *)-1;
    }
    void *p = heap + heap_used;
    heap_used += (size_t)incr;
    return p;
}

int write(int fd, const void *buf, size_t n);
int write(int fd, const void *buf, size_t n)
{
    if (fd != 1 && fd != 2) {
        errno = EBADF;
        return -1;
    }
    console_write(buf, n);
    return (int)n;
}

int read(int fd, void *buf, size_t n);
int read(int fd, void *buf, size_t n) { errno = EBADF; return -1; }
int close(int fd);
int close(int fd) { errno = EBADF; return -1; }
long lseek(int fd, long off, int whence);
long lseek(int fd, long off, int whence) { errno = ESPIPE; return -1; }
int isatty(int fd);
int isatty(int fd) { return fd <= 2; }
int fstat(int fd, struct stat *st);
int fstat(int fd, struct stat *st) { st->st_mode = S_IFCHR; return 0; }
int getpid(void);
int getpid(void) { return 1; }
int kill(int pid, int sig);
int kill(int pid, int sig) { errno = EINVAL; return -1; }
void _exit(int code);
void _exit(int code) { panic("newlib called _exit(%d)", code); }

