/* Host tests: the learning switch (kernel/switch.c) and checksum completion
 * (kernel/pkt.c), against fake ports that record what they are given.
 * Expected checksums come from a naive big-endian reference sum computed
 * here, independently of pkt.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>
#include "../../kernel/switch.c"
#include "../../kernel/pkt.c"
#include "switch_peek.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- fake ports ------------------------------------------------------------------ */
#define MAXREC 512
struct rec {
    uint8_t data[PKT_BUF_SIZE];
    uint32_t len;
    uint8_t csum_flags;
    uint16_t csum_start, csum_offset, in_port;
};
struct fport {
    struct sw_port sp;
    unsigned limit;                     /* frames taken per xmit call (~0u: all) */
    unsigned calls, ncall[64];          /* xmit calls and their sizes */
    unsigned nrec;
    struct rec rec[MAXREC];
};
static struct fport *fp[SW_MAX_PORTS];
static unsigned nfp;

static unsigned fake_xmit(struct sw_port *p, struct pkt *const *pkts, unsigned n)
{
    struct fport *f = p->priv;
    unsigned take = n < f->limit ? n : f->limit;
    if (f->calls < N(f->ncall))
        f->ncall[f->calls] = n;
    f->calls++;
    for (unsigned i = 0; i < take && f->nrec < MAXREC; i++) {
        struct rec *r = &f->rec[f->nrec++];
        /* (jumbo frames: the first PKT_BUF_SIZE bytes are kept, len is whole) */
        memcpy(r->data, pkts[i]->data, pkts[i]->len < sizeof(r->data) ? pkts[i]->len : sizeof(r->data));
        r->len = pkts[i]->len;
        r->csum_flags = pkts[i]->csum_flags;
        r->csum_start = pkts[i]->csum_start;
        r->csum_offset = pkts[i]->csum_offset;
        r->in_port = pkts[i]->in_port;
    }
    if (take < n)
        sw_port_drop(p, SW_DROP_NO_BUF, n - take);
    return take;
}

static const uint8_t MAC_A[6] = { 0x52, 0x54, 0, 0, 0, 0xa };
static const uint8_t MAC_B[6] = { 0x52, 0x54, 0, 0, 0, 0xb };
static const uint8_t MAC_C[6] = { 0x52, 0x54, 0, 0, 0, 0xc };
static const uint8_t MAC_X[6] = { 0x02, 0, 0, 0, 0, 0x01 };    /* outside hosts */
static const uint8_t MAC_Y[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t MCAST[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };

static struct fport *mkport(const char *name, bool uplink, uint16_t vlan, const uint8_t *mac)
{
    struct fport *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->sp.name, sizeof(f->sp.name), "%s", name);
    f->sp.uplink = uplink;
    f->sp.vlan = vlan;
    f->sp.xmit = fake_xmit;
    f->sp.priv = f;
    f->limit = ~0u;
    if (mac) {
        f->sp.has_mac = true;
        memcpy(f->sp.mac, mac, 6);
    }
    int id = switch_add_port(&f->sp);
    assert_int_equal(id, (int)nfp);
    fp[nfp++] = f;
    return f;
}

static void reset_rec(void)
{
    for (unsigned i = 0; i < nfp; i++) {
        fp[i]->nrec = 0;
        fp[i]->calls = 0;
    }
}

static int setup(void **s)
{
    switch_init();
    nfp = 0;
    return 0;
}

static int teardown(void **s)
{
    for (unsigned i = 0; i < nfp; i++)
        free(fp[i]);
    nfp = 0;
    return 0;
}

/* ---- frames -------------------------------------------------------------------- */
struct frame {
    uint8_t buf[PKT_BUF_SIZE];
    struct pkt p;
};

/* dst, src, [tag vid], ethertype, payload bytes (a pattern) up to len */
static struct pkt *mkframe(struct frame *f, const uint8_t *dst, const uint8_t *src, int vid,
                           uint16_t type, uint32_t len)
{
    memset(f, 0, sizeof(*f));
    memcpy(f->buf, dst, 6);
    memcpy(f->buf + 6, src, 6);
    unsigned o = 12;
    if (vid >= 0) {
        f->buf[12] = 0x81;
        f->buf[13] = 0x00;
        f->buf[14] = (uint8_t)(vid >> 8);
        f->buf[15] = (uint8_t)vid;
        o = 16;
    }
    f->buf[o] = (uint8_t)(type >> 8);
    f->buf[o + 1] = (uint8_t)type;
    for (uint32_t i = o + 2; i < len && i < PKT_BUF_SIZE; i++)
        f->buf[i] = (uint8_t)(i * 7 + 3);
    f->p.data = f->buf;
    f->p.len = len;
    return &f->p;
}

static void send1(struct fport *in, struct pkt *p, uint64_t now)
{
    struct pkt *v[1] = { p };
    switch_input(&in->sp, v, 1, now);
}

static void send_simple(struct fport *in, const uint8_t *dst, const uint8_t *src, int vid,
                        uint64_t now)
{
    struct frame f;
    send1(in, mkframe(&f, dst, src, vid, ETH_P_IP, 60), now);
}

static uint64_t total_drops(const struct fport *f)
{
    uint64_t d = 0;
    for (unsigned c = 0; c < SW_DROP__COUNT; c++)
        d += f->sp.st.drops[c];
    return d;
}

/* ---- naive reference checksum ---------------------------------------------------- */
static uint32_t ref_sum(uint32_t s, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        s += (i & 1) ? p[i] : (uint32_t)p[i] << 8;     /* big-endian words, odd byte padded */
    return s;
}
static uint16_t ref_fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

/* Build an IPv4 or IPv6 TCP/UDP frame prepared as a guest's stack does for
 * NEEDS_CSUM: the checksum field holds the folded pseudo-header sum.
 * Returns the expected final checksum (reference), in host order. */
static uint16_t mk_l4(struct frame *f, bool v6, bool tcp, uint32_t payload, int vid,
                      const uint8_t *dst, const uint8_t *src, uint8_t seed)
{
    unsigned l2 = vid >= 0 ? 18 : 14, l3 = v6 ? 40 : 20, l4h = tcp ? 20 : 8;
    uint32_t l4len = l4h + payload, len = l2 + l3 + l4len;
    mkframe(f, dst, src, vid, v6 ? ETH_P_IPV6 : ETH_P_IP, len);
    uint8_t *ip = f->buf + l2, *l4 = ip + l3;
    memset(ip, 0, l3 + l4h);
    for (uint32_t i = 0; i < payload; i++)
        l4[l4h + i] = (uint8_t)(seed + i * 13 + (i >> 3));
    uint8_t proto = tcp ? 6 : 17;
    uint32_t ps = 0;
    if (v6) {
        ip[0] = 0x60;
        ip[4] = (uint8_t)(l4len >> 8);
        ip[5] = (uint8_t)l4len;
        ip[6] = proto;
        ip[7] = 64;
        for (int i = 0; i < 32; i++)
            ip[8 + i] = (uint8_t)(0x20 + i * 5 + seed);
        ps = ref_sum(0, ip + 8, 32);
        ps += l4len >> 16;
        ps += l4len & 0xffff;
        ps += proto;
    } else {
        ip[0] = 0x45;
        ip[2] = (uint8_t)((l3 + l4len) >> 8);
        ip[3] = (uint8_t)(l3 + l4len);
        ip[8] = 64;
        ip[9] = proto;
        const uint8_t a[8] = { 10, 0, 0, 1, 192, 168, seed, 77 };
        memcpy(ip + 12, a, 8);
        ps = ref_sum(0, ip + 12, 8) + proto + l4len;
    }
    l4[0] = 0x12; l4[1] = 0x34; l4[2] = 0x00; l4[3] = 0x50;     /* ports */
    if (tcp) {
        l4[12] = 0x50;
        l4[13] = 0x18;
    } else {
        l4[4] = (uint8_t)(l4len >> 8);
        l4[5] = (uint8_t)l4len;
    }
    unsigned off = tcp ? 16 : 6;
    /* expected: complement of the sum over pseudo-header + segment (field 0) */
    uint16_t want = (uint16_t)~ref_fold(ref_sum(ps, l4, l4len));
    if (want == 0 && !tcp)
        want = 0xffff;
    /* partial: the field holds the folded pseudo-header sum */
    uint16_t seedsum = ref_fold(ps);
    l4[off] = (uint8_t)(seedsum >> 8);
    l4[off + 1] = (uint8_t)seedsum;
    f->p.csum_flags = PKT_CSUM_PARTIAL;
    f->p.csum_start = (uint16_t)(l2 + l3);
    f->p.csum_offset = (uint16_t)off;
    return want;
}

static uint16_t be16_at(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* A receiver's check: the sum over pseudo-header and segment incl. the
 * checksum must fold to 0xffff. */
static void verify_l4(const uint8_t *frame, uint32_t len, unsigned l2, bool v6)
{
    const uint8_t *ip = frame + l2;
    unsigned l3 = v6 ? 40 : 20;
    uint32_t l4len = len - l2 - l3;
    uint8_t proto = v6 ? ip[6] : ip[9];
    uint32_t ps = v6 ? ref_sum(0, ip + 8, 32) + (l4len >> 16) + (l4len & 0xffff) + proto
                     : ref_sum(0, ip + 12, 8) + proto + l4len;
    assert_int_equal(ref_fold(ref_sum(ps, ip + l3, l4len)), 0xffff);
}

/* ---- tests: ports ------------------------------------------------------------------ */

static void test_add_ports(void **s)
{
    assert_int_equal(switch_nports(), 0);
    assert_null(switch_port(0));
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 0, MAC_A);
    assert_int_equal(u->sp.id, 0);
    assert_int_equal(a->sp.id, 1);
    assert_int_equal(switch_nports(), 2);
    assert_ptr_equal(switch_port(1), &a->sp);
    assert_null(switch_port(2));

    struct sw_port bad = { .xmit = NULL };
    assert_int_equal(switch_add_port(&bad), -1);                /* no xmit */
    struct sw_port dup = { .xmit = fake_xmit, .has_mac = true };
    memcpy(dup.mac, MAC_A, 6);
    assert_int_equal(switch_add_port(&dup), -1);                /* A is taken */
    dup.vlan = 7;
    assert_int_equal(switch_add_port(&dup), 2);                 /* other VLAN: fine */
    struct sw_port mc = { .xmit = fake_xmit, .has_mac = true };
    memcpy(mc.mac, MCAST, 6);
    assert_int_equal(switch_add_port(&mc), -1);                 /* group MAC */
    struct sw_port bv = { .xmit = fake_xmit, .vlan = 4096 };
    assert_int_equal(switch_add_port(&bv), -1);
}

/* a VM port added after its MAC was learned elsewhere (even twice, as
 * racing CPUs can leave it): the static entry wins everywhere */
static void test_static_over_learned(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    send_simple(u, BCAST, MAC_B, -1, 10);
    assert_int_equal(switch_lookup(MAC_B, 0, 10), u->sp.id);
    struct sw_bucket *bk = key_bucket(mac_key(MAC_B, 0));
    unsigned w0 = 0;
    while (bk->e[w0].key != mac_key(MAC_B, 0))
        w0++;
    unsigned w1 = (w0 + 1) % SW_WAYS;   /* plant a duplicate learned copy */
    bk->e[w1] = bk->e[w0];
    struct fport *b = mkport("b", false, 0, MAC_B);
    assert_int_equal(switch_lookup(MAC_B, 0, 20), b->sp.id);
    unsigned copies = 0;
    for (unsigned w = 0; w < SW_WAYS; w++)
        copies += bk->e[w].key == mac_key(MAC_B, 0);
    assert_int_equal(copies, 1);
    send_simple(u, BCAST, MAC_B, -1, 30);
    assert_int_equal(u->sp.st.drops[SW_DROP_SPOOF], 1);
}

static void test_max_ports(void **s)
{
    static struct sw_port p[SW_MAX_PORTS + 1];
    for (unsigned i = 0; i < SW_MAX_PORTS; i++) {
        p[i].xmit = fake_xmit;
        assert_int_equal(switch_add_port(&p[i]), (int)i);
    }
    p[SW_MAX_PORTS].xmit = fake_xmit;
    assert_int_equal(switch_add_port(&p[SW_MAX_PORTS]), -1);
    assert_int_equal(switch_nports(), SW_MAX_PORTS);
}

/* ---- tests: learning, ageing, flooding ------------------------------------------------ */

static void test_learning(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 0, MAC_A);
    struct fport *b = mkport("b", false, 0, MAC_B);

    assert_int_equal(switch_lookup(MAC_X, 0, 0), -1);
    send_simple(u, BCAST, MAC_X, -1, 100);
    assert_int_equal(switch_lookup(MAC_X, 0, 100), u->sp.id);
    assert_int_equal(switch_lookup(MAC_X, 5, 100), -1);        /* per VLAN */
    /* known unicast: exactly the learned port */
    reset_rec();
    send_simple(a, MAC_X, MAC_A, -1, 200);
    assert_int_equal(u->nrec, 1);
    assert_int_equal(b->nrec, 0);
    assert_int_equal(u->rec[0].in_port, a->sp.id);
    /* towards a static VM MAC without any traffic from it */
    reset_rec();
    send_simple(u, MAC_B, MAC_X, -1, 300);
    assert_int_equal(b->nrec, 1);
    assert_int_equal(a->nrec, 0);
}

static void test_unknown_unicast_floods(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 0, MAC_A);
    struct fport *b = mkport("b", false, 0, MAC_B);
    struct fport *c = mkport("c", false, 0, MAC_C);

    send_simple(a, MAC_Y, MAC_A, -1, 0);                         /* Y unknown */
    assert_int_equal(u->nrec, 1);
    assert_int_equal(b->nrec, 1);
    assert_int_equal(c->nrec, 1);
    assert_int_equal(a->nrec, 0);                               /* no hairpin */
    assert_memory_equal(u->rec[0].data, b->rec[0].data, 60);
}

static void test_broadcast_multicast(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 0, MAC_A);
    struct fport *b = mkport("b", false, 0, MAC_B);

    send_simple(u, BCAST, MAC_X, -1, 0);
    assert_int_equal(a->nrec, 1);
    assert_int_equal(b->nrec, 1);
    assert_int_equal(u->nrec, 0);
    reset_rec();
    send_simple(b, MCAST, MAC_B, -1, 0);
    assert_int_equal(a->nrec, 1);
    assert_int_equal(u->nrec, 1);
    assert_int_equal(b->nrec, 0);
    /* a multicast destination is never looked up, even if "learned" */
    assert_int_equal(switch_lookup(MCAST, 0, 0), -1);
}

static void test_ageing(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 0, MAC_A);
    struct fport *b = mkport("b", false, 0, MAC_B);
    uint64_t t0 = 1000000;

    send_simple(u, MAC_A, MAC_X, -1, t0);
    assert_int_equal(switch_lookup(MAC_X, 0, t0 + SW_AGE_MS - 1), u->sp.id);
    assert_int_equal(switch_lookup(MAC_X, 0, t0 + SW_AGE_MS), -1);
    /* once aged out, frames to X flood again */
    reset_rec();
    send_simple(a, MAC_X, MAC_A, -1, t0 + SW_AGE_MS + 5);
    assert_int_equal(u->nrec, 1);
    assert_int_equal(b->nrec, 1);
    /* static entries never age */
    assert_int_equal(switch_lookup(MAC_A, 0, t0 + 100 * (uint64_t)SW_AGE_MS), a->sp.id);
}

static void test_refresh_keeps_alive(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    mkport("a", false, 0, MAC_A);
    uint64_t t = 0;
    for (int i = 0; i < 10; i++, t += SW_AGE_MS / 2)
        send_simple(u, BCAST, MAC_X, -1, t);
    assert_int_equal(switch_lookup(MAC_X, 0, t), u->sp.id);
    /* a time slightly behind (another CPU's clock) is not "aged" */
    assert_int_equal(switch_lookup(MAC_X, 0, t - SW_AGE_MS / 2 - 10), u->sp.id);
}

static void test_station_move(void **s)
{
    /* learning ports (no MAC of their own): a station moves between them */
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 0, NULL);
    struct fport *b = mkport("b", false, 0, NULL);

    send_simple(a, BCAST, MAC_Y, -1, 10);                       /* Y behind a */
    assert_int_equal(switch_lookup(MAC_Y, 0, 10), a->sp.id);
    send_simple(b, BCAST, MAC_Y, -1, 20);                       /* now behind b */
    assert_int_equal(switch_lookup(MAC_Y, 0, 20), b->sp.id);
    reset_rec();
    send_simple(u, MAC_Y, MAC_X, -1, 30);
    assert_int_equal(b->nrec, 1);
    assert_int_equal(a->nrec, 0);
}

static void test_hairpin_dropped(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 0, MAC_A);

    send_simple(u, BCAST, MAC_X, -1, 0);
    send_simple(u, BCAST, MAC_Y, -1, 0);
    reset_rec();
    send_simple(u, MAC_Y, MAC_X, -1, 1);                        /* both on the uplink */
    assert_int_equal(u->nrec + a->nrec, 0);
    assert_int_equal(u->sp.st.drops[SW_DROP_NO_DEST], 1);
    /* a lone VM port: broadcast has nowhere to go but the uplink */
    send_simple(a, BCAST, MAC_A, -1, 2);
    assert_int_equal(u->nrec, 1);
}

static void test_static_spoof(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 0, MAC_A);
    struct fport *b = mkport("b", false, 0, MAC_B);

    send_simple(u, BCAST, MAC_A, -1, 0);                        /* claims A */
    assert_int_equal(u->sp.st.drops[SW_DROP_SPOOF], 1);
    assert_int_equal(a->nrec + b->nrec, 0);
    send_simple(b, MAC_X, MAC_A, -1, 0);                        /* b claims A */
    assert_int_equal(b->sp.st.drops[SW_DROP_SPOOF], 1);
    assert_int_equal(switch_lookup(MAC_A, 0, 0), a->sp.id);
    /* A's own traffic is fine; any other source from it is spoofed and
     * not learned */
    send_simple(a, BCAST, MAC_A, -1, 0);
    assert_int_equal(total_drops(a), 0);
    send_simple(a, BCAST, MAC_Y, -1, 0);
    assert_int_equal(a->sp.st.drops[SW_DROP_SPOOF], 1);
    assert_int_equal(switch_lookup(MAC_Y, 0, 0), -1);
    /* the same MAC in another VLAN is another station */
    send_simple(u, BCAST, MAC_A, 9, 0);
    assert_int_equal(u->sp.st.drops[SW_DROP_SPOOF], 1);
    assert_int_equal(switch_lookup(MAC_A, 9, 0), u->sp.id);
}

static void test_group_source_dropped(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 0, MAC_A);
    send_simple(u, MAC_A, MCAST, -1, 0);
    assert_int_equal(a->nrec, 0);
    assert_int_equal(u->sp.st.drops[SW_DROP_MALFORMED], 1);
    assert_int_equal(switch_lookup(MCAST, 0, 0), -1);
}

/* ---- tests: VLANs ---------------------------------------------------------------------- */

static void test_vlan_isolation(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 10, MAC_A);
    struct fport *b = mkport("b", false, 20, MAC_B);
    struct fport *c = mkport("c", false, 10, MAC_C);
    struct fport *d = mkport("d", false, 0, NULL);

    send_simple(a, BCAST, MAC_A, -1, 0);
    assert_int_equal(c->nrec, 1);
    assert_int_equal(u->nrec, 1);
    assert_int_equal(b->nrec + d->nrec, 0);
    /* unicast to b's MAC from a: b is in VLAN 20, unknown in 10: flood in 10 */
    reset_rec();
    send_simple(a, MAC_B, MAC_A, -1, 0);
    assert_int_equal(b->nrec, 0);
    assert_int_equal(c->nrec, 1);
    /* untagged from the uplink: VLAN 0 ports only */
    reset_rec();
    send_simple(u, BCAST, MAC_X, -1, 0);
    assert_int_equal(d->nrec, 1);
    assert_int_equal(a->nrec + b->nrec + c->nrec, 0);
    /* VID 20 from the uplink: b only */
    reset_rec();
    send_simple(u, BCAST, MAC_X, 20, 0);
    assert_int_equal(b->nrec, 1);
    assert_int_equal(a->nrec + c->nrec + d->nrec, 0);
    /* a VLAN nobody has: nowhere to go */
    reset_rec();
    send_simple(u, BCAST, MAC_X, 99, 0);
    assert_int_equal(u->sp.st.drops[SW_DROP_NO_DEST], 1);
}

static void test_vlan_push(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 10, MAC_A);
    struct fport *c = mkport("c", false, 10, MAC_C);
    struct frame f;
    struct pkt *p = mkframe(&f, BCAST, MAC_A, -1, ETH_P_ARP, 100);
    uint8_t orig[100];
    memcpy(orig, f.buf, 100);

    send1(a, p, 0);
    assert_int_equal(u->nrec, 1);
    assert_int_equal(u->rec[0].len, 104);
    const uint8_t *t = u->rec[0].data;
    assert_memory_equal(t, orig, 12);
    assert_int_equal(be16_at(t + 12), ETH_P_8021Q);
    assert_int_equal(be16_at(t + 14), 10);
    assert_memory_equal(t + 16, orig + 12, 88);
    /* the other access port of VLAN 10 gets it untouched */
    assert_int_equal(c->nrec, 1);
    assert_int_equal(c->rec[0].len, 100);
    assert_memory_equal(c->rec[0].data, orig, 100);
    /* the borrowed frame is unchanged */
    assert_memory_equal(f.buf, orig, 100);
    assert_int_equal(p->len, 100);
}

static void test_vlan_pop(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *u2 = mkport("up2", true, 0, NULL);
    struct fport *a = mkport("a", false, 10, MAC_A);
    struct fport *d = mkport("d", false, 0, NULL);
    struct frame f;
    struct pkt *p = mkframe(&f, MAC_A, MAC_X, 10, ETH_P_IP, 200);
    uint8_t orig[200];
    memcpy(orig, f.buf, 200);

    send1(u, p, 0);
    assert_int_equal(a->nrec, 1);
    assert_int_equal(a->rec[0].len, 196);
    assert_memory_equal(a->rec[0].data, orig, 12);
    assert_memory_equal(a->rec[0].data + 12, orig + 16, 184);
    assert_int_equal(d->nrec + u2->nrec, 0);
    assert_memory_equal(f.buf, orig, 200);
    assert_int_equal(switch_lookup(MAC_X, 10, 0), u->sp.id);

    /* trunk to trunk keeps the tag (unknown unicast in VLAN 10) */
    reset_rec();
    send1(u, mkframe(&f, MAC_Y, MAC_X, 10, ETH_P_IP, 80), 0);
    assert_int_equal(u2->nrec, 1);
    assert_int_equal(u2->rec[0].len, 80);
    assert_int_equal(be16_at(u2->rec[0].data + 14), 10);
    assert_int_equal(a->nrec, 1);
    assert_int_equal(a->rec[0].len, 76);

    /* priority tag (VID 0) from the trunk: VLAN 0, popped towards d */
    reset_rec();
    send1(u, mkframe(&f, BCAST, MAC_Y, 0, ETH_P_IP, 64), 0);
    assert_int_equal(d->nrec, 1);
    assert_int_equal(d->rec[0].len, 60);
    assert_int_equal(be16_at(d->rec[0].data + 12), ETH_P_IP);
    assert_int_equal(u2->nrec, 1);
    assert_int_equal(u2->rec[0].len, 64);
}

static void test_vlan_tagged_from_access_dropped(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 10, MAC_A);
    struct fport *d = mkport("d", false, 0, NULL);
    send_simple(a, BCAST, MAC_A, 20, 0);
    send_simple(d, BCAST, MAC_Y, 20, 0);
    assert_int_equal(u->nrec, 0);
    assert_int_equal(a->sp.st.drops[SW_DROP_MALFORMED], 1);
    assert_int_equal(d->sp.st.drops[SW_DROP_MALFORMED], 1);
}

/* the scratch pool exhausted: tag copies are made one at a time on the stack */
static void test_vlan_push_no_scratch(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 10, MAC_A);
    struct frame f[3];
    struct pkt *v[3];
    for (unsigned i = 0; i < SW_SCRATCH; i++)
        sw_scratch[i].busy = 1;
    for (int i = 0; i < 3; i++)
        v[i] = mkframe(&f[i], MAC_X, MAC_A, -1, ETH_P_IP, 60 + i);
    switch_input(&a->sp, v, 3, 0);
    assert_int_equal(u->nrec, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(u->rec[i].len, 64 + i);
        assert_int_equal(be16_at(u->rec[i].data + 14), 10);
    }
    for (unsigned i = 0; i < SW_SCRATCH; i++)
        sw_scratch[i].busy = 0;
    assert_int_equal(u->sp.st.tx_frames, 3);
}

/* ---- tests: sizes, counters ------------------------------------------------------------ */

static void test_runt_oversize(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 0, MAC_A);
    struct fport *b = mkport("b", false, 5, MAC_B);
    struct frame f;
    static const struct { int vid; uint32_t len; bool pass; enum sw_drop why; } c[] = {
        { -1, 0, false, SW_DROP_MALFORMED },
        { -1, 13, false, SW_DROP_MALFORMED },
        { -1, 14, true, 0 },
        { -1, ETH_FRAME_MAX, true, 0 },
        { -1, ETH_FRAME_MAX + 1, false, SW_DROP_OVERSIZE },
        { -1, PKT_FRAME_MAX, false, SW_DROP_OVERSIZE },
        { 5, 17, false, SW_DROP_MALFORMED },
        { 5, 18, true, 0 },
        { 5, PKT_FRAME_MAX, true, 0 },
        { 5, PKT_FRAME_MAX + 1, false, SW_DROP_OVERSIZE },
    };
    for (unsigned i = 0; i < N(c); i++) {
        reset_rec();
        uint64_t before = u->sp.st.drops[c[i].why];
        struct pkt *p = mkframe(&f, MAC_X, MAC_Y, c[i].vid, ETH_P_IP, c[i].len);
        if (c[i].len < 12)
            memset(f.buf + c[i].len, 0xee, 12 - c[i].len);     /* nothing read past len */
        send1(u, p, 0);
        assert_int_equal(a->nrec + b->nrec, c[i].pass ? 1 : 0);
        if (!c[i].pass)
            assert_int_equal(u->sp.st.drops[c[i].why], before + 1);
    }
    assert_int_equal(u->sp.st.rx_frames, N(c));
    /* oversize from a VM port too */
    send1(a, mkframe(&f, MAC_X, MAC_A, -1, ETH_P_IP, ETH_FRAME_MAX + 1), 0);
    assert_int_equal(a->sp.st.drops[SW_DROP_OVERSIZE], 1);
}

/* Port MTUs (config `mtu`): a jumbo frame passes whole between ports that
 * take it, is dropped and counted ("mtu") toward a port with a smaller MTU
 * (the uplink's is 1500), and is oversize on entry past its own port's. */
static void test_mtu(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 0, MAC_A);
    struct fport *b = mkport("b", false, 0, MAC_B);
    struct fport *c = mkport("c", false, 0, MAC_C);
    a->sp.mtu = 9000;
    b->sp.mtu = 9000;                   /* c and the uplink: 0, i.e. 1500 */
    static uint8_t buf[ETH_HLEN + 9001];
    struct pkt p = { .data = buf };
    memset(buf, 0x5a, sizeof(buf));
    memcpy(buf + 6, MAC_A, 6);
    buf[12] = 0x08;
    buf[13] = 0x00;

    memcpy(buf, MAC_B, 6);              /* a -> b, 9000 bytes of payload */
    p.len = ETH_HLEN + 9000;
    send1(a, &p, 0);
    assert_int_equal(b->nrec, 1);
    assert_int_equal(b->rec[0].len, ETH_HLEN + 9000);
    assert_memory_equal(b->rec[0].data, buf, 64);

    reset_rec();                        /* broadcast: b takes it, c and the uplink cannot */
    memcpy(buf, BCAST, 6);
    send1(a, &p, 0);
    assert_int_equal(b->nrec, 1);
    assert_int_equal(c->nrec + u->nrec, 0);
    assert_int_equal(c->sp.st.drops[SW_DROP_MTU], 1);
    assert_int_equal(u->sp.st.drops[SW_DROP_MTU], 1);
    assert_int_equal(b->sp.st.drops[SW_DROP_MTU], 0);

    reset_rec();                        /* 1500 reaches everyone */
    p.len = ETH_HLEN + 1500;
    send1(a, &p, 0);
    assert_int_equal(b->nrec + c->nrec + u->nrec, 3);

    reset_rec();                        /* past a's own MTU: oversize on entry */
    p.len = ETH_HLEN + 9001;
    send1(a, &p, 0);
    assert_int_equal(b->nrec + c->nrec + u->nrec, 0);
    assert_int_equal(a->sp.st.drops[SW_DROP_OVERSIZE], 1);

    reset_rec();                        /* c (1500) cannot send 1501 */
    memcpy(buf + 6, MAC_C, 6);
    p.len = ETH_HLEN + 1501;
    send1(c, &p, 0);
    assert_int_equal(a->nrec + b->nrec + u->nrec, 0);
    assert_int_equal(c->sp.st.drops[SW_DROP_OVERSIZE], 1);
}

/* ---- GSO (TSO) frames through the switch ------------------------------------------ */

/* A guest's TSO frame (TCP, NEEDS_CSUM seeded as Linux leaves it) of
 * `payload` bytes and MSS `mss` into buf, from src to dst. */
static struct pkt mk_gso(uint8_t *buf, bool v6, uint32_t payload, uint16_t mss, const uint8_t *dst,
                         const uint8_t *src)
{
    uint32_t l3 = v6 ? 40 : 20, l4len = 20 + payload, len = 14 + l3 + l4len;
    memset(buf, 0, len);
    memcpy(buf, dst, 6);
    memcpy(buf + 6, src, 6);
    buf[12] = v6 ? 0x86 : 0x08;
    buf[13] = v6 ? 0xdd : 0x00;
    uint8_t *ip = buf + 14, *t = ip + l3;
    uint32_t ps;
    if (v6) {
        ip[0] = 0x60;
        ip[4] = (uint8_t)(l4len >> 8);
        ip[5] = (uint8_t)l4len;
        ip[6] = 6;
        ip[7] = 64;
        for (int i = 0; i < 32; i++)
            ip[8 + i] = (uint8_t)(0x20 + i * 5);
        ps = ref_sum(0, ip + 8, 32) + (l4len >> 16) + (l4len & 0xffff) + 6;
    } else {
        ip[0] = 0x45;
        ip[2] = (uint8_t)((l3 + l4len) >> 8);
        ip[3] = (uint8_t)(l3 + l4len);
        ip[8] = 64;
        ip[9] = 6;
        const uint8_t a[8] = { 10, 0, 0, 1, 10, 0, 0, 2 };
        memcpy(ip + 12, a, 8);
        ps = ref_sum(0, ip + 12, 8) + 6 + l4len;
    }
    t[0] = 0x12; t[1] = 0x34; t[2] = 0x00; t[3] = 0x50;
    t[12] = 0x50;
    t[13] = 0x18;
    for (uint32_t i = 0; i < payload; i++)
        t[20 + i] = (uint8_t)(i * 13 + (i >> 5));
    uint16_t seed = ref_fold(ps);
    t[16] = (uint8_t)(seed >> 8);
    t[17] = (uint8_t)seed;
    return (struct pkt){ .data = buf, .len = len, .csum_flags = PKT_CSUM_PARTIAL,
                         .csum_start = (uint16_t)(14 + l3), .csum_offset = 16,
                         .gso_type = v6 ? PKT_GSO_TCPV6 : PKT_GSO_TCPV4, .gso_size = mss };
}

static void test_gso(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 5, MAC_A);
    struct fport *b = mkport("b", false, 5, MAC_B);
    struct fport *c = mkport("c", false, 5, MAC_C);
    b->sp.partial_csum_ok = true;
    b->sp.gso_ok = SW_GSO_TCPV4 | SW_GSO_TCPV6;         /* c: neither, nor partial checksums */
    static uint8_t buf[PKT_GSO_MAX_LEN];
    const uint32_t payload = 20000, mss = 1448, nseg = (payload + mss - 1) / mss;

    /* to b: whole, once */
    struct pkt p = mk_gso(buf, false, payload, mss, MAC_B, MAC_A);
    send1(a, &p, 0);
    assert_int_equal(b->nrec, 1);
    assert_int_equal(b->rec[0].len, 54 + payload);
    assert_int_equal(b->sp.st.gso_whole, 1);
    assert_int_equal(c->nrec + u->nrec, 0);

    /* to c (no TSO, no partial checksums): segments, each complete */
    reset_rec();
    p = mk_gso(buf, false, payload, mss, MAC_C, MAC_A);
    send1(a, &p, 0);
    assert_int_equal(c->nrec, nseg);
    assert_int_equal(c->sp.st.gso_split, 1);
    assert_int_equal(c->sp.st.gso_segs, nseg);
    for (unsigned i = 0; i < nseg; i++) {
        const struct rec *r = &c->rec[i];
        uint32_t part = payload - i * mss < mss ? payload - i * mss : mss;
        assert_int_equal(r->len, 54 + part);
        assert_int_equal(r->csum_flags & PKT_CSUM_PARTIAL, 0);
        assert_int_equal(be16_at(r->data + 14 + 2), 40 + part);
        assert_int_equal(ref_fold(ref_sum(0, r->data + 14, 20)), 0xffff);
        verify_l4(r->data, r->len, 14, false);
        assert_memory_equal(r->data + 54, buf + 54 + i * mss, part);
    }

    /* to the uplink (an unknown MAC, flooded: b whole, c and the uplink
     * segmented), with a's access VLAN pushed onto each segment; IPv6 */
    reset_rec();
    p = mk_gso(buf, true, payload, 1428, MAC_X, MAC_A);
    send1(a, &p, 0);
    unsigned n6 = (payload + 1427) / 1428;
    assert_int_equal(b->nrec, 1);
    assert_int_equal(c->nrec, n6);
    assert_int_equal(u->nrec, n6);
    for (unsigned i = 0; i < n6; i++) {
        const struct rec *r = &u->rec[i];
        assert_int_equal(be16_at(r->data + 12), ETH_P_8021Q);
        assert_int_equal(be16_at(r->data + 14) & 0xfff, 5);
        verify_l4(r->data, r->len, 18, true);
        assert_true(r->len <= PKT_FRAME_MAX);
    }

    /* in the middle of a batch: before it, its segments, after it, in order */
    reset_rec();
    struct frame f1, f2;
    struct pkt *v[3] = { mkframe(&f1, MAC_C, MAC_A, -1, ETH_P_IP, 100), NULL,
                         mkframe(&f2, MAC_C, MAC_A, -1, ETH_P_IP, 200) };
    p = mk_gso(buf, false, 5000, mss, MAC_C, MAC_A);
    v[1] = &p;
    switch_input(&a->sp, v, 3, 0);
    unsigned n5 = (5000 + mss - 1) / mss;
    assert_int_equal(c->nrec, n5 + 2);
    assert_int_equal(c->rec[0].len, 100);
    for (unsigned i = 1; i <= n5; i++)
        assert_int_equal(be16_at(c->rec[i].data + 12), ETH_P_IP);
    assert_int_equal(c->rec[1].len, 54 + mss);
    assert_int_equal(c->rec[n5 + 1].len, 200);

    /* an ECN frame to a port without GUEST_ECN: segmented */
    reset_rec();
    p = mk_gso(buf, false, 5000, mss, MAC_B, MAC_A);
    p.gso_type |= PKT_GSO_ECN;
    send1(a, &p, 0);
    assert_int_equal(b->nrec, (5000 + mss - 1) / mss);
    b->sp.gso_ok |= SW_GSO_ECN;
    reset_rec();
    p = mk_gso(buf, false, 5000, mss, MAC_B, MAC_A);
    p.gso_type |= PKT_GSO_ECN;
    send1(a, &p, 0);
    assert_int_equal(b->nrec, 1);

    /* refused at ingress: malformed metadata, from the uplink, segments over a's MTU */
    reset_rec();
    uint64_t mal = a->sp.st.drops[SW_DROP_MALFORMED];
    p = mk_gso(buf, false, payload, mss, MAC_B, MAC_A);
    p.gso_size = 0;
    send1(a, &p, 0);
    p = mk_gso(buf, false, payload, mss, MAC_B, MAC_A);
    p.gso_type = 3;                                     /* UDP */
    send1(a, &p, 0);
    p = mk_gso(buf, false, payload, mss, MAC_B, MAC_A);
    p.len -= 1;                                         /* IP length disagrees */
    send1(a, &p, 0);
    p = mk_gso(buf, false, payload, mss, BCAST, MAC_A); /* TCP to broadcast */
    send1(a, &p, 0);
    assert_int_equal(a->sp.st.drops[SW_DROP_MALFORMED], mal + 4);
    p = mk_gso(buf, false, payload, mss, MAC_B, MAC_A);
    send1(u, &p, 0);
    assert_int_equal(u->sp.st.drops[SW_DROP_MALFORMED], 1);
    p = mk_gso(buf, false, payload, 1461, MAC_B, MAC_A);    /* 54 + 1461 > 1514 */
    send1(a, &p, 0);
    assert_int_equal(a->sp.st.drops[SW_DROP_OVERSIZE], 1);
    assert_int_equal(b->nrec + c->nrec + u->nrec, 0);
}

/* unicast traffic only: sum of tx = sum of rx - sum of drops */
static void test_counters_invariant(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 0, MAC_A);
    struct fport *b = mkport("b", false, 0, MAC_B);
    struct fport *c = mkport("c", false, 0, MAC_C);
    struct fport *ports[] = { u, a, b, c };
    const uint8_t *macs[] = { MAC_X, MAC_A, MAC_B, MAC_C };
    b->limit = 3;                       /* b's ring fills up */
    send_simple(u, BCAST, MAC_X, -1, 0); /* learn X; 3 tx, b->limit ok */
    uint64_t rx0 = 0, tx0 = 0, dr0 = 0;
    for (unsigned i = 0; i < 4; i++) {
        rx0 += ports[i]->sp.st.rx_frames;
        tx0 += ports[i]->sp.st.tx_frames;
        dr0 += total_drops(ports[i]);
    }
    srand(42);
    uint64_t bytes_in = 0;
    for (int round = 0; round < 200; round++) {
        struct frame fr[8];
        struct pkt *v[8];
        unsigned in = (unsigned)rand() % 4, n = 1 + (unsigned)rand() % 8;
        for (unsigned k = 0; k < n; k++) {
            unsigned to = (unsigned)rand() % 4;
            uint32_t len = (unsigned)rand() % 5 == 0 ? 10 : 60 + (unsigned)rand() % 1400;
            v[k] = mkframe(&fr[k], macs[to], macs[in], -1, ETH_P_IP, len);
            bytes_in += len;
        }
        switch_input(&ports[in]->sp, v, n, 1);
        reset_rec();
    }
    uint64_t rx = 0, tx = 0, dr = 0, rxb = 0;
    for (unsigned i = 0; i < 4; i++) {
        rx += ports[i]->sp.st.rx_frames;
        rxb += ports[i]->sp.st.rx_bytes;
        tx += ports[i]->sp.st.tx_frames;
        dr += total_drops(ports[i]);
    }
    assert_true(rx - rx0 > 0);
    assert_int_equal(tx - tx0, (rx - rx0) - (dr - dr0));
    assert_int_equal(rxb - 60, bytes_in);
    assert_true(b->sp.st.drops[SW_DROP_NO_BUF] > 0);
    assert_true(u->sp.st.drops[SW_DROP_NO_DEST] + a->sp.st.drops[SW_DROP_NO_DEST] > 0);
}

static void test_flood_counters(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 0, MAC_A);
    struct fport *b = mkport("b", false, 0, MAC_B);
    struct frame f[4];
    struct pkt *v[4];
    for (int i = 0; i < 4; i++)
        v[i] = mkframe(&f[i], BCAST, MAC_X, -1, ETH_P_ARP, 100);
    switch_input(&u->sp, v, 4, 0);
    assert_int_equal(u->sp.st.rx_frames, 4);
    assert_int_equal(u->sp.st.rx_bytes, 400);
    assert_int_equal(a->sp.st.tx_frames, 4);
    assert_int_equal(b->sp.st.tx_bytes, 400);
    /* one xmit per destination for the whole batch */
    assert_int_equal(a->calls, 1);
    assert_int_equal(b->calls, 1);
}

/* ---- tests: batches ------------------------------------------------------------------- */

static void test_batch_grouping(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 0, MAC_A);
    struct fport *b = mkport("b", false, 0, MAC_B);
    struct fport *c = mkport("c", false, 0, MAC_C);
    struct fport *dst[3] = { a, b, c };
    static struct frame f[PKT_BATCH];
    struct pkt *v[PKT_BATCH];
    for (unsigned i = 0; i < PKT_BATCH; i++) {
        v[i] = mkframe(&f[i], dst[(i * 7) % 3]->sp.mac, MAC_X, -1, ETH_P_IP, 60 + i);
        f[i].buf[59] = (uint8_t)i;      /* sequence number */
    }
    switch_input(&u->sp, v, PKT_BATCH, 0);
    unsigned total = 0;
    for (unsigned d = 0; d < 3; d++) {
        assert_int_equal(dst[d]->calls, 1);
        total += dst[d]->nrec;
        int last = -1;
        for (unsigned k = 0; k < dst[d]->nrec; k++) {
            int seq = dst[d]->rec[k].data[59];
            assert_int_equal((seq * 7) % 3, d);
            assert_true(seq > last);    /* batch order kept */
            assert_int_equal(dst[d]->rec[k].len, 60 + (unsigned)seq);
            last = seq;
        }
    }
    assert_int_equal(total, PKT_BATCH);
    assert_int_equal(u->nrec, 0);
}

static void test_large_batch_split(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 0, MAC_A);
    enum { M = 3 * PKT_BATCH + 5 };
    static struct frame f[M];
    struct pkt *v[M];
    for (unsigned i = 0; i < M; i++) {
        v[i] = mkframe(&f[i], MAC_A, MAC_X, -1, ETH_P_IP, 64);
        f[i].buf[40] = (uint8_t)i;
    }
    switch_input(&u->sp, v, M, 0);
    assert_int_equal(a->nrec, M);
    assert_int_equal(a->calls, 4);
    for (unsigned i = 0; i < M; i++)
        assert_int_equal(a->rec[i].data[40], (uint8_t)i);
    assert_int_equal(u->sp.st.rx_frames, M);
    assert_int_equal(a->sp.st.tx_frames, M);
}

static void test_partial_accept(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 0, MAC_A);
    struct frame f[10];
    struct pkt *v[10];
    for (int i = 0; i < 10; i++)
        v[i] = mkframe(&f[i], MAC_A, MAC_X, -1, ETH_P_IP, 100 + i);
    a->limit = 4;
    switch_input(&u->sp, v, 10, 0);
    assert_int_equal(a->calls, 1);
    assert_int_equal(a->ncall[0], 10);
    assert_int_equal(a->sp.st.tx_frames, 4);
    assert_int_equal(a->sp.st.tx_bytes, 100 + 101 + 102 + 103);
    assert_int_equal(a->sp.st.drops[SW_DROP_NO_BUF], 6);
    assert_int_equal(u->sp.st.rx_frames, 10);
    a->limit = 0;
    send1(u, v[0], 0);
    assert_int_equal(a->sp.st.tx_frames, 4);
    assert_int_equal(a->sp.st.drops[SW_DROP_NO_BUF], 7);
}

static void test_unregistered_input_ignored(void **s)
{
    struct fport *a = mkport("a", false, 0, MAC_A);
    struct sw_port stray = { .id = 0, .xmit = fake_xmit };
    struct frame f;
    struct pkt *p = mkframe(&f, MAC_A, MAC_X, -1, ETH_P_IP, 60);
    switch_input(&stray, &p, 1, 0);
    assert_int_equal(a->nrec, 0);
    assert_int_equal(switch_lookup(MAC_X, 0, 0), -1);
}

/* ---- tests: checksums ------------------------------------------------------------------- */

static void check_csum_case(bool v6, bool tcp, uint32_t payload, uint8_t seed)
{
    struct frame f;
    uint16_t want = mk_l4(&f, v6, tcp, payload, -1, MAC_A, MAC_X, seed);
    unsigned field = f.p.csum_start + f.p.csum_offset;
    assert_true(pkt_csum_complete(&f.p));
    assert_int_equal(f.p.csum_flags & PKT_CSUM_PARTIAL, 0);
    assert_int_equal(be16_at(f.buf + field), want);
    verify_l4(f.buf, f.p.len, 14, v6);
}

static void test_csum_reference(void **s)
{
    static const uint32_t sizes[] = { 0, 1, 2, 3, 7, 8, 31, 32, 33, 63, 64, 100, 511, 1000, 1472 };
    for (unsigned i = 0; i < N(sizes); i++) {
        uint32_t p4t = sizes[i] <= 1460 ? sizes[i] : 1460;
        check_csum_case(false, true, p4t, (uint8_t)i);
        check_csum_case(false, false, sizes[i], (uint8_t)(i + 50));
        check_csum_case(true, false, sizes[i] <= 1452 ? sizes[i] : 1452, (uint8_t)(i + 100));
        check_csum_case(true, true, sizes[i] <= 1440 ? sizes[i] : 1440, (uint8_t)(i + 150));
    }
}

static void test_csum_zero_udp_ffff_tcp_0(void **s)
{
    /* a range that sums to 0xffff: the checksum would be 0 */
    uint8_t buf[40] = { 0 };
    struct pkt p = { .data = buf, .len = 34, .csum_flags = PKT_CSUM_PARTIAL,
                     .csum_start = 14, .csum_offset = 6 };     /* UDP */
    buf[20] = 0xff;
    buf[21] = 0xff;                     /* seed 0xffff, rest 0 */
    assert_true(pkt_csum_complete(&p));
    assert_int_equal(be16_at(buf + 20), 0xffff);
    /* TCP (field 16 bytes in) keeps a computed 0 */
    memset(buf, 0, sizeof(buf));
    p = (struct pkt){ .data = buf, .len = 34, .csum_flags = PKT_CSUM_PARTIAL,
                      .csum_start = 14, .csum_offset = 16 };
    buf[30] = 0xff;
    buf[31] = 0xff;
    assert_true(pkt_csum_complete(&p));
    assert_int_equal(be16_at(buf + 30), 0x0000);
    /* random data at odd start offsets and lengths against the reference */
    srand(7);
    for (int r = 0; r < 2000; r++) {
        uint8_t b[256];
        for (unsigned i = 0; i < sizeof(b); i++)
            b[i] = (uint8_t)rand();
        uint16_t start = (uint16_t)(rand() % 100), off = (uint16_t)(2 * (rand() % 20));
        uint32_t len = start + off + 2 + (unsigned)rand() % 100;
        struct pkt q = { .data = b, .len = len, .csum_flags = PKT_CSUM_PARTIAL,
                         .csum_start = start, .csum_offset = off };
        uint16_t seedv = be16_at(b + start + off);
        b[start + off] = b[start + off + 1] = 0;
        uint16_t want = (uint16_t)~ref_fold(ref_sum(seedv, b + start, len - start));
        b[start + off] = (uint8_t)(seedv >> 8);
        b[start + off + 1] = (uint8_t)seedv;
        assert_true(pkt_csum_complete(&q));
        assert_int_equal(be16_at(b + start + off), want || off != 6 ? want : 0xffff);
    }
}

static void test_csum_bad_offsets(void **s)
{
    uint8_t buf[64] = { 0 };
    struct pkt p = { .data = buf, .len = 60, .csum_flags = PKT_CSUM_PARTIAL };
    p.csum_start = 58; p.csum_offset = 1;
    assert_false(pkt_csum_complete(&p));
    p.csum_start = 60; p.csum_offset = 0;
    assert_false(pkt_csum_complete(&p));
    p.csum_start = 0xffff; p.csum_offset = 0xffff;
    assert_false(pkt_csum_complete(&p));
    p.csum_start = 58; p.csum_offset = 0;
    assert_true(pkt_csum_complete(&p));
    /* not partial: nothing to do */
    p.csum_flags = PKT_CSUM_VALID;
    p.csum_start = 0xffff;
    assert_true(pkt_csum_complete(&p));
    assert_int_equal(p.csum_flags, PKT_CSUM_VALID);
}

/* the switch: partial frames pass to partial_csum_ok ports, are completed
 * for the others, and malformed offsets are dropped at ingress */
static void test_switch_csum(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 0, MAC_A);
    struct fport *b = mkport("b", false, 0, MAC_B);
    a->sp.partial_csum_ok = true;
    b->sp.partial_csum_ok = false;
    struct frame f;
    uint16_t want = mk_l4(&f, false, true, 300, -1, BCAST, MAC_X, 3);
    uint32_t field = f.p.csum_start + f.p.csum_offset;
    uint16_t seedv = be16_at(f.buf + field);
    send1(u, &f.p, 0);
    /* port order: a (partial ok) first gets the frame as it was */
    assert_int_equal(a->nrec, 1);
    assert_int_equal(a->rec[0].csum_flags & PKT_CSUM_PARTIAL, PKT_CSUM_PARTIAL);
    assert_int_equal(be16_at(a->rec[0].data + field), seedv);
    assert_int_equal(b->nrec, 1);
    assert_int_equal(b->rec[0].csum_flags & PKT_CSUM_PARTIAL, 0);
    assert_int_equal(be16_at(b->rec[0].data + field), want);
    verify_l4(b->rec[0].data, b->rec[0].len, 14, false);

    /* UDP over IPv6 towards the uplink (which never takes partial frames) */
    reset_rec();
    want = mk_l4(&f, true, false, 777, -1, MAC_X, MAC_A, 9);
    send1(a, &f.p, 0);
    assert_int_equal(u->nrec, 1);
    assert_int_equal(be16_at(u->rec[0].data + f.p.csum_start + 6), want);
    verify_l4(u->rec[0].data, u->rec[0].len, 14, true);

    /* bad offsets */
    reset_rec();
    mk_l4(&f, false, false, 10, -1, MAC_X, MAC_A, 1);
    f.p.csum_offset = (uint16_t)(f.p.len - f.p.csum_start - 1);
    send1(a, &f.p, 0);
    mk_l4(&f, false, false, 10, -1, MAC_X, MAC_A, 1);
    f.p.csum_start = 10;                /* inside the Ethernet header */
    send1(a, &f.p, 0);
    assert_int_equal(u->nrec, 0);
    assert_int_equal(a->sp.st.drops[SW_DROP_MALFORMED], 2);
}

/* checksums across tag push and pop: offsets move with the tag */
static void test_csum_with_vlan(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 10, MAC_A);
    struct fport *c = mkport("c", false, 10, MAC_C);
    c->sp.partial_csum_ok = true;
    struct frame f;
    /* VM a -> uplink: pushed and completed (u takes no partial frames) */
    uint16_t want = mk_l4(&f, false, false, 123, -1, MAC_X, MAC_A, 4);
    send1(a, &f.p, 0);
    assert_int_equal(u->nrec, 1);
    assert_int_equal(u->rec[0].len, f.p.len + 4);
    assert_int_equal(be16_at(u->rec[0].data + 14 + 4 + 20 + 6), want);
    verify_l4(u->rec[0].data, u->rec[0].len, 18, false);
    /* a trunk that takes partial frames: pushed copy still partial, start + 4 */
    reset_rec();
    u->sp.partial_csum_ok = true;
    want = mk_l4(&f, false, true, 99, -1, MAC_X, MAC_A, 8);
    send1(a, &f.p, 0);
    assert_int_equal(u->nrec, 1);
    assert_int_equal(u->rec[0].csum_flags & PKT_CSUM_PARTIAL, PKT_CSUM_PARTIAL);
    assert_int_equal(u->rec[0].csum_start, f.p.csum_start + 4);
    struct pkt q0 = { .data = u->rec[0].data, .len = u->rec[0].len,
                      .csum_flags = u->rec[0].csum_flags, .csum_start = u->rec[0].csum_start,
                      .csum_offset = u->rec[0].csum_offset };
    assert_true(pkt_csum_complete(&q0));
    verify_l4(q0.data, q0.len, 18, false);
    assert_int_equal(be16_at(q0.data + q0.csum_start + 16), want);
    assert_int_equal(f.p.csum_flags, PKT_CSUM_PARTIAL);         /* original untouched */
    u->sp.partial_csum_ok = false;
    /* uplink tagged 10 -> c (partial ok): popped, still partial, start - 4 */
    reset_rec();
    want = mk_l4(&f, false, true, 200, 10, MAC_C, MAC_X, 5);
    send1(u, &f.p, 0);
    assert_int_equal(c->nrec, 1);
    assert_int_equal(c->rec[0].csum_flags & PKT_CSUM_PARTIAL, PKT_CSUM_PARTIAL);
    assert_int_equal(c->rec[0].csum_start, f.p.csum_start - 4);
    /* completing the copy the way c's guest would gives the reference */
    struct pkt q = { .data = c->rec[0].data, .len = c->rec[0].len,
                     .csum_flags = c->rec[0].csum_flags, .csum_start = c->rec[0].csum_start,
                     .csum_offset = c->rec[0].csum_offset };
    assert_true(pkt_csum_complete(&q));
    assert_int_equal(be16_at(q.data + q.csum_start + 16), want);
    /* uplink tagged -> a (no partial): popped and completed */
    reset_rec();
    want = mk_l4(&f, true, false, 55, 10, MAC_A, MAC_X, 6);
    send1(u, &f.p, 0);
    assert_int_equal(a->nrec, 1);
    assert_int_equal(a->rec[0].csum_flags & PKT_CSUM_PARTIAL, 0);
    verify_l4(a->rec[0].data, a->rec[0].len, 14, true);
    assert_int_equal(be16_at(a->rec[0].data + 14 + 40 + 6), want);
}

/* ---- tests: table pressure, print, concurrency ----------------------------------------- */

static void test_table_pressure(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 0, MAC_A);
    /* far more MACs than slots: never crashes, the port learns at most
     * SW_LEARN_MAX of them, the static entry survives */
    unsigned found = 0;
    for (unsigned i = 0; i < 20000; i++) {
        uint8_t m[6] = { 0x02, 0, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i, 0x33 };
        send_simple(u, BCAST, m, -1, i);
    }
    for (unsigned i = 0; i < 20000; i++) {
        uint8_t m[6] = { 0x02, 0, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i, 0x33 };
        found += switch_lookup(m, 0, 20000) == u->sp.id;
    }
    assert_true(found > SW_LEARN_MAX / 2);
    assert_true(found <= SW_LEARN_MAX);
    assert_int_equal(u->sp.learned, found);
    assert_int_equal(switch_lookup(MAC_A, 0, 20000), a->sp.id);
    /* the newest sources still get learned: the port recycles its own slots */
    unsigned newest = 0;
    for (unsigned i = 20000 - 100; i < 20000; i++) {
        uint8_t m[6] = { 0x02, 0, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i, 0x33 };
        newest += switch_lookup(m, 0, 20000) == u->sp.id;
    }
    assert_true(newest > 50);
}

/* A VM port is bound to its MAC and its allowed MACs: it cannot take the
 * gateway's MAC learned on the uplink, nor send from random MACs */
static void test_vm_source_bound(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 0, MAC_A);
    struct fport *b = mkport("b", false, 0, MAC_B);

    send_simple(u, BCAST, MAC_X, -1, 0);                        /* the gateway */
    assert_int_equal(switch_lookup(MAC_X, 0, 0), u->sp.id);
    reset_rec();
    send_simple(a, BCAST, MAC_X, -1, 1);                        /* a claims it */
    assert_int_equal(a->sp.st.drops[SW_DROP_SPOOF], 1);
    assert_int_equal(u->nrec + b->nrec, 0);
    assert_int_equal(switch_lookup(MAC_X, 0, 1), u->sp.id);
    send_simple(b, MAC_X, MAC_B, -1, 2);                        /* still reaches the gateway */
    assert_int_equal(u->nrec, 1);
    /* a source-MAC flood from a VM: all dropped, nothing learned */
    for (unsigned i = 0; i < 5000; i++) {
        uint8_t m[6] = { 0x02, 0x77, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i, 1 };
        send_simple(a, BCAST, m, -1, 3);
    }
    assert_int_equal(a->sp.st.drops[SW_DROP_SPOOF], 5001);
    assert_int_equal(a->sp.learned, 0);
    assert_int_equal(switch_lookup(MAC_X, 0, 3), u->sp.id);
}

static void test_allowed_macs(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = calloc(1, sizeof(*a));
    assert_non_null(a);
    snprintf(a->sp.name, sizeof(a->sp.name), "a");
    a->sp.xmit = fake_xmit;
    a->sp.priv = a;
    a->limit = ~0u;
    a->sp.has_mac = true;
    memcpy(a->sp.mac, MAC_A, 6);
    a->sp.nallowed = 1;
    memcpy(a->sp.allowed[0], MAC_Y, 6);
    assert_int_equal(switch_add_port(&a->sp), 1);
    fp[nfp++] = a;

    assert_int_equal(switch_lookup(MAC_Y, 0, 0), a->sp.id);      /* static from the start */
    reset_rec();
    send_simple(a, BCAST, MAC_Y, -1, 0);
    assert_int_equal(total_drops(a), 0);
    assert_int_equal(u->nrec, 1);
    send_simple(u, BCAST, MAC_Y, -1, 1);                        /* the wire claims it */
    assert_int_equal(u->sp.st.drops[SW_DROP_SPOOF], 1);
    send_simple(a, BCAST, MAC_C, -1, 2);                        /* not allowed */
    assert_int_equal(a->sp.st.drops[SW_DROP_SPOOF], 1);
}

/* CTRL_RX: a filtering port takes broadcast and its listed groups only;
 * allmulti, promiscuous mode, an overflowed list or no filter take every
 * group; promiscuous ports also get their VLAN's unicast for others. */
static void test_rx_filter(void **s)
{
    static const uint8_t MC2[6] = { 0x33, 0x33, 0, 0, 0, 1 };
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 0, MAC_A);
    struct fport *b = mkport("b", false, 0, MAC_B);
    struct fport *c = mkport("c", false, 5, MAC_C);    /* another VLAN */
    struct sw_rx_filter f = { .active = true, .nmc = 1 };
    memcpy(f.mc[0], MC2, 6);

    switch_set_rx_filter(&a->sp, &f);
    send_simple(u, MCAST, MAC_X, -1, 0);
    send_simple(u, MC2, MAC_X, -1, 0);
    send_simple(u, BCAST, MAC_X, -1, 0);
    assert_int_equal(a->nrec, 2);                       /* MC2 and broadcast */
    assert_memory_equal(a->rec[0].data, MC2, 6);
    assert_int_equal(b->nrec, 3);                       /* no filter: all */
    assert_int_equal(a->sp.st.mc_filtered, 1);
    assert_int_equal(total_drops(a), 0);
    /* its own multicast is not "filtered" for it (never sent back) */
    reset_rec();
    send_simple(a, MCAST, MAC_A, -1, 0);
    assert_int_equal(a->sp.st.mc_filtered, 1);
    assert_int_equal(b->nrec, 1);
    /* allmulti, an overflowed list, inactive: all groups */
    const struct sw_rx_filter modes[] = {
        { .active = true, .allmulti = true },
        { .active = true, .nmc = SW_MC_MAX + 1 },
        { .active = false, .nmc = 0 },
    };
    for (unsigned m = 0; m < N(modes); m++) {
        switch_set_rx_filter(&a->sp, &modes[m]);
        reset_rec();
        send_simple(u, MCAST, MAC_X, -1, 0);
        assert_int_equal(a->nrec, 1);
    }
    /* a full list: each group in it passes, others do not */
    struct sw_rx_filter full = { .active = true, .nmc = SW_MC_MAX };
    for (unsigned i = 0; i < SW_MC_MAX; i++)
        memcpy(full.mc[i], (const uint8_t[]){ 0x01, 0x00, 0x5e, 0, 1, (uint8_t)i }, 6);
    switch_set_rx_filter(&a->sp, &full);
    reset_rec();
    for (unsigned i = 0; i < 2 * SW_MC_MAX; i++)
        send_simple(u, (const uint8_t[]){ 0x01, 0x00, 0x5e, 0, 1, (uint8_t)i }, MAC_X, -1, 0);
    assert_int_equal(a->nrec, SW_MC_MAX);
    for (unsigned i = 0; i < SW_MC_MAX; i++)
        assert_int_equal(a->rec[i].data[5], i);
    /* an empty list: broadcast only */
    struct sw_rx_filter none = { .active = true };
    switch_set_rx_filter(&a->sp, &none);
    reset_rec();
    send_simple(u, MCAST, MAC_X, -1, 0);
    send_simple(u, BCAST, MAC_X, -1, 0);
    assert_int_equal(a->nrec, 1);

    /* promiscuous: b's unicast, the uplink's, but not another VLAN's */
    send_simple(u, BCAST, MAC_X, -1, 1);                /* learn X on the uplink */
    struct sw_rx_filter pr = { .active = true, .promisc = true };
    switch_set_rx_filter(&a->sp, &pr);
    reset_rec();
    send_simple(u, MAC_B, MAC_X, -1, 2);
    send_simple(b, MAC_X, MAC_B, -1, 2);
    send_simple(c, MAC_X, MAC_C, -1, 2);                /* VLAN 5: floods to the uplink */
    send_simple(u, MCAST, MAC_X, -1, 2);
    assert_int_equal(a->nrec, 3);
    assert_int_equal(b->nrec, 2);                       /* its own and the group */
    assert_int_equal(u->nrec, 2);
    assert_int_equal(a->sp.st.promisc_in, 2);
    /* promisc for a frame to itself is no extra copy; never back to the sender */
    reset_rec();
    send_simple(u, MAC_A, MAC_X, -1, 3);
    send_simple(a, MAC_B, MAC_A, -1, 3);
    assert_int_equal(a->nrec, 1);
    assert_int_equal(b->nrec, 1);
    assert_int_equal(a->sp.st.promisc_in, 2);
    /* off again */
    switch_set_rx_filter(&a->sp, &none);
    reset_rec();
    send_simple(u, MAC_B, MAC_X, -1, 4);
    assert_int_equal(a->nrec, 0);
    /* the uplink and unregistered ports have no filter */
    switch_set_rx_filter(&u->sp, &none);
    reset_rec();
    send_simple(b, MCAST, MAC_B, -1, 5);
    assert_int_equal(u->nrec, 1);
}

/* CTRL_MAC_ADDR: the static entry moves; another port's MAC (static or
 * learned), group and zero addresses are refused and change nothing. */
static void test_set_mac(void **s)
{
    static const uint8_t NEW[6] = { 0x52, 0x54, 0, 0, 0, 0x77 };
    static const uint8_t ZERO[6];
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *a = mkport("a", false, 0, MAC_A);
    struct fport *b = mkport("b", false, 0, MAC_B);

    send_simple(u, BCAST, MAC_X, -1, 0);                /* X learned on the uplink */
    assert_int_equal(switch_set_mac(&a->sp, MAC_B, false, 1), -1);
    assert_int_equal(switch_set_mac(&a->sp, MAC_X, false, 1), -1);
    assert_int_equal(switch_set_mac(&a->sp, MCAST, false, 1), -1);
    assert_int_equal(switch_set_mac(&a->sp, ZERO, false, 1), -1);
    static const uint8_t VENDOR[6] = { 0x00, 0x1b, 0x21, 0, 0, 1 };   /* not locally administered */
    assert_int_equal(switch_set_mac(&a->sp, VENDOR, false, 1), -1);
    assert_int_equal(switch_set_mac(&u->sp, NEW, false, 1), -1);
    assert_memory_equal(a->sp.mac, MAC_A, 6);
    assert_int_equal(switch_set_mac(&a->sp, MAC_A, false, 1), 0);
    assert_int_equal(switch_lookup(MAC_A, 0, 1), a->sp.id);

    assert_int_equal(switch_set_mac(&a->sp, NEW, false, 1), 0);
    assert_memory_equal(a->sp.mac, NEW, 6);
    assert_int_equal(switch_lookup(NEW, 0, 1), a->sp.id);
    assert_int_equal(switch_lookup(MAC_A, 0, 1), -1);  /* the old one is free */
    reset_rec();
    send_simple(a, BCAST, MAC_A, -1, 1);                /* the old source: now spoofed */
    assert_int_equal(a->sp.st.drops[SW_DROP_SPOOF], 1);
    send_simple(a, MAC_B, NEW, -1, 1);
    send_simple(b, NEW, MAC_B, -1, 1);
    assert_int_equal(b->nrec, 1);
    assert_int_equal(a->nrec, 1);
    /* the old MAC is free for b now */
    assert_int_equal(switch_set_mac(&b->sp, MAC_A, false, 2), 0);
    /* X's learned entry aged out: free */
    assert_int_equal(switch_set_mac(&a->sp, MAC_X, false, SW_AGE_MS + 10), 0);
    send_simple(u, BCAST, MAC_X, -1, SW_AGE_MS + 11);   /* the wire claims it: spoof */
    assert_int_equal(u->sp.st.drops[SW_DROP_SPOOF], 1);
    /* the wire took b's old MAC_B meanwhile: b reclaims it (reset) */
    send_simple(u, BCAST, MAC_B, -1, SW_AGE_MS + 12);
    assert_int_equal(switch_set_mac(&b->sp, MAC_B, false, SW_AGE_MS + 12), -1);
    assert_int_equal(switch_set_mac(&b->sp, MAC_B, true, SW_AGE_MS + 12), 0);
    assert_int_equal(switch_lookup(MAC_B, 0, SW_AGE_MS + 12), b->sp.id);
    /* but never another port's static MAC, even so */
    assert_int_equal(switch_set_mac(&b->sp, MAC_X, true, SW_AGE_MS + 12), -1);
}

/* a learning port flooding source MACs fills its own share only: what
 * other ports learned stays */
static void test_learn_cap(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    struct fport *f = mkport("flood", false, 0, NULL);
    send_simple(u, BCAST, MAC_X, -1, 0);
    for (unsigned i = 0; i < 30000; i++) {
        uint8_t m[6] = { 0x02, 0x55, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i, 2 };
        send_simple(f, BCAST, m, -1, 1);
    }
    assert_true(f->sp.learned <= SW_LEARN_MAX);
    assert_int_equal(u->sp.learned, 1);
    assert_int_equal(switch_lookup(MAC_X, 0, 1), u->sp.id);
}

/* aged-out entries are freed by the sweep, and the count follows */
static void test_sweep(void **s)
{
    struct fport *u = mkport("up", true, 0, NULL);
    for (unsigned i = 0; i < 500; i++) {
        uint8_t m[6] = { 0x02, 0x66, 0, (uint8_t)(i >> 8), (uint8_t)i, 3 };
        send_simple(u, BCAST, m, -1, 10);
    }
    assert_int_equal(u->sp.learned, 500);
    switch_sweep(10 + SW_AGE_MS - 1, SW_BUCKETS);               /* still alive */
    assert_int_equal(u->sp.learned, 500);
    for (unsigned k = 0; k < SW_BUCKETS / 64; k++)              /* bounded steps */
        switch_sweep(10 + SW_AGE_MS, 64);
    assert_int_equal(u->sp.learned, 0);
}

static char printed[65536];
static size_t printed_len;
static void pr(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(printed + printed_len, sizeof(printed) - printed_len, fmt, ap);
    va_end(ap);
    if (n > 0 && printed_len + (size_t)n < sizeof(printed))
        printed_len += (size_t)n;
}

static void test_print(void **s)
{
    struct fport *u = mkport("uplink0", true, 0, NULL);
    mkport("vm-a", false, 10, MAC_A);
    send_simple(u, BCAST, MAC_X, 10, 500);
    send_simple(u, MAC_X, MAC_A, 10, 500);      /* spoof */
    printed_len = 0;
    switch_print(pr, 1500);
    assert_non_null(strstr(printed, "uplink0 (uplink)"));
    assert_non_null(strstr(printed, "drop spoof: 1"));
    assert_non_null(strstr(printed, "52:54:00:00:00:0a vlan 10 -> port 1 vm-a, static"));
    assert_non_null(strstr(printed, "02:00:00:00:00:01 vlan 10 -> port 0 uplink0, learned"));
    assert_non_null(strstr(printed, "age 1000 ms"));
    assert_string_equal(sw_drop_name(SW_DROP_NO_DEST), "no_dest");
    assert_string_equal(sw_drop_name(SW_DROP__COUNT), "?");
}

static unsigned null_xmit(struct sw_port *p, struct pkt *const *pkts, unsigned n)
{
    return n;
}

struct thr {
    struct sw_port *in;
    unsigned seed;
};
static void *hammer(void *arg)
{
    struct thr *t = arg;
    static __thread struct frame f[PKT_BATCH];
    struct pkt *v[PKT_BATCH];
    unsigned r = t->seed;
    for (int round = 0; round < 3000; round++) {
        for (unsigned i = 0; i < PKT_BATCH; i++) {
            r = r * 1103515245u + 12345u;
            uint8_t src[6] = { 0x02, 0, 0, (uint8_t)(r >> 24), (uint8_t)(r >> 16) & 0x7, 1 };
            uint8_t dst[6] = { 0x02, 0, 0, (uint8_t)(r >> 8), (uint8_t)(r >> 19) & 0x7, 1 };
            v[i] = mkframe(&f[i], (r & 0x300) ? dst : BCAST, src, (r & 0x40) ? 10 : -1,
                           ETH_P_IP, 60 + (r >> 5) % 200);
        }
        switch_input(t->in, v, PKT_BATCH, (uint64_t)round * 100);
    }
    return NULL;
}

/* two CPUs learning and forwarding at once: no crash, no out-of-range port,
 * counters add up */
/* Two VM ports claiming the same MACs at once, while the uplink sends
 * from them (learning): at the end no MAC has two static entries or a
 * static and a learned one, every static entry is its port's MAC now, and
 * the two ports' MACs differ. */
#define RACE_MACS 3000
static pthread_barrier_t race_bar;
struct claim { struct sw_port *p; int won[RACE_MACS]; };
static void *claimer(void *arg)
{
    struct claim *c = arg;
    for (unsigned i = 0; i < RACE_MACS; i++) {
        pthread_barrier_wait(&race_bar);        /* both claim MAC i at the same moment */
        c->won[i] = !switch_set_mac(c->p, (const uint8_t[]){ 0x02, 0x77, 0, 0, (uint8_t)(i >> 8), (uint8_t)i },
                                    false, 1);
    }
    return NULL;
}
static void *wire_sender(void *arg)
{
    struct sw_port *u = arg;
    for (unsigned i = 0; i < RACE_MACS; i++) {
        pthread_barrier_wait(&race_bar);
        uint8_t buf[64] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x77, 0, 0, (uint8_t)(i >> 8), (uint8_t)i,
                            0x08, 0x00 };
        struct pkt k = { .data = buf, .len = sizeof(buf) }, *pk = &k;
        switch_input(u, &pk, 1, 1);
    }
    return NULL;
}
static void test_set_mac_race(void **s)
{
    static struct sw_port p[3];
    for (int i = 0; i < 3; i++) {
        memset(&p[i], 0, sizeof(p[i]));
        p[i].xmit = null_xmit;
        p[i].uplink = i == 0;
        p[i].has_mac = i > 0;
        memcpy(p[i].mac, (const uint8_t[]){ 0x52, 0x54, 0, 0, 0, (uint8_t)i }, 6);
        assert_int_equal(switch_add_port(&p[i]), i);
    }
    static struct claim c[2];
    c[0].p = &p[1];
    c[1].p = &p[2];
    pthread_t th[3];
    pthread_barrier_init(&race_bar, NULL, 3);
    assert_int_equal(pthread_create(&th[0], NULL, claimer, &c[0]), 0);
    assert_int_equal(pthread_create(&th[1], NULL, claimer, &c[1]), 0);
    assert_int_equal(pthread_create(&th[2], NULL, wire_sender, &p[0]), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&race_bar);
    for (unsigned i = 0; i < RACE_MACS; i++) {
        const uint8_t mac[6] = { 0x02, 0x77, 0, 0, (uint8_t)(i >> 8), (uint8_t)i };
        uint64_t key = mac_key(mac, 0);
        unsigned statics = 0, learned = 0, owner = 99;
        for (unsigned w = 0; w < SW_WAYS; w++) {
            struct sw_entry *e = &key_bucket(key)->e[w];
            if (e->key != key)
                continue;
            if (e->val & VAL_STATIC) {
                statics++;
                owner = (unsigned)(e->val & VAL_PORT_MASK);
            } else {
                learned++;
            }
        }
        if (statics > 1 || (statics && learned))
            fail_msg("MAC %u: %u static and %u learned entries", i, statics, learned);
        /* (both may have won MAC i, one after the other moved on) a static
         * entry is the MAC its port has now: a port's old one is cleared */
        if (statics && (owner < 1 || owner > 2 || memcmp(p[owner].mac, mac, 6) || !c[owner - 1].won[i]))
            fail_msg("MAC %u: a static entry of port %u, whose MAC it is not", i, owner);
    }
    assert_memory_not_equal(p[1].mac, p[2].mac, 6);
    /* each port holds the last MAC it won, statically */
    for (int k = 0; k < 2; k++) {
        int last = -1;
        for (unsigned i = 0; i < RACE_MACS; i++)
            if (c[k].won[i])
                last = (int)i;
        if (last >= 0)
            assert_int_equal(switch_lookup(c[k].p->mac, 0, 1), c[k].p->id);
    }
}

static void test_concurrent(void **s)
{
    static struct sw_port p[4];
    for (int i = 0; i < 4; i++) {
        memset(&p[i], 0, sizeof(p[i]));
        p[i].xmit = null_xmit;
        p[i].uplink = i < 2;
        p[i].vlan = i == 3 ? 10 : 0;
        assert_int_equal(switch_add_port(&p[i]), i);
    }
    struct thr t[2] = { { &p[0], 1 }, { &p[1], 2 } };
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hammer, &t[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(p[0].st.rx_frames + p[1].st.rx_frames, 2 * 3000 * PKT_BATCH);
    for (unsigned b = 0; b < SW_BUCKETS; b++)
        for (unsigned w = 0; w < SW_WAYS; w++) {
            uint64_t k = sw_table[b].e[w].key;
            assert_true(k == 0 || (k & KEY_VALID));
            if (k)
                assert_true((sw_table[b].e[w].val & VAL_PORT_MASK) < 2);
        }
    for (unsigned i = 0; i < SW_SCRATCH; i++)
        assert_int_equal(sw_scratch[i].busy, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_add_ports),
        T(test_max_ports),
        T(test_static_over_learned),
        T(test_learning),
        T(test_unknown_unicast_floods),
        T(test_broadcast_multicast),
        T(test_ageing),
        T(test_refresh_keeps_alive),
        T(test_station_move),
        T(test_hairpin_dropped),
        T(test_static_spoof),
        T(test_group_source_dropped),
        T(test_vlan_isolation),
        T(test_vlan_push),
        T(test_vlan_pop),
        T(test_vlan_tagged_from_access_dropped),
        T(test_vlan_push_no_scratch),
        T(test_runt_oversize),
        T(test_mtu),
        T(test_gso),
        T(test_counters_invariant),
        T(test_flood_counters),
        T(test_batch_grouping),
        T(test_large_batch_split),
        T(test_partial_accept),
        T(test_unregistered_input_ignored),
        T(test_csum_reference),
        T(test_csum_zero_udp_ffff_tcp_0),
        T(test_csum_bad_offsets),
        T(test_switch_csum),
        T(test_csum_with_vlan),
        T(test_table_pressure),
        T(test_vm_source_bound),
        T(test_allowed_macs),
        T(test_rx_filter),
        T(test_set_mac),
        T(test_set_mac_race),
        T(test_learn_cap),
        T(test_sweep),
        T(test_print),
        T(test_concurrent),
    };
    return cmocka_run_group_tests_name("switch", tests, NULL, NULL);
}
