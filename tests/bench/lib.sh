# Sourced by the benchmarks (boot-time.sh, guest-net.sh): BENCH names the
# caller in messages.
#
# problem TEXT: note a side that could not run (listed at the end, exit 1)
problems=""
problem() { problems="$problems
  - $*"; echo "$BENCH: $*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# put FILE TEXT: FILE holds TEXT and a newline; left untouched (timestamp
# and all) when it already does, so the image builds that take it stay cached
put() {
    printf '%s\n' "$2" > "$1.new"
    if cmp -s "$1.new" "$1"; then rm -f "$1.new"; else mv "$1.new" "$1"; fi
}

# The peer of boot-time.sh and guest-net.sh is Linux KVM + Debian's QEMU as
# the L1 hypervisor inside the emulator.
# build_l1_image OUTDIR LOG [guest/build-linux-image.sh options...]: the L1
# image in OUTDIR -- Debian's kernel with kvm_amd and kvm_intel, Debian's
# QEMU (the host's qemu-system-x86_64, every library ldd lists with the
# dynamic loader, and the firmware -kernel needs, from QEMU's own `-L help`
# search path) and what the options add (the hook, the L2 guest's files).
# guest/build-linux-image.sh caches it (its stamp covers every input); its
# output goes to LOG.  Returns 1 after problem() if anything is missing.
build_l1_image() {
    l1_out=$1 l1_log=$2
    shift 2
    l1_qemu=$(command -v qemu-system-x86_64) || { problem "peer: no qemu-system-x86_64"; return 1; }
    set -- "$@" --module kvm_amd --module kvm_intel --file "$l1_qemu:/usr/bin/qemu-system-x86_64"
    l1_libs=$(ldd "$l1_qemu" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
    [ -n "$l1_libs" ] || { problem "peer: ldd $l1_qemu lists no libraries"; return 1; }
    for l in $l1_libs; do
        set -- "$@" --file "$l:$l"
    done
    for f in bios-256k.bin linuxboot_dma.bin kvmvapic.bin; do
        src=""
        for d in $("$l1_qemu" -L help); do
            [ -f "$d/$f" ] && { src=$d/$f; break; }
        done
        [ -n "$src" ] || { problem "peer: QEMU firmware $f not found"; return 1; }
        set -- "$@" --file "$src:/usr/share/qemu/$f"
    done
    echo "peer: the L1 image $l1_out: Debian's kernel with KVM, Debian's QEMU and $(echo "$l1_libs" | wc -l) libraries (built once, cached)"
    guest/build-linux-image.sh "$@" "$l1_out" > "$l1_log" 2>&1 ||
        { problem "peer: guest/build-linux-image.sh $l1_out failed (log: $l1_log)"; return 1; }
    echo "peer: L1 initramfs $(du -k "$l1_out/initrd.img" | cut -f1) KiB"
}
