#!/bin/sh
# scripts/qemu-backports.sh DIR: unpack QEMU 10 from Debian's
# bookworm-backports suite into DIR (without replacing the system's QEMU 7.2)
# and print the path of its qemu-system-x86_64, for `make soak QEMU=...`.
# Adds the suite to apt's sources with a pin that lets only the QEMU
# packages come from it (priority 100: never chosen by a plain upgrade).
set -eu
dir=${1:-build/qemu-backports}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
src=/etc/apt/sources.list.d/nethv-bookworm-backports.list
pin=/etc/apt/preferences.d/nethv-bookworm-backports
if [ ! -f "$src" ]; then
    echo "deb http://deb.debian.org/debian bookworm-backports main" | $SUDO tee "$src" >/dev/null
    printf 'Package: *\nPin: release n=bookworm-backports\nPin-Priority: -1\n\nPackage: qemu-system-x86 qemu-system-common qemu-system-data qemu-system-gui\nPin: release n=bookworm-backports\nPin-Priority: 100\n' |
        $SUDO tee "$pin" >/dev/null
    $SUDO apt-get update -qq
fi
bin=$dir/usr/bin/qemu-system-x86_64
if [ ! -x "$bin" ]; then
    (cd "$dir" && apt-get download -qq qemu-system-x86/bookworm-backports qemu-system-data/bookworm-backports >/dev/null)
    for d in "$dir"/*.deb; do dpkg-deb -x "$d" "$dir"; done
fi
# its firmware (SeaBIOS, option ROMs) from the unpacked qemu-system-data
wrapper=$dir/qemu-system-x86_64
printf '#!/bin/sh\nexec "%s" -L "%s/usr/share/qemu" "$@"\n' "$bin" "$dir" > "$wrapper"
chmod +x "$wrapper"
"$wrapper" --version | head -1 >&2
echo "$wrapper"
