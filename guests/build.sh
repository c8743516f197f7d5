#!/usr/bin/env bash
# Builds moat's test guests from source with the system's gcc, as and ld:
# freestanding ELF32 i386 images linked at 1 MiB (guests/lib/link.ld), into
# guests/build/ (git-ignored). Idempotent: every run rebuilds everything.
#   guests/build/hello.elf, hello.bin (flat, load at 0x100000)
#   guests/build/paging-ring3.elf
#   guests/build/exits.elf
#   guests/build/timer.elf
#   guests/build/echo.elf
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/build"

"$here/ensure-toolchain.sh"

CFLAGS=(-m32 -march=i686 -ffreestanding -nostdlib -fno-pic -fno-pie -fno-stack-protector -O2
  -fno-asynchronous-unwind-tables -mno-mmx -mno-sse -mno-80387 -Wall -Wextra -std=gnu11)

mkdir -p "$out/obj"

# compile <source> -> prints the object path
compile() {
  local src="$1" obj
  obj="$out/obj/$(echo "${src#"$here"/}" | tr '/' '_').o"
  gcc "${CFLAGS[@]}" -c "$src" -o "$obj"
  echo "$obj"
}

lib_objs=()
for src in "$here"/lib/*.c "$here"/lib/*.S; do
  lib_objs+=("$(compile "$src")")
done

# link <name> <sources...>: ELF32 static executable at 1 MiB, with the whole runtime.
link() {
  local name="$1" objs=()
  shift
  for src in "$@"; do objs+=("$(compile "$src")"); done
  ld -m elf_i386 -static -nostdlib --no-dynamic-linker -T "$here/lib/link.ld" \
    -o "$out/$name.elf" "${objs[@]}" "${lib_objs[@]}"
  echo "built guests/build/$name.elf"
}

link hello "$here/hello/hello.c"
objcopy -O binary "$out/hello.elf" "$out/hello.bin"
echo "built guests/build/hello.bin"
link paging-ring3 "$here/paging-ring3/paging-ring3.c" "$here/paging-ring3/user.S"
link exits "$here/exits/exits.c" "$here/exits/exits-probe.S"
link timer "$here/timer/timer.c" "$here/timer/irq.S"
link echo "$here/echo/echo.c" "$here/echo/irq.S"
