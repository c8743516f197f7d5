// The guest-physical address space as an emulated access sees it: the MMIO
// bus's RAM overlay in its range (the PAM window: the chipset decodes it
// before DRAM), then RAM (the EPT maps it, so RAM wins over a device claiming
// the same range), then MMIO devices, then nothing. Like an unclaimed bus cycle, a read of nothing
// returns all ones and a write is dropped; the first such access to each
// page is reported once through `onUnclaimed`. An access that straddles two
// of these (RAM into a device, a device's end) is split into bytes, each
// going where its own address says, little-endian (SDM Vol. 1 §1.3.1).
// Every RAM access is bounds-checked: guest addresses are never trusted.
import type { MmioDevice, MmioSize } from "../../devices/mmio-device.js";
import type { GuestRam } from "../guest-ram.js";
import type { MmioBus } from "./mmio-bus.js";

const MASK = [0, 0xff, 0xffff, 0, 0xffff_ffff] as const;
/** Pages remembered as already reported; past this, reports stop (bounded memory). */
const REPORT_PAGES = 256;

export type UnclaimedReport = (gpa: number, write: boolean) => void;

export class GuestPhysical {
  /** Count of byte-or-wider accesses that hit nothing. */
  unclaimed = 0;
  private readonly reported = new Set<number>();

  constructor(
    readonly ram: GuestRam,
    readonly mmio: MmioBus,
    private readonly onUnclaimed: UnclaimedReport | null = null,
  ) {}

  /** True when all of [gpa, gpa + size) is RAM (not under the overlay). */
  isRam(gpa: number, size: number): boolean {
    return this.ram.contains(gpa, size) && !this.overlaid(gpa, size);
  }

  /** Whether [gpa, gpa + size) meets the RAM overlay. */
  private overlaid(gpa: number, size: number): boolean {
    const o = this.mmio.ramOverlay;
    return o !== null && gpa < o.base + o.size && gpa + size > o.base;
  }

  read(gpa: number, size: MmioSize): number {
    if (this.isRam(gpa, size)) return ramRead(this.ram.bytes, gpa, size);
    const dev = this.mmio.find(gpa);
    if (dev !== null && fits(dev, gpa, size)) return (dev.mmioRead(gpa - dev.base, size) & MASK[size]) >>> 0;
    if (dev === null && this.emptyRun(gpa, size)) return this.missRead(gpa, size);
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.read(gpa + i, 1) << (8 * i);
    return v >>> 0;
  }

  write(gpa: number, size: MmioSize, value: number): void {
    if (this.isRam(gpa, size)) {
      ramWrite(this.ram.bytes, gpa, size, value);
      return;
    }
    const dev = this.mmio.find(gpa);
    if (dev !== null && fits(dev, gpa, size)) {
      dev.mmioWrite(gpa - dev.base, size, (value & MASK[size]) >>> 0);
      return;
    }
    if (dev === null && this.emptyRun(gpa, size)) {
      this.miss(gpa, true);
      return;
    }
    for (let i = 0; i < size; i++) this.write(gpa + i, 1, value >>> (8 * i));
  }

  /** No RAM and no device anywhere in [gpa, gpa + size). */
  private emptyRun(gpa: number, size: number): boolean {
    return gpa >= this.ram.size && this.mmio.nextBase(gpa) >= gpa + size;
  }

  private missRead(gpa: number, size: MmioSize): number {
    this.miss(gpa, false);
    return MASK[size];
  }

  private miss(gpa: number, write: boolean): void {
    this.unclaimed++;
    const page = Math.floor(gpa / 4096);
    if (this.onUnclaimed === null || this.reported.has(page) || this.reported.size >= REPORT_PAGES) return;
    this.reported.add(page);
    this.onUnclaimed(gpa, write);
  }
}

function fits(dev: MmioDevice, gpa: number, size: number): boolean {
  return gpa - dev.base + size <= dev.size;
}

function ramRead(b: Uint8Array, gpa: number, size: number): number {
  if (size === 1) return b[gpa];
  if (size === 2) return b[gpa] | (b[gpa + 1] << 8);
  return (b[gpa] | (b[gpa + 1] << 8) | (b[gpa + 2] << 16) | (b[gpa + 3] << 24)) >>> 0;
}

function ramWrite(b: Uint8Array, gpa: number, size: number, v: number): void {
  b[gpa] = v;
  if (size === 1) return;
  b[gpa + 1] = v >>> 8;
  if (size === 2) return;
  b[gpa + 2] = v >>> 16;
  b[gpa + 3] = v >>> 24;
}
