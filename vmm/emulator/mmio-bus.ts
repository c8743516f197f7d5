// The VM's memory-mapped device ranges: guest-physical [base, base + size)
// -> MmioDevice (devices/mmio-device.ts). The EPT maps RAM only, so every
// access here arrived as an EPT violation and went through the emulator.
import type { MmioDevice } from "../../devices/mmio-device.js";
import { hex } from "../hex.js";

/** Guest-physical addresses are 32 bits on this processor (MAXPHYADDR 32). */
const GPA_LIMIT = 2 ** 32;

/** A device whose bytes may be executed (a ROM, the PAM window): the emulator fetches instructions from it. */
export function isExecutable(d: MmioDevice): boolean {
  return (d as { readonly executable?: boolean }).executable === true;
}

export class MmioBus {
  /**
   * At most one device that decodes its range in front of RAM (the chipset's
   * PAM window over C0000h-FFFFFh): the emulator asks it before RAM there.
   */
  ramOverlay: MmioDevice | null = null;
  /** Sorted by base; ranges never overlap. A VM has a handful of devices, so a scan is enough. */
  private readonly devices: MmioDevice[] = [];
  private last: MmioDevice | null = null;

  /** Claims the device's range; throws on an empty, out-of-range or overlapping range (a VMM wiring bug). */
  attach(device: MmioDevice): void {
    const { base, size, name } = device;
    if (!Number.isInteger(base) || !Number.isInteger(size) || base < 0 || size <= 0 || base + size > GPA_LIMIT) {
      throw new Error(`MMIO bus: ${name} claims ${hex(base)}+${size} outside the 32-bit guest-physical space`);
    }
    for (const d of this.devices) {
      if (base < d.base + d.size && d.base < base + size) {
        throw new Error(`MMIO bus: ${name} at ${hex(base)}+${size} overlaps ${d.name} at ${hex(d.base)}+${d.size}`);
      }
    }
    this.devices.push(device);
    this.devices.sort((a, b) => a.base - b.base);
  }

  /** Attaches `device` and puts it in front of RAM in its range; throws if an overlay exists. */
  attachOverRam(device: MmioDevice): void {
    if (this.ramOverlay !== null)
      throw new Error(`MMIO bus: ${device.name} over RAM: ${this.ramOverlay.name} is there`);
    this.attach(device);
    this.ramOverlay = device;
  }

  /** The device decoding `gpa`, or null. */
  find(gpa: number): MmioDevice | null {
    const l = this.last;
    if (l !== null && gpa >= l.base && gpa - l.base < l.size) return l;
    for (const d of this.devices) {
      if (gpa < d.base) break;
      if (gpa - d.base < d.size) {
        this.last = d;
        return d;
      }
    }
    return null;
  }

  /** The lowest device base above `gpa`, or 2^32: where an unclaimed stretch ends. */
  nextBase(gpa: number): number {
    for (const d of this.devices) if (d.base > gpa) return d.base;
    return GPA_LIMIT;
  }
}
