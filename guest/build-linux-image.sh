#!/bin/sh
# build-linux-image.sh [--module NAME]... [--file SRC:DEST]... [--vmlinux] OUTDIR
#
# A Linux guest for nethv's tests and benchmarks, from Debian packages:
#   OUTDIR/vmlinuz     the bzImage of the kernel linux-image-amd64 depends on
#   OUTDIR/initrd.img  gzip'd newc cpio: busybox-static, a small /init, the
#                      virtio-net (+ deps) and e1000 modules of that kernel
#
# The packages are fetched with `apt-get download` (not installed) and unpacked
# with `dpkg-deb -x` into a cache shared by every image (NETHV_DEB_CACHE,
# default OUTDIR/../debs).  OUTDIR/.stamp records the package versions, the
# options, and hashes of this script and of the extra files: when it matches,
# nothing is rebuilt.
#
# Options (for images built on top of the base one, e.g. the KVM benchmark):
#   --module NAME     also ship module NAME and what it depends on (not loaded
#                     at boot: hooks load it with `loadmod NAME [PARAMS]`)
#   --file SRC:DEST   copy SRC into the image as DEST (e.g. a hook
#                     /etc/nethv.d/50-x.sh, or a static binary /bin/x)
#   --vmlinux         also write OUTDIR/vmlinux: the uncompressed kernel ELF
#                     from the bzImage (boots through its PVH entry, e.g. with
#                     guest/kvmbench/pvhboot.c, without the XZ decompression
#                     that takes most of a Linux boot under Bochs)
#
# /init mounts proc, sys and devtmpfs, prints "nethv-guest: init", the CPU
# count, MemTotal and the firmware e820 map, loads the network modules (not
# with `nethv.nomodules` on the kernel command line: seconds under Bochs), runs
# every /etc/nethv.d/*.sh (sourced in a subshell: `loadmod` is available;
# 10-net.sh sets up eth0 from `nethv.ip=`/`nethv.dhcp`, pings `nethv.ping=`
# and stays up `nethv.wait=` seconds, see below),
# reboots if the kernel command line has `nethv.reboot` but no `nethv.boot=`
# (the first boot of a VM), then powers off if it has `nethv.poweroff`, else
# starts a shell on the console.
set -eu

usage() { echo "usage: $0 [--module NAME]... [--file SRC:DEST]... [--vmlinux] OUTDIR" >&2; exit 2; }
log() { echo "linux-image: $*" >&2; }

extra_mods=""
extra_files=""
# ---- --iperf3: the network tools in the image (tests/boot/qemu-wire.sh) ------
# --iperf3 (anywhere before OUTDIR) also ships Debian's iperf3, ethtool and
# tcpdump (each /usr/bin/NAME with its shared libraries and dynamic loader,
# taken from the host: apt-get install when missing) and the hook
# /etc/nethv.d/20-iperf3.sh (see the block before "outputs").  Without it the
# image is exactly as before.
want_iperf3=0
for a; do
    shift
    if [ "$a" = --iperf3 ]; then want_iperf3=1; else set -- "$@" "$a"; fi
done
# ---- end of --iperf3 ----------------------------------------------------------
want_vmlinux=0
while [ $# -gt 0 ]; do
    case $1 in
    --module) [ $# -ge 2 ] || usage; extra_mods="$extra_mods $2"; shift 2 ;;
    --file)   [ $# -ge 2 ] || usage
              case $2 in *:/*) ;; *) echo "$0: --file wants SRC:/ABS/DEST" >&2; exit 2 ;; esac
              [ -f "${2%%:*}" ] || { echo "$0: no such file: ${2%%:*}" >&2; exit 2; }
              src=$(cd "$(dirname "${2%%:*}")" && pwd)/$(basename "${2%%:*}")
              extra_files="$extra_files $src:${2#*:}"; shift 2 ;;
    --vmlinux) want_vmlinux=1; shift ;;
    -*) usage ;;
    *) break ;;
    esac
done
[ $# -eq 1 ] || usage
OUT=$1
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
CACHE=${NETHV_DEB_CACHE:-$(dirname "$OUT")/debs}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)

# Modules loaded by /init (their dependencies come along):
# virtio_pci needs virtio_pci_modern_dev + virtio_pci_legacy_dev, virtio_net
# needs net_failover + failover, all need virtio + virtio_ring.
BOOT_MODS="virtio_pci virtio_net e1000"

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo

# ---- host tools: check, then install what is missing ------------------------
need=""
command -v cpio >/dev/null 2>&1 || need="$need cpio"
command -v gzip >/dev/null 2>&1 || need="$need gzip"
command -v xz >/dev/null 2>&1 || need="$need xz-utils"
command -v apt-get >/dev/null 2>&1 || { echo "$0: needs a Debian host (apt-get)" >&2; exit 1; }
if [ -n "$need" ]; then
    log "installing:$need"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
fi

# ---- which packages (from the local apt lists; update them once if absent) --
resolve() {   # one apt-cache call (about a second: this host keeps no pkgcache.bin)
    info=$(apt-cache show --no-all-versions linux-image-amd64 busybox-static 2>/dev/null |
           awk '/^Package: /{p=$2} /^Version: /{v[p]=$2}
                /^Depends: / && p == "linux-image-amd64" {d=$0}
                END { print d; print v["busybox-static"] }')
    dep=$(echo "$info" | head -1)
    bver=$(echo "$info" | sed -n 2p)
    kpkg=$(echo "$dep" | grep -o 'linux-image-[0-9][^ ,]*-amd64' | head -1)
    kver=$(echo "$dep" | sed -n "s/.*$kpkg (= \([^)]*\)).*/\1/p")
    [ -n "$kpkg" ] && [ -n "$bver" ] || return 1
    [ -n "$kver" ] || kver=$(apt-cache policy "$kpkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
    [ -n "$kver" ] && [ "$kver" != "(none)" ]
}
if ! resolve; then
    log "apt lists lack linux-image-amd64/busybox-static: apt-get update"
    $SUDO apt-get update -qq
    resolve || { echo "$0: cannot resolve linux-image-amd64 / busybox-static in apt" >&2; exit 1; }
fi

hash_of() { sha256sum "$@" | cut -c1-16; }
stamp="kernel=$kpkg $kver busybox-static=$bver script=$(hash_of "$0")"
stamp="$stamp modules=$(echo $extra_mods) vmlinux=$want_vmlinux"
for f in $extra_files; do
    stamp="$stamp file=${f#*:}:$(hash_of "${f%%:*}")"
done
# ---- --iperf3: the host's tools, and their versions in the stamp ---------------
NET_TOOLS="iperf3 ethtool tcpdump"      # (each binary is its Debian package's name)
tool_path() { PATH=$PATH:/usr/sbin:/sbin command -v "$1"; }
if [ $want_iperf3 = 1 ]; then
    echo "iperf3 iperf3/start_daemon boolean false" | $SUDO debconf-set-selections 2>/dev/null || :
    for t in $NET_TOOLS; do
        tool_path $t >/dev/null 2>&1 && continue
        log "installing: $t"
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $t >/dev/null ||
            { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive \
                apt-get install -y -qq --no-install-recommends $t >/dev/null; } ||
            { echo "$0: cannot install $t" >&2; exit 1; }
    done
    for t in $NET_TOOLS; do
        stamp="$stamp $t=$(dpkg-query -W -f '${Version}' $t 2>/dev/null):$(hash_of "$(tool_path $t)")"
    done
fi
# ---- end of --iperf3 ----------------------------------------------------------
if [ -f "$OUT/.stamp" ] && [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initrd.img" ] &&
   { [ $want_vmlinux = 0 ] || [ -f "$OUT/vmlinux" ]; } &&
   [ "$(cat "$OUT/.stamp")" = "$stamp" ]; then
    log "$OUT up to date ($kpkg $kver)"
    touch "$OUT/vmlinuz" "$OUT/initrd.img"     # for make's timestamps
    exit 0
fi

# ---- download (cached) and unpack (cached) ------------------------------------
# one builder at a time per cache (images may be built in parallel)
exec 9> "$CACHE/.lock"
flock 9
# fetch PKG VERSION: prints the path of the cached .deb
fetch() {
    for d in "$CACHE/$1"_*.deb; do
        [ -f "$d" ] && [ "$(dpkg-deb -f "$d" Version)" = "$2" ] && { echo "$d"; return 0; }
    done
    log "apt-get download $1=$2"
    (cd "$CACHE" && apt-get download -o APT::Sandbox::User=root -q "$1=$2" >&2) || return 1
    for d in "$CACHE/$1"_*.deb; do
        [ -f "$d" ] && [ "$(dpkg-deb -f "$d" Version)" = "$2" ] && { echo "$d"; return 0; }
    done
    return 1
}
# unpack DEB DIR
unpack() {
    [ -f "$2/.unpacked" ] && return 0
    log "dpkg-deb -x $(basename "$1")"
    rm -rf "$2" "$2.tmp"
    dpkg-deb -x "$1" "$2.tmp"
    touch "$2.tmp/.unpacked"
    mv "$2.tmp" "$2"
}
kdeb=$(fetch "$kpkg" "$kver") || { echo "$0: could not download $kpkg=$kver" >&2; exit 1; }
bdeb=$(fetch busybox-static "$bver") || { echo "$0: could not download busybox-static=$bver" >&2; exit 1; }
KDIR=$CACHE/$kpkg-$kver
BDIR=$CACHE/busybox-static-$(echo "$bver" | tr ':' '_')
unpack "$kdeb" "$KDIR"
unpack "$bdeb" "$BDIR"

# drop what older package versions left in the cache
for d in "$CACHE"/linux-image-*; do
    case $d in "$KDIR"|"$kdeb") ;; *) [ -e "$d" ] && { log "pruning $(basename "$d")"; rm -rf "$d"; } ;; esac
done
for d in "$CACHE"/busybox-static*; do
    case $d in "$BDIR"|"$bdeb") ;; *) [ -e "$d" ] && { log "pruning $(basename "$d")"; rm -rf "$d"; } ;; esac
done

set -- "$KDIR"/boot/vmlinuz-*
[ -f "$1" ] || { echo "$0: no vmlinuz in $kdeb" >&2; exit 1; }
VMLINUZ=$1
UNAME=${VMLINUZ##*/vmlinuz-}
MODDIR=$KDIR/lib/modules/$UNAME
[ -d "$MODDIR/kernel" ] || { echo "$0: no modules for $UNAME in $kdeb" >&2; exit 1; }
BUSYBOX=$BDIR/bin/busybox
[ -x "$BUSYBOX" ] || { echo "$0: no bin/busybox in $bdeb" >&2; exit 1; }

# ---- staging tree -----------------------------------------------------------------
ST=$OUT/.staging
rm -rf "$ST"
mkdir -p "$ST"
cd "$ST"
mkdir -p bin sbin usr/bin usr/sbin dev proc sys tmp run root etc/nethv.d "lib/modules/$UNAME"
cp "$BUSYBOX" bin/busybox
set -f      # applet names include "[" and "[["
for a in $(bin/busybox --list-full); do
    [ -e "$a" ] || [ -L "$a" ] || ln -s /bin/busybox "$a"
done
set +f
[ -L bin/sh ] || ln -s /bin/busybox bin/sh

# Modules: names use '_' (file names may use '-'); "depends=" comes from each
# module's .modinfo; modules built into the kernel are skipped.
find "$MODDIR/kernel" -name '*.ko' | sed "s|^$MODDIR/||" |
    awk '{ n = $0; sub(/.*\//, "", n); sub(/\.ko$/, "", n); gsub(/-/, "_", n); print n, $0 }' > "$OUT/.modindex"
builtin() { tr - _ < "$MODDIR/modules.builtin" | grep -q "/$1\.ko$"; }
: > etc/nethv-modules
todo=$(echo $BOOT_MODS $extra_mods | tr - _)
done_mods=" "
while :; do
    set -- $todo
    [ $# -gt 0 ] || break
    m=$1; shift; todo=$*
    case $done_mods in *" $m "*) continue ;; esac
    done_mods="$done_mods$m "
    path=$(awk -v n="$m" '$1 == n { print $2; exit }' "$OUT/.modindex")
    if [ -z "$path" ]; then
        builtin "$m" && continue
        echo "$0: module $m not in $kpkg" >&2; exit 1
    fi
    deps=$(tr '\0' '\n' < "$MODDIR/$path" | sed -n 's/^depends=//p' | head -1 | tr - _)
    echo "$m $path ${deps:--}" >> etc/nethv-modules
    mkdir -p "lib/modules/$UNAME/${path%/*}"
    cp "$MODDIR/$path" "lib/modules/$UNAME/$path"
    todo="$todo $(echo "$deps" | tr , ' ')"
done
rm -f "$OUT/.modindex"
echo $BOOT_MODS > etc/nethv-boot-modules

cat > etc/nethv-lib.sh <<'EOF'
# Helpers for /init and the hooks in /etc/nethv.d (sourced).
# loadmod NAME [PARAMS...]: insmod NAME after its dependencies (once).
loadmod() {
    local n p d dep
    n=$(echo "$1" | tr - _)
    shift
    grep -q "^$n " /proc/modules && return 0
    p=$(awk -v n="$n" '$1 == n { print $2 }' /etc/nethv-modules)
    d=$(awk -v n="$n" '$1 == n { print $3 }' /etc/nethv-modules)
    [ -n "$p" ] || { echo "nethv-guest: no module $n"; return 1; }
    for dep in $(echo "$d" | tr , ' '); do
        [ "$dep" = - ] || loadmod "$dep" || return 1
    done
    insmod "/lib/modules/$(uname -r)/$p" "$@"
}
# eth0_counters: the line tests/boot/qemu-net.sh checks against the kernel's
# port counters
eth0_stat() { cat "/sys/class/net/eth0/statistics/$1" 2>/dev/null || echo '?'; }
eth0_counters() {
    echo "nethv-guest: eth0 rx_packets $(eth0_stat rx_packets) tx_packets $(eth0_stat tx_packets)"
}
# loadkvm: load Linux KVM for this CPU's virtualization extension (images
# built with --module kvm_amd --module kvm_intel); 0 once /dev/kvm exists,
# else 1 after an "error:" line.
loadkvm() {
    if grep -qw svm /proc/cpuinfo; then
        loadmod kvm_amd || echo "nethv-guest: error: insmod kvm_amd failed"
    elif grep -qw vmx /proc/cpuinfo; then
        loadmod kvm_intel || echo "nethv-guest: error: insmod kvm_intel failed"
    else
        echo "nethv-guest: error: the CPU has neither VMX nor SVM"
    fi
    [ -c /dev/kvm ] || { echo "nethv-guest: error: no /dev/kvm"; return 1; }
}
EOF

mkdir -p etc/udhcpc
cat > etc/udhcpc/default.script <<'EOF'
#!/bin/sh
# udhcpc hook: configure the interface from the lease (udhcpc -i eth0)
case $1 in
deconfig)
    ip addr flush dev "$interface"
    ip link set "$interface" up ;;
bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -z "$router" ] || ip route replace default via "${router%% *}" dev "$interface"
    [ -z "$dns" ] || for d in $dns; do echo "nameserver $d"; done > /etc/resolv.conf ;;
esac
exit 0
EOF
chmod 755 etc/udhcpc/default.script

# The network hook: does nothing unless the kernel command line asks.
cat > etc/nethv.d/10-net.sh <<'EOF'
# Network set-up and checks from the kernel command line (sourced by /init):
#   nethv.ip=ADDR/LEN   address on eth0, link up
#   nethv.dhcp          udhcpc on eth0 instead
#   nethv.ping=PEER[,PEER...]  for each PEER: wait up to nethv.pingwait=S
#                       seconds (default 20) for it to answer, then ping it
#                       5 times and report
#   nethv.wait=N        stay up N more seconds (the peer may still ping us)
#   nethv.bigping=N     after the pings: 3 pings of N bytes to the first peer
#   nethv.mtu=N         try to set eth0's MTU to N (the virtio device's `mtu`
#                       is Linux's maximum): "set" or "refused"
#   nethv.mac=MAC       then try to change eth0's MAC (CTRL_MAC_ADDR, the
#                       port's `mac-change` policy): "set" or "refused"
#   With the tools of --iperf3 in the image:
#   nethv.ethtool       print eth0's offloads (`ethtool -k`), turn rx-gro-hw
#                       off (CTRL_GUEST_OFFLOADS) and print them again
#   nethv.sniff=S       run tcpdump on eth0 (promiscuous) for S seconds from
#                       before the pings on; then print how many ICMP echo
#                       packets it saw between two other hosts, the
#                       gratuitous ARPs it saw (who-has X tell X) and from
#                       whom, and whether Linux was refused promiscuous mode
#                       (the port's `promisc` policy: dmesg's "Failed to
#                       enable promisc")
#   nethv.restartnet    all of this only in a restarted VM (nethv.boot= on
#                       the command line): the first boot has no network
# Ends with eth0's packet counters.  Every line starts "nethv-guest: ".
net_ip= net_dhcp= net_ping= net_wait=0 net_pingwait=20 net_mtu= net_bigping= net_mac= net_ethtool= net_sniff=
for w in $(cat /proc/cmdline); do
    case $w in
    nethv.ip=*) net_ip=${w#nethv.ip=} ;;
    nethv.dhcp) net_dhcp=1 ;;
    nethv.ping=*) net_ping=${w#nethv.ping=} ;;
    nethv.wait=*) net_wait=${w#nethv.wait=} ;;
    nethv.pingwait=*) net_pingwait=${w#nethv.pingwait=} ;;
    nethv.mtu=*) net_mtu=${w#nethv.mtu=} ;;
    nethv.bigping=*) net_bigping=${w#nethv.bigping=} ;;
    nethv.mac=*) net_mac=${w#nethv.mac=} ;;
    nethv.ethtool) net_ethtool=1 ;;
    nethv.sniff=*) net_sniff=${w#nethv.sniff=} ;;
    nethv.restartnet) net_restartnet=1 ;;
    esac
done
[ -z "${net_restartnet:-}" ] || grep -q 'nethv\.boot=' /proc/cmdline || net_ip= net_dhcp=
net_up() {
    i=0
    while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 10 ]; do sleep 1; i=$((i + 1)); done
    [ -e /sys/class/net/eth0 ] || { echo "nethv-guest: no eth0 (is there a virtio-net device?)"; return 1; }
    if [ -n "$net_dhcp" ]; then
        ip link set eth0 up
        udhcpc -i eth0 -n -q -t 5 -T 2 -s /etc/udhcpc/default.script >/dev/null 2>&1 ||
            { echo "nethv-guest: dhcp on eth0: no lease"; return 1; }
    else
        ip addr add "$net_ip" dev eth0 && ip link set eth0 up ||
            { echo "nethv-guest: eth0: cannot set $net_ip"; return 1; }
    fi
    echo "nethv-guest: eth0 up, $(ip -o -4 addr show dev eth0 | awk '{ print $4 }'), mac $(cat /sys/class/net/eth0/address), mtu $(cat /sys/class/net/eth0/mtu)"
    if [ -n "$net_mtu" ]; then
        if ip link set eth0 mtu "$net_mtu" 2>/dev/null; then
            echo "nethv-guest: eth0 mtu $net_mtu: set"
        else
            echo "nethv-guest: eth0 mtu $net_mtu: refused"
        fi
    fi
    if [ -n "$net_mac" ]; then
        if ip link set dev eth0 address "$net_mac" 2>/dev/null; then
            echo "nethv-guest: eth0 address $net_mac: set, now $(cat /sys/class/net/eth0/address)"
        else
            echo "nethv-guest: eth0 address $net_mac: refused, still $(cat /sys/class/net/eth0/address)"
        fi
    fi
    if [ -n "$net_ethtool" ]; then
        net_offloads
        if ethtool -K eth0 rx-gro-hw off 2>/dev/null; then
            echo "nethv-guest: ethtool -K eth0 rx-gro-hw off: done"
        else
            echo "nethv-guest: ethtool -K eth0 rx-gro-hw off: refused"
        fi
        net_offloads
    fi
}
net_offloads() {   # one line: the offloads the tests look at
    echo "nethv-guest: ethtool -k eth0:$(ethtool -k eth0 2>&1 |
        grep -E '^(rx-checksumming|tx-checksumming|scatter-gather|tcp-segmentation-offload|rx-gro-hw):' |
        sed 's/ \[fixed\]//' | tr -s '\n\t' '  ' | sed 's/ *$//')"
}
net_sniff_start() {
    me=$(ip -o -4 addr show dev eth0 | awk '{ print $4 }'); me=${me%/*}
    timeout "$net_sniff" tcpdump -n -l -i eth0 icmp or arp > /tmp/sniff 2>/tmp/sniff.err &
    sniff_pid=$!
    sleep 2     # Linux asks for promiscuous mode (a workqueue): its warning, if any, before our lines
}
net_sniff_end() {
    wait $sniff_pid
    others=$(grep 'ICMP echo' /tmp/sniff | grep -vc " $me[ >:]\|> $me:")
    if dmesg | grep -q 'Failed to enable promisc'; then pm=refused; else pm=granted; fi
    garp=$(awk '$2 == "ARP," && $4 == "who-has" && $5 "," == $7 { n++; from[$5] = 1 }
                END { s = ""; for (a in from) s = s " " a; print n + 0 " gratuitous ARPs (from" s ")" }' /tmp/sniff)
    echo "nethv-guest: sniffed $(grep -c 'ICMP echo' /tmp/sniff) echo packets, $others between other hosts; $garp; promiscuous mode $pm"
}
net_ping1() {
    t0=$(date +%s)
    until ping -c 1 -W 1 "$1" >/dev/null 2>&1; do
        if [ $(( $(date +%s) - t0 )) -ge "$net_pingwait" ]; then
            echo "nethv-guest: ping $1: FAILED: no answer within $net_pingwait s"
            return 1
        fi
    done
    out=$(ping -c 5 -W 2 "$1" 2>&1)
    got=$(echo "$out" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
    avg=$(echo "$out" | sed -n 's|.*min/avg/max = [0-9.]*/\([0-9.]*\)/.*|\1|p')
    if [ "$got" = 5 ]; then
        echo "nethv-guest: ping $1: 5/5 received, avg $avg ms"
    else
        echo "nethv-guest: ping $1: FAILED: ${got:-0}/5 received"
    fi
}
net_ping() {   # nethv.ping=A[,B...]: each peer in turn
    for peer in $(echo "$net_ping" | tr ',' ' '); do
        net_ping1 "$peer"
    done
}
if [ -n "$net_ip$net_dhcp" ] && net_up; then
    [ -z "$net_sniff" ] || net_sniff_start
    [ -z "$net_ping" ] || net_ping
    if [ -n "$net_bigping" ] && [ -n "$net_ping" ]; then
        peer=${net_ping%%,*}
        got=$(ping -c 3 -W 2 -s "$net_bigping" "$peer" 2>&1 | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
        echo "nethv-guest: ping $peer of $net_bigping bytes: ${got:-0}/3 received"
    fi
    if [ "$net_wait" -gt 0 ] 2>/dev/null; then
        echo "nethv-guest: staying up $net_wait s"
        sleep "$net_wait"
    fi
    [ -z "$net_sniff" ] || net_sniff_end
    eth0_counters
fi
EOF

cat > init <<'EOF'
#!/bin/sh
# nethv guest /init (generated by guest/build-linux-image.sh)
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t devtmpfs devtmpfs /dev
exec 0</dev/console 1>/dev/console 2>&1
mount -t proc proc /proc
# From here the kernel's own console lines are warnings and worse only: an
# info line printed while /init writes one of its own lands in the middle
# of it ("nethv-guest: nproc 1[    7.080554] clocksource: Long readout
# interval ...": a qemu-linux/1vcpu failure in the 2026-12-07 soak).
echo 5 > /proc/sys/kernel/printk
mount -t sysfs sysfs /sys
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
. /etc/nethv-lib.sh
echo "nethv-guest: init"
echo "nethv-guest: kernel $(uname -r), cmdline: $(cat /proc/cmdline)"
echo "nethv-guest: nproc $(nproc)"
echo "nethv-guest: $(grep '^MemTotal:' /proc/meminfo | tr -s ' ')"
dmesg | grep -i 'e820: \[mem' | sed 's/^\[[ 0-9.]*\] */nethv-guest: /'
if ! grep -qw nethv.nomodules /proc/cmdline; then
    for m in $(cat /etc/nethv-boot-modules); do
        loadmod "$m" || echo "nethv-guest: insmod $m failed"
    done
fi
hostname nethv-guest
ip link set lo up 2>/dev/null
for h in /etc/nethv.d/*.sh; do
    [ -f "$h" ] || continue
    echo "nethv-guest: hook $h"
    ( . "$h" )
done
# ---- nethv.reboot: reboot once (the VM-restart test) --------------------------
# nethv adds nethv.boot=N to the command line of a restarted VM: the first
# boot has none and reboots, the next ones go on.
if grep -qw nethv.reboot /proc/cmdline && ! grep -q 'nethv\.boot=' /proc/cmdline; then
    echo "nethv-guest: reboot"
    sync
    reboot -f
fi
# ---- end of nethv.reboot -------------------------------------------------------
if grep -qw nethv.poweroff /proc/cmdline; then
    echo "nethv-guest: poweroff"
    sync
    sleep 1
    poweroff -f
fi
echo "nethv-guest: shell"
exec setsid cttyhack sh
EOF
chmod 755 init

for f in $extra_files; do
    src=${f%%:*}; dst=${f#*:}
    mkdir -p "$ST$(dirname "$dst")"
    cp "$src" "$ST$dst"
done

# ---- --iperf3: the binaries, their libraries, and the hook ----------------------
# /usr/lib/nettools/ holds each tool, every library ldd names and the dynamic
# loader; /usr/bin/NAME runs it through that loader (no ld.so.cache or
# library paths needed in the image).
if [ $want_iperf3 = 1 ]; then
    mkdir -p usr/lib/nettools
    # tcpdump drops to user tcpdump once its socket is open
    grep -q '^root:' etc/passwd 2>/dev/null || echo 'root:x:0:0:root:/:/bin/sh' >> etc/passwd
    echo 'tcpdump:x:104:110::/nonexistent:/bin/false' >> etc/passwd
    grep -q '^root:' etc/group 2>/dev/null || echo 'root:x:0:' >> etc/group
    echo 'tcpdump:x:110:' >> etc/group
    for t in $NET_TOOLS; do
        bin=$(tool_path $t)
        cp -L "$bin" usr/lib/nettools/$t
        for lib in $(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
            cp -L "$lib" "usr/lib/nettools/${lib##*/}"
        done
        ldso=$(ldd "$bin" | awk '$1 ~ /^\/.*ld-linux/ { print $1 }')
        [ -n "$ldso" ] || { echo "$0: no dynamic loader for $bin" >&2; exit 1; }
        rm -f usr/bin/$t usr/sbin/$t
        printf '#!/bin/sh\nexec /usr/lib/nettools/%s --library-path /usr/lib/nettools /usr/lib/nettools/%s "$@"\n' \
            "${ldso##*/}" $t > usr/bin/$t
        chmod 755 usr/bin/$t
    done
    cat > etc/nethv.d/20-iperf3.sh <<'EOF'
# iperf3 from the kernel command line (sourced by /init, after 10-net.sh):
#   nethv.iperf3=server  run `iperf3 -s -1` twice in a row (the client's two
#                        tests), each waiting up to nethv.iperf3wait=S seconds
#                        (default 300) for its client
#   nethv.iperf3=IP      a 5 s TCP test to IP's server (`iperf3 -c IP -t 5`,
#                        this side sends), then one the other way (-R); each
#                        retries until the server answers, for up to
#                        nethv.iperf3wait seconds; a run that has not ended
#                        after 120 s is killed (FAILED)
#   nethv.iperf3mark     (with IP) before the first test and after the last,
#                        print "nethv-guest: iperf3 mark start|end: waiting
#                        for a line" and wait up to 120 s for a line on the
#                        console: tests/boot/qemu-net.sh first sends the
#                        hypervisor's Ctrl-T s (a counter snapshot), then the
#                        line, so two snapshots bracket the traffic
# Lines: "nethv-guest: iperf3 to|from IP: S Mbits/sec sender, R Mbits/sec
# receiver" or "nethv-guest: iperf3 ...: FAILED: why"; after the tests, both
# sides print their eth0 counters again ("nethv-guest: eth0 rx_packets ...").
ip3= ip3wait=300 ip3mark=0
for w in $(cat /proc/cmdline); do
    case $w in
    nethv.iperf3=*) ip3=${w#nethv.iperf3=} ;;
    nethv.iperf3wait=*) ip3wait=${w#nethv.iperf3wait=} ;;
    nethv.iperf3mark) ip3mark=1 ;;
    esac
done
ip3_mark() {
    [ "$ip3mark" = 1 ] || return 0
    echo "nethv-guest: iperf3 mark $1: waiting for a line"
    if read -t 120 ip3_line; then
        echo "nethv-guest: iperf3 mark $1: go"
    else
        echo "nethv-guest: iperf3 mark $1: no line in 120 s, going on"
    fi
}
ip3_rate() { awk -v w="$1" '$NF == w { for (i = 2; i <= NF; i++) if ($i == "Mbits/sec") print $(i - 1) }' | tail -1; }
ip3_client() {   # ip3_client to|from IP [-R]
    t0=$(date +%s)
    while :; do
        out=$(timeout 120 iperf3 -c "$2" -t 5 -f m $3 2>&1) && break
        [ $? -ne 143 ] || { echo "nethv-guest: iperf3 $1 $2: FAILED: still running after 120 s"; return 1; }
        if [ $(( $(date +%s) - t0 )) -ge "$ip3wait" ]; then
            echo "nethv-guest: iperf3 $1 $2: FAILED: $(echo "$out" | tail -1)"
            return 1
        fi
        sleep 1
    done
    s=$(echo "$out" | ip3_rate sender); r=$(echo "$out" | ip3_rate receiver)
    echo "nethv-guest: iperf3 $1 $2: ${s:-?} Mbits/sec sender, ${r:-?} Mbits/sec receiver"
}
case $ip3 in
"") ;;
server)
    for n in 1 2; do
        if out=$(timeout "$ip3wait" iperf3 -s -1 -f m 2>&1); then
            s=$(echo "$out" | ip3_rate sender); r=$(echo "$out" | ip3_rate receiver)
            echo "nethv-guest: iperf3 server: test $n done:${s:+ $s Mbits/sec sent}${r:+ $r Mbits/sec received}"
        else
            echo "nethv-guest: iperf3 server: test $n: FAILED: $(echo "$out" | tail -1)"
        fi
    done ;;
*)
    ip3_mark start
    ip3_client to "$ip3"
    ip3_client from "$ip3" -R
    ip3_mark end ;;
esac
[ -z "$ip3" ] ||
    eth0_counters
EOF
fi
# ---- end of --iperf3 ----------------------------------------------------------

# ---- outputs ------------------------------------------------------------------------
find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -9n > "$OUT/initrd.img.tmp"
mv "$OUT/initrd.img.tmp" "$OUT/initrd.img"
cp "$VMLINUZ" "$OUT/vmlinuz.tmp"
mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
rm -f "$OUT/vmlinux"
if [ $want_vmlinux = 1 ]; then
    # the bzImage's payload (setup header: setup_sects at 0x1f1, payload_offset
    # and payload_length at 0x248) is an XZ stream holding vmlinux
    hdr() { od -An -tu"$2" -j "$1" -N "$2" "$VMLINUZ" | tr -d ' '; }
    sects=$(hdr $((0x1f1)) 1); [ "$sects" -ne 0 ] || sects=4
    poff=$(hdr $((0x248)) 4); plen=$(hdr $((0x24c)) 4)
    tail -c +$(( (sects + 1) * 512 + poff + 1 )) "$VMLINUZ" | head -c "$plen" |
        xz -dc --single-stream > "$OUT/vmlinux.tmp" ||
        { echo "$0: cannot extract vmlinux (is the bzImage XZ-compressed?)" >&2; exit 1; }
    mv "$OUT/vmlinux.tmp" "$OUT/vmlinux"
fi
cd "$OUT"
rm -rf "$ST"
echo "$stamp" > .stamp
log "$OUT: vmlinuz ($kpkg $kver), initrd.img $(du -k initrd.img | cut -f1) KiB"
