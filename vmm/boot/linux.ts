// Linux's 32-bit boot protocol (Documentation/x86/boot.rst, "32-bit Boot
// Protocol", and Documentation/x86/zero-page.rst): the loader fills a
// struct boot_params (the "zero page") with the kernel's setup header and
// what firmware would have found, loads the protected-mode kernel, the
// initrd and the command line, and enters the kernel at code32_start in flat
// 32-bit protected mode, paging off, interrupts off, with ESI pointing to
// boot_params and a GDT holding __BOOT_CS (0x10) and __BOOT_DS (0x18).
//
// Guest-physical layout (all in conventional memory, below the EBDA/VGA area):
//   0x0500  GDT: null, null, __BOOT_CS flat code, __BOOT_DS flat data
//   0x7000  boot_params (4 KiB); the initial stack grows down from here
//   0x8000  command line (up to 32 KiB - 1 and the kernel's cmdline_size)
//   1 MiB   protected-mode kernel (or pref_address for a relocatable one)
//   high    initrd, page-aligned, as high as RAM and initrd_addr_max allow
import type { GuestRam } from "../guest-ram.js";
import { hex, sizeText } from "../hex.js";
import { DEFAULT_LOAD, Hdr, parseBzImage, type SetupHeader } from "./bzimage.js";
import { pcMemoryMap, UPPER_MEMORY_START } from "./memory-map.js";

export const GDT_ADDRESS = 0x500;
export const BOOT_PARAMS_ADDRESS = 0x7000;
export const CMDLINE_ADDRESS = 0x8000;
const CMDLINE_AREA = 0x8000;
/** boot.rst: __BOOT_CS and __BOOT_DS. */
export const BOOT_CS = 0x10;
export const BOOT_DS = 0x18;
/** Flat 4 GiB descriptors (SDM Vol. 3A §3.4.5): base 0, limit 0xFFFFF pages, G=1, D=1, P=1, DPL 0, S=1. */
const FLAT_CODE = [0x0000_ffff, 0x00cf_9b00] as const; // type 0xB: execute/read, accessed
const FLAT_DATA = [0x0000_ffff, 0x00cf_9300] as const; // type 0x3: read/write, accessed
const GDT_ENTRIES = 4;

/** zero-page.rst offsets. */
const ZP = {
  EXT_MEM_K: 0x002,
  ALT_MEM_K: 0x1e0,
  E820_ENTRIES: 0x1e8,
  E820_TABLE: 0x2d0,
} as const;
const E820_ENTRY_SIZE = 20;
/** boot.rst: type_of_loader 0xFF, "undefined" (no assigned loader ID). */
const LOADER_UNDEFINED = 0xff;
const PAGE = 4096;

export interface LinuxBoot {
  ok: true;
  /** code32_start: where the vCPU starts. */
  entry: number;
  /** ESI: guest-physical address of boot_params. */
  bootParams: number;
  gdtBase: number;
  gdtLimit: number;
  /** Where the protected-mode kernel and the initrd went. */
  kernelLoad: number;
  initrd: { start: number; size: number } | null;
}

export type LinuxResult = LinuxBoot | { ok: false; error: string };

const fail = (error: string): LinuxResult => ({ ok: false, error: `linux: ${error}` });
const alignUp = (v: number, a: number) => Math.ceil(v / a) * a;
const alignDown = (v: number, a: number) => Math.floor(v / a) * a;

/** Loads a bzImage, its initrd and command line into `ram` and writes boot_params. Nothing is written on error. */
export function loadLinux(
  ram: GuestRam,
  kernel: Uint8Array,
  initrd: Uint8Array | undefined,
  cmdline = "",
): LinuxResult {
  const parsed = parseBzImage(kernel);
  if (!parsed.ok) return parsed;
  const h = parsed.header;
  if (ram.size <= UPPER_MEMORY_START) return fail(`guest RAM of ${sizeText(ram.size)} ends below 1 MiB`);
  const cmd = new TextEncoder().encode(cmdline);
  const cmdMax = Math.min(h.cmdlineSize, CMDLINE_AREA - 1);
  if (cmd.length > cmdMax) return fail(`command line of ${cmd.length} bytes exceeds the kernel's limit of ${cmdMax}`);
  const place = placeKernel(h, ram.size);
  if (typeof place === "string") return fail(place);
  const rd = initrd && initrd.length > 0 ? placeInitrd(h, initrd.length, place.end, ram.size) : null;
  if (typeof rd === "string") return fail(rd);

  ram.write(place.load, kernel.subarray(h.kernelOffset, h.kernelOffset + h.kernelSize));
  if (rd && initrd) ram.write(rd.start, initrd);
  ram.zero(CMDLINE_ADDRESS, cmd.length + 1);
  ram.write(CMDLINE_ADDRESS, cmd);
  writeGdt(ram);
  writeBootParams(ram, kernel, h, place.load, rd);
  return {
    ok: true,
    entry: place.load,
    bootParams: BOOT_PARAMS_ADDRESS,
    gdtBase: GDT_ADDRESS,
    gdtLimit: GDT_ENTRIES * 8 - 1,
    kernelLoad: place.load,
    initrd: rd,
  };
}

/**
 * Where the protected-mode kernel goes and where the memory it needs ends.
 * boot.rst: a relocatable kernel may be loaded at pref_address (a relocating
 * loader "should attempt to"), otherwise at 1 MiB; it runs at its load
 * address rounded up to kernel_alignment, a non-relocatable one at
 * pref_address ("will unconditionally move itself"). init_size bytes from
 * that runtime start must be RAM.
 */
function placeKernel(h: SetupHeader, ramSize: number): { load: number; end: number } | string {
  const need = (load: number) => {
    const runtime = h.relocatable ? alignUp(load, h.kernelAlignment) : h.prefAddress;
    return Math.max(load + h.kernelSize, runtime + h.initSize);
  };
  if (h.relocatable && h.prefAddress >= UPPER_MEMORY_START && need(h.prefAddress) <= ramSize) {
    return { load: h.prefAddress, end: need(h.prefAddress) };
  }
  const end = need(DEFAULT_LOAD);
  if (end > ramSize) {
    return `the kernel needs RAM up to ${hex(end)} (init_size ${hex(h.initSize)}), more than the VM's ${sizeText(ramSize)}`;
  }
  return { load: DEFAULT_LOAD, end };
}

/** boot.rst: the initrd as high as possible, its last byte at or below initrd_addr_max; page-aligned here. */
function placeInitrd(
  h: SetupHeader,
  size: number,
  kernelEnd: number,
  ramSize: number,
): { start: number; size: number } | string {
  const top = Math.min(h.initrdAddrMax + 1, ramSize);
  const start = alignDown(top - size, PAGE);
  if (start < alignUp(kernelEnd, PAGE)) {
    return `initrd of ${size} bytes does not fit between the kernel's end ${hex(kernelEnd)} and ${hex(top)} (RAM ${sizeText(ramSize)}, initrd_addr_max ${hex(h.initrdAddrMax)})`;
  }
  return { start, size };
}

function writeGdt(ram: GuestRam): void {
  ram.zero(GDT_ADDRESS, GDT_ENTRIES * 8);
  ram.write32(GDT_ADDRESS + BOOT_CS, FLAT_CODE[0]);
  ram.write32(GDT_ADDRESS + BOOT_CS + 4, FLAT_CODE[1]);
  ram.write32(GDT_ADDRESS + BOOT_DS, FLAT_DATA[0]);
  ram.write32(GDT_ADDRESS + BOOT_DS + 4, FLAT_DATA[1]);
}

/** boot.rst "32-bit Boot Protocol": zeroed boot_params, the setup header copied in from 0x1F1, loader fields set. */
function writeBootParams(
  ram: GuestRam,
  kernel: Uint8Array,
  h: SetupHeader,
  load: number,
  rd: { start: number; size: number } | null,
): void {
  const bp = BOOT_PARAMS_ADDRESS;
  ram.zero(bp, PAGE);
  ram.write(bp + Hdr.SETUP_SECTS, kernel.subarray(Hdr.SETUP_SECTS, h.headerEnd));
  ram.bytes[bp + Hdr.TYPE_OF_LOADER] = LOADER_UNDEFINED;
  ram.write32(bp + Hdr.CODE32_START, load);
  ram.write32(bp + Hdr.RAMDISK_IMAGE, rd ? rd.start : 0);
  ram.write32(bp + Hdr.RAMDISK_SIZE, rd ? rd.size : 0);
  ram.write32(bp + Hdr.CMD_LINE_PTR, CMDLINE_ADDRESS);
  // screen_info: only the extended memory size. orig_video_lines = cols = 0
  // tell the VGA console there is no text screen (there is none).
  const extKiB = Math.floor((ram.size - UPPER_MEMORY_START) / 1024);
  ram.bytes[bp + ZP.EXT_MEM_K] = Math.min(extKiB, 0xffff) & 0xff;
  ram.bytes[bp + ZP.EXT_MEM_K + 1] = Math.min(extKiB, 0xffff) >>> 8;
  ram.write32(bp + ZP.ALT_MEM_K, extKiB);
  const map = pcMemoryMap(ram.size);
  ram.bytes[bp + ZP.E820_ENTRIES] = map.length;
  map.forEach((r, i) => {
    const at = bp + ZP.E820_TABLE + i * E820_ENTRY_SIZE;
    ram.write32(at, r.base); // addr, low half (high half 0: RAM ends below 4 GiB)
    ram.write32(at + 8, r.length); // size, low half
    ram.write32(at + 16, r.type);
  });
}
