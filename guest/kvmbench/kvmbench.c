/*
 * kvmbench: the peer side of `make bench` (tests/bench/cpu-exits.sh).
 *
 * Runs inside a Linux guest of the emulator, with Linux KVM as the L1
 * hypervisor, and measures three exit round trips through /dev/kvm directly:
 *
 *   io         the guest executes N `out dx, al` to an I/O port; each one is
 *              a KVM_EXIT_IO handled here in user space, then KVM_RUN again
 *              (the counterpart of nethv's port-I/O exits to its per-VM monitor)
 *   hypercall  the guest executes N VMMCALL/VMCALL (the instruction of the
 *              CPU vendor) with an unknown hypercall number: KVM answers
 *              -KVM_ENOSYS in the kernel, without leaving KVM_RUN (the
 *              counterpart of nethv's null hypercall fast path)
 *   mmio       the guest executes N `mov %ecx, (%edx)`, 32-bit stores to a
 *              guest-physical address no memory slot covers (MMIO_GPA); KVM
 *              decodes each one and returns KVM_EXIT_MMIO, handled here in
 *              user space, then KVM_RUN again (the counterpart of nethv's
 *              MMIO exits to its per-VM monitor)
 *
 * The vCPU runs flat 32-bit protected mode (no paging) on a hand-assembled
 * loop.  Each measured loop is bracketed by "BENCH-START NAME" and
 * "BENCH-END NAME N" lines on stdout (drained to the console before and after
 * the loop) so the host can time it by wall clock; guest clocks under Bochs do
 * not track wall time.  The program's own figure ("kvmbench: io N exits in T
 * us") uses CLOCK_MONOTONIC of the L1 kernel.
 *
 * usage: kvmbench [IO_N [HYPERCALL_N [MMIO_N [PORT [HYPERCALL_NR]]]]]
 * Exit status 0 when all three loops ran and checked out, 1 otherwise.
 * Build: gcc -static -O2 (it runs in the L1 Debian kernel, any x86-64 libc ABI).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <cpuid.h>

#define MEM_SIZE    0x10000ul       /* 64 KiB of guest RAM at GPA 0 */
#define IO_CODE     0x1000u
#define HC_CODE     0x1100u
#define MMIO_CODE   0x1200u
/* No memory slot here (and no in-kernel irqchip: no KVM device model either);
 * the same GPA as nethv's bench guest (guest/tests/bench.c). */
#define MMIO_GPA    0xa0000000u
#define WARMUP      1000u

static int vm_fd, vcpu_fd;
static struct kvm_run *run;
static uint8_t *mem;

static void say(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(buf))
        n = sizeof(buf) - 1;
    for (int off = 0; off < n;) {
        ssize_t w = write(1, buf + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (int)w;
    }
    tcdrain(1);                         /* on the wire before we go on */
}

static void die(const char *what)
{
    say("kvmbench: error: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void xioctl(int fd, unsigned long req, void *arg, const char *what)
{
    if (ioctl(fd, req, arg) < 0)
        die(what);
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
    memset(s, 0, sizeof(*s));
    s->base = 0;
    s->limit = 0xffffffff;
    s->selector = sel;
    s->type = type;
    s->present = 1;
    s->dpl = 0;
    s->db = 1;
    s->s = 1;
    s->l = 0;
    s->g = 1;
}

static void setup_vcpu_32bit(void)
{
    struct kvm_sregs sr;
    xioctl(vcpu_fd, KVM_GET_SREGS, &sr, "KVM_GET_SREGS");
    seg(&sr.cs, 0x08, 11);              /* code, execute/read, accessed */
    seg(&sr.ds, 0x10, 3);               /* data, read/write, accessed */
    sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
    sr.cr0 = (sr.cr0 | 1u) & ~0x80000000ull;    /* PE, no paging */
    sr.cr4 = 0;
    sr.efer = 0;
    xioctl(vcpu_fd, KVM_SET_SREGS, &sr, "KVM_SET_SREGS");
}

static void set_regs(uint32_t rip, uint32_t rcx, uint32_t rdx, uint32_t rbx)
{
    struct kvm_regs r;
    memset(&r, 0, sizeof(r));
    r.rip = rip;
    r.rflags = 2;
    r.rcx = rcx;
    r.rdx = rdx;
    r.rbx = rbx;
    r.rsp = MEM_SIZE - 16;
    xioctl(vcpu_fd, KVM_SET_REGS, &r, "KVM_SET_REGS");
}

/* KVM_RUN until HLT; returns the number of exits of kind `want`, or -1 on
 * any other I/O or MMIO exit: KVM_EXIT_IO, an OUT to `port`; KVM_EXIT_MMIO,
 * a 4-byte write to MMIO_GPA; 0, none expected. */
static long run_until_hlt(uint32_t want, uint16_t port)
{
    long ios = 0;
    for (;;) {
        if (ioctl(vcpu_fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            die("KVM_RUN");
        }
        switch (run->exit_reason) {
        case KVM_EXIT_IO:
            if (want != KVM_EXIT_IO || run->io.port != port ||
                run->io.direction != KVM_EXIT_IO_OUT) {
                say("kvmbench: error: unexpected I/O %s port %#x\n",
                    run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in", run->io.port);
                return -1;
            }
            ios += run->io.count;
            break;
        case KVM_EXIT_MMIO:
            /* a write needs nothing from us: KVM completed the instruction */
            if (want != KVM_EXIT_MMIO || run->mmio.phys_addr != MMIO_GPA ||
                !run->mmio.is_write || run->mmio.len != 4) {
                say("kvmbench: error: unexpected MMIO %s of %u bytes at %#llx\n",
                    run->mmio.is_write ? "write" : "read", run->mmio.len,
                    (unsigned long long)run->mmio.phys_addr);
                return -1;
            }
            ios++;
            break;
        case KVM_EXIT_HLT:
            return ios;
        case KVM_EXIT_INTR:
            break;
        case KVM_EXIT_FAIL_ENTRY:
            say("kvmbench: error: entry failed, hardware reason %#llx\n",
                (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
            return -1;
        case KVM_EXIT_INTERNAL_ERROR:
            say("kvmbench: error: KVM internal error, suberror %u\n", run->internal.suberror);
            return -1;
        case KVM_EXIT_SHUTDOWN:
            say("kvmbench: error: guest shutdown (triple fault)\n");
            return -1;
        default:
            say("kvmbench: error: unexpected exit reason %u\n", run->exit_reason);
            return -1;
        }
    }
}

static uint32_t guest_eax(void)
{
    struct kvm_regs r;
    xioctl(vcpu_fd, KVM_GET_REGS, &r, "KVM_GET_REGS");
    return (uint32_t)r.rax;
}

static int bench_io(unsigned long n, uint16_t port, int timed)
{
    set_regs(IO_CODE, (uint32_t)n, port, 0);
    if (timed)
        say("BENCH-START io\n");
    double t0 = now_us();
    long got = run_until_hlt(KVM_EXIT_IO, port);
    double t1 = now_us();
    if (timed)
        say("BENCH-END io %lu\n", n);
    if (got != (long)n) {
        say("kvmbench: error: io: %ld exits, expected %lu\n", got, n);
        return -1;
    }
    if (timed)
        say("kvmbench: io %lu exits in %.0f us (%.0f/s, %.2f us each)\n",
            n, t1 - t0, n / ((t1 - t0) / 1e6), (t1 - t0) / n);
    return 0;
}

static int bench_hypercall(unsigned long n, uint32_t nr, int timed)
{
    set_regs(HC_CODE, (uint32_t)n, 0, nr);
    if (timed)
        say("BENCH-START hypercall\n");
    double t0 = now_us();
    long got = run_until_hlt(0, 0);
    double t1 = now_us();
    if (timed)
        say("BENCH-END hypercall %lu\n", n);
    if (got != 0)
        return -1;
    uint32_t eax = guest_eax();
    if (timed)
        say("kvmbench: hypercall %lu in %.0f us (%.0f/s, %.2f us each; nr %u returned %d)\n",
            n, t1 - t0, n / ((t1 - t0) / 1e6), (t1 - t0) / n, nr, (int32_t)eax);
    return 0;
}

static int bench_mmio(unsigned long n, int timed)
{
    set_regs(MMIO_CODE, (uint32_t)n, MMIO_GPA, 0);
    if (timed)
        say("BENCH-START mmio\n");
    double t0 = now_us();
    long got = run_until_hlt(KVM_EXIT_MMIO, 0);
    double t1 = now_us();
    if (timed)
        say("BENCH-END mmio %lu\n", n);
    if (got != (long)n) {
        say("kvmbench: error: mmio: %ld exits, expected %lu\n", got, n);
        return -1;
    }
    if (timed)
        say("kvmbench: mmio %lu exits in %.0f us (%.0f/s, %.2f us each)\n",
            n, t1 - t0, n / ((t1 - t0) / 1e6), (t1 - t0) / n);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long io_n = argc > 1 ? strtoul(argv[1], 0, 0) : 20000;
    unsigned long hc_n = argc > 2 ? strtoul(argv[2], 0, 0) : 20000;
    unsigned long mmio_n = argc > 3 ? strtoul(argv[3], 0, 0) : 20000;
    uint16_t port = argc > 4 ? (uint16_t)strtoul(argv[4], 0, 0) : 0x3e3;
    uint32_t nr = argc > 5 ? (uint32_t)strtoul(argv[5], 0, 0) : 0;  /* unknown to KVM */
    if (!io_n || !hc_n || !mmio_n || io_n > 0xffffffffu || hc_n > 0xffffffffu ||
        mmio_n > 0xffffffffu) {
        say("usage: kvmbench [IO_N [HYPERCALL_N [MMIO_N [PORT [HYPERCALL_NR]]]]] (N in 1..2^32-1)\n");
        return 1;
    }

    unsigned a = 0, b = 0, c = 0, d = 0;
    __get_cpuid(0, &a, &b, &c, &d);
    int amd = b == 0x68747541;          /* "AuthenticAMD" */

    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        die("open /dev/kvm");
    int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) {
        say("kvmbench: error: KVM API version %d, want %d\n", api, KVM_API_VERSION);
        return 1;
    }
    vm_fd = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm_fd < 0)
        die("KVM_CREATE_VM");
    /* Needed on VMX without unrestricted guest; harmless elsewhere. */
    if (ioctl(vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0 && errno != EINVAL)
        die("KVM_SET_TSS_ADDR");

    mem = mmap(0, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED)
        die("mmap guest memory");
    static const uint8_t io_loop[] = {
        0xee,                   /* 1: out  %al, (%dx)   */
        0x49,                   /*    dec  %ecx         */
        0x75, 0xfc,             /*    jnz  1b           */
        0xf4,                   /*    hlt               */
    };
    uint8_t hc_loop[] = {
        0x89, 0xd8,             /* 1: mov  %ebx, %eax   */
        0x0f, 0x01, 0xd9,       /*    vmmcall (vmcall: 0f 01 c1) */
        0x49,                   /*    dec  %ecx         */
        0x75, 0xf8,             /*    jnz  1b           */
        0xf4,                   /*    hlt               */
    };
    static const uint8_t mmio_loop[] = {
        0x89, 0x0a,             /* 1: mov  %ecx, (%edx) */
        0x49,                   /*    dec  %ecx         */
        0x75, 0xfb,             /*    jnz  1b           */
        0xf4,                   /*    hlt               */
    };
    if (!amd)
        hc_loop[4] = 0xc1;
    memcpy(mem + IO_CODE, io_loop, sizeof(io_loop));
    memcpy(mem + HC_CODE, hc_loop, sizeof(hc_loop));
    memcpy(mem + MMIO_CODE, mmio_loop, sizeof(mmio_loop));

    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE, .userspace_addr = (uintptr_t)mem,
    };
    xioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION");

    vcpu_fd = ioctl(vm_fd, KVM_CREATE_VCPU, 0);
    if (vcpu_fd < 0)
        die("KVM_CREATE_VCPU");
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size <= 0)
        die("KVM_GET_VCPU_MMAP_SIZE");
    run = mmap(0, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd, 0);
    if (run == MAP_FAILED)
        die("mmap kvm_run");
    setup_vcpu_32bit();

    say("kvmbench: %s, %s, io %lu exits to port %#x, hypercall %lu (nr %u), "
        "mmio %lu exits at %#x\n",
        amd ? "AMD SVM (vmmcall)" : "Intel VMX (vmcall)", "32-bit protected mode guest",
        io_n, port, hc_n, nr, mmio_n, MMIO_GPA);
    /* warm-up: fault in the guest pages and the second-level tables (and
     * KVM's MMIO entry for MMIO_GPA) */
    if (bench_io(WARMUP, port, 0) || bench_hypercall(WARMUP, nr, 0) || bench_mmio(WARMUP, 0))
        return 1;
    if (bench_io(io_n, port, 1) || bench_hypercall(hc_n, nr, 1) || bench_mmio(mmio_n, 1))
        return 1;
    say("kvmbench: done\n");
    return 0;
}
