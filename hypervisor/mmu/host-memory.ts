// The host-physical address space of the emulated machine: a set of memory
// objects (a VM's RAM is a SharedArrayBuffer the root task adds here), each
// placed at a 4 KiB-aligned host-physical address (HPA). Regions never
// overlap and all lie below HOST_PHYS_LIMIT, so the EPT's private table pool
// (ept-table-pool.ts) can live above it without collision.

/** Regions lie below 2^40; the EPT table pool starts there. */
export const HOST_PHYS_LIMIT = 2 ** 40;
export const PAGE_SIZE = 4096;

export interface HostRegion {
  /** HPA of byte 0, 4 KiB aligned. */
  base: number;
  /** Bytes of memory (bytes.length). */
  size: number;
  bytes: Uint8Array;
  /** Position in HostMemory.regions. */
  index: number;
  /**
   * The same memory as 32-bit words when bytes.byteOffset is 4-aligned (else
   * null): paging-structure entries are updated with Atomics on it (SDM Vol. 3A
   * §4.8: A/D updates are locked read-modify-writes), since a VMM worker may
   * write the same SharedArrayBuffer concurrently.
   */
  words: Int32Array | null;
}

export class HostMemory {
  readonly regions: HostRegion[] = [];
  /** Last region find() hit: most accesses fall in the region of the previous one. */
  private last: HostRegion | null = null;

  /**
   * Place `bytes` at `base` (4 KiB aligned) or, without it, at the first
   * 4 KiB-aligned HPA above every region. Returns the base. Throws RangeError
   * on a misaligned, overlapping, empty or out-of-range placement.
   */
  add(bytes: Uint8Array, base?: number): number {
    const size = bytes.length;
    if (size === 0) throw new RangeError("HostMemory.add: empty memory object");
    const at = base ?? this.firstFreeBase();
    if (!Number.isSafeInteger(at) || at < 0 || at % PAGE_SIZE !== 0) {
      throw new RangeError(`HostMemory.add: base ${at} is not a 4 KiB-aligned address`);
    }
    const end = at + roundUp(size);
    if (end > HOST_PHYS_LIMIT) throw new RangeError(`HostMemory.add: region ends above 2^40 (${end})`);
    for (const r of this.regions) {
      if (at < r.base + roundUp(r.size) && r.base < end) {
        throw new RangeError(`HostMemory.add: [${hex(at)}, ${hex(end)}) overlaps region ${r.index} at ${hex(r.base)}`);
      }
    }
    const words = bytes.byteOffset % 4 === 0 ? new Int32Array(bytes.buffer, bytes.byteOffset, size >>> 2) : null;
    this.regions.push({ base: at, size, bytes, index: this.regions.length, words });
    return at;
  }

  /** The region holding byte `hpa`, or null if no memory is there. Does not allocate. */
  find(hpa: number): HostRegion | null {
    const last = this.last;
    if (last !== null && hpa >= last.base && hpa < last.base + last.size) return last;
    const regions = this.regions;
    for (let i = 0; i < regions.length; i++) {
      const r = regions[i];
      if (hpa >= r.base && hpa < r.base + r.size) {
        this.last = r;
        return r;
      }
    }
    return null;
  }

  private firstFreeBase(): number {
    let top = 0;
    for (const r of this.regions) top = Math.max(top, r.base + roundUp(r.size));
    return top;
  }
}

/**
 * Little-endian 32-bit read at `hpa`. Bytes where no memory is read as 0xFF,
 * as an undriven PC bus does; the result is an unsigned 32-bit number.
 */
export function readPhys32(host: HostMemory, hpa: number): number {
  const r = host.find(hpa);
  if (r !== null) {
    const off = hpa - r.base;
    if ((off & 3) === 0 && r.words !== null && off + 4 <= r.size) return r.words[off >>> 2] >>> 0;
  }
  let v = 0;
  for (let i = 3; i >= 0; i--) v = v * 256 + readPhys8(host, hpa + i);
  return v;
}

/** Little-endian 32-bit write at `hpa`; bytes where no memory is are dropped. */
export function writePhys32(host: HostMemory, hpa: number, value: number): void {
  const r = host.find(hpa);
  if (r !== null) {
    const off = hpa - r.base;
    if ((off & 3) === 0 && r.words !== null && off + 4 <= r.size) {
      r.words[off >>> 2] = value | 0;
      return;
    }
  }
  for (let i = 0; i < 4; i++) writePhys8(host, hpa + i, (value >>> (8 * i)) & 0xff);
}

export function readPhys8(host: HostMemory, hpa: number): number {
  const r = host.find(hpa);
  return r === null ? 0xff : r.bytes[hpa - r.base];
}

export function writePhys8(host: HostMemory, hpa: number, value: number): void {
  const r = host.find(hpa);
  if (r !== null) r.bytes[hpa - r.base] = value;
}

function roundUp(size: number): number {
  return Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
