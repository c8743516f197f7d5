// Flat binary loader: the file's bytes at one guest-physical address, entry
// at the first byte (what `objcopy -O binary` of a program linked there gives).
import type { GuestRam } from "../guest-ram.js";
import { hex, sizeText } from "../hex.js";
import { type LoadResult, loadError } from "./loaded-image.js";

export const FLAT_DEFAULT_LOAD_ADDRESS = 0x10_0000;

export function loadFlat(image: Uint8Array, ram: GuestRam, loadAddress = FLAT_DEFAULT_LOAD_ADDRESS): LoadResult {
  if (image.length === 0) return loadError("flat: image is empty");
  if (!Number.isInteger(loadAddress) || loadAddress < 0 || loadAddress > 0xffff_ffff) {
    return loadError(`flat: load address ${loadAddress} is not a 32-bit physical address`);
  }
  if (!ram.contains(loadAddress, image.length)) {
    return loadError(
      `flat: image of ${hex(image.length)} bytes at ${hex(loadAddress)} exceeds guest RAM of ${sizeText(ram.size)}`,
    );
  }
  ram.write(loadAddress, image);
  return { ok: true, entry: loadAddress, ranges: [{ start: loadAddress, length: image.length }] };
}
