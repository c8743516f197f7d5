// Reads a VM's boot files for the root task (the VMM has no file access of
// its own; it gets the bytes): an ELF or flat image with its Multiboot
// modules, or a Linux kernel with its initrd. The image format is told by the
// ELF magic unless the config names it; the VMM's loaders check the rest.
import { readFileSync, statSync } from "node:fs";
import type { ImageFormat, VmSpec } from "./config.js";

export class ImageError extends Error {}

/** Largest image the root task will read: bigger cannot fit guest RAM anyway. */
const MAX_IMAGE = 3 * 1024 * 1024 * 1024;

const isElf = (b: Uint8Array) => b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;

/** What the root task passes to the VMM to boot (vmm-host.ts VmmBootData). */
export interface BootFiles {
  image: Uint8Array;
  format: ImageFormat;
  kernel?: Uint8Array;
  initrd?: Uint8Array;
  modules?: { bytes: Uint8Array; cmdline: string }[];
  /** A firmware ROM (readFirmware): the VM starts at its reset vector instead of loading `image`. */
  firmware?: Uint8Array;
}

/** ROM sizes a PC's flash part has (64 KiB steps up to 256 KiB; its last 128 KiB at most are aliased below 1 MiB). */
export const FIRMWARE_STEP = 64 * 1024;
export const FIRMWARE_MAX = 256 * 1024;

/** Reads every file `spec` boots from; throws ImageError naming the file. */
export function readBootFiles(spec: VmSpec): BootFiles {
  if (spec.firmware !== undefined)
    return { image: new Uint8Array(0), format: "flat", firmware: readFirmware(spec.firmware) };
  if (spec.kernel !== undefined) {
    const kernel = readFile(spec.kernel, "Linux kernel");
    const initrd = spec.initrd === undefined ? undefined : readFile(spec.initrd, "initrd");
    return { image: new Uint8Array(0), format: "flat", kernel, ...(initrd ? { initrd } : {}) };
  }
  if (spec.image === undefined) throw new ImageError(`VM ${spec.name}: neither an image nor a kernel to boot`);
  const { bytes, format } = readImage(spec.image, spec.format);
  if (!spec.modules?.length) return { image: bytes, format };
  const modules = spec.modules.map((m) => ({ bytes: readFile(m.path, "Multiboot module"), cmdline: m.cmdline }));
  return { image: bytes, format, modules };
}

/** A firmware ROM: a whole number of 64 KiB blocks, at most 256 KiB, so that its top sits at 4 GiB and its reset vector at FFFFFFF0H. */
export function readFirmware(path: string): Uint8Array {
  const bytes = readFile(path, "firmware ROM");
  if (bytes.length % FIRMWARE_STEP !== 0 || bytes.length > FIRMWARE_MAX) {
    throw new ImageError(
      `${path}: firmware ROM of ${bytes.length} bytes: must be a multiple of 64 KiB, at most 256 KiB (64K, 128K, 192K or 256K)`,
    );
  }
  return bytes;
}

/** A whole file of at most MAX_IMAGE bytes; `what` names it in errors. Empty files are refused. */
function readFile(path: string, what: string): Uint8Array {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new ImageError(`${path}: ${what} is not a regular file`);
    size = st.size;
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw new ImageError(`${path}: cannot read ${what}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (size === 0) throw new ImageError(`${path}: ${what} is empty`);
  if (size > MAX_IMAGE) throw new ImageError(`${path}: ${what} of ${size} bytes is larger than any guest RAM`);
  return new Uint8Array(readFileSync(path));
}

export function readImage(path: string, format?: ImageFormat): { bytes: Uint8Array; format: ImageFormat } {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new ImageError(`${path}: not a regular file`);
    size = st.size;
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw new ImageError(
      `${path}: cannot read guest image: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  if (size === 0) throw new ImageError(`${path}: guest image is empty`);
  if (size > MAX_IMAGE) throw new ImageError(`${path}: guest image of ${size} bytes is larger than any guest RAM`);
  const bytes = new Uint8Array(readFileSync(path));
  const elf = isElf(bytes);
  if (format === "elf" && !elf)
    throw new ImageError(`${path}: not an ELF file (bad magic), but the config says format "elf"`);
  if (!format && !elf && !/\.(bin|img|raw)$/i.test(path))
    throw new ImageError(`${path}: not an ELF file (bad magic); for a flat binary give format "flat" (--format flat)`);
  return { bytes, format: format ?? (elf ? "elf" : "flat") };
}
