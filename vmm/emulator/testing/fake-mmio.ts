// Test support: an MmioDevice with a little register file that records every access.
import type { MmioDevice, MmioSize } from "../../../devices/mmio-device.js";

export interface MmioAccess {
  write: boolean;
  offset: number;
  size: MmioSize;
  value: number;
}

export class FakeMmio implements MmioDevice {
  readonly log: MmioAccess[] = [];
  readonly bytes: Uint8Array;

  constructor(
    readonly name: string,
    readonly base: number,
    readonly size: number,
  ) {
    this.bytes = new Uint8Array(size);
  }

  mmioRead(offset: number, size: MmioSize): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.bytes[offset + i] << (8 * i);
    this.log.push({ write: false, offset, size, value: v >>> 0 });
    return v >>> 0;
  }

  mmioWrite(offset: number, size: MmioSize, value: number): void {
    this.log.push({ write: true, offset, size, value });
    for (let i = 0; i < size; i++) this.bytes[offset + i] = value >>> (8 * i);
  }
}
