#!/usr/bin/env bash
# Makes sure Debian's SeaBIOS (package seabios) is installed: its QEMU build
# /usr/share/seabios/bios.bin (128 KiB) is what test/seabios.test.ts boots
# with `moat run --firmware`. Idempotent: nothing happens when the file is
# there. Installs the package as root with apt-get; never fails the setup:
# without root, apt or a network it says why and exits 0, and the test then
# skips (and fails under CI=true).
set -uo pipefail

bios=/usr/share/seabios/bios.bin
log() { echo "guests/seabios: $*" >&2; }

[ -f "$bios" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  log "$bios missing; install it with: sudo apt-get install seabios (test/seabios.test.ts skips until then)"
  exit 0
fi
log "installing seabios from Debian"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends seabios >/dev/null 2>&1; then
  apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends seabios >/dev/null 2>&1
fi
[ -f "$bios" ] || log "could not install seabios (offline?): test/seabios.test.ts skips until $bios exists"
exit 0
