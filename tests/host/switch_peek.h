/* The host tests' look into kernel/switch.c (unity build: include after
 * it): ports by id, and where a MAC was learned.  Not in ring 0. */
#ifndef SWITCH_PEEK_H
#define SWITCH_PEEK_H

/* Port by id (NULL if none) and the number of ports. */
static inline struct sw_port *switch_port(unsigned id)
{
    return id < nports_now() ? sw_ports[id] : NULL;
}

static inline unsigned switch_nports(void)
{
    return nports_now();
}

/* Where a MAC was learned: port id, or -1 (unknown or aged out). */
static inline int switch_lookup(const uint8_t mac[ETH_ALEN], uint16_t vlan, uint64_t now_ms)
{
    int port = table_lookup(mac_key(mac, vlan), now_ms);
    return port >= 0 && (unsigned)port < nports_now() ? port : -1;
}
#endif
