#!/usr/bin/env bash
# Builds moat's test guests from source with the system's gcc, as and ld:
# freestanding ELF32 i386 images linked at 1 MiB (guests/lib/link.ld), into
# guests/build/ (git-ignored). Idempotent: every run rebuilds everything.
#   guests/build/hello.elf, hello.bin (flat, load at 0x100000)
#   guests/build/paging-ring3.elf
#   guests/build/exits.elf
#   guests/build/timer.elf
#   guests/build/echo.elf
#   guests/build/tasks.elf, double-fault.elf (hardware task switches, guests/tasks/)
#   guests/build/v86.elf
#   guests/build/debug.elf
#   guests/build/reset.bin (64 KiB firmware ROM)
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
link debug "$here/debug/debug.c" "$here/debug/probes.S"
link v86 "$here/v86/v86.c" "$here/v86/v86-code.S"

# rom <name> <source.S> <linker script>: a flat 64 KiB firmware ROM image (no runtime), gaps filled with FFh.
rom() {
  local name="$1" obj
  obj="$(compile "$2")"
  ld -m elf_i386 -static -nostdlib --no-dynamic-linker -T "$3" -o "$out/$name.elf" "$obj"
  objcopy -O binary --gap-fill 0xff "$out/$name.elf" "$out/$name.bin"
  echo "built guests/build/$name.bin"
}
rom reset "$here/reset/reset.S" "$here/reset/rom.ld"
link tasks "$here/tasks/tasks.c" "$here/tasks/task-lib.c" "$here/tasks/tasks-entry.S"
link double-fault "$here/double-fault/double-fault.c" "$here/tasks/task-lib.c" "$here/double-fault/df-entry.S"

# Debian's memtest86+ (not built here: fetched, and skipped with a message when offline).
bash "$here/memtest/fetch.sh" >/dev/null || true

# Debian's SeaBIOS for test/seabios.test.ts (installed when missing, skipped with a message when offline).
bash "$here/seabios/install.sh" || true
