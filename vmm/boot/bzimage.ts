// The real-mode kernel header of a Linux bzImage (Documentation/x86/boot.rst,
// "The Real-Mode Kernel Header" and "Details of Header Fields"): the fields
// a 32-bit boot loader reads, each at its documented file offset, checked
// against the file before anything is loaded.
import { hex } from "../hex.js";

/** File offsets of the setup header fields (boot.rst). */
export const Hdr = {
  SETUP_SECTS: 0x1f1,
  SYSSIZE: 0x1f4,
  BOOT_FLAG: 0x1fe,
  JUMP: 0x200,
  HEADER: 0x202,
  VERSION: 0x206,
  TYPE_OF_LOADER: 0x210,
  LOADFLAGS: 0x211,
  CODE32_START: 0x214,
  RAMDISK_IMAGE: 0x218,
  RAMDISK_SIZE: 0x21c,
  CMD_LINE_PTR: 0x228,
  INITRD_ADDR_MAX: 0x22c,
  KERNEL_ALIGNMENT: 0x230,
  RELOCATABLE_KERNEL: 0x234,
  CMDLINE_SIZE: 0x238,
  PREF_ADDRESS: 0x258,
  INIT_SIZE: 0x260,
} as const;

/** "HdrS", the magic at 0x202 (little-endian). */
export const HDRS_MAGIC = 0x5372_6448;
export const BOOT_FLAG = 0xaa55;
/** Protocol 2.06: the oldest this loader boots (cmdline_size exists from 2.06). */
export const MIN_PROTOCOL = 0x0206;
/** loadflags bit 0: the protected-mode code is loaded at 0x100000 (a bzImage, not a zImage). */
export const LOADED_HIGH = 0x01;
/** Where a bzImage's protected-mode kernel goes unless it is relocatable (boot.rst "Loading the rest"). */
export const DEFAULT_LOAD = 0x10_0000;

export interface SetupHeader {
  /** Protocol version, e.g. 0x020f for 2.15. */
  version: number;
  /** 512-byte sectors of real-mode code after the boot sector (0 means 4). */
  setupSects: number;
  /** File offset of the protected-mode kernel: (setup_sects + 1) * 512. */
  kernelOffset: number;
  /** Bytes of protected-mode code (syssize * 16). */
  kernelSize: number;
  loadflags: number;
  code32Start: number;
  /** Highest address the initrd may occupy (boot.rst: inclusive). */
  initrdAddrMax: number;
  kernelAlignment: number;
  relocatable: boolean;
  /** Longest command line without its NUL. */
  cmdlineSize: number;
  /** Preferred load address (protocol 2.10+), else DEFAULT_LOAD. */
  prefAddress: number;
  /** Memory the kernel needs from its runtime start before it reads the memory map (2.10+), else 0. */
  initSize: number;
  /** Offset just past the setup header: 0x202 + the byte at 0x201 (boot.rst). */
  headerEnd: number;
}

export type ParseResult = { ok: true; header: SetupHeader } | { ok: false; error: string };

const fail = (error: string): ParseResult => ({ ok: false, error: `linux: ${error}` });

/** Parses and checks the setup header of `image`; errors are one line starting "linux: ". */
export function parseBzImage(image: Uint8Array): ParseResult {
  if (image.length < Hdr.INIT_SIZE + 4) return fail(`kernel of ${image.length} bytes is too short for a setup header`);
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const u8 = (o: number) => v.getUint8(o);
  const u16 = (o: number) => v.getUint16(o, true);
  const u32 = (o: number) => v.getUint32(o, true);
  if (u32(Hdr.HEADER) !== HDRS_MAGIC) return fail(`no "HdrS" magic at 0x202: not a Linux kernel image`);
  if (u16(Hdr.BOOT_FLAG) !== BOOT_FLAG) return fail(`boot_flag at 0x1fe is ${hex(u16(Hdr.BOOT_FLAG))}, not 0xaa55`);
  const version = u16(Hdr.VERSION);
  if (version < MIN_PROTOCOL) {
    return fail(`boot protocol ${protocolText(version)} is older than 2.06, which this loader needs`);
  }
  const loadflags = u8(Hdr.LOADFLAGS);
  if ((loadflags & LOADED_HIGH) === 0) return fail("loadflags.LOADED_HIGH is clear: a zImage, not a bzImage");
  const setupSects = u8(Hdr.SETUP_SECTS) || 4;
  const kernelOffset = (setupSects + 1) * 512;
  const paragraphs = u32(Hdr.SYSSIZE) * 16;
  if (paragraphs === 0) return fail("syssize is 0: no protected-mode kernel");
  // syssize counts 16-byte paragraphs, rounded up: the last one may end past
  // the file (memtest86+ 6.10's image does), so the code is the rest of the
  // file then, as GRUB and QEMU load it. A whole paragraph missing is a truncation.
  const kernelSize = Math.min(paragraphs, image.length - kernelOffset);
  if (kernelOffset + paragraphs >= image.length + 16) {
    return fail(
      `truncated: setup_sects ${setupSects} and syssize ${paragraphs / 16} need ${kernelOffset + paragraphs} bytes, the file has ${image.length}`,
    );
  }
  const headerEnd = 0x202 + u8(Hdr.JUMP + 1);
  const kernelAlignment = u32(Hdr.KERNEL_ALIGNMENT);
  const relocatable = u8(Hdr.RELOCATABLE_KERNEL) !== 0;
  if (relocatable && (kernelAlignment === 0 || (kernelAlignment & (kernelAlignment - 1)) !== 0)) {
    return fail(`kernel_alignment ${hex(kernelAlignment)} is not a power of two`);
  }
  const modern = version >= 0x020a;
  const prefHigh = modern ? u32(Hdr.PREF_ADDRESS + 4) : 0;
  if (prefHigh !== 0) return fail(`pref_address ${hex(prefHigh)}:${hex(u32(Hdr.PREF_ADDRESS))} is above 4 GiB`);
  return {
    ok: true,
    header: {
      version,
      setupSects,
      kernelOffset,
      kernelSize,
      loadflags,
      code32Start: u32(Hdr.CODE32_START),
      initrdAddrMax: u32(Hdr.INITRD_ADDR_MAX),
      kernelAlignment,
      relocatable,
      cmdlineSize: u32(Hdr.CMDLINE_SIZE),
      prefAddress: modern ? u32(Hdr.PREF_ADDRESS) : DEFAULT_LOAD,
      initSize: modern ? u32(Hdr.INIT_SIZE) : 0,
      headerEnd: Math.min(headerEnd, image.length),
    },
  };
}

/** "2.15" for 0x020f. */
export function protocolText(version: number): string {
  return `${version >>> 8}.${(version & 0xff).toString().padStart(2, "0")}`;
}
