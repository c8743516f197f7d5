// The Multiboot (version 0.6.96) boot information structure, so that the
// EAX = 0x2BADB002 the guest starts with is honest: EBX points to it, as the
// Multiboot Specification §3.2 "Machine state" says. We fill the fields of
// §3.3 "Boot information format" that a VM without firmware can: memory
// sizes (flags bit 0), command line (bit 2), modules (bit 3), a memory map
// (bit 6: the PC map of memory-map.ts, reserved ISA hole included, as GRUB
// passes on the BIOS's E820 map) and the boot loader name (bit 9). It lives
// in one page of conventional memory; the module list and its strings in the
// page below.
import type { GuestRam } from "../guest-ram.js";
import type { LoadedRange } from "./loaded-image.js";
import { LOWER_MEMORY_END, pcMemoryMap, UPPER_MEMORY_START } from "./memory-map.js";

export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
/** The page that holds the structure, the memory map, the name and the command line. */
export const MBI_ADDRESS = 0x9000;
const MBI_PAGE_END = 0xa000;
/** Room for the PC map's three entries (24 bytes each) before the loader name. */
const MMAP_ADDRESS = MBI_ADDRESS + 0x80;
const NAME_ADDRESS = MBI_ADDRESS + 0xe0;
const CMDLINE_ADDRESS = MBI_ADDRESS + 0x100;
export const MBI_CMDLINE_MAX = MBI_PAGE_END - CMDLINE_ADDRESS - 1;
/** The module structures (16 bytes each: mod_start, mod_end, string, reserved), then their strings. */
export const MODS_ADDRESS = 0x8000;
const MOD_ENTRY_SIZE = 16;

const FLAG_MEM = 1 << 0;
const FLAG_CMDLINE = 1 << 2;
const FLAG_MODS = 1 << 3;
const FLAG_MMAP = 1 << 6;
const FLAG_LOADER_NAME = 1 << 9;
const MMAP_ENTRY_SIZE = 24; // size field (4) + base (8) + length (8) + type (4)
const LOADER_NAME = "moat";

export type MultibootResult = { ok: true; ebx: number } | { ok: false; reason: string };

/** A module already in guest RAM: [start, end) and its string. */
export interface LoadedModule {
  start: number;
  end: number;
  cmdline: string;
}

/**
 * Writes the boot information; `ok: false` when it cannot (RAM too small, the
 * image occupies the page, command line too long): the guest then starts
 * with EAX = EBX = 0, i.e. without a multiboot claim.
 */
export function writeMultibootInfo(
  ram: GuestRam,
  image: readonly LoadedRange[],
  cmdline?: string,
  modules: readonly LoadedModule[] = [],
): MultibootResult {
  if (ram.size < MBI_PAGE_END) return { ok: false, reason: "RAM ends below the boot information page" };
  const low = modules.length > 0 ? MODS_ADDRESS : MBI_ADDRESS;
  if (image.some((r) => r.start < MBI_PAGE_END && r.start + r.length > low)) {
    return { ok: false, reason: "the image occupies the boot information page" };
  }
  const strings = modules.map((m) => new TextEncoder().encode(m.cmdline));
  const modsBytes = modules.length * MOD_ENTRY_SIZE + strings.reduce((n, b) => n + b.length + 1, 0);
  if (modsBytes > MBI_ADDRESS - MODS_ADDRESS) {
    return {
      ok: false,
      reason: `${modules.length} modules and their strings exceed ${MBI_ADDRESS - MODS_ADDRESS} bytes`,
    };
  }
  const cmd = new TextEncoder().encode(cmdline ?? "");
  if (cmd.length > MBI_CMDLINE_MAX) {
    return { ok: false, reason: `command line of ${cmd.length} bytes exceeds ${MBI_CMDLINE_MAX}` };
  }
  ram.zero(MBI_ADDRESS, MBI_PAGE_END - MBI_ADDRESS);
  let flags = FLAG_MEM | FLAG_MMAP | FLAG_LOADER_NAME;
  ram.write32(MBI_ADDRESS + 4, Math.min(ram.size, LOWER_MEMORY_END) >>> 10); // mem_lower, KiB from 0
  ram.write32(MBI_ADDRESS + 8, Math.max(0, ram.size - UPPER_MEMORY_START) >>> 10); // mem_upper, KiB from 1 MiB
  if (cmdline !== undefined) {
    ram.write(CMDLINE_ADDRESS, cmd); // NUL-terminated: the page was zeroed
    ram.write32(MBI_ADDRESS + 16, CMDLINE_ADDRESS);
    flags |= FLAG_CMDLINE;
  }
  if (modules.length > 0) {
    writeModules(ram, modules, strings);
    ram.write32(MBI_ADDRESS + 20, modules.length); // mods_count
    ram.write32(MBI_ADDRESS + 24, MODS_ADDRESS); // mods_addr
    flags |= FLAG_MODS;
  }
  const mmapLength = writeMemoryMap(ram);
  ram.write32(MBI_ADDRESS + 44, mmapLength);
  ram.write32(MBI_ADDRESS + 48, MMAP_ADDRESS);
  ram.write(NAME_ADDRESS, new TextEncoder().encode(LOADER_NAME));
  ram.write32(MBI_ADDRESS + 64, NAME_ADDRESS);
  ram.write32(MBI_ADDRESS, flags);
  return { ok: true, ebx: MBI_ADDRESS };
}

/** The module list at MODS_ADDRESS, each string NUL-terminated after the list. */
function writeModules(ram: GuestRam, modules: readonly LoadedModule[], strings: readonly Uint8Array[]): void {
  ram.zero(MODS_ADDRESS, MBI_ADDRESS - MODS_ADDRESS);
  let str = MODS_ADDRESS + modules.length * MOD_ENTRY_SIZE;
  modules.forEach((m, i) => {
    const at = MODS_ADDRESS + i * MOD_ENTRY_SIZE;
    ram.write32(at, m.start);
    ram.write32(at + 4, m.end);
    ram.write32(at + 8, str);
    ram.write(str, strings[i]);
    str += strings[i].length + 1;
  });
}

/**
 * The PC memory map; returns its length in bytes. E820 type 1 (RAM) is
 * Multiboot's "available RAM"; every other type is a reserved area (§3.3).
 */
function writeMemoryMap(ram: GuestRam): number {
  let at = MMAP_ADDRESS;
  for (const r of pcMemoryMap(ram.size)) {
    ram.write32(at, MMAP_ENTRY_SIZE - 4); // `size` excludes itself
    ram.write32(at + 4, r.base); // base_addr, low half (high half 0)
    ram.write32(at + 12, r.length); // length, low half
    ram.write32(at + 20, r.type);
    at += MMAP_ENTRY_SIZE;
  }
  return at - MMAP_ADDRESS;
}
