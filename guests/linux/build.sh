#!/usr/bin/env bash
# Builds moat's Linux test guest: a small i386 kernel (guests/linux/config)
# from Debian's linux-source-6.1 and an initramfs whose /init is our own
# program (guests/linux/init/). Everything it makes lives outside git, in
#   ${MOAT_CACHE:-$HOME/.cache/moat}/linux/
#     bzImage              the kernel (Linux boot protocol, Documentation/x86/boot.rst)
#     initramfs.cpio.gz    newc cpio, gzip: /init, /dev/console, /proc
#     src/ build/ init/    unpacked source, kernel objects (O=), init objects
# and it prints the two output paths last, one per line.
#
# Idempotent: when the hash of its inputs (this script, config,
# initramfs.list, init/*, the source tarball's size and date, the gcc
# version) matches the last successful build, it only prints the paths.
# On Debian as root it installs missing build tools from Debian's packages;
# elsewhere it names what to install. The first build takes about 3.5 minutes
# on 2 cores (make -j2); a rebuild after an init change, about 30 s.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${MOAT_CACHE:-$HOME/.cache/moat}/linux"
tarball=/usr/src/linux-source-6.1.tar.xz
src_root="$cache/src"
src="$src_root/linux-source-6.1"
obj="$cache/build"
init_obj="$cache/init"
bzimage="$cache/bzImage"
initramfs="$cache/initramfs.cpio.gz"
stamp="$cache/inputs.sha256"
jobs=2

log() { echo "guests/linux: $*" >&2; }

# command:package pairs the build needs; libc6-dev is for the kernel's host
# programs (kconfig, fixdep, gen_init_cpio). No libelf-dev: objtool, its
# only user here, is x86-64 only (arch/x86/Kconfig: HAVE_OBJTOOL if X86_64).
needs=(gcc:gcc ld:binutils make:make bc:bc bison:bison flex:flex perl:perl
  xz:xz-utils gzip:gzip tar:tar)

missing_packages() {
  local pair
  for pair in "${needs[@]}"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || echo "${pair#*:}"
  done
  [ -f /usr/include/stdio.h ] || echo libc6-dev
  [ -f "$tarball" ] || echo linux-source-6.1
}

ensure_packages() {
  local missing
  mapfile -t missing < <(missing_packages)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing from Debian: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    log "missing ${missing[*]}; install with: sudo apt-get install ${missing[*]}"
    exit 1
  fi
}

tarball_id() {
  if [ -f "$tarball" ]; then stat -c '%s %Y' "$tarball"; else echo missing; fi
}

inputs_hash() {
  {
    (cd "$here" && sha256sum build.sh config initramfs.list init/*)
    echo "tarball $(tarball_id)"
    gcc --version 2>/dev/null | head -n 1 || echo "no gcc"
  } | sha256sum | cut -d' ' -f1
}

print_outputs() {
  echo "$bzimage"
  echo "$initramfs"
}

# Unpacks the kernel source once per tarball version; a new tarball also
# drops the old objects.
unpack_source() {
  local id
  id="$(tarball_id)"
  if [ -f "$src/Makefile" ] && [ "$(cat "$src_root/.tarball-id" 2>/dev/null)" = "$id" ]; then
    return 0
  fi
  log "unpacking $tarball"
  rm -rf "$src_root" "$obj"
  mkdir -p "$src_root"
  tar -xJf "$tarball" -C "$src_root"
  echo "$id" >"$src_root/.tarball-id"
}

# A fixed build identity, so that the "Linux version" line and the cpio
# timestamps depend on the source, not on when or where it was built.
epoch() { stat -c '%Y' "$tarball"; }

kmake() {
  KBUILD_BUILD_USER=moat KBUILD_BUILD_HOST=moat KBUILD_BUILD_VERSION=1 \
    KBUILD_BUILD_TIMESTAMP="$(date -u -d "@$(epoch)")" \
    make -s -C "$src" O="$obj" ARCH=i386 "$@"
}

# Expands the committed config; savedefconfig must give it back, or some line
# in it has no effect (unmet dependency, wrong name) and the build would
# silently differ from what the file says.
configure_kernel() {
  mkdir -p "$obj"
  cp "$here/config" "$obj/.config"
  kmake olddefconfig
  kmake savedefconfig
  if ! diff -u <(grep -E '^(CONFIG_|# CONFIG_[A-Za-z0-9_]+ is not set$)' "$here/config") "$obj/defconfig" >&2; then
    log "config: these lines do not survive olddefconfig (see diff above); fix guests/linux/config"
    exit 1
  fi
}

build_kernel() {
  log "building the kernel (make -j$jobs bzImage) in $obj"
  kmake -j"$jobs" bzImage
  cp "$obj/arch/x86/boot/bzImage" "$bzimage"
}

# Static ELF32 i386 without libc: 486 code (the kernel is CONFIG_M486SX) and
# no x87/MMX/SSE, so it runs with math emulation and on any IA-32 processor.
build_init() {
  local flags=(-m32 -march=i486 -ffreestanding -nostdlib -fno-pic -fno-pie
    -fno-stack-protector -fno-asynchronous-unwind-tables -mno-80387 -mno-mmx
    -mno-sse -O2 -Wall -Wextra -Werror -std=gnu11)
  mkdir -p "$init_obj"
  gcc "${flags[@]}" -c "$here/init/start.S" -o "$init_obj/start.o"
  gcc "${flags[@]}" -c "$here/init/init.c" -o "$init_obj/init.o"
  ld -m elf_i386 -static -nostdlib --no-dynamic-linker --build-id=none \
    -o "$init_obj/init" "$init_obj/start.o" "$init_obj/init.o"
  touch -d "@$(epoch)" "$init_obj/init"
}

# gen_init_cpio (built with the kernel) writes the device node without mknod,
# so no root is needed; -t fixes the mtime of directories and nodes.
build_initramfs() {
  sed "s|@INIT@|$init_obj/init|" "$here/initramfs.list" >"$init_obj/initramfs.list"
  "$obj/usr/gen_init_cpio" -t "$(epoch)" "$init_obj/initramfs.list" >"$init_obj/initramfs.cpio"
  gzip -9 -n -c "$init_obj/initramfs.cpio" >"$initramfs.tmp"
  mv "$initramfs.tmp" "$initramfs"
}

main() {
  mkdir -p "$cache"
  local hash
  hash="$(inputs_hash)"
  if [ -f "$bzimage" ] && [ -f "$initramfs" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$hash" ]; then
    log "up to date"
    print_outputs
    return 0
  fi
  ensure_packages
  hash="$(inputs_hash)"
  rm -f "$stamp"
  SECONDS=0
  unpack_source
  configure_kernel
  build_kernel
  build_init
  build_initramfs
  echo "$hash" >"$stamp"
  log "built in ${SECONDS}s: $(strings -a "$obj/vmlinux" | grep -m 1 '^Linux version' || true)"
  log "bzImage $(stat -c %s "$bzimage") bytes, initramfs $(stat -c %s "$initramfs") bytes"
  print_outputs
}

main "$@"
