/*
 * libFuzzer target for the switch (kernel/switch.c) and checksum
 * completion (kernel/pkt.c), unity build.
 *
 * Build: `make fuzz-build` (build/fuzz/fuzz_switch), ASan + UBSan.
 * Run:   build/fuzz/fuzz_switch -max_total_time=60 build/fuzz/fuzz_switch.corpus
 *
 * Six ports (two trunks, four access ports in VLANs 0, 10, 10, 20, three
 * with static MACs).  The input is a sequence of batches: ingress port,
 * time step, then per frame a destination and source MAC from a small set
 * (so learning, spoofing, hairpins and floods all happen), an optional tag,
 * a length (runts to oversize) and checksum offload fields.  Each frame
 * lives in its own exact-size heap block, so ASan catches any read past
 * its length.  The fake ports check what they are given: batch size,
 * lengths, no hairpin, tags as the VLAN rules say, partial checksums only
 * where accepted; after each batch the counters must add up and every
 * completed checksum must verify.  Between batches the VM ports' receive
 * filters (promiscuous, all-multicast, multicast lists) and MACs change
 * (switch_set_rx_filter, switch_set_mac): a VM port gets another port's
 * known unicast only in promiscuous mode, and a group only if its list
 * has it; a moved MAC is its port's static entry, and no two VM ports
 * ever hold the same MAC.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernel/switch.c"
#include "../../kernel/pkt.c"
#include "switch_peek.h"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)
#define NPORTS 6
#define MAXN 40                         /* more than PKT_BATCH: the split too */

#include "fuzz_input.h"

static struct sw_port port[NPORTS];
static unsigned limit[NPORTS];          /* frames a port takes per call */
static uint64_t seen, taken;            /* frames given to / taken by xmit */
static const struct sw_port *cur_in;
static uint64_t cur_now;

static const uint8_t macs[][6] = {
    { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
    { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 },
    { 0x52, 0x54, 0, 0, 0, 0x02 },      /* port 2's static MAC */
    { 0x52, 0x54, 0, 0, 0, 0x03 },      /* port 3 */
    { 0x52, 0x54, 0, 0, 0, 0x04 },      /* port 4 */
    { 0x02, 0, 0, 0, 0, 0x10 },
    { 0x02, 0, 0, 0, 0, 0x11 },
    { 0x02, 0, 0, 0, 0, 0x12 },
    { 0x00, 0, 0, 0, 0, 0x00 },
};
static const uint16_t vids[] = { 0, 10, 20, 99, 4095 };

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static unsigned fx(struct sw_port *p, struct pkt *const *pkts, unsigned n)
{
    CHECK(n >= 1 && n <= PKT_BATCH);
    CHECK(p != cur_in);                 /* never back out of the ingress port */
    for (unsigned i = 0; i < n; i++) {
        const struct pkt *k = pkts[i];
        /* a GSO frame comes out whole only to a port that takes it, and its
         * segments must fit the port's MTU; anything else fits the frame limit */
        if (k->gso_type) {
            CHECK(!p->uplink && (p->gso_ok & SW_GSO_TCPV4) && p->partial_csum_ok);
            CHECK((uint32_t)k->hdr_len + k->gso_size <= ETH_HLEN + (p->mtu ? p->mtu : ETH_DATA_MAX));
        } else {
            CHECK(k->len >= ETH_HLEN && k->len <= PKT_FRAME_MAX);
            CHECK(k->len <= ETH_HLEN + ETH_VLAN_HLEN + (p->mtu ? p->mtu : ETH_DATA_MAX));
        }
        CHECK(k->in_port == cur_in->id);
        const uint8_t *dst = k->data;
        if (!p->uplink && !(dst[0] & 1)) {
            /* another port's known unicast: a copy for a promiscuous port */
            int q = switch_lookup(dst, p->vlan, cur_now);
            if (q >= 0 && q != p->id && q != cur_in->id)
                CHECK(__atomic_load_n(&sw_promisc, __ATOMIC_RELAXED) & (1u << p->id));
        }
        if (!p->uplink && (dst[0] & 1) && memcmp(dst, macs[0], 6) &&
            (__atomic_load_n(&sw_mc_filter, __ATOMIC_RELAXED) & (1u << p->id))) {
            bool listed = false;        /* a group through a filter: listed */
            for (uint32_t j = 0; j < p->mc_n; j++)
                listed |= p->mc[j] == mac_key(dst, 0);
            CHECK(listed);
        }
        volatile uint8_t touch = k->data[k->len - 1];   /* readable to the end */
        (void)touch;
        bool tagged = be16(k->data + 12) == ETH_P_8021Q;
        if (!p->uplink && !k->gso_type)
            CHECK(k->len <= ETH_FRAME_MAX + (tagged ? ETH_VLAN_HLEN : 0));
        if (p->uplink && !cur_in->uplink) {
            /* from an access port: tagged exactly when its VLAN is not 0 */
            CHECK(tagged == (cur_in->vlan != 0));
            if (tagged)
                CHECK((be16(k->data + 14) & 0xfff) == cur_in->vlan);
        }
        if (k->csum_flags & PKT_CSUM_PARTIAL) {
            CHECK(p->partial_csum_ok);
            CHECK(k->csum_start >= ETH_HLEN);
            CHECK((uint32_t)k->csum_start + k->csum_offset + 2 <= k->len);
        }
    }
    unsigned t = n < limit[p->id] ? n : limit[p->id];
    if (t < n)
        sw_port_drop(p, SW_DROP_NO_BUF, n - t);
    seen += n;
    taken += t;
    return t;
}

/* ones'-complement sum over [start, len) plus the pseudo-header seed
 * (what a receiver adds) folds to 0xffff */
static bool csum_verifies(const uint8_t *d, uint32_t start, uint32_t len, uint16_t seed)
{
    uint32_t s = seed;
    for (uint32_t i = start; i < len; i++)
        s += ((i - start) & 1) ? d[i] : (uint32_t)d[i] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return s == 0xffff;
}

/* A well-formed TSO frame in t[0..len): the MACs already there, IPv4 (or
 * IPv6 with v6) with the lengths of len, TCP with a 20-byte header and the
 * given flags (CWR only as the fuzzer's ECN bit decides: pkt_gso_check
 * judges), the payload as it was. */
static uint64_t tso_built;
static void build_tso(uint8_t *t, uint32_t len, bool v6, uint8_t flags)
{
    uint32_t l3 = 14, l4 = v6 ? 54 : 34;
    t[12] = v6 ? 0x86 : 0x08;
    t[13] = v6 ? 0xdd : 0x00;
    memset(t + l3, 0, l4 + 20 - l3);
    if (v6) {
        t[l3] = 0x60;
        t[l3 + 4] = (uint8_t)((len - l4) >> 8);
        t[l3 + 5] = (uint8_t)(len - l4);
        t[l3 + 6] = 6;
        t[l3 + 7] = 64;
        t[l3 + 23] = 1;                 /* ::1 -> ::2 */
        t[l3 + 39] = 2;
    } else {
        t[l3] = 0x45;
        t[l3 + 2] = (uint8_t)((len - l3) >> 8);
        t[l3 + 3] = (uint8_t)(len - l3);
        t[l3 + 6] = 0x40;               /* DF */
        t[l3 + 8] = 64;
        t[l3 + 9] = 6;
        memcpy(t + l3 + 12, (const uint8_t[]){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
    }
    t[l4 + 1] = 80;                     /* ports 0 -> 80 */
    t[l4 + 12] = 0x50;                  /* 20-byte header */
    t[l4 + 13] = flags;
}

static uint64_t sum_st(size_t off)
{
    uint64_t s = 0;
    for (unsigned i = 0; i < NPORTS; i++)
        s += *(uint64_t *)((char *)&port[i].st + off);
    return s;
}

static uint64_t sum_drops(enum sw_drop c)
{
    return sum_st(offsetof(struct sw_port_stats, drops) + sizeof(uint64_t) * c);
}

static void pr_sink(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct in in = { data, size };
    unsigned cfg = get8(&in);

    switch_init();
    memset(port, 0, sizeof(port));
    for (unsigned i = 0; i < NPORTS; i++) {
        struct sw_port *p = &port[i];
        snprintf(p->name, sizeof(p->name), "p%u", i);
        p->uplink = i < 2;
        p->vlan = (uint16_t)(i == 3 || i == 4 ? 10 : i == 5 ? 20 : 0);
        p->partial_csum_ok = cfg >> i & 1;
        p->gso_ok = p->partial_csum_ok && (cfg & 0x20) ? SW_GSO_TCPV4 | SW_GSO_TCPV6 : 0;
        p->mtu = i == 4 && (cfg & 0x10) ? 600 : 0;     /* a smaller MTU too */
        p->xmit = fx;
        if (i >= 2 && i <= 4) {
            p->has_mac = true;
            memcpy(p->mac, macs[i], 6);
        }
        CHECK(switch_add_port(p) == (int)i);
        limit[i] = (cfg & 0x40) && i == 3 ? 2 : PKT_BATCH;
    }
    uint64_t now = (cfg & 0x80) ? (1ull << 48) - 5000 : 0;     /* time wrap too */

    while (in.n) {
        unsigned op = get8(&in);
        if ((op & 0x41) == 0x41) {      /* a control op instead of a batch */
            unsigned c = get8(&in);
            struct sw_port *vp = &port[2 + c % 4];
            if (op & 0x80) {
                /* a MAC change: one of the set, or a new locally administered one */
                uint8_t m[6] = { 0x02, 0x42, 0, 0, 0, (uint8_t)get8(&in) };
                const uint8_t *want = (c & 0x10) ? m : macs[(c >> 5) % 9];
                uint8_t before[6];
                memcpy(before, vp->mac, 6);
                if (!switch_set_mac(vp, want, c & 8, now)) {
                    CHECK(!memcmp(vp->mac, want, 6));
                    if (vp->has_mac)
                        CHECK(switch_lookup(want, vp->vlan, now) == vp->id);
                } else {
                    CHECK(!memcmp(vp->mac, before, 6));
                }
                for (unsigned a = 2; a < NPORTS; a++)
                    for (unsigned b = a + 1; b < NPORTS; b++)
                        CHECK(!port[a].has_mac || !port[b].has_mac || port[a].vlan != port[b].vlan ||
                              memcmp(port[a].mac, port[b].mac, 6));
            } else {
                struct sw_rx_filter f = { .active = c & 1, .promisc = c & 2, .allmulti = c & 4,
                                          .nmc = (c >> 3) % 4 == 3 ? SW_MC_MAX + 1 : (c >> 3) % 4 };
                for (unsigned j = 0; j < f.nmc && j < SW_MC_MAX; j++)
                    memcpy(f.mc[j], macs[j ? 1 : 0], 6);
                if (f.nmc && f.nmc <= SW_MC_MAX)
                    memcpy(f.mc[0], (const uint8_t[]){ 0x33, 0x33, 0, 0, 0, (uint8_t)get8(&in) }, 6);
                switch_set_rx_filter(vp, &f);
            }
            continue;
        }
        struct sw_port *ip = &port[op % NPORTS];
        unsigned n = 1 + get8(&in) % MAXN;
        now += (op >> 3) * (op >> 3) * 1000ull;   /* up to ~ SW_AGE_MS in one step */

        struct pkt pk[MAXN], *v[MAXN];
        uint8_t *buf[MAXN];
        int32_t seed[MAXN];             /* field before completion, -1: not checkable */
        for (unsigned i = 0; i < n; i++) {
            unsigned dsel = get8(&in), ssel = get8(&in), tag = get8(&in);
            uint32_t len = get16(&in) % (PKT_FRAME_MAX + 8);
            unsigned cf = get8(&in);
            uint8_t tmp[PKT_FRAME_MAX + 8];
            memset(tmp, (int)(cf * 37 + i), sizeof(tmp));
            memcpy(tmp, macs[dsel % 9], 6);
            memcpy(tmp + 6, macs[ssel % 9], 6);
            if (tag & 1) {
                tmp[12] = 0x81;
                tmp[13] = 0x00;
                tmp[14] = (uint8_t)(tag >> 5);          /* PCP bits vary */
                tmp[15] = (uint8_t)vids[(tag >> 1) % 5];
                tmp[14] |= (uint8_t)(vids[(tag >> 1) % 5] >> 8);
            } else {
                tmp[12] = 0x08;
                tmp[13] = 0x00;
            }
            bool valid_tso = (cf & 0xc8) == 0x48;   /* a well-formed TSO frame (below) */
            unsigned l4 = cf & 16 ? 54 : 34;
            if (valid_tso) {
                if (len < l4 + 21)
                    len = l4 + 21;
                build_tso(tmp, len, cf & 16, (uint8_t)get8(&in));
            }
            buf[i] = malloc(len ? len : 1);
            CHECK(buf[i]);
            memcpy(buf[i], tmp, len);
            pk[i] = (struct pkt){ .data = buf[i], .len = len };
            if (valid_tso) {
                pk[i].csum_flags = PKT_CSUM_PARTIAL;
                pk[i].csum_start = (uint16_t)l4;
                pk[i].csum_offset = 16;
                pk[i].gso_type = (uint8_t)((cf & 16 ? PKT_GSO_TCPV6 : PKT_GSO_TCPV4) | (cf & 32 ? PKT_GSO_ECN : 0));
                pk[i].gso_size = (uint16_t)(24 + get8(&in));
                seed[i] = -1;
                v[i] = &pk[i];
                tso_built++;
                continue;
            }
            if (cf & 1) {
                pk[i].csum_flags = PKT_CSUM_PARTIAL;
                pk[i].csum_start = (uint16_t)(cf & 2 ? get16(&in) : 14 + get8(&in));
                pk[i].csum_offset = (uint16_t)(cf & 4 ? get16(&in) : get8(&in) % 20);
            }
            if (cf & 8) {               /* a guest's TSO metadata, true or not */
                pk[i].gso_type = (uint8_t)((cf & 16 ? PKT_GSO_TCPV6 : PKT_GSO_TCPV4) | (cf & 32 ? PKT_GSO_ECN : 0));
                if ((cf & 0xc0) == 0xc0)
                    pk[i].gso_type = (uint8_t)get8(&in);
                pk[i].gso_size = (uint16_t)get16(&in);
                pk[i].hdr_len = (uint16_t)get16(&in);   /* pkt_gso_check sets its own */
            }
            uint32_t field = (uint32_t)pk[i].csum_start + pk[i].csum_offset;
            seed[i] = (cf & 1) && !(pk[i].csum_offset & 1) && field + 2 <= len
                          ? be16(buf[i] + field) : -1;
            v[i] = &pk[i];
        }

        uint64_t rx0 = sum_st(offsetof(struct sw_port_stats, rx_frames));
        uint64_t tx0 = sum_st(offsetof(struct sw_port_stats, tx_frames));
        uint64_t nb0 = sum_drops(SW_DROP_NO_BUF), seen0 = seen, taken0 = taken;
        uint64_t mtu0 = sum_drops(SW_DROP_MTU), ind0 = 0;
        for (unsigned c = 0; c < SW_DROP__COUNT; c++)
            if (c != SW_DROP_NO_BUF && c != SW_DROP_MTU)   /* (those two: at destinations) */
                ind0 += ip->st.drops[c];

        cur_in = ip;
        cur_now = now;
        bool exhaust = (op & 6) == 6;   /* scratch pool taken: the stack fallback */
        for (unsigned i = 0; exhaust && i < SW_SCRATCH; i++)
            sw_scratch[i].busy = 1;
        switch_input(ip, v, n, now);
        for (unsigned i = 0; exhaust && i < SW_SCRATCH; i++)
            sw_scratch[i].busy = 0;

        uint64_t ind = 0;
        for (unsigned c = 0; c < SW_DROP__COUNT; c++)
            if (c != SW_DROP_NO_BUF && c != SW_DROP_MTU)
                ind += ip->st.drops[c];
        CHECK(sum_st(offsetof(struct sw_port_stats, rx_frames)) - rx0 == n);
        CHECK(sum_st(offsetof(struct sw_port_stats, tx_frames)) - tx0 == taken - taken0);
        CHECK(sum_drops(SW_DROP_NO_BUF) - nb0 == (seen - seen0) - (taken - taken0));
        CHECK(ind - ind0 <= n);
        /* every survivor went somewhere, or was too big for where it was going */
        CHECK(seen - seen0 + (sum_drops(SW_DROP_MTU) - mtu0) >= n - (ind - ind0));
        for (unsigned i = 0; i < n; i++) {
            /* completed in place: the checksum verifies */
            if (seed[i] >= 0 && !(pk[i].csum_flags & PKT_CSUM_PARTIAL))
                CHECK(csum_verifies(buf[i], pk[i].csum_start, pk[i].len, (uint16_t)seed[i]));
            free(buf[i]);
        }
        if ((op & 0xfe) == 0xfe)          /* now and then: the table walk is slow */
            switch_print(pr_sink, now);
        /* table entries stay in range */
        for (unsigned i = 0; i < 8; i++)
            CHECK(switch_lookup(macs[i], vids[i % 5], now) < NPORTS);
    }
    return 0;
}
