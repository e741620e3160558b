#!/bin/sh
# Install the Debian packages nethv's build, run and tests need (once).
set -eu
PKGS="build-essential make gcc binutils git python3 qemu-system-x86 ovmf gnu-efi
libfdt-dev device-tree-compiler bochs bochsbios vgabios bochs-sdl bochs-term
grub-pc-bin grub-efi-amd64-bin grub-common xorriso mtools dosfstools fdisk
newlib-source libcmocka-dev clang lld cpio busybox-static"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
