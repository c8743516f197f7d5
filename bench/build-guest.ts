// Builds a C benchmark guest from bench/guests/ the way guests/build.sh
// builds our test guests: the system gcc and ld, -m32 freestanding, linked
// with guests/lib (start.S has the Multiboot header, so QEMU and v86 boot
// the same ELF) at 1 MiB. Returns the ELF's path in a fresh temporary folder.
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type MachineSpec, parseConfig } from "../hypervisor/root/config.js";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));

const CFLAGS = ["-m32", "-march=i686", "-ffreestanding", "-nostdlib", "-fno-pic", "-fno-pie", "-fno-stack-protector"];
const MORE = ["-O2", "-fno-asynchronous-unwind-tables", "-mno-mmx", "-mno-sse", "-mno-80387"];
const LIB = ["guests/lib/start.S", "guests/lib/uart.c", "guests/lib/print.c", "guests/lib/string.c"];

/** `name` is the guest's source in bench/guests/ without `.c`; `defines` are -D options for it. */
export function buildBenchGuest(name: string, defines: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), `moat-${name}-`));
  const objs = [`bench/guests/${name}.c`, ...LIB].map((src, i) => {
    const obj = join(dir, `${i}.o`);
    execFileSync("gcc", [...CFLAGS, ...MORE, ...defines, "-c", join(ROOT, src), "-o", obj]);
    return obj;
  });
  const elf = join(dir, `${name}.elf`);
  const ld = ["-m", "elf_i386", "-static", "-nostdlib", "-T", join(ROOT, "guests/lib/link.ld"), "-o", elf];
  execFileSync("ld", [...ld, ...objs]);
  return elf;
}

/** A machine of one VM running `image` with `memoryMb` of RAM and the defaults of a config file. */
export function oneVm(name: string, image: string, memoryMb: number): MachineSpec {
  return parseConfig(JSON.stringify({ vms: [{ name, image, memory: `${memoryMb}M` }] }), "bench");
}
