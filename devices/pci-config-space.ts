// One PCI function's 256-byte configuration space (PCI Local Bus
// Specification 2.1, chapter 6 "Configuration Space"): byte-addressed
// storage with a per-byte write mask, so fields the spec or the device's
// datasheet make read-only ignore writes, and a write-1-to-clear mask for
// status bits.
import { SnapshotReader, type Snapshotting } from "./snapshot.js";

export type PciAccessSize = 1 | 2 | 4;

/** What the host bridge's configuration mechanism talks to. */
export interface PciFunction extends Snapshotting {
  /** Reads `size` bytes at `offset` (0..255, offset + size <= 256), little-endian. */
  configRead(offset: number, size: PciAccessSize): number;
  configWrite(offset: number, size: PciAccessSize, value: number): void;
}

/** Type 0 header offsets (PCI 2.1 Figure 6-1). */
export const PciHeader = {
  VENDOR_ID: 0x00,
  DEVICE_ID: 0x02,
  COMMAND: 0x04,
  STATUS: 0x06,
  REVISION_ID: 0x08,
  CLASS_CODE: 0x09,
  CACHE_LINE_SIZE: 0x0c,
  LATENCY_TIMER: 0x0d,
  HEADER_TYPE: 0x0e,
  BIST: 0x0f,
} as const;

export interface PciIdentity {
  vendorId: number;
  deviceId: number;
  revisionId: number;
  /** Base class, sub-class, programming interface as one 24-bit number (0x060000: host bridge). */
  classCode: number;
  headerType: number;
}

export class PciConfigSpace implements PciFunction {
  readonly bytes = new Uint8Array(256);
  /** Bits software may write. Everything else is read-only (reset value kept). */
  readonly writeMask = new Uint8Array(256);
  /** Bits a 1 written clears (status error bits). */
  readonly clearMask = new Uint8Array(256);

  constructor(
    private readonly kind: string,
    id: PciIdentity,
  ) {
    this.set16(PciHeader.VENDOR_ID, id.vendorId);
    this.set16(PciHeader.DEVICE_ID, id.deviceId);
    this.bytes[PciHeader.REVISION_ID] = id.revisionId;
    this.bytes[PciHeader.CLASS_CODE] = id.classCode & 0xff;
    this.set16(PciHeader.CLASS_CODE + 1, id.classCode >>> 8);
    this.bytes[PciHeader.HEADER_TYPE] = id.headerType;
  }

  set16(offset: number, v: number): void {
    this.bytes[offset] = v & 0xff;
    this.bytes[offset + 1] = (v >>> 8) & 0xff;
  }

  /** Makes `mask` writable in the little-endian field of `width` bytes at `offset`. */
  writable(offset: number, width: number, mask: number): void {
    for (let i = 0; i < width; i++) this.writeMask[offset + i] = (mask >>> (8 * i)) & 0xff;
  }

  writeOneToClear(offset: number, width: number, mask: number): void {
    for (let i = 0; i < width; i++) this.clearMask[offset + i] = (mask >>> (8 * i)) & 0xff;
  }

  configRead(offset: number, size: PciAccessSize): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.bytes[(offset + i) & 0xff] << (8 * i);
    return v >>> 0;
  }

  configWrite(offset: number, size: PciAccessSize, value: number): void {
    for (let i = 0; i < size; i++) {
      const at = (offset + i) & 0xff;
      const b = (value >>> (8 * i)) & 0xff;
      const w = this.writeMask[at];
      this.bytes[at] = ((this.bytes[at] & ~w) | (b & w)) & ~(b & this.clearMask[at]);
    }
  }

  save(): unknown {
    return { kind: this.kind, version: 1, bytes: this.bytes.slice() };
  }

  /** Restores the writable and clearable bits only: identity and read-only fields stay as built. */
  restore(state: unknown): void {
    const bytes = new SnapshotReader(state, this.kind, 1).bytes("bytes", 256);
    for (let i = 0; i < 256; i++) {
      const m = this.writeMask[i] | this.clearMask[i];
      this.bytes[i] = (this.bytes[i] & ~m) | (bytes[i] & m);
    }
  }
}
