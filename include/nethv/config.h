/*
 * The nethv configuration: a flattened device tree (DTB) parsed into a
 * plain struct with fixed-size arrays.  Schema (config/default.dts is the
 * reference example; every number is a 32-bit cell, sizes are <hi lo>):
 *
 *   / { compatible = "nethv,config-1";              required
 *     nethv {                                        optional
 *       console-vm = "a";         VM that gets console input (default: first)
 *       exit = "halt";            after the last VM stops: halt|reboot|debug-exit
 *     };
 *     vms {                                          required, >= 1 VM
 *       a {                       VM name = node name (before any '@'), or
 *                                 the `name` property: [a-z0-9_-], 1..15 chars
 *         memory = <0x0 0x10000000>;  bytes, > 0, multiple of 2 MiB
 *         vcpus = <1>;                1..CONFIG_MAX_VCPUS
 *         cpus = <0>;                 host CPU per vCPU; 1 entry = all vCPUs
 *         kernel = "vmlinuz";         boot module name
 *         initrd = "initrd.img";      optional boot module name
 *         bootargs = "console=ttyS0"; optional
 *         type = "linux";             optional: linux (default)|multiboot|test
 *         console-rate = <16384>;     optional: bytes/s of console output, with
 *                     bursts of 8 s of it; over that dropped and counted
 *         memory-map = <gpa-hi gpa-lo size-hi size-lo ...>;  optional; 4 KiB
 *                     aligned, no overlap, sizes sum to `memory`.
 *                     Default: one region at GPA 0.
 *       };
 *     };
 *     net {                                          optional
 *       port0 { type = "vm"; vm = "a"; mac = [52 54 00 00 00 0a];
 *               vlan = <0>; };      vlan optional, 0..4094, 0 = untagged
 *               allowed-macs = [02 00 00 00 00 01 ...];  optional: up to
 *                  CONFIG_MAX_ALLOWED_MACS more source MACs the VM may send
 *                  from (unicast, 6 bytes each); any other source but `mac`
 *                  is dropped as spoofed (kernel/switch.c)
 *               mtu = <9000>;       optional: the port's MTU, 1280..9000 (default
 *                  1500), offered to the guest (VIRTIO_NET_F_MTU); frames
 *                  over a port's MTU are dropped and counted ("mtu").  The
 *                  uplink's is 1500 (the NICs' buffers).
 *               promisc = "allow";  optional, deny|allow (default deny): may the
 *                  guest enter promiscuous mode (CTRL_RX) and see its VLAN's
 *                  unicast for other ports?  Refused (VIRTIO_NET_ERR) if not.
 *               mac-change = "allow";  optional, deny|allow (default deny): may
 *                  the guest change its MAC (CTRL_MAC_ADDR, `ip link set
 *                  address`)?  Never to another port's `mac`, allowed-macs
 *                  or a MAC live on another port; `mac` again at reset.
 *       uplink { type = "uplink"; nic = "auto"; };  e1000|e1000e|virtio-net|auto
 *     };
 *   };
 *
 * Unknown nodes and properties are errors (they are usually typos), and so
 * are duplicate nodes, properties, names and MACs.
 * The same source builds for the kernel (NETHV_KERNEL) and the host
 * (NETHV_HOST): no allocation, no stdio, only string.h and libfdt.
 */
#ifndef NETHV_CONFIG_H
#define NETHV_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_COMPATIBLE     "nethv,config-1"
#define CONFIG_MAX_VMS        16
#define CONFIG_MAX_PORTS      32
#define CONFIG_MAX_UPLINKS    1     /* no spanning tree: more would loop */
#define CONFIG_MAX_VCPUS      8
#define CONFIG_MAX_HOST_CPUS  256   /* host CPU numbers are < this */
#define CONFIG_MAX_REGIONS    8     /* memory-map entries per VM */
#define CONFIG_NAME_MAX       15    /* VM and port names, without the NUL */
#define CONFIG_MODULE_MAX     63    /* boot module names (BOOT_MOD_NAME - 1) */
#define CONFIG_BOOTARGS_MAX   511   /* guest command line (BOOT_CMDLINE - 1) */
#define CONFIG_DTB_MAX        (1u << 20)
#define CONFIG_MEM_ALIGN      (2ull << 20)          /* `memory` granularity */
#define CONFIG_REGION_ALIGN   4096ull               /* memory-map granularity */
#define CONFIG_MAX_GPA        (1ull << 40)          /* guest RAM ends below */
#define CONFIG_VLAN_MAX       4094
#define CONFIG_MAX_ALLOWED_MACS 8   /* allowed-macs per VM port */
#define CONFIG_MTU_MIN        1280u /* IPv6's minimum (RFC 8200), virtio 5.1.4.1's SHOULD */
#define CONFIG_MTU_DEFAULT    1500u
#define CONFIG_MTU_MAX        9000u /* jumbo frames */
#define CONFIG_CONSOLE_RATE_DEFAULT 16384u  /* console-rate (bytes/s): a Linux boot */
#define CONFIG_CONSOLE_RATE_MIN     64u     /* log passes; a flood does not */
#define CONFIG_CONSOLE_RATE_MAX     (1u << 20)

enum config_vm_type   { CONFIG_VM_LINUX, CONFIG_VM_MULTIBOOT, CONFIG_VM_TEST };
/* monitor-fault (type "test" VMs only): the VM's monitor at CPL 3 fails on
 * purpose at the VM's first exit (kernel/monitor.c, user/mon_main.c) */
enum config_monitor_fault { CONFIG_MONFAULT_NONE, CONFIG_MONFAULT_NULL, CONFIG_MONFAULT_LOOP,
                            CONFIG_MONFAULT_WILD_SYSCALL };
enum config_port_type { CONFIG_PORT_VM, CONFIG_PORT_UPLINK };
enum config_nic       { CONFIG_NIC_AUTO, CONFIG_NIC_E1000, CONFIG_NIC_E1000E,
                        CONFIG_NIC_VIRTIO_NET };
enum config_exit      { CONFIG_EXIT_HALT, CONFIG_EXIT_REBOOT,
                        CONFIG_EXIT_DEBUG };   /* debug: isa-debug-exit (QEMU) */

struct config_region {
    uint64_t gpa;
    uint64_t size;
};

struct config_vm {
    char     name[CONFIG_NAME_MAX + 1];
    enum config_vm_type type;
    uint64_t memory;                            /* bytes, sum of region[] */
    uint32_t vcpus;
    uint32_t cpu[CONFIG_MAX_VCPUS];             /* host CPU of each vCPU */
    uint32_t nregions;
    struct config_region region[CONFIG_MAX_REGIONS];   /* sorted by gpa */
    char     kernel[CONFIG_MODULE_MAX + 1];
    char     initrd[CONFIG_MODULE_MAX + 1];     /* "" = none */
    char     bootargs[CONFIG_BOOTARGS_MAX + 1]; /* "" = none */
    uint32_t console_rate;                      /* bytes/s (CONFIG_CONSOLE_RATE_*) */
    enum config_monitor_fault monitor_fault;
};

struct config_port {
    char     name[CONFIG_NAME_MAX + 1];         /* node name */
    enum config_port_type type;
    uint32_t vm;                                /* VM ports: index in vm[] */
    uint16_t vlan;                              /* VM ports: 0 = untagged */
    uint8_t  mac[6];                            /* VM ports */
    uint32_t nallowed;                          /* VM ports: allowed-macs */
    uint32_t mtu;                               /* CONFIG_MTU_* (uplink: the default) */
    uint8_t  allowed[CONFIG_MAX_ALLOWED_MACS][6];
    uint8_t  allow_promisc, allow_mac_change;   /* VM ports: promisc, mac-change = "allow" */
    enum config_nic nic;                        /* uplink ports */
};

struct nethv_config {
    uint32_t nvms;
    uint32_t nports;
    uint32_t console_vm;                        /* index in vm[] */
    enum config_exit exit;
    struct config_vm   vm[CONFIG_MAX_VMS];
    struct config_port port[CONFIG_MAX_PORTS];
};

/* Error codes (returned negated). */
enum config_errcode {
    CONFIG_EBLOB = 1,   /* not a valid/complete DTB */
    CONFIG_EMISSING,    /* required node or property missing */
    CONFIG_EFORMAT,     /* property of the wrong length or type */
    CONFIG_EVALUE,      /* value out of range or not allowed */
    CONFIG_EUNKNOWN,    /* unknown node or property */
    CONFIG_EDUP,        /* duplicate name or MAC */
    CONFIG_EREF,        /* reference to an undefined VM */
    CONFIG_EOVERLAP,    /* overlapping memory regions */
    CONFIG_ELIMIT,      /* too many of something */
};

#define CONFIG_ERR_NODE 64
#define CONFIG_ERR_PROP 32
#define CONFIG_ERR_MSG  128

struct config_error {
    int  code;                      /* enum config_errcode, 0 = no error */
    char node[CONFIG_ERR_NODE];     /* e.g. "/vms/a"; "" = the blob itself */
    char prop[CONFIG_ERR_PROP];     /* e.g. "memory"; "" = the node itself */
    char msg[CONFIG_ERR_MSG];
};

/*
 * Parse and check a DTB of `len` bytes: 8-byte aligned, version 17 (what dtc
 * writes), totalsize <= len <= CONFIG_DTB_MAX; any byte string is safe to
 * pass.  Returns 0 and fills *out, or -CONFIG_E* and fills *err (if err is
 * not NULL); *out is then unspecified.  Pure function of its inputs: any
 * CPU, no locks, no allocation, ~1.5 KiB of stack.
 */
int config_parse(const void *dtb, size_t len, struct nethv_config *out,
                 struct config_error *err);

/*
 * Print a line for the globals, then one per VM and one per port, each
 * starting with "config: ".  pr is printk-like; each call prints one
 * whole line.  Uses < 1 KiB of stack.
 */
typedef void (*config_printf_fn)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void config_print(const struct nethv_config *cfg, config_printf_fn pr);

/* the `nic` property's values (config.c parses them; ring 0 prints them) */
#define CONFIG_NIC_NAMES { "auto", "e1000", "e1000e", "virtio-net", NULL }
static inline const char *config_nic_name(enum config_nic n)
{
    static const char *const names[] = CONFIG_NIC_NAMES;
    return (unsigned)n <= CONFIG_NIC_VIRTIO_NET ? names[n] : "?";
}

#endif
