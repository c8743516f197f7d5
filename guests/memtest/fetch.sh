#!/usr/bin/env bash
# Puts Debian's memtest86+ 6 (package memtest86+, bookworm: 6.10) where the
# tests look for it:
#   ${MOAT_CACHE:-$HOME/.cache/moat}/memtest/memtest86+ia32.bin
# the 32-bit image, a Linux boot-protocol bzImage (protocol 2.10+) with a
# 32-bit entry at code32_start, booted as `moat run --kernel <it>`.
#
# Idempotent: an image already in the cache is kept. The image comes from
# /boot (the package installed), else from installing the package (as root,
# with apt-get), else from `apt-get download` unpacked with dpkg-deb (no
# root needed). Never fails the setup: offline or without apt it says why
# and exits 0; test/memtest.test.ts then skips (and fails under CI=true).
set -uo pipefail

cache="${MOAT_CACHE:-$HOME/.cache/moat}/memtest"
image="$cache/memtest86+ia32.bin"
installed=/boot/memtest86+ia32.bin

log() { echo "guests/memtest: $*" >&2; }

from_boot() {
  [ -f "$installed" ] || return 1
  mkdir -p "$cache" && cp "$installed" "$image.tmp" && mv "$image.tmp" "$image"
}

install_package() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
  log "installing memtest86+ from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends memtest86+ >/dev/null 2>&1 ||
    { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends memtest86+ >/dev/null 2>&1; }
}

# Without root: the .deb into the cache, unpacked there.
download_package() {
  command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 || return 1
  local tmp
  tmp="$(mktemp -d)" || return 1
  (cd "$tmp" && apt-get download -qq memtest86+ >/dev/null 2>&1) &&
    dpkg-deb -x "$tmp"/memtest86+_*.deb "$tmp/root" &&
    [ -f "$tmp/root/boot/memtest86+ia32.bin" ] &&
    mkdir -p "$cache" && cp "$tmp/root/boot/memtest86+ia32.bin" "$image"
  local ok=$?
  rm -rf "$tmp"
  return $ok
}

if [ -f "$image" ]; then
  echo "$image"
  exit 0
fi
if from_boot || { install_package && from_boot; } || download_package; then
  log "memtest86+ ia32 image in $image"
  echo "$image"
else
  log "skipped: could not get Debian's memtest86+ (offline, or no apt-get); test/memtest.test.ts will skip"
fi
exit 0
