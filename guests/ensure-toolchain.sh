#!/usr/bin/env bash
# Makes sure the guest toolchain (gcc, as, ld, objcopy able to build -m32
# freestanding code) is present; on Debian as root it installs what is
# missing from Debian's packages, elsewhere it says what to install.
set -euo pipefail

missing=()
for tool in gcc as ld objcopy; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "guests: installing gcc and binutils (missing: ${missing[*]})"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc binutils >/dev/null
  else
    echo "guests: missing ${missing[*]}; install them with: sudo apt-get install gcc binutils" >&2
    exit 1
  fi
fi
if ! echo 'int x;' | gcc -m32 -ffreestanding -x c -c -o /dev/null - 2>/dev/null; then
  echo "guests: gcc cannot compile for -m32; install gcc-multilib (sudo apt-get install gcc-multilib)" >&2
  exit 1
fi
