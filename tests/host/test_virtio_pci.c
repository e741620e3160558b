/*
 * Host tests for the monitor's virtio-net control plane (vmm/virtio_net.c)
 * on the real PCI framework (vmm/pci.c) and device registry
 * (vmm/devices.c): the tests drive the device as Linux's virtio_pci_modern
 * does -- find the capabilities, negotiate, set up queues and MSI-X, go
 * DRIVER_OK -- through config space (ECAM) and the BAR window.
 *
 * Fakes: the kernel's vm_net_* data-plane calls record what they were
 * given; the lock functions are no-ops; the console collects lines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <nethv/spinlock.h>
#define spin_lock_irqsave(l) ((void)(l), 0ull)
#define spin_unlock_irqrestore(l, f) ((void)(l), (void)(f))

#include "../../vmm/devices.c"
#include "../../vmm/vmm.c"
#include "../../vmm/decode.c"
#include "../../vmm/decode_mmio.c"
#include "../../vmm/pci.c"
#include "../../vmm/virtio_net.c"
#include "../../vmm/vnet_ctrl.c"

/* ---- fakes -------------------------------------------------------------------------- */
#include "vmm_fakes.h"
int vmm_platform_pc_init(struct vmm *m, const struct vmm_create_args *a)
{
    return vmm_pci_init(m, a) || vmm_virtio_net_init(m, a) ? -1 : 0;
}

/* the kernel's data plane, recorded */
static struct {
    unsigned starts, stops, msis, notifies;
    int start_rc;
    unsigned start_port, stop_port, notify_port;
    uint64_t features;
    struct vmm_net_queue q[VMM_NET_QUEUES];
    struct vmm_net_msi msi[VMM_NET_MAX_PORTS][VMM_NET_QUEUES];
    unsigned msi_calls[VMM_NET_MAX_PORTS][VMM_NET_QUEUES];
    bool pending[VMM_NET_QUEUES];
    uint64_t notify_gpa[VMM_NET_MAX_PORTS];
    uint32_t notify_stride;
    bool link_up;
    uint16_t mtu;
} k;

int vm_net_start(unsigned vm_id, unsigned port, uint64_t features,
                 const struct vmm_net_queue q[VMM_NET_QUEUES])
{
    k.starts++;
    k.start_port = port;
    k.features = features;
    memcpy(k.q, q, sizeof(k.q));
    return k.start_rc;
}
void vm_net_stop(unsigned vm_id, unsigned port)
{
    k.stops++;
    k.stop_port = port;
}
void vm_net_set_msi(unsigned vm_id, unsigned port, unsigned queue, const struct vmm_net_msi *msi)
{
    assert_true(port < VMM_NET_MAX_PORTS && queue < VMM_NET_QUEUES);
    k.msis++;
    k.msi[port][queue] = *msi;
    k.msi_calls[port][queue]++;
}
bool vm_net_msi_pending(unsigned vm_id, unsigned port, unsigned queue)
{
    return k.pending[queue];
}
void vm_net_set_notify(unsigned vm_id, unsigned port, uint64_t gpa, uint32_t stride)
{
    assert_true(port < VMM_NET_MAX_PORTS);
    k.notifies++;
    k.notify_port = port;
    k.notify_gpa[port] = gpa;
    k.notify_stride = stride;
}
bool vm_net_port_info(unsigned vm_id, unsigned port, uint8_t mac[6], bool *link_up, uint16_t *mtu)
{
    const uint8_t m[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, (uint8_t)(0x56 + port) };
    memcpy(mac, m, 6);
    *link_up = k.link_up;
    *mtu = k.mtu;
    return true;
}

/* the control queue's commands, as the kernel gets them */
static struct { unsigned calls; int rc; struct vmm_net_ctrl last; } kc;
int vm_net_ctrl(unsigned vm_id, unsigned port, const struct vmm_net_ctrl *c)
{
    kc.calls++;
    kc.last = *c;
    return kc.rc;
}
/* guest RAM for the control queue: [GRAM, GRAM + sizeof(gram)) */
#define GRAM 0x300000ull
static uint8_t gram[0x10000];
static unsigned gpa_reads;
int vm_gpa_read(unsigned vm_id, uint64_t gpa, void *buf, size_t len)
{
    gpa_reads++;
    if (gpa < GRAM || gpa - GRAM > sizeof(gram) || len > sizeof(gram) - (gpa - GRAM))
        return -1;
    memcpy(buf, gram + (gpa - GRAM), len);
    return 0;
}
int vm_gpa_write(unsigned vm_id, uint64_t gpa, const void *buf, size_t len)
{
    if (gpa < GRAM || gpa - GRAM > sizeof(gram) || len > sizeof(gram) - (gpa - GRAM))
        return -1;
    memcpy(gram + (gpa - GRAM), buf, len);
    return 0;
}
/* the kernel's device timers and clock */
uint64_t tsc_hz = 1ull << 40;                   /* rounds are far ahead unless a test says */
static struct { unsigned calls, id; uint64_t deadline; } dev_timer;
void vm_dev_timer(unsigned vm_id, unsigned id, uint64_t deadline_tsc, uint64_t period)
{
    dev_timer.calls++;
    dev_timer.id = id;
    dev_timer.deadline = deadline_tsc;
}
static struct { unsigned n; uint64_t addr; uint32_t data; } msis_sent;
bool vmm_msi(struct vmm *m, uint64_t addr, uint32_t data)
{
    msis_sent.n++;
    msis_sent.addr = addr;
    msis_sent.data = data;
    return true;
}

/* ---- a driver's view -------------------------------------------------------------------- */
#define SLOT 3
#define FEATURES_LINUX (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MAC) |   \
                        VIRTIO_BIT(VIRTIO_NET_F_STATUS) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | \
                        VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_NET_F_CSUM) |  \
                        VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | \
                        VIRTIO_BIT(VIRTIO_NET_F_MTU) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |     \
                        VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN) | \
                        VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) | \
                        VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) | \
                        VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) | \
                        VIRTIO_BIT(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_ANNOUNCE))
#define NO_ANNOUNCE (FEATURES_LINUX & ~VIRTIO_BIT(VIRTIO_NET_F_GUEST_ANNOUNCE))

struct drv {
    struct vmm *m;
    unsigned dev;
    uint64_t bar;
    unsigned cap[6];                    /* config offset of each virtio cap type */
    uint32_t off[6], len[6];
    unsigned msix;
    uint32_t mult;
};

static uint32_t cfg_rd(struct drv *d, unsigned reg, unsigned size)
{
    uint64_t v = 0;
    assert_true(vmm_dev_mmio(d->m, VMM_ECAM_BASE + ((uint64_t)d->dev << 15 | reg), false, size, &v));
    return (uint32_t)v;
}
static void cfg_wr(struct drv *d, unsigned reg, unsigned size, uint32_t val)
{
    uint64_t v = val;
    assert_true(vmm_dev_mmio(d->m, VMM_ECAM_BASE + ((uint64_t)d->dev << 15 | reg), true, size, &v));
}
static uint64_t rd(struct drv *d, uint64_t off, unsigned size)
{
    uint64_t v = 0xdeadbeefdeadbeefull;
    assert_true(vmm_dev_mmio(d->m, d->bar + off, false, size, &v));
    return v;
}
static void wr(struct drv *d, uint64_t off, unsigned size, uint64_t v)
{
    assert_true(vmm_dev_mmio(d->m, d->bar + off, true, size, &v));
}
#define COMMON(d, f) ((d)->off[VIRTIO_PCI_CAP_COMMON_CFG] + VIRTIO_PCI_COMMON_##f)
#define DEVCFG(d, f) ((d)->off[VIRTIO_PCI_CAP_DEVICE_CFG] + (f))
#define TABLE(v, f)  (VNET_MSIX_OFF + 16 * (v) + (f))

/* Walk the capability list as virtio_pci_modern does. */
static void find_caps(struct drv *d)
{
    memset(d->cap, 0, sizeof(d->cap));
    d->msix = 0;
    assert_true(cfg_rd(d, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
    unsigned n = 0;
    for (unsigned c = cfg_rd(d, PCI_CAP_PTR, 1); c; c = cfg_rd(d, c + 1, 1)) {
        assert_true(c >= 0x40 && c < 0x100 && ++n < 16);
        if (cfg_rd(d, c, 1) == PCI_CAP_ID_MSIX) {
            d->msix = c;
            continue;
        }
        assert_int_equal(cfg_rd(d, c, 1), PCI_CAP_ID_VNDR);
        unsigned type = cfg_rd(d, c + VIRTIO_PCI_CAP_CFG_TYPE, 1);
        assert_true(type >= 1 && type <= 5);
        assert_int_equal(d->cap[type], 0);
        d->cap[type] = c;
        assert_int_equal(cfg_rd(d, c + VIRTIO_PCI_CAP_BAR, 1), 0);
        d->off[type] = cfg_rd(d, c + VIRTIO_PCI_CAP_OFFSET, 4);
        d->len[type] = cfg_rd(d, c + VIRTIO_PCI_CAP_LENGTH, 4);
        assert_int_equal(cfg_rd(d, c + VIRTIO_PCI_CAP_CAP_LEN, 1),
                         type == VIRTIO_PCI_CAP_NOTIFY_CFG || type == VIRTIO_PCI_CAP_PCI_CFG ? 20 : 16);
    }
    for (unsigned t = 1; t <= 5; t++)
        assert_int_not_equal(d->cap[t], 0);
    assert_int_not_equal(d->msix, 0);
    d->mult = cfg_rd(d, d->cap[VIRTIO_PCI_CAP_NOTIFY_CFG] + VIRTIO_PCI_NOTIFY_MULT, 4);
    d->bar = (cfg_rd(d, PCI_BAR0, 4) & ~0xfull) | (uint64_t)cfg_rd(d, PCI_BAR0 + 4, 4) << 32;
}

static struct vmm *make_vm(unsigned ports)
{
    struct vmm_create_args a = { .vm_id = 0, .name = "t", .vcpus = 1, .ram_bytes = 256 * MIB,
                                 .platform = VMM_PLATFORM_PC, .net_ports = ports };
    memset(&k, 0, sizeof(k));
    k.link_up = true;
    nlines = 0;
    struct vmm *m = vmm_create(&a);
    assert_non_null(m);
    return m;
}

static struct vmm_vnet *vnet_at(struct vmm *m, unsigned dev)
{
    struct vmm_pci_fn *f = pci_find(m, 0, dev << 3);
    assert_non_null(f);
    return f->priv;
}

static int setup(void **state)
{
    struct drv *d = calloc(1, sizeof(*d));
    d->m = make_vm(1);
    d->dev = SLOT;
    find_caps(d);
    *state = d;
    return 0;
}
static int teardown(void **state)
{
    struct drv *d = *state;
    free(d->m);
    free(d);
    return 0;
}

static void negotiate(struct drv *d, uint64_t features)
{
    wr(d, COMMON(d, STATUS), 1, 0);
    wr(d, COMMON(d, STATUS), 1, VIRTIO_STATUS_ACKNOWLEDGE);
    wr(d, COMMON(d, STATUS), 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(d, COMMON(d, GFSELECT), 4, 0);
    wr(d, COMMON(d, GF), 4, (uint32_t)features);
    wr(d, COMMON(d, GFSELECT), 4, 1);
    wr(d, COMMON(d, GF), 4, (uint32_t)(features >> 32));
    wr(d, COMMON(d, STATUS), 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                VIRTIO_STATUS_FEATURES_OK);
}
#define S_ALL (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK)

/* MSI-X as Linux's PCI core enables it: function masked, program, unmask. */
static void enable_msix(struct drv *d)
{
    cfg_wr(d, d->msix + 2, 2, PCI_MSIX_ENABLE | PCI_MSIX_MASKALL);
    for (unsigned v = 0; v < VNET_NVEC; v++) {
        wr(d, TABLE(v, 0), 4, 0xfee00000);
        wr(d, TABLE(v, 4), 4, 0);
        wr(d, TABLE(v, 8), 4, 0x40 + v);
        wr(d, TABLE(v, 12), 4, 0);
    }
    cfg_wr(d, d->msix + 2, 2, PCI_MSIX_ENABLE);
}

static void setup_queue(struct drv *d, unsigned qi, uint16_t size, uint64_t base, uint16_t vec)
{
    wr(d, COMMON(d, Q_SELECT), 2, qi);
    assert_int_equal(rd(d, COMMON(d, Q_SIZE), 2), 256);
    wr(d, COMMON(d, Q_SIZE), 2, size);
    assert_int_equal(rd(d, COMMON(d, Q_NOFF), 2), qi);
    wr(d, COMMON(d, Q_DESCLO), 4, (uint32_t)base);
    wr(d, COMMON(d, Q_DESCHI), 4, (uint32_t)(base >> 32));
    wr(d, COMMON(d, Q_AVAILLO), 4, (uint32_t)(base + 0x1000));
    wr(d, COMMON(d, Q_AVAILHI), 4, (uint32_t)((base + 0x1000) >> 32));
    wr(d, COMMON(d, Q_USEDLO), 8, base + 0x2000);             /* one qword, also fine */
    wr(d, COMMON(d, Q_MSIX), 2, vec);
    assert_int_equal(rd(d, COMMON(d, Q_MSIX), 2), vec);
    wr(d, COMMON(d, Q_ENABLE), 2, 1);
}

/* The whole Linux probe up to DRIVER_OK. */
static void bring_up(struct drv *d)
{
    negotiate(d, FEATURES_LINUX);
    assert_int_equal(rd(d, COMMON(d, STATUS), 1), S_ALL);
    enable_msix(d);
    setup_queue(d, 0, 256, 0x100000, 1);
    setup_queue(d, 1, 128, 0x200000000ull, 2);
    wr(d, COMMON(d, MSIX), 2, 0);
    assert_int_equal(rd(d, COMMON(d, MSIX), 2), 0);
    wr(d, COMMON(d, STATUS), 1, S_ALL | VIRTIO_STATUS_DRIVER_OK);
}

/* ---- tests ------------------------------------------------------------------------------ */
static void test_ids_and_caps(void **state)
{
    struct drv *d = *state;
    assert_int_equal(cfg_rd(d, PCI_VENDOR_ID, 4), 0x10411af4);
    assert_int_equal(cfg_rd(d, PCI_CLASS_REVISION, 4), 0x02000001);
    assert_int_equal(cfg_rd(d, PCI_SUBSYS_VENDOR, 2), 0x1af4);
    assert_true(cfg_rd(d, PCI_SUBSYS_ID, 2) >= 0x40);             /* 4.1.2.1 */
    assert_int_equal(cfg_rd(d, PCI_INTERRUPT_PIN, 1), 0);          /* no INTx */
    assert_int_equal(cfg_rd(d, PCI_BAR0, 4) & 0xf, VMM_PCI_BAR_MEM64);
    assert_int_equal(d->bar & (VNET_BAR_SIZE - 1), 0);
    assert_true(d->bar >= VMM_PCI_MMIO_BASE);
    /* sizes and places, as the driver checks them */
    assert_true(d->len[VIRTIO_PCI_CAP_COMMON_CFG] >= VIRTIO_PCI_COMMON_SIZE);
    assert_true(d->len[VIRTIO_PCI_CAP_ISR_CFG] >= 1);
    assert_true(d->len[VIRTIO_PCI_CAP_DEVICE_CFG] >= 8);
    assert_int_equal(d->mult, 4);
    assert_true(d->len[VIRTIO_PCI_CAP_NOTIFY_CFG] >= 2 * d->mult + 2);     /* 3 queues */
    for (unsigned t = 1; t <= 4; t++)
        assert_true(d->off[t] + d->len[t] <= VNET_BAR_SIZE);
    /* MSI-X: 4 vectors (config, 3 queues), table and PBA in BAR 0 */
    assert_int_equal(cfg_rd(d, d->msix + 2, 2), 3);
    assert_int_equal(cfg_rd(d, d->msix + 4, 4), VNET_MSIX_OFF);
    assert_int_equal(cfg_rd(d, d->msix + 8, 4), VNET_PBA_OFF);
    for (unsigned v = 0; v < 4; v++)
        assert_int_equal(rd(d, TABLE(v, 12), 4), 1);               /* masked at reset */
    /* the kernel knows the notify area from the start */
    assert_int_equal(k.notify_gpa[0], d->bar + d->off[VIRTIO_PCI_CAP_NOTIFY_CFG]);
    assert_int_equal(k.notify_stride, 4);
    /* no other slot */
    d->dev = 4;
    assert_int_equal(cfg_rd(d, PCI_VENDOR_ID, 4), 0xffffffff);
}

static void test_probe_and_driver_ok(void **state)
{
    struct drv *d = *state;
    /* reset, then the offer */
    wr(d, COMMON(d, STATUS), 1, 0);
    assert_int_equal(rd(d, COMMON(d, STATUS), 1), 0);
    assert_int_equal(k.stops, 1);
    wr(d, COMMON(d, DFSELECT), 4, 0);
    uint64_t f = rd(d, COMMON(d, DF), 4);
    wr(d, COMMON(d, DFSELECT), 4, 1);
    f |= rd(d, COMMON(d, DF), 4) << 32;
    assert_int_equal(f, FEATURES_LINUX);
    wr(d, COMMON(d, DFSELECT), 4, 2);
    assert_int_equal(rd(d, COMMON(d, DF), 4), 0);
    assert_int_equal(rd(d, COMMON(d, NUMQ), 2), 3);
    /* device config */
    assert_int_equal(rd(d, DEVCFG(d, 0), 1), 0x52);
    assert_int_equal(rd(d, DEVCFG(d, 5), 1), 0x56);
    assert_int_equal(rd(d, DEVCFG(d, 0), 4), 0x12005452);
    assert_int_equal(rd(d, DEVCFG(d, VIRTIO_NET_CFG_STATUS), 2), VIRTIO_NET_S_LINK_UP);
    /* the port's MTU; 1500 when the kernel gives none */
    k.mtu = 9000;
    assert_int_equal(rd(d, DEVCFG(d, VIRTIO_NET_CFG_MTU), 2), 9000);
    k.mtu = 0;
    assert_int_equal(rd(d, DEVCFG(d, VIRTIO_NET_CFG_MTU), 2), 1500);

    bring_up(d);
    assert_int_equal(rd(d, COMMON(d, STATUS), 1), S_ALL | VIRTIO_STATUS_DRIVER_OK);
    assert_int_equal(k.starts, 1);
    assert_int_equal(k.start_port, 0);
    assert_int_equal(k.features, FEATURES_LINUX);
    assert_int_equal(k.q[0].size, 256);
    assert_int_equal(k.q[0].desc, 0x100000);
    assert_int_equal(k.q[0].avail, 0x101000);
    assert_int_equal(k.q[0].used, 0x102000);
    assert_int_equal(k.q[1].size, 128);
    assert_int_equal(k.q[1].desc, 0x200000000ull);
    assert_int_equal(k.q[1].avail, 0x200001000ull);
    assert_int_equal(k.q[1].used, 0x200002000ull);
    /* routes as programmed: queue 0 -> vector 1, queue 1 -> vector 2 */
    assert_false(k.msi[0][0].masked);
    assert_int_equal(k.msi[0][0].addr, 0xfee00000);
    assert_int_equal(k.msi[0][0].data, 0x41);
    assert_false(k.msi[0][1].masked);
    assert_int_equal(k.msi[0][1].data, 0x42);
    /* the notify doorbells: BAR + notify offset + queue_notify_off * multiplier */
    assert_int_equal(k.notify_gpa[0], d->bar + d->off[VIRTIO_PCI_CAP_NOTIFY_CFG]);

    /* queue settings after DRIVER_OK are ignored */
    wr(d, COMMON(d, Q_SELECT), 2, 1);
    wr(d, COMMON(d, Q_DESCLO), 4, 0x5000);
    wr(d, COMMON(d, Q_MSIX), 2, 0);
    assert_int_equal(rd(d, COMMON(d, Q_DESCLO), 4), 0);
    assert_int_equal(rd(d, COMMON(d, Q_DESCHI), 4), 2);
    assert_int_equal(rd(d, COMMON(d, Q_MSIX), 2), 2);
    assert_int_equal(rd(d, COMMON(d, Q_DESCLO), 8), 0x200000000ull);
    /* driver features are frozen after FEATURES_OK */
    wr(d, COMMON(d, GFSELECT), 4, 0);
    wr(d, COMMON(d, GF), 4, 0);
    assert_int_equal(rd(d, COMMON(d, GF), 4), (uint32_t)FEATURES_LINUX);

    /* reset: the kernel lets go first, then everything is as new */
    unsigned msis = k.msis, stops = k.stops;
    wr(d, COMMON(d, STATUS), 1, 0);
    assert_int_equal(k.stops, stops + 1);
    assert_int_equal(rd(d, COMMON(d, STATUS), 1), 0);
    assert_int_equal(rd(d, COMMON(d, Q_SELECT), 2), 0);
    for (unsigned qi = 0; qi < 2; qi++) {
        wr(d, COMMON(d, Q_SELECT), 2, qi);
        assert_int_equal(rd(d, COMMON(d, Q_SIZE), 2), 256);
        assert_int_equal(rd(d, COMMON(d, Q_ENABLE), 2), 0);
        assert_int_equal(rd(d, COMMON(d, Q_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
        assert_int_equal(rd(d, COMMON(d, Q_USEDLO), 4), 0);
        assert_true(k.msi[0][qi].masked);
    }
    assert_int_equal(k.msis, msis + 2);
    assert_int_equal(rd(d, COMMON(d, MSIX), 2), VIRTIO_MSI_NO_VECTOR);
    wr(d, COMMON(d, GFSELECT), 4, 0);
    assert_int_equal(rd(d, COMMON(d, GF), 4), 0);
    /* the MSI-X table is PCI state and survives the virtio reset */
    assert_int_equal(rd(d, TABLE(1, 8), 4), 0x41);

    /* and a second probe works the same */
    bring_up(d);
    assert_int_equal(k.starts, 2);
    assert_int_equal(rd(d, COMMON(d, STATUS), 1), S_ALL | VIRTIO_STATUS_DRIVER_OK);
}

static void test_refused_features(void **state)
{
    struct drv *d = *state;
    /* no VERSION_1: a legacy driver */
    negotiate(d, VIRTIO_BIT(VIRTIO_NET_F_MAC));
    assert_int_equal(rd(d, COMMON(d, STATUS), 1), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    /* a feature not offered */
    negotiate(d, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) | VIRTIO_BIT(19));
    assert_int_equal(rd(d, COMMON(d, STATUS), 1) & VIRTIO_STATUS_FEATURES_OK, 0);   /* CTRL_VLAN */
    negotiate(d, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) | VIRTIO_BIT(22));
    assert_int_equal(rd(d, COMMON(d, STATUS), 1) & VIRTIO_STATUS_FEATURES_OK, 0);   /* MQ */
    /* offered, but without what it needs (5.1.3.1) */
    static const uint64_t lacking[] = {
        VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4),                                  /* no CSUM */
        VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_CSUM),  /* no GUEST_CSUM */
        VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN) | VIRTIO_BIT(VIRTIO_NET_F_CSUM),    /* no HOST_TSO */
        VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM),
        VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX),                                    /* no CTRL_VQ */
        VIRTIO_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR),
        VIRTIO_BIT(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS),
        VIRTIO_BIT(VIRTIO_NET_F_GUEST_ANNOUNCE),
    };
    for (unsigned i = 0; i < sizeof(lacking) / sizeof(lacking[0]); i++) {
        negotiate(d, VIRTIO_BIT(VIRTIO_F_VERSION_1) | lacking[i]);
        assert_int_equal(rd(d, COMMON(d, STATUS), 1) & VIRTIO_STATUS_FEATURES_OK, 0);
    }
    negotiate(d, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
                 VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN) | VIRTIO_BIT(VIRTIO_NET_F_CSUM));
    assert_true(rd(d, COMMON(d, STATUS), 1) & VIRTIO_STATUS_FEATURES_OK);
    /* DRIVER_OK regardless: nothing starts, the device needs a reset */
    wr(d, COMMON(d, STATUS), 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                VIRTIO_STATUS_DRIVER_OK);
    assert_int_equal(k.starts, 0);
    assert_true(rd(d, COMMON(d, STATUS), 1) & VIRTIO_STATUS_NEEDS_RESET);
    /* the smallest acceptable set */
    negotiate(d, VIRTIO_BIT(VIRTIO_F_VERSION_1));
    assert_int_equal(rd(d, COMMON(d, STATUS), 1), S_ALL);
}

static void test_start_refused_needs_reset(void **state)
{
    struct drv *d = *state;
    k.start_rc = -1;
    bring_up(d);
    assert_int_equal(k.starts, 1);
    assert_int_equal(rd(d, COMMON(d, STATUS), 1),
                     S_ALL | VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(nlines, 1);
    /* the driver cannot clear NEEDS_RESET but by reset */
    wr(d, COMMON(d, STATUS), 1, S_ALL | VIRTIO_STATUS_DRIVER_OK);
    assert_true(rd(d, COMMON(d, STATUS), 1) & VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(k.starts, 1);
    wr(d, COMMON(d, STATUS), 1, 0);
    assert_int_equal(rd(d, COMMON(d, STATUS), 1), 0);
    k.start_rc = 0;
    bring_up(d);
    assert_int_equal(rd(d, COMMON(d, STATUS), 1), S_ALL | VIRTIO_STATUS_DRIVER_OK);
    /* FAILED from the driver: the kernel stops */
    unsigned stops = k.stops;
    wr(d, COMMON(d, STATUS), 1, S_ALL | VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FAILED);
    assert_int_equal(k.stops, stops + 1);
}

static void test_queue_rules(void **state)
{
    struct drv *d = *state;
    negotiate(d, FEATURES_LINUX);
    wr(d, COMMON(d, Q_SELECT), 2, 0);
    wr(d, COMMON(d, Q_SIZE), 2, 100);                           /* not a power of two */
    assert_int_equal(rd(d, COMMON(d, Q_SIZE), 2), 256);
    wr(d, COMMON(d, Q_SIZE), 2, 512);                           /* above the maximum */
    assert_int_equal(rd(d, COMMON(d, Q_SIZE), 2), 256);
    wr(d, COMMON(d, Q_SIZE), 2, 0);
    assert_int_equal(rd(d, COMMON(d, Q_SIZE), 2), 256);
    wr(d, COMMON(d, Q_SIZE), 2, 64);
    assert_int_equal(rd(d, COMMON(d, Q_SIZE), 2), 64);
    wr(d, COMMON(d, Q_MSIX), 2, 4);                             /* no such vector */
    assert_int_equal(rd(d, COMMON(d, Q_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
    assert_true(k.msi[0][0].masked);
    wr(d, COMMON(d, MSIX), 2, 7);
    assert_int_equal(rd(d, COMMON(d, MSIX), 2), VIRTIO_MSI_NO_VECTOR);
    wr(d, COMMON(d, Q_ENABLE), 2, 0);                           /* never 0 */
    assert_int_equal(rd(d, COMMON(d, Q_ENABLE), 2), 0);
    wr(d, COMMON(d, Q_ENABLE), 2, 1);
    wr(d, COMMON(d, Q_SIZE), 2, 32);                            /* enabled: fixed */
    assert_int_equal(rd(d, COMMON(d, Q_SIZE), 2), 64);
    /* a queue that does not exist */
    wr(d, COMMON(d, Q_SELECT), 2, 3);
    assert_int_equal(rd(d, COMMON(d, Q_SELECT), 2), 3);
    assert_int_equal(rd(d, COMMON(d, Q_SIZE), 2), 0);
    wr(d, COMMON(d, Q_SIZE), 2, 16);
    wr(d, COMMON(d, Q_ENABLE), 2, 1);
    assert_int_equal(rd(d, COMMON(d, Q_SIZE), 2), 0);
    assert_int_equal(rd(d, COMMON(d, Q_ENABLE), 2), 0);
    /* DRIVER_OK with only queue 0 enabled: queue 1 goes as size 0 */
    wr(d, COMMON(d, STATUS), 1, S_ALL | VIRTIO_STATUS_DRIVER_OK);
    assert_int_equal(k.starts, 1);
    assert_int_equal(k.q[0].size, 64);
    assert_int_equal(k.q[1].size, 0);
}

static void test_msix_routes(void **state)
{
    struct drv *d = *state;
    negotiate(d, FEATURES_LINUX);
    wr(d, COMMON(d, Q_SELECT), 2, 1);
    unsigned calls = k.msi_calls[0][1];
    wr(d, COMMON(d, Q_MSIX), 2, 2);
    assert_int_equal(k.msi_calls[0][1], calls + 1);
    assert_true(k.msi[0][1].masked);                            /* MSI-X off */
    cfg_wr(d, d->msix + 2, 2, PCI_MSIX_ENABLE | PCI_MSIX_MASKALL);
    assert_true(k.msi[0][1].masked);                            /* function masked */
    wr(d, TABLE(2, 0), 8, 0xfee01000);                         /* address as one qword */
    wr(d, TABLE(2, 8), 4, 0x4055);
    assert_int_equal(rd(d, TABLE(2, 0), 8), 0xfee01000);
    assert_true(k.msi[0][1].masked);                            /* entry still masked */
    wr(d, TABLE(2, 12), 4, 0);
    assert_true(k.msi[0][1].masked);                            /* function still masked */
    calls = k.msi_calls[0][1];
    cfg_wr(d, d->msix, 4, (uint32_t)PCI_MSIX_ENABLE << 16 | 0xffff);   /* dword write */
    assert_int_equal(k.msi_calls[0][1], calls + 1);
    assert_false(k.msi[0][1].masked);
    assert_int_equal(k.msi[0][1].addr, 0xfee01000);
    assert_int_equal(k.msi[0][1].data, 0x4055);
    /* per-vector mask, then unmask: the kernel is told both */
    wr(d, TABLE(2, 12), 4, 0xffffffff);
    assert_int_equal(rd(d, TABLE(2, 12), 4), 1);
    assert_true(k.msi[0][1].masked);
    wr(d, TABLE(2, 12), 4, 0);
    assert_false(k.msi[0][1].masked);
    /* another vector's entry does not touch this queue */
    calls = k.msi_calls[0][1];
    wr(d, TABLE(0, 8), 4, 0x30);
    assert_int_equal(k.msi_calls[0][1], calls);
    /* PBA: the kernel's pending bit of the queue on that vector */
    assert_int_equal(rd(d, VNET_PBA_OFF, 8), 0);
    k.pending[1] = true;
    assert_int_equal(rd(d, VNET_PBA_OFF, 8), 1u << 2);
    assert_int_equal(rd(d, VNET_PBA_OFF, 4), 1u << 2);
    assert_int_equal(rd(d, VNET_PBA_OFF, 1), 1u << 2);
    assert_int_equal(rd(d, VNET_PBA_OFF + 4, 4), 0);
    k.pending[0] = true;                                        /* queue 0 has no vector */
    assert_int_equal(rd(d, VNET_PBA_OFF, 8), 1u << 2);
    wr(d, VNET_PBA_OFF, 8, ~0ull);                              /* read-only */
    /* MSI-X disabled again */
    cfg_wr(d, d->msix + 2, 2, 0);
    assert_true(k.msi[0][1].masked);
    /* the vector changed to none */
    cfg_wr(d, d->msix + 2, 2, PCI_MSIX_ENABLE);
    assert_false(k.msi[0][1].masked);
    wr(d, COMMON(d, Q_MSIX), 2, VIRTIO_MSI_NO_VECTOR);
    assert_true(k.msi[0][1].masked);
    /* bad table accesses */
    wr(d, TABLE(4, 0), 4, 0x1234);                              /* past the 4 entries */
    assert_int_equal(rd(d, TABLE(4, 0), 4), 0);
    wr(d, TABLE(1, 2), 2, 0x1234);                              /* not a dword */
    assert_int_equal(rd(d, TABLE(1, 0), 4), 0);
}

static void test_notify_follows_bar(void **state)
{
    struct drv *d = *state;
    uint64_t notify = d->off[VIRTIO_PCI_CAP_NOTIFY_CFG];
    /* Linux sizing: decoding off, all ones, restore, decoding on */
    uint16_t cmd = (uint16_t)cfg_rd(d, PCI_COMMAND, 2);
    cfg_wr(d, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MEMORY);
    assert_int_equal(k.notify_gpa[0], 0);
    unsigned n = k.notifies;
    cfg_wr(d, PCI_BAR0, 4, 0xffffffff);
    cfg_wr(d, PCI_BAR0 + 4, 4, 0xffffffff);
    assert_int_equal(cfg_rd(d, PCI_BAR0, 4), (uint32_t)~(VNET_BAR_SIZE - 1) | VMM_PCI_BAR_MEM64);
    cfg_wr(d, PCI_BAR0, 4, (uint32_t)d->bar);
    cfg_wr(d, PCI_BAR0 + 4, 4, 0);
    assert_int_equal(k.notifies, n);                            /* nothing while off */
    cfg_wr(d, PCI_COMMAND, 2, cmd);
    assert_int_equal(k.notify_gpa[0], d->bar + notify);
    /* moved within the window */
    cfg_wr(d, PCI_BAR0, 4, 0xd0000000);
    assert_int_equal(k.notify_gpa[0], 0xd0000000 + notify);
    assert_int_equal(k.notify_stride, 4);
    d->bar = 0xd0000000;
    assert_int_equal(rd(d, COMMON(d, NUMQ), 2), 3);            /* and reachable there */
    /* the same command value again: no call */
    n = k.notifies;
    cfg_wr(d, PCI_COMMAND, 2, cmd | PCI_COMMAND_MASTER);
    assert_int_equal(k.notifies, n);
    /* above 4 GiB: outside the window, no notify area */
    cfg_wr(d, PCI_BAR0 + 4, 4, 1);
    assert_int_equal(k.notify_gpa[0], 0);
    cfg_wr(d, PCI_BAR0 + 4, 4, 0);
    assert_int_equal(k.notify_gpa[0], 0xd0000000 + notify);
}

static void test_notify_in_monitor(void **state)
{
    struct drv *d = *state;
    struct vmm_vnet *v = vnet_at(d->m, SLOT);
    uint64_t notify = d->off[VIRTIO_PCI_CAP_NOTIFY_CFG];
    uint64_t common = v->acc[VNET_COMMON_OFF / VNET_PART_SIZE], cfg = v->f->cfg_accesses;
    assert_int_equal(v->acc[VNET_NOTIFY_OFF / VNET_PART_SIZE], 0);
    wr(d, notify + 4, 2, 1);
    assert_int_equal(v->notify_in_monitor, 1);
    /* the per-part access counters (vmm_virtio_net_print_stats) */
    assert_int_equal(v->acc[VNET_NOTIFY_OFF / VNET_PART_SIZE], 1);
    assert_int_equal(v->acc[VNET_COMMON_OFF / VNET_PART_SIZE], common);
    rd(d, COMMON(d, STATUS), 1);
    assert_int_equal(v->acc[VNET_COMMON_OFF / VNET_PART_SIZE], common + 1);
    cfg_rd(d, PCI_COMMAND, 2);
    assert_int_equal(v->f->cfg_accesses, cfg + 1);
    vmm_virtio_net_print_stats(d->m);
    char want[160];
    snprintf(want, sizeof(want), "virtio-net 0: accesses in the monitor: pci-config %llu common %llu "
             "isr 0 devcfg ", (unsigned long long)cfg + 1, (unsigned long long)common + 1);
    assert_non_null(strstr(last_printk, want));
    assert_non_null(strstr(last_printk, " notify 1 msix "));
    wr(d, notify + 4, 2, 1);
    assert_int_equal(v->notify_in_monitor, 2);
    assert_int_equal(nlines, 1);
    assert_non_null(strstr(lines[0], "notify"));
    wr(d, notify, 2, 0);
    assert_int_equal(rd(d, notify, 4), 0);
    assert_int_equal(v->notify_in_monitor, 4);
    assert_int_equal(v->acc[VNET_NOTIFY_OFF / VNET_PART_SIZE], 4);
    assert_int_equal(nlines, 1);                                /* said once */
}

static void test_pci_cfg_window(void **state)
{
    struct drv *d = *state;
    struct vmm_vnet *v = vnet_at(d->m, SLOT);
    unsigned c = d->cap[VIRTIO_PCI_CAP_PCI_CFG];
    /* read device_feature[1] through config space */
    wr(d, COMMON(d, DFSELECT), 4, 1);
    cfg_wr(d, c + VIRTIO_PCI_CAP_BAR, 1, 0);
    cfg_wr(d, c + VIRTIO_PCI_CAP_LENGTH, 4, 4);
    cfg_wr(d, c + VIRTIO_PCI_CAP_OFFSET, 4, COMMON(d, DF));
    assert_int_equal(cfg_rd(d, c + VIRTIO_PCI_CFG_DATA, 4), (uint32_t)(FEATURES_LINUX >> 32));
    /* write device_status through it, byte wide */
    cfg_wr(d, c + VIRTIO_PCI_CAP_LENGTH, 4, 1);
    cfg_wr(d, c + VIRTIO_PCI_CAP_OFFSET, 4, COMMON(d, STATUS));
    cfg_wr(d, c + VIRTIO_PCI_CFG_DATA, 4, VIRTIO_STATUS_ACKNOWLEDGE);
    assert_int_equal(rd(d, COMMON(d, STATUS), 1), VIRTIO_STATUS_ACKNOWLEDGE);
    assert_int_equal(cfg_rd(d, c + VIRTIO_PCI_CFG_DATA, 4), VIRTIO_STATUS_ACKNOWLEDGE);
    /* the data follows register writes made through the BAR */
    wr(d, COMMON(d, STATUS), 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    assert_int_equal(cfg_rd(d, c + VIRTIO_PCI_CFG_DATA, 1),
                     VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    /* the MAC, 2 bytes at a time */
    cfg_wr(d, c + VIRTIO_PCI_CAP_LENGTH, 4, 2);
    cfg_wr(d, c + VIRTIO_PCI_CAP_OFFSET, 4, DEVCFG(d, 4));
    assert_int_equal(cfg_rd(d, c + VIRTIO_PCI_CFG_DATA, 2), 0x5634);
    /* a notify through the window: counted and dropped, not a monitor notify */
    cfg_wr(d, c + VIRTIO_PCI_CAP_OFFSET, 4, d->off[VIRTIO_PCI_CAP_NOTIFY_CFG] + 4);
    cfg_wr(d, c + VIRTIO_PCI_CFG_DATA, 2, 1);
    assert_int_equal(v->notify_via_pci_cfg, 1);
    assert_int_equal(v->notify_in_monitor, 0);
    assert_int_equal(nlines, 0);
    /* bad window arguments: ignored */
    uint64_t bad = v->bad_access;
    cfg_wr(d, c + VIRTIO_PCI_CAP_LENGTH, 4, 3);
    cfg_wr(d, c + VIRTIO_PCI_CFG_DATA, 4, 0);
    cfg_wr(d, c + VIRTIO_PCI_CAP_LENGTH, 4, 4);
    cfg_wr(d, c + VIRTIO_PCI_CAP_OFFSET, 4, COMMON(d, STATUS) + 2);   /* unaligned */
    cfg_wr(d, c + VIRTIO_PCI_CFG_DATA, 4, 0);
    cfg_wr(d, c + VIRTIO_PCI_CAP_OFFSET, 4, 0x10000000);
    cfg_wr(d, c + VIRTIO_PCI_CFG_DATA, 4, 0);
    cfg_wr(d, c + VIRTIO_PCI_CAP_BAR, 1, 2);
    cfg_wr(d, c + VIRTIO_PCI_CAP_OFFSET, 4, COMMON(d, STATUS));
    cfg_wr(d, c + VIRTIO_PCI_CAP_LENGTH, 4, 1);
    cfg_wr(d, c + VIRTIO_PCI_CFG_DATA, 4, 0);
    assert_int_equal(v->bad_access, bad + 4);
    assert_int_equal(rd(d, COMMON(d, STATUS), 1), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    /* the capability's own fields stay read-only */
    cfg_wr(d, c + VIRTIO_PCI_CAP_CFG_TYPE, 1, 1);
    assert_int_equal(cfg_rd(d, c + VIRTIO_PCI_CAP_CFG_TYPE, 1), VIRTIO_PCI_CAP_PCI_CFG);
}

static void test_bad_accesses(void **state)
{
    struct drv *d = *state;
    struct vmm_vnet *v = vnet_at(d->m, SLOT);
    negotiate(d, FEATURES_LINUX);
    uint64_t bad = v->bad_access;
    /* wrong widths: reads 0, writes ignored */
    assert_int_equal(rd(d, COMMON(d, STATUS), 4), 0);
    assert_int_equal(rd(d, COMMON(d, DF), 2), 0);
    assert_int_equal(rd(d, COMMON(d, Q_SIZE), 1), 0);
    wr(d, COMMON(d, STATUS), 2, 0);
    wr(d, COMMON(d, STATUS), 4, 0);
    assert_int_equal(rd(d, COMMON(d, STATUS), 1), S_ALL);
    wr(d, COMMON(d, Q_SIZE) + 1, 1, 0);
    wr(d, COMMON(d, NUMQ), 2, 9);
    assert_int_equal(rd(d, COMMON(d, NUMQ), 2), 3);
    /* outside the structures */
    assert_int_equal(rd(d, VIRTIO_PCI_COMMON_SIZE, 4), 0);
    assert_int_equal(rd(d, COMMON(d, Q_USEDHI), 8), 0);         /* straddles the end */
    assert_int_equal(rd(d, DEVCFG(d, 10), 4), 0);
    assert_int_equal(rd(d, VNET_PART_SIZE - 4, 8), 0);          /* straddles a page */
    assert_int_equal(rd(d, VNET_PBA_OFF + 0x100, 4), 0);
    assert_int_equal(rd(d, 0x7ff8, 8), 0);                      /* unused part */
    wr(d, 0x6000, 4, 1);
    wr(d, DEVCFG(d, 0), 1, 0);                                  /* read-only MAC */
    assert_int_equal(rd(d, DEVCFG(d, 0), 1), 0x52);
    assert_int_equal(rd(d, d->off[VIRTIO_PCI_CAP_ISR_CFG], 1), 0);
    assert_int_equal(rd(d, d->off[VIRTIO_PCI_CAP_ISR_CFG], 4), 0);
    assert_true(v->bad_access > bad + 10);
    assert_int_equal(rd(d, COMMON(d, STATUS), 1), S_ALL);
    assert_int_equal(k.starts, 0);
}

static void test_device_config_generation(void **state)
{
    struct drv *d = *state;
    uint8_t gen = (uint8_t)rd(d, COMMON(d, CFGGENERATION), 1);
    assert_int_equal(rd(d, DEVCFG(d, VIRTIO_NET_CFG_STATUS), 2), VIRTIO_NET_S_LINK_UP);
    assert_int_equal(rd(d, COMMON(d, CFGGENERATION), 1), gen);
    k.link_up = false;
    assert_int_equal(rd(d, DEVCFG(d, VIRTIO_NET_CFG_STATUS), 2), 0);
    assert_int_equal(rd(d, COMMON(d, CFGGENERATION), 1), (uint8_t)(gen + 1));
    assert_int_equal(rd(d, DEVCFG(d, VIRTIO_NET_CFG_MAX_VQ_PAIRS), 2), 1);
}

static void test_two_ports(void **state)
{
    struct drv d0 = { .m = make_vm(2), .dev = SLOT }, d1 = { .m = d0.m, .dev = SLOT + 1 };
    find_caps(&d0);
    find_caps(&d1);
    assert_int_not_equal(d0.bar, d1.bar);
    assert_int_equal(k.notify_gpa[0], d0.bar + d0.off[VIRTIO_PCI_CAP_NOTIFY_CFG]);
    assert_int_equal(k.notify_gpa[1], d1.bar + d1.off[VIRTIO_PCI_CAP_NOTIFY_CFG]);
    assert_int_equal(rd(&d1, DEVCFG(&d1, 5), 1), 0x57);
    bring_up(&d1);
    assert_int_equal(k.starts, 1);
    assert_int_equal(k.start_port, 1);
    assert_false(k.msi[1][0].masked);
    assert_int_equal(k.msi_calls[0][0], 0);
    assert_int_equal(rd(&d0, COMMON(&d0, STATUS), 1), 0);
    wr(&d1, COMMON(&d1, STATUS), 1, 0);
    assert_int_equal(k.stop_port, 1);
    free(d0.m);
    /* four ports at most: slots 3-6 */
    struct vmm *m = make_vm(VMM_NET_MAX_PORTS + 3);
    struct drv d6 = { .m = m, .dev = SLOT + VMM_NET_MAX_PORTS - 1 };
    find_caps(&d6);
    d6.dev++;
    assert_int_equal(cfg_rd(&d6, PCI_VENDOR_ID, 4), 0xffffffff);
    free(m);
    /* no ports: no device */
    m = make_vm(0);
    d6 = (struct drv){ .m = m, .dev = SLOT };
    assert_int_equal(cfg_rd(&d6, PCI_VENDOR_ID, 4), 0xffffffff);
    assert_int_equal(k.notifies, 0);
    free(m);
}

/* Random guest accesses to config space and the BAR: no crash, no start
 * with a bad queue size. */
static void test_random_accesses(void **state)
{
    struct drv *d = *state;
    uint64_t x = 88172645463325252ull;
    for (unsigned i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        unsigned size = 1u << (x & 3);
        bool write = x & 4;
        uint64_t v = x >> 11;
        if (x & 8) {
            unsigned reg = (unsigned)(x >> 16) & 0xff;
            if (write && reg >= PCI_BAR0 && reg < PCI_BAR0 + 8)
                continue;                                       /* keep the BAR in place */
            if (write)
                cfg_wr(d, reg & ~(size - 1), size > 4 ? 4 : size, (uint32_t)v);
            else
                cfg_rd(d, reg & ~(size - 1), size > 4 ? 4 : size);
        } else {
            uint64_t off = (x >> 20) % VNET_BAR_SIZE;
            if (x & 16)
                off = (off & 0x7000) | (off & 0x3f);            /* mostly near the registers */
            if (write)
                wr(d, off, size, v);
            else
                rd(d, off, size);
        }
    }
    for (unsigned qi = 0; qi < 2 && k.starts; qi++)
        assert_true(k.q[qi].size <= 256 && !(k.q[qi].size & (k.q[qi].size - 1)));
}

/* ---- the control queue ---------------------------------------------------------------- */
#define CQ_SIZE  16
#define CQ_DESC  (GRAM)
#define CQ_AVAIL (GRAM + 0x1000)
#define CQ_USED  (GRAM + 0x2000)
#define CQ_BUF   (GRAM + 0x4000)             /* command bytes */
#define CQ_ACK   (GRAM + 0x8000)
#define CQ_IND   (GRAM + 0x9000)             /* an indirect table */
static uint16_t cq_avail;

static struct vring_desc *cq_desc(unsigned i) { return (struct vring_desc *)(gram + (CQ_DESC - GRAM)) + i; }
static uint16_t *cq_avail_ring(void) { return (uint16_t *)(gram + (CQ_AVAIL - GRAM)); }
static struct vring_used *cq_used(void) { return (struct vring_used *)(gram + (CQ_USED - GRAM)); }

static void ctrl_up(struct drv *d, uint64_t features)
{
    memset(gram, 0, sizeof(gram));
    memset(&kc, 0, sizeof(kc));
    memset(&msis_sent, 0, sizeof(msis_sent));
    cq_avail = 0;
    negotiate(d, features);
    assert_int_equal(rd(d, COMMON(d, STATUS), 1), S_ALL);
    enable_msix(d);
    setup_queue(d, 0, 256, 0x100000, 1);
    setup_queue(d, 1, 128, 0x200000, 2);
    wr(d, COMMON(d, Q_SELECT), 2, VNET_CTRLQ);
    wr(d, COMMON(d, Q_SIZE), 2, CQ_SIZE);
    wr(d, COMMON(d, Q_DESCLO), 8, CQ_DESC);
    wr(d, COMMON(d, Q_AVAILLO), 8, CQ_AVAIL);
    wr(d, COMMON(d, Q_USEDLO), 8, CQ_USED);
    wr(d, COMMON(d, Q_MSIX), 2, 3);
    wr(d, COMMON(d, Q_ENABLE), 2, 1);
    wr(d, COMMON(d, STATUS), 1, S_ALL | VIRTIO_STATUS_DRIVER_OK);
    assert_int_equal(rd(d, COMMON(d, STATUS), 1), S_ALL | VIRTIO_STATUS_DRIVER_OK);
    cq_avail_ring()[2 + CQ_SIZE] = 0x8000;   /* used_event far ahead: no interrupts */
}

static void cq_kick(struct drv *d)
{
    wr(d, d->off[VIRTIO_PCI_CAP_NOTIFY_CFG] + VNET_CTRLQ * d->mult, 2, VNET_CTRLQ);
}

/* Post one command as Linux does (header, data, ack: three descriptors from
 * slot `at`), kick, and return the ack byte (-1: not completed). */
static int cq_cmd(struct drv *d, uint8_t cls, uint8_t cmd, const void *data, uint32_t len)
{
    unsigned at = (cq_avail * 3) % CQ_SIZE;
    gram[CQ_BUF - GRAM] = cls;
    gram[CQ_BUF - GRAM + 1] = cmd;
    if (len)
        memcpy(gram + (CQ_BUF - GRAM) + 16, data, len);
    gram[CQ_ACK - GRAM] = 0xee;
    *cq_desc(at) = (struct vring_desc){ CQ_BUF, 2, VRING_DESC_F_NEXT, (uint16_t)((at + 1) % CQ_SIZE) };
    *cq_desc((at + 1) % CQ_SIZE) = (struct vring_desc){ CQ_BUF + 16, len, VRING_DESC_F_NEXT,
                                                        (uint16_t)((at + 2) % CQ_SIZE) };
    *cq_desc((at + 2) % CQ_SIZE) = (struct vring_desc){ CQ_ACK, 1, VRING_DESC_F_WRITE, 0 };
    cq_avail_ring()[2 + cq_avail % CQ_SIZE] = (uint16_t)at;
    cq_avail++;
    cq_avail_ring()[1] = cq_avail;
    uint16_t used = cq_used()->idx;
    cq_kick(d);
    if (cq_used()->idx == used)
        return -1;
    assert_int_equal((uint16_t)(used + 1), cq_used()->idx);
    assert_int_equal(cq_used()->ring[used % CQ_SIZE].id, at);
    assert_int_equal(cq_used()->ring[used % CQ_SIZE].len, 1);
    return gram[CQ_ACK - GRAM];
}

static void test_ctrl_commands(void **state)
{
    struct drv *d = *state;
    struct vmm_vnet *v = vnet_at(d->m, SLOT);
    ctrl_up(d, NO_ANNOUNCE);

    /* promiscuous on: the kernel carries it out with the whole mode */
    uint8_t on = 1;
    assert_int_equal(cq_cmd(d, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1), VIRTIO_NET_OK);
    assert_int_equal(kc.calls, 1);
    assert_int_equal(kc.last.kind, VMM_NET_CTRL_RX_MODE);
    assert_int_equal(kc.last.promisc, 1);
    assert_int_equal(kc.last.allmulti, 0);
    /* allmulti keeps promisc; the kernel refusing leaves the mode as it was */
    kc.rc = -1;
    assert_int_equal(cq_cmd(d, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &on, 1), VIRTIO_NET_ERR);
    assert_int_equal(kc.last.promisc, 1);
    assert_int_equal(kc.last.allmulti, 1);
    assert_int_equal(v->rx.allmulti, 0);
    kc.rc = 0;
    /* MAC_TABLE_SET: 1 unicast, 2 multicast */
    uint8_t tbl[4 + 6 + 4 + 12] = { 1, 0, 0, 0, 0x52, 0, 0, 0, 0, 1, 2, 0, 0, 0,
                                    0x01, 0, 0x5e, 0, 0, 1, 0x33, 0x33, 0, 0, 0, 1 };
    assert_int_equal(cq_cmd(d, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, tbl, sizeof(tbl)),
                     VIRTIO_NET_OK);
    assert_int_equal(kc.last.nmc, 2);
    assert_int_equal(kc.last.promisc, 1);
    assert_memory_equal(kc.last.mc[1], tbl + 20, 6);
    /* a table whose counts do not match its bytes: ERR, the kernel not asked */
    unsigned calls = kc.calls;
    tbl[10] = 3;
    assert_int_equal(cq_cmd(d, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, tbl, sizeof(tbl)),
                     VIRTIO_NET_ERR);
    assert_int_equal(kc.calls, calls);
    /* MAC_ADDR_SET, GUEST_OFFLOADS */
    const uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0, 0x99 };
    assert_int_equal(cq_cmd(d, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 6), VIRTIO_NET_OK);
    assert_int_equal(kc.last.kind, VMM_NET_CTRL_MAC);
    assert_memory_equal(kc.last.mac, mac, 6);
    uint64_t off = VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM);
    assert_int_equal(cq_cmd(d, VIRTIO_NET_CTRL_GUEST_OFFLOADS, VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, &off, 8),
                     VIRTIO_NET_OK);
    assert_int_equal(kc.last.kind, VMM_NET_CTRL_OFFLOADS);
    assert_int_equal(kc.last.offloads, off);
    calls = kc.calls;
    off = VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(50);      /* not negotiated */
    assert_int_equal(cq_cmd(d, VIRTIO_NET_CTRL_GUEST_OFFLOADS, VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, &off, 8),
                     VIRTIO_NET_ERR);
    /* not offered: VLAN, MQ, ANNOUNCE (no GUEST_ANNOUNCE), an unknown class */
    assert_int_equal(cq_cmd(d, 2, 0, &off, 2), VIRTIO_NET_ERR);
    assert_int_equal(cq_cmd(d, 4, 0, &off, 2), VIRTIO_NET_ERR);
    assert_int_equal(cq_cmd(d, VIRTIO_NET_CTRL_ANNOUNCE, 0, &off, 0), VIRTIO_NET_ERR);
    assert_int_equal(cq_cmd(d, 99, 0, &off, 1), VIRTIO_NET_ERR);
    assert_int_equal(kc.calls, calls);
    /* EVENT_IDX: avail_event asks for the next kick */
    assert_int_equal(*(uint16_t *)&cq_used()->ring[CQ_SIZE], cq_avail);
    assert_int_equal(v->ctrl_ok, 4);
    assert_int_equal(v->ctrl_err, 7);
    /* an interrupt only when asked: used_event = the next used index */
    assert_int_equal(msis_sent.n, 0);
    cq_avail_ring()[2 + CQ_SIZE] = cq_used()->idx;
    assert_int_equal(cq_cmd(d, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1), VIRTIO_NET_OK);
    assert_int_equal(msis_sent.n, 1);
    assert_int_equal(msis_sent.data, 0x40 + 3);
    /* masked: held (PBA bit 3), sent at unmask */
    cq_avail_ring()[2 + CQ_SIZE] = cq_used()->idx;
    wr(d, TABLE(3, 12), 4, 1);
    assert_int_equal(cq_cmd(d, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1), VIRTIO_NET_OK);
    assert_int_equal(msis_sent.n, 1);
    assert_int_equal(rd(d, VNET_PBA_OFF, 8) & 8, 8);
    wr(d, TABLE(3, 12), 4, 0);
    assert_int_equal(msis_sent.n, 2);
    assert_int_equal(rd(d, VNET_PBA_OFF, 8) & 8, 0);
    /* reset forgets the mode */
    wr(d, COMMON(d, STATUS), 1, 0);
    assert_int_equal(v->rx.promisc, 0);
    assert_int_equal(v->rx.nmc, 0);
}

static void test_ctrl_indirect_and_broken(void **state)
{
    struct drv *d = *state;
    struct vmm_vnet *v = vnet_at(d->m, SLOT);
    ctrl_up(d, FEATURES_LINUX);
    /* one indirect descriptor holding header+data and the ack */
    struct vring_desc *ind = (struct vring_desc *)(gram + (CQ_IND - GRAM));
    gram[CQ_BUF - GRAM] = VIRTIO_NET_CTRL_RX;
    gram[CQ_BUF - GRAM + 1] = VIRTIO_NET_CTRL_RX_ALLMULTI;
    gram[CQ_BUF - GRAM + 2] = 1;
    ind[0] = (struct vring_desc){ CQ_BUF, 3, VRING_DESC_F_NEXT, 1 };
    ind[1] = (struct vring_desc){ CQ_ACK, 1, VRING_DESC_F_WRITE, 0 };
    *cq_desc(5) = (struct vring_desc){ CQ_IND, 32, VRING_DESC_F_INDIRECT, 0 };
    cq_avail_ring()[2] = 5;
    cq_avail_ring()[1] = ++cq_avail;
    cq_kick(d);
    assert_int_equal(cq_used()->idx, 1);
    assert_int_equal(gram[CQ_ACK - GRAM], VIRTIO_NET_OK);
    assert_int_equal(kc.last.allmulti, 1);
    /* malformed chains: each breaks the queue (needs reset), nothing written
     * nor asked of the kernel after it */
    struct { const char *what; struct vring_desc d0, d1; } bad[] = {
        { "a loop", { CQ_BUF, 3, VRING_DESC_F_NEXT, 6 }, { 0 } },
        { "no ack byte", { CQ_BUF, 3, 0, 0 }, { 0 } },
        { "readable after the ack", { CQ_ACK, 1, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 7 },
          { CQ_BUF, 3, 0, 0 } },
        { "out of the table", { CQ_BUF, 3, VRING_DESC_F_NEXT, CQ_SIZE }, { 0 } },
        { "out of RAM", { 0x1000, 3, VRING_DESC_F_NEXT, 7 }, { CQ_ACK, 1, VRING_DESC_F_WRITE, 0 } },
        { "indirect with next", { CQ_IND, 32, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 7 }, { 0 } },
        { "indirect of 17", { CQ_IND, 17 * 16, VRING_DESC_F_INDIRECT, 0 }, { 0 } },
        { "indirect of 0", { CQ_IND, 0, VRING_DESC_F_INDIRECT, 0 }, { 0 } },
        { "zero-length ack", { CQ_ACK, 0, VRING_DESC_F_WRITE, 0 }, { 0 } },
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ctrl_up(d, FEATURES_LINUX);
        *cq_desc(6) = bad[i].d0;
        *cq_desc(7) = bad[i].d1;
        cq_avail_ring()[2] = 6;
        cq_avail_ring()[1] = ++cq_avail;
        unsigned calls = kc.calls;
        cq_kick(d);
        if (!(rd(d, COMMON(d, STATUS), 1) & VIRTIO_STATUS_NEEDS_RESET))
            fail_msg("%s: not broken", bad[i].what);
        assert_int_equal(cq_used()->idx, 0);
        assert_int_equal(kc.calls, calls);
        assert_true(v->ctrl_broken);
        /* a broken queue reads nothing more */
        unsigned reads = gpa_reads;
        cq_kick(d);
        assert_int_equal(gpa_reads, reads);
    }
    /* more available than the ring holds */
    ctrl_up(d, FEATURES_LINUX);
    cq_avail_ring()[1] = CQ_SIZE + 1;
    cq_kick(d);
    assert_true(rd(d, COMMON(d, STATUS), 1) & VIRTIO_STATUS_NEEDS_RESET);
    /* more than VNET_CTRL_CMD_MAX bytes: a MAC table is "every group" (not
     * ERR: the old list would stay), anything else ERR; not broken */
    ctrl_up(d, FEATURES_LINUX);
    static uint8_t big[VNET_CTRL_CMD_MAX];
    assert_int_equal(cq_cmd(d, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, big, sizeof(big)),
                     VIRTIO_NET_OK);
    assert_int_equal(kc.last.kind, VMM_NET_CTRL_RX_MODE);
    assert_int_equal(kc.last.nmc, VMM_NET_MC_MAX + 1);
    unsigned calls = kc.calls;
    assert_int_equal(cq_cmd(d, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, big, sizeof(big)),
                     VIRTIO_NET_ERR);
    assert_int_equal(kc.calls, calls);
    assert_false(v->ctrl_broken);
}

/* GUEST_ANNOUNCE: after a VM restart, DRIVER_OK starts the rounds; a due
 * round sets status ANNOUNCE and sends the config interrupt; the driver's
 * ANNOUNCE_ACK clears it; an unacked ask is not repeated; no rounds on the
 * first boot or without the feature. */
static void test_announce(void **state)
{
    struct drv *d = *state;
    struct vmm_vnet *v = vnet_at(d->m, SLOT);
    uint64_t f = FEATURES_LINUX;
    ctrl_up(d, f);                                  /* first boot: nothing */
    assert_int_equal(v->announce_rounds, 0);
    d->m->boots = 1;                                /* as vmm_reset counts them */
    ctrl_up(d, f);
    wr(d, COMMON(d, MSIX), 2, 0);                   /* config vector 0 (0x40) */
    assert_int_equal(v->announce_rounds, VNET_ANNOUNCE_ROUNDS);
    assert_int_equal(dev_timer.id, (unsigned)d->m->vnet_timer);
    assert_int_equal(dev_timer.deadline, v->announce_next);
    vmm_timer_expired(d->m, dev_timer.id);          /* not due yet */
    assert_int_equal(v->announce_rounds, VNET_ANNOUNCE_ROUNDS);
    assert_int_equal(rd(d, DEVCFG(d, VIRTIO_NET_CFG_STATUS), 2), VIRTIO_NET_S_LINK_UP);
    uint8_t gen = (uint8_t)rd(d, COMMON(d, CFGGENERATION), 1);
    v->announce_next = 0;                           /* due */
    vmm_timer_expired(d->m, dev_timer.id);
    assert_int_equal(v->announce_rounds, VNET_ANNOUNCE_ROUNDS - 1);
    assert_int_equal(rd(d, DEVCFG(d, VIRTIO_NET_CFG_STATUS), 2), VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
    assert_int_not_equal(rd(d, COMMON(d, CFGGENERATION), 1), gen);
    assert_int_equal(msis_sent.n, 1);
    assert_int_equal(msis_sent.data, 0x40);
    assert_int_equal(dev_timer.deadline, v->announce_next);     /* the next round armed */
    /* unacked: the next round does not ask again */
    v->announce_next = 0;
    vmm_timer_expired(d->m, dev_timer.id);
    assert_int_equal(msis_sent.n, 1);
    assert_int_equal(v->announces, 1);
    /* the ack clears it; the next round asks again, masked: held in the PBA */
    assert_int_equal(cq_cmd(d, VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK, NULL, 0), VIRTIO_NET_OK);
    assert_int_equal(rd(d, DEVCFG(d, VIRTIO_NET_CFG_STATUS), 2), VIRTIO_NET_S_LINK_UP);
    assert_int_equal(v->announce_acks, 1);
    wr(d, TABLE(0, 12), 4, 1);
    v->announce_next = 0;
    vmm_timer_expired(d->m, dev_timer.id);
    assert_int_equal(msis_sent.n, 1);
    assert_int_equal(rd(d, VNET_PBA_OFF, 8) & 1, 1);
    wr(d, TABLE(0, 12), 4, 0);
    assert_int_equal(msis_sent.n, 2);
    /* the rounds run out; the timer is cancelled */
    for (unsigned i = 0; i < 2 * VNET_ANNOUNCE_ROUNDS; i++) {
        v->announce_next = 0;
        vmm_timer_expired(d->m, dev_timer.id);
    }
    assert_int_equal(v->announce_rounds, 0);
    assert_int_equal(dev_timer.deadline, 0);
    /* without the feature: no rounds; ANNOUNCE_ACK refused */
    ctrl_up(d, NO_ANNOUNCE);
    assert_int_equal(v->announce_rounds, 0);
    assert_int_equal(cq_cmd(d, VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK, NULL, 0), VIRTIO_NET_ERR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ids_and_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probe_and_driver_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_features, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_refused_needs_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_msix_routes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notify_follows_bar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notify_in_monitor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci_cfg_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_accesses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_config_generation, setup, teardown),
        cmocka_unit_test(test_two_ports),
        cmocka_unit_test_setup_teardown(test_random_accesses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ctrl_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ctrl_indirect_and_broken, setup, teardown),
        cmocka_unit_test_setup_teardown(test_announce, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
