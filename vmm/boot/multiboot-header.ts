// The Multiboot header an OS image carries (Multiboot Specification 0.6.96,
// §3.1 "OS image format"): magic 0x1BADB002, flags, checksum (the three sum
// to 0 mod 2^32), 32-bit aligned and wholly within the first 8192 bytes;
// with flags bit 16, the address fields at offsets 12-28 say where to load
// the image ("a.out kludge"). Bits 0-15 are requirements: a loader that
// cannot meet one must refuse the image (§3.1.2).
import type { GuestRam } from "../guest-ram.js";
import { hex, sizeText } from "../hex.js";
import { type LoadResult, loadError } from "./loaded-image.js";

export const MULTIBOOT_HEADER_MAGIC = 0x1bad_b002;
const SEARCH_BYTES = 8192;
/** Flags bit 0: modules page-aligned; bit 1: memory information; bit 2: video mode table; bit 16: address fields valid. */
export const MbFlag = { PAGE_ALIGN: 1 << 0, MEMORY_INFO: 1 << 1, VIDEO_MODE: 1 << 2, AOUT_KLUDGE: 1 << 16 } as const;
/** Requirements this loader meets: it always page-aligns modules and always passes memory information. */
const MET = MbFlag.PAGE_ALIGN | MbFlag.MEMORY_INFO;

export interface AddressFields {
  headerAddr: number;
  loadAddr: number;
  loadEndAddr: number;
  bssEndAddr: number;
  entryAddr: number;
}

export interface MultibootHeader {
  /** File offset of the magic. */
  offset: number;
  flags: number;
  /** Present when flags bit 16 is set. */
  addresses: AddressFields | null;
}

export type HeaderResult = { ok: true; header: MultibootHeader | null } | { ok: false; error: string };

/** Finds the first valid header (magic and checksum) in the first 8 KiB; null if the image has none. */
export function findMultibootHeader(image: Uint8Array): HeaderResult {
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const end = Math.min(image.length, SEARCH_BYTES) - 12;
  for (let at = 0; at <= end; at += 4) {
    if (v.getUint32(at, true) !== MULTIBOOT_HEADER_MAGIC) continue;
    const flags = v.getUint32(at + 4, true);
    if (((MULTIBOOT_HEADER_MAGIC + flags + v.getUint32(at + 8, true)) & 0xffff_ffff) !== 0) continue;
    const unmet = flags & 0xffff & ~MET;
    if (unmet) {
      const what = unmet & MbFlag.VIDEO_MODE ? "a video mode (bit 2; the VM has no display)" : `bits ${hex(unmet)}`;
      return {
        ok: false,
        error: `multiboot: the header at ${hex(at)} requires ${what}, which this loader cannot provide`,
      };
    }
    if (!(flags & MbFlag.AOUT_KLUDGE)) return { ok: true, header: { offset: at, flags, addresses: null } };
    if (at + 32 > image.length)
      return { ok: false, error: `multiboot: the header at ${hex(at)} is cut off by the end of the file` };
    const f = (i: number) => v.getUint32(at + 12 + 4 * i, true);
    const addresses = { headerAddr: f(0), loadAddr: f(1), loadEndAddr: f(2), bssEndAddr: f(3), entryAddr: f(4) };
    return { ok: true, header: { offset: at, flags, addresses } };
  }
  return { ok: true, header: null };
}

/**
 * Loads an image by its header's address fields (§3.1.3): the file from
 * offset (header offset - (header_addr - load_addr)) goes to load_addr, up
 * to load_end_addr (0: the rest of the file), then zeros up to bss_end_addr
 * (0: none). Every field is checked against the file and RAM first.
 */
export function loadByAddressFields(image: Uint8Array, h: MultibootHeader, ram: GuestRam): LoadResult {
  const a = h.addresses;
  if (!a) return loadError("multiboot: the header has no address fields (flags bit 16 clear)");
  if (a.loadAddr > a.headerAddr) {
    return loadError(`multiboot: load_addr ${hex(a.loadAddr)} is above header_addr ${hex(a.headerAddr)}`);
  }
  const fileStart = h.offset - (a.headerAddr - a.loadAddr);
  if (fileStart < 0) return loadError(`multiboot: header_addr - load_addr reaches before the start of the file`);
  const fileBytes = a.loadEndAddr === 0 ? image.length - fileStart : a.loadEndAddr - a.loadAddr;
  if (a.loadEndAddr !== 0 && a.loadEndAddr < a.loadAddr) {
    return loadError(`multiboot: load_end_addr ${hex(a.loadEndAddr)} is below load_addr ${hex(a.loadAddr)}`);
  }
  if (fileStart + fileBytes > image.length) {
    return loadError(`multiboot: load_end_addr ${hex(a.loadEndAddr)} needs more than the file's ${image.length} bytes`);
  }
  const loadEnd = a.loadAddr + fileBytes;
  if (a.bssEndAddr !== 0 && a.bssEndAddr < loadEnd) {
    return loadError(
      `multiboot: bss_end_addr ${hex(a.bssEndAddr)} is below the end of the loaded image ${hex(loadEnd)}`,
    );
  }
  const end = a.bssEndAddr === 0 ? loadEnd : a.bssEndAddr;
  if (!ram.contains(a.loadAddr, end - a.loadAddr)) {
    return loadError(`multiboot: image at ${hex(a.loadAddr)}-${hex(end)} exceeds guest RAM of ${sizeText(ram.size)}`);
  }
  if (a.entryAddr < a.loadAddr || a.entryAddr >= end) {
    return loadError(
      `multiboot: entry_addr ${hex(a.entryAddr)} is outside the loaded image ${hex(a.loadAddr)}-${hex(end)}`,
    );
  }
  ram.write(a.loadAddr, image.subarray(fileStart, fileStart + fileBytes));
  ram.zero(loadEnd, end - loadEnd);
  return { ok: true, entry: a.entryAddr, ranges: [{ start: a.loadAddr, length: end - a.loadAddr }] };
}
