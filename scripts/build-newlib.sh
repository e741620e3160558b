#!/bin/sh
# Build newlib (Debian's newlib-source) for the freestanding x86-64 kernel
# and the monitors at CPL 3 (Makefile MON_*), which link the same libc.a.
# Output: $OUT/include (headers) and $OUT/lib/libc.a, libm.a. Cached: the
# build is skipped when $OUT/.stamp matches the flags and the source tarball.
# Host gcc is used for every *_FOR_TARGET tool (no cross compiler needed).
set -eu
OUT=${1:?usage: build-newlib.sh OUTDIR}
SRC=/usr/src/newlib/newlib-3.3.0.tar.xz
# Kernel ABI: no red zone (interrupts land on the same stack), no stack
# protector. SSE is allowed: the kernel enables it early.  -fpie: the
# monitors are linked far above 2 GiB (0x7f8000200000, arch/user.h), where
# only RIP-relative code reaches; the kernel, linked low, does not mind.
# Retpolines and no jump tables, as the kernel (Makefile KSPEC, spec.c).
CFLAGS_T="-O2 -g -ffreestanding -mno-red-zone -fpie -fno-stack-protector -fno-asynchronous-unwind-tables -mindirect-branch=thunk-extern -mindirect-branch-register -fno-jump-tables -DMISSING_SYSCALL_NAMES"
STAMP="$(sha256sum "$SRC" | cut -c1-16) $CFLAGS_T"
if [ -f "$OUT/.stamp" ] && [ "$(cat "$OUT/.stamp")" = "$STAMP" ]; then
    exit 0
fi
[ -f "$SRC" ] || { echo "build-newlib: $SRC missing (apt-get install newlib-source)" >&2; exit 1; }
OUT=$(mkdir -p "$OUT" && cd "$OUT" && pwd)
WORK="$OUT/work"
rm -rf "$WORK" "$OUT/include" "$OUT/lib"
mkdir -p "$WORK"
tar -C "$WORK" -xf "$SRC"
mv "$WORK"/newlib-* "$WORK/src"
mkdir -p "$WORK/build"
cd "$WORK/build"
T=x86_64-elf
export CC_FOR_TARGET=gcc AR_FOR_TARGET=ar AS_FOR_TARGET=as LD_FOR_TARGET=ld \
       NM_FOR_TARGET=nm RANLIB_FOR_TARGET=ranlib OBJDUMP_FOR_TARGET=objdump \
       READELF_FOR_TARGET=readelf STRIP_FOR_TARGET=strip
export CFLAGS_FOR_TARGET="$CFLAGS_T"
../src/configure --target=$T --prefix="$WORK/inst" \
    --disable-multilib --disable-newlib-supplied-syscalls \
    --enable-newlib-nano-malloc --disable-newlib-io-float \
    --enable-newlib-reent-small --disable-nls >"$OUT/configure.log" 2>&1 \
  || { tail -30 "$OUT/configure.log" >&2; exit 1; }
make -j"$(nproc)" all-target-newlib >"$OUT/build.log" 2>&1 \
  || { tail -40 "$OUT/build.log" >&2; exit 1; }
make install-target-newlib >"$OUT/install.log" 2>&1 \
  || { tail -30 "$OUT/install.log" >&2; exit 1; }
mkdir -p "$OUT/lib"
cp -r "$WORK/inst/$T/include" "$OUT/include"
cp "$WORK/inst/$T/lib/libc.a" "$WORK/inst/$T/lib/libm.a" "$OUT/lib/"
rm -rf "$WORK"
echo "$STAMP" > "$OUT/.stamp"
