/*
 * The kernel's learning Ethernet switch (nethv/switch.h).  Host-testable:
 * only libc and nethv headers, __atomic builtins, time passed in.
 *
 * MAC table: SW_BUCKETS buckets of SW_WAYS entries, one cache line each,
 * keyed by (MAC, VLAN) (independent learning per VLAN).  A lookup is one
 * hash and one cache line.  Each entry is two 64-bit words:
 *
 *   key: MAC (bits 0-47) | VLAN (48-59) | KEY_VALID (63); 0 = empty,
 *        KEY_BUSY = being rewritten (matches no lookup)
 *   val: port (0-7) | VAL_STATIC (8) | time in ms (16-63, wraps)
 *
 * Concurrency (switch_input on several CPUs, no lock):
 * - A writer that takes a slot for a new key claims it by CAS of the key
 *   it saw to KEY_BUSY (one writer wins), stores val, then publishes the
 *   key with a release store.  A refresh of an existing entry (new port or
 *   time) is a CAS on val, so it cannot overwrite a claimer's val.
 * - A reader loads key (acquire), val (acquire), key again: if the key
 *   changed meanwhile the pair is not used.  The port read is still
 *   bounds-checked against the registered ports before use.
 * - Static entries (VM port MACs) are never evicted or refreshed; they are
 *   written before traffic, and moved only by a MAC change
 *   (switch_set_mac: the new one claimed, then the old one cleared).  Learning refreshes an entry at most once per
 *   SW_REFRESH_MS, so steady traffic does not write shared lines.
 * Counters are relaxed atomic adds, one per batch and cause, not per frame.
 *
 * Policies:
 * - A frame whose source MAC is the static MAC of another port (same VLAN)
 *   is dropped at ingress (SW_DROP_SPOOF): a VM's address cannot be taken
 *   over by learning from another port.
 * - Group source MACs are invalid (IEEE 802.3): dropped as malformed.
 * - VM ports are access ports: a tagged frame from a VM is dropped as
 *   malformed (it would otherwise hop VLANs on the trunk).  The uplink is a
 *   trunk: a tagged frame belongs to its VID (VID 0, priority tag, is
 *   VLAN 0); untagged frames to VLAN 0.  Towards a VM the tag is popped;
 *   from a VM of VLAN n > 0 towards the uplink one is pushed.  Both need a
 *   copy (frames are borrowed): into a scratch area taken from a small
 *   pool by atomic exchange (per batch), or one frame at a time on the
 *   stack when the pool is exhausted.  Untagged forwarding never copies.
 * - PKT_CSUM_PARTIAL frames must have csum_start past the L2 header and
 *   the field inside the frame, else they are malformed.  Towards a port
 *   without partial_csum_ok they are completed in place first.
 */
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <nethv/switch.h>

#define SW_BUCKETS      2048            /* power of two; x SW_WAYS = 8192 entries */
#define SW_WAYS         4
#define SW_REFRESH_MS   1000u           /* rewrite a live entry's time at most this often */
#define SW_VLANS        4096
#define SW_SCRATCH      4               /* scratch areas for tag push/pop */
#define SW_SCRATCH_BUF  1536            /* >= PKT_FRAME_MAX */
#define SW_SEGS         8               /* areas for GSO segments (CPUs segmenting at once;
                                           one more drops the frame, counted "no_buf") */
#define SW_SEG_BATCH    16              /* segments per area (per xmit call) */
#define SW_SEG_BUF      9088            /* >= a tag + a 9000-byte MTU's frame */

#define KEY_VALID       (1ull << 63)
#define KEY_BUSY        (1ull << 62)
#define VAL_STATIC      (1ull << 8)
#define VAL_PORT_MASK   0xffull
#define TIME_BITS       48
#define TIME_MASK       ((1ull << TIME_BITS) - 1)

_Static_assert(SW_MAX_PORTS <= 32, "port sets are 32-bit masks");
_Static_assert(SW_SCRATCH_BUF >= PKT_FRAME_MAX, "scratch frame too small");

struct sw_entry {
    uint64_t key, val;
};
struct sw_bucket {
    struct sw_entry e[SW_WAYS];
} __attribute__((aligned(64)));

struct sw_scratch {
    uint32_t busy;
    struct pkt pk[PKT_BATCH];
    uint8_t buf[PKT_BATCH][SW_SCRATCH_BUF] __attribute__((aligned(64)));
};

static struct sw_bucket sw_table[SW_BUCKETS];
static struct sw_port *sw_ports[SW_MAX_PORTS];
static unsigned sw_nports;              /* published with a release store */
static uint32_t sw_vlan_ports[SW_VLANS]; /* VM (access) ports of each VLAN */
static uint32_t sw_uplinks;             /* trunk ports */
static uint32_t sw_promisc;             /* VM ports in promiscuous mode */
static uint32_t sw_mc_filter;           /* VM ports that filter multicast by their list */
static uint32_t sw_mac_lock;            /* serializes MAC changes (switch_set_mac): the check
                                           and the claim are one step */
static struct sw_scratch sw_scratch[SW_SCRATCH];

struct sw_segs {
    uint32_t busy;
    struct pkt pk[SW_SEG_BATCH];
    uint8_t buf[SW_SEG_BATCH][SW_SEG_BUF] __attribute__((aligned(64)));
};
static struct sw_segs sw_segs[SW_SEGS];
_Static_assert(SW_SEG_BUF >= ETH_VLAN_HLEN + ETH_HLEN + 9000, "a segment of a 9000-byte MTU");

/* ---- small helpers ---------------------------------------------------------- */

static inline uint16_t rd_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint64_t mac_key(const uint8_t *mac, uint16_t vlan)
{
    uint32_t lo;
    uint16_t hi;
    /* two loads combined in registers (a 6-byte copy into a 64-bit local
     * then read whole stalls on store forwarding) */
    memcpy(&lo, mac, 4);
    memcpy(&hi, mac + 4, 2);
    return lo | (uint64_t)hi << 32 | (uint64_t)(vlan & 0xfff) << 48 | KEY_VALID;
}

/* The bucket of a key: MurmurHash3's 64-bit finalizer over the key and a
 * per-boot seed (switch_set_hash_seed).  A plain multiplicative hash left a
 * third of the buckets empty for sequential MACs, and an unseeded hash lets
 * a sender on the wire aim all its sources at one bucket. */
static uint64_t sw_hash_seed = 0x5bd1e9955bd1e995ull;

void switch_set_hash_seed(uint64_t seed)
{
    sw_hash_seed = seed | 1;
}

static inline struct sw_bucket *key_bucket(uint64_t key)
{
    uint64_t h = (key & ~KEY_VALID) ^ sw_hash_seed;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return &sw_table[h >> (64 - 11)];
}
_Static_assert(SW_BUCKETS == 1 << 11, "key_bucket takes 11 bits");

static inline uint64_t mk_val(unsigned port, uint64_t now_ms, bool is_static)
{
    return (uint64_t)port | (is_static ? VAL_STATIC : 0) | (now_ms & TIME_MASK) << 16;
}

/* ms since the entry's time; 0 if the time lies ahead (another CPU's clock
 * read a little later), wrap-safe over 48 bits */
static inline uint64_t val_age(uint64_t val, uint64_t now_ms)
{
    uint64_t age = ((now_ms & TIME_MASK) - (val >> 16)) & TIME_MASK;
    return age >= (1ull << (TIME_BITS - 1)) ? 0 : age;
}

static inline bool val_alive(uint64_t val, uint64_t now_ms)
{
    return (val & VAL_STATIC) || val_age(val, now_ms) < SW_AGE_MS;
}

static inline void stat_add(uint64_t *c, uint64_t v)
{
    if (v)
        __atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

static inline unsigned nports_now(void)
{
    return __atomic_load_n(&sw_nports, __ATOMIC_ACQUIRE);
}

const char *sw_drop_name(enum sw_drop c)
{
    static const char *const names[SW_DROP__COUNT] = {
        [SW_DROP_NO_BUF] = "no_buf",   [SW_DROP_MALFORMED] = "malformed",
        [SW_DROP_OVERSIZE] = "oversize", [SW_DROP_DOWN] = "down",
        [SW_DROP_SPOOF] = "spoof",     [SW_DROP_NO_DEST] = "no_dest",
        [SW_DROP_BUDGET] = "budget",   [SW_DROP_MTU] = "mtu",
    };
    return (unsigned)c < SW_DROP__COUNT ? names[c] : "?";
}

/* ---- MAC table ---------------------------------------------------------------- */

/* Consistent (key, val) read of entry e if it holds key; false otherwise. */
static inline bool entry_read(struct sw_entry *e, uint64_t key, uint64_t *val)
{
    if (__atomic_load_n(&e->key, __ATOMIC_ACQUIRE) != key)
        return false;
    /* acquire: the second key load below stays after this one */
    *val = __atomic_load_n(&e->val, __ATOMIC_ACQUIRE);
    return __atomic_load_n(&e->key, __ATOMIC_RELAXED) == key;
}

/* Port of a live entry for key, or -1. */
static inline int table_lookup(uint64_t key, uint64_t now_ms)
{
    struct sw_bucket *b = key_bucket(key);
    for (unsigned w = 0; w < SW_WAYS; w++) {
        uint64_t v;
        if (entry_read(&b->e[w], key, &v))
            return val_alive(v, now_ms) ? (int)(v & VAL_PORT_MASK) : -1;
    }
    return -1;
}

/* Entries learned on a port: +1 / -1 (relaxed; the cap is approximate by
 * the few inserts racing on other CPUs) */
static inline void learned_add(unsigned port, int d)
{
    if (port < SW_MAX_PORTS && sw_ports[port])
        __atomic_fetch_add(&sw_ports[port]->learned, (uint32_t)d, __ATOMIC_RELAXED);
}

static inline bool learn_capped(unsigned port)
{
    return port < SW_MAX_PORTS && sw_ports[port] &&
           __atomic_load_n(&sw_ports[port]->learned, __ATOMIC_RELAXED) >= SW_LEARN_MAX;
}

/* Put key -> val into a free, dead or the oldest learned slot of its
 * bucket -- with own_only (a port at its learning cap) only into one of
 * the same port's learned slots; false if there is none, every slot is
 * static, or a racing writer won.  Learned entries are counted per port. */
static bool table_insert(struct sw_bucket *b, uint64_t key, uint64_t val, uint64_t now_ms,
                         bool own_only)
{
    int victim = -1;
    uint64_t victim_key = 0, victim_val = 0, oldest = 0;
    unsigned port = (unsigned)(val & VAL_PORT_MASK);

    for (unsigned w = 0; w < SW_WAYS; w++) {
        uint64_t k = __atomic_load_n(&b->e[w].key, __ATOMIC_ACQUIRE);
        if (k == KEY_BUSY)
            continue;
        if (k == 0) {
            if (own_only)
                continue;
            victim = (int)w;
            victim_key = 0;
            break;
        }
        uint64_t v = __atomic_load_n(&b->e[w].val, __ATOMIC_RELAXED);
        if (v & VAL_STATIC)
            continue;
        if (own_only && (v & VAL_PORT_MASK) != port)
            continue;
        uint64_t age = val_alive(v, now_ms) ? val_age(v, now_ms) : UINT64_MAX;
        if (victim < 0 || age > oldest) {
            victim = (int)w;
            victim_key = k;
            victim_val = v;
            oldest = age;
        }
    }
    if (victim < 0)
        return false;
    struct sw_entry *e = &b->e[victim];
    if (!__atomic_compare_exchange_n(&e->key, &victim_key, KEY_BUSY, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        return false;
    if (victim_key)     /* evicted: a learned entry (statics are never victims) */
        learned_add((unsigned)(victim_val & VAL_PORT_MASK), -1);
    if (!(val & VAL_STATIC))
        learned_add(port, +1);
    /* release: readers that see the new val also see KEY_BUSY (not the old key) */
    __atomic_store_n(&e->val, val, __ATOMIC_RELEASE);
    /* release: the val above is visible before the key that names it */
    __atomic_store_n(&e->key, key, __ATOMIC_RELEASE);
    return true;
}

enum learn_result { LEARN_OK, LEARN_SPOOF };

/* MAC changes made so far (switch_set_mac): until the first, no static
 * entry is ever written while frames flow, and learning skips the check
 * below. */
static uint32_t sw_mac_moves;

/* After a learned insert of key: if a static entry for it was published
 * meanwhile (a MAC change racing this learn), the learned copy goes (it
 * would shadow the static one in an earlier way); switch_set_mac's sweep
 * covers the other order.  Bound: SW_WAYS. */
static enum learn_result learned_vs_static(struct sw_bucket *b, uint64_t key, unsigned port)
{
    bool is_static = false;
    for (unsigned w = 0; w < SW_WAYS; w++) {
        uint64_t v;
        if (entry_read(&b->e[w], key, &v) && (v & VAL_STATIC))
            is_static |= (v & VAL_PORT_MASK) != port;
    }
    if (!is_static)
        return LEARN_OK;
    for (unsigned w = 0; w < SW_WAYS; w++) {
        struct sw_entry *e = &b->e[w];
        uint64_t v, k = key;
        if (entry_read(e, key, &v) && !(v & VAL_STATIC) &&
            __atomic_compare_exchange_n(&e->key, &k, KEY_BUSY, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            learned_add((unsigned)(v & VAL_PORT_MASK), -1);
            __atomic_store_n(&e->key, 0, __ATOMIC_RELEASE);
        }
    }
    return LEARN_SPOOF;
}

/* Learn key on port (ingress): refresh or move a learned entry, insert a
 * new one; a static entry of another port means a spoofed source. */
static enum learn_result table_learn(uint64_t key, unsigned port, uint64_t now_ms)
{
    struct sw_bucket *b = key_bucket(key);
    for (unsigned w = 0; w < SW_WAYS; w++) {
        struct sw_entry *e = &b->e[w];
        uint64_t v;
        if (!entry_read(e, key, &v))
            continue;
        if (v & VAL_STATIC)
            return (v & VAL_PORT_MASK) == port ? LEARN_OK : LEARN_SPOOF;
        unsigned was = (unsigned)(v & VAL_PORT_MASK);
        if (was != port && learn_capped(port))
            return LEARN_OK;            /* at its cap a port takes no one's entry */
        if (was != port || val_age(v, now_ms) >= SW_REFRESH_MS) {
            /* a failed CAS means another CPU rewrote it just now: theirs stands */
            if (__atomic_compare_exchange_n(&e->val, &v, mk_val(port, now_ms, false), false,
                                            __ATOMIC_RELEASE, __ATOMIC_RELAXED) &&
                was != port) {
                learned_add(was, -1);
                learned_add(port, +1);
            }
        }
        return LEARN_OK;
    }
    if (table_insert(b, key, mk_val(port, now_ms, false), now_ms, learn_capped(port)) &&
        __atomic_load_n(&sw_mac_moves, __ATOMIC_SEQ_CST))
        return learned_vs_static(b, key, port);
    return LEARN_OK;
}

/* Make key a static entry of port (a learned entry for it is taken
 * over); false if it is another port's static MAC or the bucket is full
 * of static entries. */
static bool table_set_static(uint64_t key, unsigned port)
{
    struct sw_bucket *b = key_bucket(key);
    uint64_t val = mk_val(port, 0, true);
    int first = -1;

    for (unsigned w = 0; w < SW_WAYS; w++) {
        uint64_t v;
        if (entry_read(&b->e[w], key, &v) && (v & VAL_STATIC))
            return false;
    }
    /* the first learned copy becomes static, racing duplicates are removed
     * (lookups must not find a learned entry before the static one) */
    for (unsigned w = 0; w < SW_WAYS; w++) {
        struct sw_entry *e = &b->e[w];
        uint64_t k = key;
        if (!__atomic_compare_exchange_n(&e->key, &k, KEY_BUSY, false, __ATOMIC_ACQUIRE,
                                         __ATOMIC_RELAXED))
            continue;
        learned_add((unsigned)(__atomic_load_n(&e->val, __ATOMIC_RELAXED) & VAL_PORT_MASK), -1);
        if (first < 0) {
            first = (int)w;
            __atomic_store_n(&e->val, val, __ATOMIC_RELEASE);
            __atomic_store_n(&e->key, key, __ATOMIC_RELEASE);
        } else {
            __atomic_store_n(&e->key, 0, __ATOMIC_RELEASE);
        }
    }
    return first >= 0 || table_insert(b, key, val, 0, false);
}

/* Clear port's static entry for key, if it has one. */
static void table_remove_static(uint64_t key, unsigned port)
{
    struct sw_bucket *b = key_bucket(key);
    for (unsigned w = 0; w < SW_WAYS; w++) {
        struct sw_entry *e = &b->e[w];
        uint64_t v, k = key;
        if (!entry_read(e, key, &v) || !(v & VAL_STATIC) || (v & VAL_PORT_MASK) != port)
            continue;
        if (__atomic_compare_exchange_n(&e->key, &k, KEY_BUSY, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            __atomic_store_n(&e->key, 0, __ATOMIC_RELEASE);
    }
}

static unsigned sweep_cursor;

void switch_sweep(uint64_t now_ms, unsigned nbuckets)
{
    if (nbuckets > SW_BUCKETS)
        nbuckets = SW_BUCKETS;
    unsigned start = __atomic_fetch_add(&sweep_cursor, nbuckets, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < nbuckets; i++) {
        struct sw_bucket *b = &sw_table[(start + i) % SW_BUCKETS];
        for (unsigned w = 0; w < SW_WAYS; w++) {
            struct sw_entry *e = &b->e[w];
            uint64_t k = __atomic_load_n(&e->key, __ATOMIC_ACQUIRE);
            if (k == 0 || k == KEY_BUSY)
                continue;
            uint64_t v = __atomic_load_n(&e->val, __ATOMIC_RELAXED);
            if (val_alive(v, now_ms))
                continue;
            if (!__atomic_compare_exchange_n(&e->key, &k, KEY_BUSY, false, __ATOMIC_ACQUIRE,
                                             __ATOMIC_RELAXED))
                continue;
            v = __atomic_load_n(&e->val, __ATOMIC_RELAXED);
            if (val_alive(v, now_ms)) {         /* refreshed meanwhile: keep it */
                __atomic_store_n(&e->key, k, __ATOMIC_RELEASE);
                continue;
            }
            learned_add((unsigned)(v & VAL_PORT_MASK), -1);
            __atomic_store_n(&e->key, 0, __ATOMIC_RELEASE);
        }
    }
}

/* ---- ports -------------------------------------------------------------------- */

void switch_init(void)
{
    memset(sw_table, 0, sizeof(sw_table));
    memset(sw_ports, 0, sizeof(sw_ports));
    memset(sw_vlan_ports, 0, sizeof(sw_vlan_ports));
    memset(sw_scratch, 0, sizeof(sw_scratch));
    memset(sw_segs, 0, sizeof(sw_segs));
    sw_uplinks = sw_promisc = sw_mc_filter = sw_mac_moves = sw_mac_lock = 0;
    __atomic_store_n(&sw_nports, 0, __ATOMIC_RELEASE);
}

/* Called before traffic flows through the new port (boot, or VM creation
 * with the port not yet reachable); one CPU at a time. */
int switch_add_port(struct sw_port *p)
{
    unsigned id = sw_nports;
    if (id >= SW_MAX_PORTS || !p->xmit || p->vlan >= SW_VLANS)
        return -1;
    p->id = (uint16_t)id;
    p->learned = 0;
    if (p->nallowed > SW_ALLOWED_MACS)
        return -1;
    if (p->has_mac) {
        uint16_t vl = p->uplink ? 0 : p->vlan;
        if ((p->mac[0] & 1) || !table_set_static(mac_key(p->mac, vl), id))
            return -1;
        for (unsigned i = 0; i < p->nallowed; i++)
            if ((p->allowed[i][0] & 1) || !table_set_static(mac_key(p->allowed[i], vl), id))
                return -1;
    }
    sw_ports[id] = p;
    if (p->uplink)
        __atomic_fetch_or(&sw_uplinks, 1u << id, __ATOMIC_RELAXED);
    else
        __atomic_fetch_or(&sw_vlan_ports[p->vlan], 1u << id, __ATOMIC_RELAXED);
    /* release: the port and its masks are visible before the new count */
    __atomic_store_n(&sw_nports, id + 1, __ATOMIC_RELEASE);
    return (int)id;
}

/* A multicast list's one-bit-per-group summary: a group whose bit is clear
 * is not in the list (no scan). */
static inline uint64_t mc_bloom_bit(uint64_t key)
{
    return 1ull << ((key * 0x9e3779b97f4a7c15ull) >> 58);
}

static bool registered(const struct sw_port *p)
{
    return p->id < nports_now() && sw_ports[p->id] == p;
}

void switch_set_rx_filter(struct sw_port *p, const struct sw_rx_filter *f)
{
    if (!registered(p) || p->uplink)
        return;
    uint32_t bit = 1u << p->id;
    bool filter = f->active && !f->promisc && !f->allmulti && f->nmc <= SW_MC_MAX;
    /* unfiltered while the list changes, then the new list published */
    __atomic_fetch_and(&sw_mc_filter, ~bit, __ATOMIC_RELEASE);
    if (filter) {
        uint64_t bloom = 0;
        __atomic_store_n(&p->mc_n, 0, __ATOMIC_RELEASE);
        for (unsigned i = 0; i < f->nmc; i++) {
            uint64_t k = mac_key(f->mc[i], 0);
            __atomic_store_n(&p->mc[i], k, __ATOMIC_RELAXED);
            bloom |= mc_bloom_bit(k);
        }
        __atomic_store_n(&p->mc_bloom, bloom, __ATOMIC_RELAXED);
        __atomic_store_n(&p->mc_n, f->nmc, __ATOMIC_RELEASE);
        __atomic_fetch_or(&sw_mc_filter, bit, __ATOMIC_RELEASE);
    }
    if (f->active && f->promisc)
        __atomic_fetch_or(&sw_promisc, bit, __ATOMIC_RELAXED);
    else
        __atomic_fetch_and(&sw_promisc, ~bit, __ATOMIC_RELAXED);
}

static bool own_allowed(const struct sw_port *p, const uint8_t *mac)
{
    for (unsigned i = 0; i < p->nallowed; i++)
        if (!memcmp(mac, p->allowed[i], ETH_ALEN))
            return true;
    return false;
}

static int set_mac_locked(struct sw_port *p, const uint8_t mac[ETH_ALEN], bool reclaim, uint64_t now_ms)
{
    uint64_t key = mac_key(mac, p->vlan);
    if (!own_allowed(p, mac)) {         /* (its allowed MACs are its static entries already) */
        int owner = reclaim ? -1 : table_lookup(key, now_ms);
        if ((owner >= 0 && owner != p->id) || !table_set_static(key, p->id))
            return -1;                  /* another port's: static, or learned and alive */
        /* a learn that raced the claim: its entry goes (learned_vs_static
         * covers the other order) */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        learned_vs_static(key_bucket(key), key, SW_MAX_PORTS);
    }
    if (!own_allowed(p, p->mac))
        table_remove_static(mac_key(p->mac, p->vlan), p->id);
    memcpy(p->mac, mac, ETH_ALEN);
    return 0;
}

int switch_set_mac(struct sw_port *p, const uint8_t mac[ETH_ALEN], bool reclaim, uint64_t now_ms)
{
    static const uint8_t zero[ETH_ALEN];
    if (!registered(p) || p->uplink || !p->has_mac || (mac[0] & 1) || !memcmp(mac, zero, ETH_ALEN))
        return -1;
    if (!memcmp(mac, p->mac, ETH_ALEN))
        return 0;
    /* a guest takes locally administered MACs only: never a vendor MAC of
     * a host on the wire, even one silent for longer than SW_AGE_MS */
    if (!reclaim && !(mac[0] & 2))
        return -1;
    __atomic_store_n(&sw_mac_moves, 1, __ATOMIC_SEQ_CST);
    while (__atomic_exchange_n(&sw_mac_lock, 1, __ATOMIC_ACQUIRE))
        __builtin_ia32_pause();         /* bound: the other holder's set_mac_locked */
    int rc = set_mac_locked(p, mac, reclaim, now_ms);
    __atomic_store_n(&sw_mac_lock, 0, __ATOMIC_RELEASE);
    return rc;
}

void sw_port_drop(struct sw_port *p, enum sw_drop c, unsigned n)
{
    if ((unsigned)c < SW_DROP__COUNT)
        stat_add(&p->st.drops[c], n);
}

/* ---- forwarding ------------------------------------------------------------- */

/* What pass 1 found out about one frame of a batch. */
struct sw_frame {
    uint32_t dst;                       /* port mask, 0 = dropped */
    bool tagged;                        /* carries an 802.1Q tag (uplink ingress only) */
};

/* Deliver pk[0..n) through port d and count what it took. */
static void port_xmit(struct sw_port *d, struct pkt *const *pk, unsigned n)
{
    unsigned sent = d->xmit(d, pk, n);
    if (sent > n)
        sent = n;
    uint64_t bytes = 0;
    for (unsigned i = 0; i < sent; i++)     /* the port took the first `sent` */
        bytes += pk[i]->len;
    stat_add(&d->st.tx_frames, sent);
    stat_add(&d->st.tx_bytes, bytes);
}

/* the payload a frame through port p may carry (its MTU) */
static inline uint32_t port_mtu(const struct sw_port *p)
{
    return p->mtu ? p->mtu : ETH_DATA_MAX;
}

/* An 802.1Q tag of vlan at `at` (a frame's byte 12) */
static inline void put_tag(uint8_t *at, uint16_t vlan)
{
    at[0] = ETH_P_8021Q >> 8;
    at[1] = ETH_P_8021Q & 0xff;
    at[2] = (uint8_t)(vlan >> 8);
    at[3] = (uint8_t)vlan;
}

/* Copy frame s into buf with a tag of vlan pushed (push) or its tag
 * popped (!push), describing the copy in *c.  Only frames to or from the
 * uplink are retagged, and its MTU is ETH_DATA_MAX (port_mtu), so a copy
 * is at most PKT_FRAME_MAX bytes. */
static void tag_copy(struct pkt *c, uint8_t *buf, const struct pkt *s, bool push, uint16_t vlan)
{
    *c = *s;
    c->data = buf;
    memcpy(buf, s->data, 2 * ETH_ALEN);
    if (push) {
        put_tag(buf + 2 * ETH_ALEN, vlan);
        memcpy(buf + 16, s->data + 12, s->len - 12);
        c->len = s->len + ETH_VLAN_HLEN;
        if (c->csum_flags & PKT_CSUM_PARTIAL)
            c->csum_start += ETH_VLAN_HLEN;
    } else {
        memcpy(buf + 12, s->data + 16, s->len - 16);
        c->len = s->len - ETH_VLAN_HLEN;
        if (c->csum_flags & PKT_CSUM_PARTIAL)
            c->csum_start -= ETH_VLAN_HLEN;     /* >= ETH_HLEN: checked at ingress */
    }
}

static struct sw_scratch *scratch_get(void)
{
    for (unsigned i = 0; i < SW_SCRATCH; i++)
        if (!__atomic_exchange_n(&sw_scratch[i].busy, 1, __ATOMIC_ACQUIRE))
            return &sw_scratch[i];
    return NULL;
}

static void scratch_put(struct sw_scratch *s)
{
    /* release: our copies are done before another CPU reuses the area */
    __atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
}

/* No scratch area free: tag one frame at a time on the stack. */
static __attribute__((noinline)) void xmit_tag_slow(struct sw_port *d, struct pkt *const *pk,
                                                   unsigned n, const bool *retag, bool push,
                                                   uint16_t vlan)
{
    uint8_t buf[PKT_FRAME_MAX] __attribute__((aligned(16)));
    for (unsigned i = 0; i < n; i++) {
        struct pkt c, *cp = &c;
        if (!retag[i]) {
            port_xmit(d, &pk[i], 1);
            continue;
        }
        tag_copy(&c, buf, pk[i], push, vlan);
        port_xmit(d, &cp, 1);
    }
}

/* The frames gathered for d (pk[0..k), retag[j] for the ones to retag):
 * retagged copies where needed, one xmit call. */
static void xmit_group(struct sw_port *in, struct sw_port *d, struct pkt **pk, const bool *retag,
                       unsigned k, unsigned ntag, bool push, struct sw_scratch **scr)
{
    if (!k)
        return;
    if (!ntag) {
        port_xmit(d, pk, k);
        return;
    }
    if (!*scr)
        *scr = scratch_get();
    if (!*scr) {
        xmit_tag_slow(d, pk, k, retag, push, in->vlan);
        return;
    }
    for (unsigned j = 0; j < k; j++) {
        if (!retag[j])
            continue;
        struct pkt *c = &(*scr)->pk[j];
        tag_copy(c, (*scr)->buf[j], pk[j], push, in->vlan);
        pk[j] = c;
    }
    port_xmit(d, pk, k);
}

/* Does d take GSO frame p whole? */
static inline bool gso_whole(const struct sw_port *d, const struct pkt *p)
{
    uint8_t want = sw_gso_need(p->gso_type);
    return !d->uplink && d->partial_csum_ok && (d->gso_ok & want) == want;
}

/* GSO frame p (checked at ingress) for a port that cannot take it whole:
 * its segments, SW_SEG_BATCH per xmit call, with an access VLAN's tag
 * pushed toward the uplink (push).  Bound: PKT_GSO_MAX_SEGS segments. */
static __attribute__((noinline)) void xmit_gso(struct sw_port *d, const struct pkt *p, bool push,
                                               uint16_t vlan)
{
    struct sw_segs *s = NULL;
    for (unsigned i = 0; i < SW_SEGS && !s; i++)
        if (!__atomic_exchange_n(&sw_segs[i].busy, 1, __ATOMIC_ACQUIRE))
            s = &sw_segs[i];
    if (!s) {
        sw_port_drop(d, SW_DROP_NO_BUF, 1);     /* every area in use on other CPUs */
        return;
    }
    unsigned nseg = pkt_gso_segments(p), sent = 0;
    bool fits = true;
    for (unsigned i = 0; fits && i < nseg;) {
        struct pkt *v[SW_SEG_BATCH];
        unsigned m = 0;
        for (; m < SW_SEG_BATCH && i < nseg; m++, i++) {
            uint8_t *b = s->buf[m] + ETH_VLAN_HLEN;     /* room for the tag in front */
            struct pkt *c = &s->pk[m];
            /* (cannot fail: segments fit a 9000-byte MTU; if one did, the
             * frame's rest would go unsent, never retried) */
            if (!(fits = pkt_gso_segment(p, i, b, SW_SEG_BUF - ETH_VLAN_HLEN, d->partial_csum_ok, c)))
                break;
            if (push) {
                memmove(s->buf[m], b, 2 * ETH_ALEN);
                put_tag(s->buf[m] + 2 * ETH_ALEN, vlan);
                c->data = s->buf[m];
                c->len += ETH_VLAN_HLEN;
                if (c->csum_flags & PKT_CSUM_PARTIAL)
                    c->csum_start += ETH_VLAN_HLEN;
            }
            v[m] = c;
        }
        if (m)
            port_xmit(d, v, m);
        sent += m;
    }
    __atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
    stat_add(&d->st.gso_split, 1);
    stat_add(&d->st.gso_segs, sent);
}

/* Pass 2 for one destination port: gather its frames in batch order,
 * complete checksums it cannot take, retag copies, one xmit call per run
 * of frames (a GSO frame it cannot take whole goes out as its segments,
 * in its place in the order). */
static void forward_group(struct sw_port *in, struct sw_port *d, struct pkt *const *pkts,
                          const struct sw_frame *f, unsigned n, struct sw_scratch **scr)
{
    struct pkt *pk[PKT_BATCH];
    bool retag[PKT_BATCH];
    uint32_t bit = 1u << d->id;
    bool push = !in->uplink && d->uplink && in->vlan;   /* access VLAN n -> trunk */
    bool pop = in->uplink && !d->uplink;                /* trunk -> access: drop any tag */
    unsigned k = 0, ntag = 0, over = 0, whole = 0;

    for (unsigned i = 0; i < n; i++) {
        if (!(f[i].dst & bit))
            continue;
        struct pkt *p = pkts[i];
        /* a GSO frame's packets are its segments (their size checked at ingress) */
        uint32_t frame = p->gso_type ? (uint32_t)p->hdr_len + p->gso_size : p->len;
        if (frame - ETH_HLEN - (f[i].tagged ? ETH_VLAN_HLEN : 0u) > port_mtu(d)) {
            over++;                     /* a jumbo frame toward a smaller MTU */
            continue;
        }
        if (p->gso_type) {
            if (!gso_whole(d, p)) {     /* (GSO frames come from VM ports: never tagged) */
                xmit_group(in, d, pk, retag, k, ntag, push, scr);
                k = ntag = 0;
                xmit_gso(d, p, push, in->vlan);
                continue;
            }
            whole++;
        } else if ((p->csum_flags & PKT_CSUM_PARTIAL) && !d->partial_csum_ok) {
            pkt_csum_complete(p);       /* valid for every later receiver too */
        }
        retag[k] = push || (pop && f[i].tagged);
        ntag += retag[k];
        pk[k++] = p;
    }
    if (over)
        sw_port_drop(d, SW_DROP_MTU, over);
    if (whole)
        stat_add(&d->st.gso_whole, whole);
    xmit_group(in, d, pk, retag, k, ntag, push, scr);
}

/* Per-port counts of one batch, for the rare paths (promiscuous copies,
 * multicast filtered): a port's count is valid once its bit is set, and
 * each is added to its counter once per batch (count_flush). */
struct sw_counts {
    uint32_t promisc_ports, filtered_ports;
    uint16_t promisc[SW_MAX_PORTS], filtered[SW_MAX_PORTS];
};

static inline void count_port(uint32_t *ports, uint16_t *n, unsigned id)
{
    if (!(*ports & (1u << id))) {
        *ports |= 1u << id;
        n[id] = 0;
    }
    n[id]++;
}

static void count_flush(const struct sw_counts *c)
{
    for (uint32_t m = c->promisc_ports; m; m &= m - 1)
        stat_add(&sw_ports[__builtin_ctz(m)]->st.promisc_in, c->promisc[__builtin_ctz(m)]);
    for (uint32_t m = c->filtered_ports; m; m &= m - 1)
        stat_add(&sw_ports[__builtin_ctz(m)]->st.mc_filtered, c->filtered[__builtin_ctz(m)]);
}

/* Promiscuous ports `pr` take a copy of a unicast frame for another port. */
static __attribute__((noinline)) uint32_t promisc_copies(uint32_t pr, struct sw_counts *c)
{
    for (uint32_t m = pr; m; m &= m - 1)
        count_port(&c->promisc_ports, c->promisc, (unsigned)__builtin_ctz(m));
    return pr;
}

/* Of the filtering ports `flt`, those whose list lacks multicast group d
 * (broadcast always passes).  Bound: 32 ports x SW_MC_MAX entries, a port
 * scanned only when its summary has the group's bit. */
static __attribute__((noinline)) uint32_t mc_refused(uint32_t flt, const uint8_t *d, struct sw_counts *c)
{
    static const uint8_t bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    if (!memcmp(d, bcast, ETH_ALEN))
        return 0;
    uint64_t key = mac_key(d, 0), bit = mc_bloom_bit(key);
    uint32_t out = 0;
    for (; flt; flt &= flt - 1) {
        struct sw_port *p = sw_ports[__builtin_ctz(flt)];
        uint32_t n = __atomic_load_n(&p->mc_n, __ATOMIC_ACQUIRE);
        bool hit = false;
        if (__atomic_load_n(&p->mc_bloom, __ATOMIC_RELAXED) & bit)
            for (uint32_t i = 0; i < n && i < SW_MC_MAX && !hit; i++)
                hit = __atomic_load_n(&p->mc[i], __ATOMIC_RELAXED) == key;
        if (!hit) {
            out |= 1u << p->id;
            count_port(&c->filtered_ports, c->filtered, p->id);
        }
    }
    return out;
}

/* Pass 1 for one frame: validate, learn, find destinations (0 = drop,
 * counted in drops[]). */
static inline uint32_t classify(struct sw_port *in, struct pkt *p, struct sw_frame *f,
                                uint64_t now_ms, unsigned nports, uint64_t *drops,
                                uint64_t *last_src, struct sw_counts *cnt)
{
    uint32_t len = p->len, wire = len;  /* wire: the longest packet it stands for */
    const uint8_t *d = p->data;
    unsigned l2 = ETH_HLEN;
    uint16_t vlan;

    f->tagged = false;
    /* a runt; a GSO frame not from a VM port, or not well-formed with each
     * segment within its MTU */
    if (len < ETH_HLEN || (p->gso_type && (in->uplink || !pkt_gso_check(p)))) {
        drops[SW_DROP_MALFORMED]++;
        return 0;
    }
    if (p->gso_type)
        wire = (uint32_t)p->hdr_len + p->gso_size;     /* its segments' */
    if (rd_be16(d + 12) == ETH_P_8021Q) {
        if (!in->uplink || len < ETH_HLEN + ETH_VLAN_HLEN) {
            drops[SW_DROP_MALFORMED]++; /* tag from an access port, or runt */
            return 0;
        }
        f->tagged = true;
        l2 += ETH_VLAN_HLEN;
        vlan = rd_be16(d + 14) & 0xfff;
    } else {
        vlan = in->uplink ? 0 : in->vlan;
    }
    if (wire > l2 + port_mtu(in)) {
        drops[SW_DROP_OVERSIZE]++;
        return 0;
    }
    if (!p->gso_type && len - l2 > ETH_DATA_MAX)
        stat_add(&in->st.jumbo_in, 1);
    /* a group source address; a partial checksum outside the L3 part */
    if ((d[6] & 1) || ((p->csum_flags & PKT_CSUM_PARTIAL) &&
                       (p->csum_start < l2 || (uint32_t)p->csum_start + p->csum_offset + 2 > len))) {
        drops[SW_DROP_MALFORMED]++;
        return 0;
    }
    p->in_port = in->id;

    uint64_t src = mac_key(d + ETH_ALEN, vlan);
    if (src != *last_src) {             /* bursts from one source: check / learn once */
        /* a VM port sends from its own MACs only (they are static entries);
         * the others' sources are learned, a static MAC of another port refused */
        bool spoof = !in->uplink && in->has_mac
                         ? memcmp(d + ETH_ALEN, in->mac, ETH_ALEN) && !own_allowed(in, d + ETH_ALEN)
                         : table_learn(src, in->id, now_ms) == LEARN_SPOOF;
        if (spoof) {
            drops[SW_DROP_SPOOF]++;
            return 0;
        }
        *last_src = src;
    }

    uint32_t dst, vports = __atomic_load_n(&sw_vlan_ports[vlan], __ATOMIC_RELAXED);
    int port;
    if (!(d[0] & 1) && (port = table_lookup(mac_key(d, vlan), now_ms)) >= 0) {
        dst = (unsigned)port < nports ? 1u << port : 0;
        uint32_t pr = vports & __atomic_load_n(&sw_promisc, __ATOMIC_RELAXED) & ~dst & ~(1u << in->id);
        if (__builtin_expect(pr != 0, 0))
            dst |= promisc_copies(pr, cnt);
    } else {
        /* broadcast, multicast, unknown unicast: the VLAN's ports and trunks */
        dst = vports | __atomic_load_n(&sw_uplinks, __ATOMIC_RELAXED);
        uint32_t flt = dst & __atomic_load_n(&sw_mc_filter, __ATOMIC_ACQUIRE) & ~(1u << in->id);
        if (__builtin_expect(flt != 0, 0) && (d[0] & 1))
            dst &= ~mc_refused(flt, d, cnt);
    }
    dst &= ~(1u << in->id);             /* never back out of the ingress port */
    if (!dst)
        drops[SW_DROP_NO_DEST]++;
    return dst;
}

static void switch_batch(struct sw_port *in, struct pkt *const *pkts, unsigned n,
                         uint64_t now_ms, unsigned nports)
{
    struct sw_frame f[PKT_BATCH];
    uint64_t drops[SW_DROP__COUNT] = { 0 };
    uint64_t bytes = 0, last_src = 0;
    uint32_t all = 0;
    struct sw_counts cnt;

    cnt.promisc_ports = cnt.filtered_ports = 0;
    for (unsigned i = 0; i < n; i++) {
        bytes += pkts[i]->len;
        f[i].dst = classify(in, pkts[i], &f[i], now_ms, nports, drops, &last_src, &cnt);
        all |= f[i].dst;
    }
    stat_add(&in->st.rx_frames, n);
    stat_add(&in->st.rx_bytes, bytes);
    for (unsigned c = 0; c < SW_DROP__COUNT; c++)
        stat_add(&in->st.drops[c], drops[c]);
    if (cnt.promisc_ports | cnt.filtered_ports)
        count_flush(&cnt);

    struct sw_scratch *scr = NULL;
    while (all) {
        unsigned id = (unsigned)__builtin_ctz(all);
        all &= all - 1;
        struct sw_port *d = sw_ports[id];
        if (d)
            forward_group(in, d, pkts, f, n, &scr);
    }
    if (scr)
        scratch_put(scr);
}

void switch_input(struct sw_port *in, struct pkt *const *pkts, unsigned n, uint64_t now_ms)
{
    unsigned nports = nports_now();
    if (in->id >= nports || sw_ports[in->id] != in)
        return;                         /* not a registered port */
    while (n) {
        unsigned m = n < PKT_BATCH ? n : PKT_BATCH;
        switch_batch(in, pkts, m, now_ms, nports);
        pkts += m;
        n -= m;
    }
}

/* ---- statistics ------------------------------------------------------------- */

static unsigned long long ld(const uint64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

void switch_print(void (*pr)(const char *fmt, ...), uint64_t now_ms)
{
    unsigned nports = nports_now();
    for (unsigned i = 0; i < nports; i++) {
        const struct sw_port *p = sw_ports[i];
        pr("port %u %s%s vlan %u: rx %llu frames %llu bytes, tx %llu frames %llu bytes\n", i,
           p->name, p->uplink ? " (uplink)" : "", p->vlan, ld(&p->st.rx_frames),
           ld(&p->st.rx_bytes), ld(&p->st.tx_frames), ld(&p->st.tx_bytes));
        if (ld(&p->st.mc_filtered) || ld(&p->st.promisc_in))
            pr("  multicast filtered %llu, promiscuous copies %llu\n", ld(&p->st.mc_filtered),
               ld(&p->st.promisc_in));
        if (ld(&p->st.gso_split) || ld(&p->st.gso_whole))
            pr("  tso segmented %llu into %llu, whole %llu\n", ld(&p->st.gso_split),
               ld(&p->st.gso_segs), ld(&p->st.gso_whole));
        for (unsigned c = 0; c < SW_DROP__COUNT; c++)
            if (ld(&p->st.drops[c]))
                pr("  drop %s: %llu\n", sw_drop_name((enum sw_drop)c), ld(&p->st.drops[c]));
    }
    pr("MAC table:\n");
    for (unsigned b = 0; b < SW_BUCKETS; b++) {
        for (unsigned w = 0; w < SW_WAYS; w++) {
            struct sw_entry *e = &sw_table[b].e[w];
            uint64_t k = __atomic_load_n(&e->key, __ATOMIC_ACQUIRE), v;
            if (!(k & KEY_VALID) || !entry_read(e, k, &v) || !val_alive(v, now_ms))
                continue;
            unsigned port = (unsigned)(v & VAL_PORT_MASK);
            pr("  %02x:%02x:%02x:%02x:%02x:%02x vlan %u -> port %u %s, %s\n",
               (unsigned)(k & 0xff), (unsigned)(k >> 8 & 0xff), (unsigned)(k >> 16 & 0xff),
               (unsigned)(k >> 24 & 0xff), (unsigned)(k >> 32 & 0xff), (unsigned)(k >> 40 & 0xff),
               (unsigned)(k >> 48 & 0xfff), port,
               port < nports && sw_ports[port] ? sw_ports[port]->name : "?",
               (v & VAL_STATIC) ? "static" : "learned");
            if (!(v & VAL_STATIC))
                pr("    age %llu ms\n", (unsigned long long)val_age(v, now_ms));
        }
    }
}
