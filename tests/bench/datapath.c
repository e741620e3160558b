/*
 * Host-side datapath benchmark (`make bench`): the kernel's switch
 * (kernel/switch.c) and virtio RX fill (kernel/virtq.c), built from the
 * same sources with -O2, delivering into a simulated guest RX ring.
 *
 *   core 0 (producer): batches of PKT_BATCH frames from a rotating pool ->
 *       switch_input(uplink) -> MAC lookup -> VM port xmit: under the
 *       port's lock, virtq_rx_prefetch per batch (write-touch), virtq_rx_put
 *       per frame, virtq_publish per batch, as kernel/vnet.c does.
 *   core 1 (consumer): the guest's virtio-net driver in NAPI polling mode
 *       (interrupts suppressed with VRING_AVAIL_F_NO_INTERRUPT): in bursts
 *       of up to 32 used entries, prefetches the buffers' header lines,
 *       looks at the header (num_buffers) and the first bytes of each
 *       frame, reposts the buffers (mergeable RX buffers of 1536 bytes,
 *       one descriptor each, as Linux virtio-net posts them), then
 *       publishes avail->idx once per burst.
 *
 * Guest memory is one malloc'd block behind a struct gmem; the ring has
 * 256 entries (QEMU's default RX queue size).  A frame counts when the
 * consumer has taken it.  Also measured: memcpy bandwidth of core 0 on
 * 1500-byte copies with the same working set, and on a 64 MiB copy; and
 * the time CPU 0 and 1 take to pass a cache line back and forth (when
 * other work shares the CPUs it grows from ~0.1 us to many us, and every
 * two-CPU figure, nethv's and DPDK's alike, falls with it).
 *
 * Usage: datapath [-t seconds-per-size] [-q] [-L] [-s | -n] [-z size | -m]
 *   -q: one line per size, "nethv SIZE MPPS GBITS DROP% CPU0% CPU1%" (the
 *       shares of CPU 0 and 1 the producer and the guest got), for datapath.sh
 *   -s: one core: the producer polls the guest driver itself after each
 *       batch (cost per frame of both sides, no cross-core traffic)
 *   -n: the switch alone: the VM port takes frames without delivering them
 *       (one core; what switch_input costs without the RX fill)
 *   -z: that frame size only, no memcpy figures
 *   -m: the memcpy figures (and the CPU 0 <-> 1 round trip) only
 *   -L: the guest's buffers as Linux lays them out (see RXSTRIDE)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <nethv/switch.h>
#include <nethv/virtq.h>
#include <nethv/virtio.h>

#define RING        256
/* The guest's RX buffers, laid out as the peer's guest side (DPDK's
 * virtio PMD) posts them: an mbuf of 128 bytes headroom + 2048 data, the
 * descriptor starting 12 bytes before the data so the header ends the
 * headroom's last line and the frame starts on a line of its own; its
 * rxonly reads the header, not the frame.  With -L, as Linux's virtio-net
 * posts mergeable buffers: 1536 bytes, header and frame start sharing a
 * line, the driver reading the frame's first bytes too. */
static int linux_layout;
#define RXSTRIDE    (linux_layout ? 1536u : 2176u)
#define RXOFF       (linux_layout ? 0u : 128u - VIRTIO_NET_HDR_LEN)
#define RXLEN       (linux_layout ? 1536u : 2048u + VIRTIO_NET_HDR_LEN)
#define GPA_BASE    0x100000ull
#define GMEM_SIZE   (8u << 20)
#define POOL        256                 /* producer frame buffers, rotating */

/* Every variable one side writes while the other runs sits on cache lines
 * of its own (LINE): the guest's ring pointers used to share a line with
 * the end of struct virtq, which the producer writes per frame, and that
 * false sharing alone held the two-CPU rate to ~3.4 Mpps at any size. */
#define LINE __attribute__((aligned(64)))
static uint8_t *gram LINE;              /* the guest's RAM */
static struct gmem gm LINE;             /* read-only while running */
static struct vring_desc *g_desc LINE;  /* guest's view of its ring (read-only) */
static struct vring_avail *g_avail LINE;
static struct vring_used *g_used LINE;
static uint64_t rxbuf_gpa LINE;

static struct virtq vq LINE;            /* producer */
static uint32_t vq_lock LINE;
static struct sw_port uplink LINE, vmport LINE;

static volatile int phase LINE;         /* 0 run, 1 stop */
static uint64_t consumed LINE;          /* guest, per poll */
static volatile int consumer_ready LINE;
static int single_core, null_port;      /* -s, -n (set before the run) */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void pin(int cpu)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    if (pthread_setaffinity_np(pthread_self(), sizeof(s), &s))
        fprintf(stderr, "datapath: cannot pin to CPU %d (running unpinned)\n", cpu);
}

static inline void cpu_relax(void)
{
    __builtin_ia32_pause();
}

/* ---- the VM port: what the kernel's virtio-net RX side does ------------------- */
static unsigned vm_xmit(struct sw_port *p, struct pkt *const *pkts, unsigned n)
{
    unsigned i;

    while (__atomic_exchange_n(&vq_lock, 1, __ATOMIC_ACQUIRE))
        cpu_relax();
    virtq_rx_batch_start(&vq);          /* kernel/vnet.c: a batch's visit bound */
    if (!single_core)
        virtq_rx_prefetch(&vq, n);      /* as kernel/vnet.c does for a guest on another CPU */
    for (i = 0; i < n; i++) {
        const struct pkt *k = pkts[i];
        struct virtio_net_hdr h = { 0 };
        if (k->csum_flags & PKT_CSUM_PARTIAL) {
            h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
            h.csum_start = k->csum_start;
            h.csum_offset = k->csum_offset;
        } else if (k->csum_flags & PKT_CSUM_VALID) {
            h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
        }
        if (virtq_rx_put(&vq, &h, k->data, k->len) != VIRTQ_OK)
            break;                      /* ring empty: the rest is dropped */
    }
    if (i)
        virtq_publish(&vq);             /* interrupt suppressed: result unused */
    __atomic_store_n(&vq_lock, 0, __ATOMIC_RELEASE);
    if (i < n)
        sw_port_drop(p, SW_DROP_NO_BUF, n - i);
    return i;
}

static unsigned wire_xmit(struct sw_port *p, struct pkt *const *pkts, unsigned n)
{
    return n;
}

/* ---- the guest driver ---------------------------------------------------------- */
static void guest_ring_init(void)
{
    memset(gram, 0, GMEM_SIZE);
    uint64_t desc_gpa = GPA_BASE, avail_gpa = desc_gpa + VRING_DESC_BYTES(RING);
    uint64_t used_gpa = (avail_gpa + VRING_AVAIL_BYTES(RING) + 2 + 4095) & ~4095ull;
    rxbuf_gpa = (used_gpa + VRING_USED_BYTES(RING) + 2 + 4095) & ~4095ull;
    g_desc = (void *)(gram + (desc_gpa - GPA_BASE));
    g_avail = (void *)(gram + (avail_gpa - GPA_BASE));
    g_used = (void *)(gram + (used_gpa - GPA_BASE));
    for (unsigned i = 0; i < RING; i++) {
        g_desc[i].addr = rxbuf_gpa + (uint64_t)i * RXSTRIDE + RXOFF;
        g_desc[i].len = RXLEN;
        g_desc[i].flags = VRING_DESC_F_WRITE;
        g_avail->ring[i] = (uint16_t)i;
    }
    g_avail->flags = VRING_AVAIL_F_NO_INTERRUPT;        /* NAPI polling */
    uint64_t feat = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
    if (virtq_setup(&vq, &gm, RING, desc_gpa, avail_gpa, used_gpa, feat)) {
        fprintf(stderr, "datapath: virtq_setup: %s\n", vq.broken_why);
        exit(1);
    }
    __atomic_store_n(&g_avail->idx, RING, __ATOMIC_RELEASE);
}

/* One poll of the guest driver, the way DPDK's virtio PMD (the peer's guest
 * side) and Linux's NAPI poll work: up to GUEST_BURST used entries at a
 * time -- their ids read and the buffers' header lines prefetched first,
 * then each header read (num_buffers) with the frame's first bytes, the
 * buffers reposted, and avail->idx published once per burst.  Frames taken
 * so far. */
#define GUEST_BURST 32
struct guest {
    uint16_t last_used, avail_idx;
    uint64_t frames, sink;
};

static inline void guest_poll(struct guest *g)
{
    /* acquire: used elements and buffer contents after the index */
    uint16_t u = __atomic_load_n(&g_used->idx, __ATOMIC_ACQUIRE);
    if (u == g->last_used) {
        cpu_relax();
        return;
    }
    const uint8_t *bufs = gram + (rxbuf_gpa - GPA_BASE);
    while (g->last_used != u) {
        uint16_t n = (uint16_t)(u - g->last_used);
        const uint8_t *b[GUEST_BURST];
        uint32_t len[GUEST_BURST];
        if (n > GUEST_BURST)
            n = GUEST_BURST;
        for (uint16_t k = 0; k < n; k++) {
            const struct vring_used_elem *e = &g_used->ring[(uint16_t)(g->last_used + k) & (RING - 1)];
            b[k] = bufs + (uint64_t)(e->id % RING) * RXSTRIDE + RXOFF;
            len[k] = e->len;
            __builtin_prefetch(b[k]);
        }
        for (uint16_t k = 0; k < n;) {
            uint16_t nb;
            memcpy(&nb, b[k] + 10, 2);  /* num_buffers */
            if (nb == 0)
                nb = 1;
            g->sink += len[k];
            if (linux_layout)           /* Linux looks at the frame (eth type) */
                g->sink += b[k][VIRTIO_NET_HDR_LEN] + b[k][VIRTIO_NET_HDR_LEN + 12];
            /* the continuation buffers of a merged packet are taken too */
            for (uint16_t c = 0; c < nb && k < n; c++, k++) {
                g_avail->ring[g->avail_idx & (RING - 1)] =
                    (uint16_t)g_used->ring[g->last_used & (RING - 1)].id;
                g->avail_idx++;
                g->last_used++;
            }
            g->frames++;
        }
        /* release: ring entries before the index the device reads */
        __atomic_store_n(&g_avail->idx, g->avail_idx, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&consumed, g->frames, __ATOMIC_RELAXED);
}

static struct guest inline_guest;       /* -s: polled by the producer itself */

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double guest_cpu;                /* share of CPU 1 the guest thread got */

static void *consumer(void *arg)
{
    struct guest g = { .avail_idx = RING };
    pin(1);
    consumer_ready = 1;
    double c0 = thread_cpu_s(), t0 = now_s();
    while (!phase)
        guest_poll(&g);
    guest_cpu = (thread_cpu_s() - c0) / (now_s() - t0);
    __atomic_store_n(&consumed, g.frames + (g.sink == 1), __ATOMIC_RELAXED);
    return NULL;
}

/* ---- frames -------------------------------------------------------------------- */
static void build_frame(uint8_t *f, uint32_t len, unsigned seq)
{
    static const uint8_t src[6] = { 0x02, 0, 0, 0, 0, 0x01 };
    memset(f, 0, len);
    memcpy(f, vmport.mac, 6);
    memcpy(f + 6, src, 6);
    f[12] = 0x08;                       /* IPv4 / UDP, checksums done */
    f[13] = 0x00;
    f[14] = 0x45;
    f[14 + 2] = (uint8_t)((len - 14) >> 8);
    f[14 + 3] = (uint8_t)(len - 14);
    f[14 + 8] = 64;
    f[14 + 9] = 17;
    for (uint32_t i = 42; i < len; i++)
        f[i] = (uint8_t)(i + seq);
}

struct result {
    double mpps, gbits, drop_pct;
    double cpu;                         /* share of CPU 0 the producer got */
    double gcpu;                        /* share of CPU 1 the guest got */
};

static struct result run_size(uint32_t size, double secs)
{
    static uint8_t *pool;
    static struct pkt pk[POOL];
    if (!pool && !(pool = aligned_alloc(64, (size_t)POOL * 2048)))
        exit(1);
    for (unsigned i = 0; i < POOL; i++) {
        build_frame(pool + (size_t)i * 2048, size, i);
        pk[i] = (struct pkt){ .data = pool + (size_t)i * 2048, .len = size,
                              .csum_flags = PKT_CSUM_VALID };
    }
    struct pkt *v[POOL];
    for (unsigned i = 0; i < POOL; i++)
        v[i] = &pk[i];

    guest_ring_init();
    phase = 0;
    consumed = 0;
    consumer_ready = 0;
    memset(&vmport.st, 0, sizeof(vmport.st));
    pthread_t th;
    inline_guest = (struct guest){ .avail_idx = RING };
    if (!single_core && pthread_create(&th, NULL, consumer, NULL))
        exit(1);
    while (!single_core && !consumer_ready)
        cpu_relax();

    /* warm up, then measure */
    double warm = 0.3, t0 = now_s(), start = 0, end, cpu0 = 0;
    uint64_t c0 = 0;
    unsigned at = 0, it = 0;
    uint64_t ms = now_ms();
    for (;;) {
        switch_input(&uplink, &v[at], PKT_BATCH, ms);
        at = (at + PKT_BATCH) % POOL;
        if (single_core && !null_port)
            guest_poll(&inline_guest);
        if (++it % 64)
            continue;
        ms = now_ms();
        double t = now_s();
        if (!start && t - t0 >= warm) {
            start = t;
            cpu0 = thread_cpu_s();
            c0 = null_port ? vmport.st.tx_frames : __atomic_load_n(&consumed, __ATOMIC_RELAXED);
        }
        if (start && t - start >= secs) {
            end = t;
            break;
        }
    }
    uint64_t c1 = null_port ? vmport.st.tx_frames : __atomic_load_n(&consumed, __ATOMIC_RELAXED);
    double cpu = (thread_cpu_s() - cpu0) / (end - start);
    phase = 1;
    if (!single_core)
        pthread_join(th, NULL);
    struct result r;
    double pps = (double)(c1 - c0) / (end - start);
    uint64_t tx = vmport.st.tx_frames, dr = vmport.st.drops[SW_DROP_NO_BUF];
    r.cpu = cpu;
    r.gcpu = single_core ? 0 : guest_cpu;
    r.mpps = pps / 1e6;
    r.gbits = pps * size * 8 / 1e9;
    r.drop_pct = tx + dr ? 100.0 * (double)dr / (double)(tx + dr) : 0;
    return r;
}

/* ---- how fast CPU 0 and CPU 1 can hand a cache line back and forth ------------ */
static volatile uint64_t pp_flag __attribute__((aligned(64)));
#define PP_ROUNDS 200000

static void *pp_peer(void *arg)
{
    pin(1);
    for (uint64_t i = 1; i < 2 * PP_ROUNDS; i += 2) {
        while (pp_flag != i)
            cpu_relax();
        pp_flag = i + 1;
    }
    return NULL;
}

/* ns per round trip: ~0.1-0.2 us on an idle machine; far more when the two
 * CPUs are shared with other work (then the two-CPU figures mean little) */
static double pingpong_ns(void)
{
    pthread_t th;
    pp_flag = 0;
    if (pthread_create(&th, NULL, pp_peer, NULL))
        return 0;
    double t0 = now_s();
    for (uint64_t i = 0; i < 2 * PP_ROUNDS; i += 2) {
        while (pp_flag != i)
            cpu_relax();
        pp_flag = i + 1;
    }
    double t = now_s() - t0;
    pthread_join(th, NULL);
    return t / PP_ROUNDS * 1e9;
}

/* ---- memcpy bandwidth of this core --------------------------------------------- */
static double memcpy_frames_gbits(void)
{
    /* 1500-byte copies from the frame pool into the 256 ring buffers: the
     * working set of the 1500 B run */
    guest_ring_init();
    uint8_t *src = aligned_alloc(64, (size_t)POOL * 2048);
    uint8_t *dst = gram + (rxbuf_gpa - GPA_BASE);
    memset(src, 1, (size_t)POOL * 2048);
    uint64_t n = 0;
    double t0 = now_s(), t;
    do {
        for (unsigned i = 0; i < 4096; i++, n++)
            memcpy(dst + (n % RING) * RXSTRIDE + RXOFF + VIRTIO_NET_HDR_LEN, src + (n % POOL) * 2048, 1500);
        __asm__ volatile("" ::: "memory");
    } while ((t = now_s()) - t0 < 0.5);
    free(src);
    return (double)n * 1500 * 8 / (t - t0) / 1e9;
}

static double memcpy_big_gbits(void)
{
    size_t sz = 64u << 20;
    uint8_t *a = malloc(sz), *b = malloc(sz);
    if (!a || !b)
        return 0;
    memset(a, 1, sz);
    memset(b, 2, sz);
    unsigned reps = 0;
    double t0 = now_s(), t;
    do {
        memcpy(reps & 1 ? a : b, reps & 1 ? b : a, sz);
        __asm__ volatile("" ::: "memory");
        reps++;
    } while ((t = now_s()) - t0 < 0.5);
    free(a);
    free(b);
    return (double)reps * sz * 8 / (t - t0) / 1e9;
}

int main(int argc, char **argv)
{
    double secs = 2.0;
    int quiet = 0, opt;
    unsigned only = 0;
    int memcpy_only = 0;
    while ((opt = getopt(argc, argv, "t:qsz:mnL")) != -1) {
        if (opt == 'L') {
            linux_layout = 1;
            continue;
        }
        if (opt == 'n')
            single_core = null_port = 1;
        else if (opt == 'm')
            memcpy_only = 1;
        else if (opt == 'z')
            only = (unsigned)atoi(optarg);
        else if (opt == 's')
            single_core = 1;
        else if (opt == 't')
            secs = atof(optarg);
        else if (opt == 'q')
            quiet = 1;
        else {
            fprintf(stderr, "usage: %s [-t seconds] [-q] [-L] [-s | -n] [-z size | -m]\n", argv[0]);
            return 2;
        }
    }
    pin(0);
    gram = aligned_alloc(4096, GMEM_SIZE);
    if (!gram)
        return 1;
    gm.n = 1;
    gm.r[0].gpa = GPA_BASE;
    gm.r[0].size = GMEM_SIZE;
    gm.r[0].hva = gram;

    switch_init();
    snprintf(uplink.name, sizeof(uplink.name), "uplink");
    uplink.uplink = true;
    uplink.xmit = wire_xmit;
    snprintf(vmport.name, sizeof(vmport.name), "vm0");
    vmport.has_mac = true;
    memcpy(vmport.mac, (uint8_t[6]){ 0x52, 0x54, 0, 0x12, 0x34, 0x56 }, 6);
    vmport.xmit = null_port ? wire_xmit : vm_xmit;
    if (switch_add_port(&uplink) < 0 || switch_add_port(&vmport) < 0)
        return 1;

    static const uint32_t sizes[] = { 64, 512, 1500 };
    if (!quiet && !memcpy_only)
        printf("nethv datapath (switch + virtio RX fill, ring %u, %s)\n", RING,
               null_port ? "switch only: VM port discards" :
               single_core ? "producer and guest both on CPU 0" : "producer CPU 0, guest CPU 1");
    for (unsigned i = 0; i < 3; i++) {
        if (memcpy_only || (only && only != sizes[i]))
            continue;
        struct result r = run_size(sizes[i], secs);
        if (quiet)
            printf("nethv %u %.2f %.2f %.1f %.0f %.0f\n", sizes[i], r.mpps, r.gbits, r.drop_pct,
                   100 * r.cpu, 100 * r.gcpu);
        else
            printf("  %4u B: %6.2f Mpps %7.2f Gbit/s  (ring full for %.1f%% of offered frames, "
                   "producer got %.0f%% of CPU 0, guest %.0f%% of CPU 1)\n", sizes[i], r.mpps,
                   r.gbits, r.drop_pct, 100 * r.cpu, 100 * r.gcpu);
        fflush(stdout);
    }
    if (only)
        return 0;
    double mf = memcpy_frames_gbits(), mb = memcpy_big_gbits();
    double pp = pingpong_ns();
    if (quiet) {
        printf("memcpy1500 %.2f\n", mf);
        printf("memcpy64M %.2f\n", mb);
        printf("pingpong %.0f\n", pp);
    } else {
        printf("memcpy on CPU 0: %.1f Gbit/s in 1500-byte copies (same working set), "
               "%.1f Gbit/s on a 64 MiB copy\n", mf, mb);
        printf("CPU 0 <-> CPU 1 cache line round trip: %.0f ns\n", pp);
    }
    return 0;
}
