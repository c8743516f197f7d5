// Reads a guest image for the root task (the VMM has no file access of its
// own; it gets the bytes). The format is told by the ELF magic unless the
// config names it; the VMM's loader checks the rest.
import { readFileSync, statSync } from "node:fs";
import type { ImageFormat } from "./config.js";

export class ImageError extends Error {}

/** Largest image the root task will read: bigger cannot fit guest RAM anyway. */
const MAX_IMAGE = 3 * 1024 * 1024 * 1024;

const isElf = (b: Uint8Array) => b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;

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
