// PCI configuration mechanism #1 (PCI Local Bus Specification 2.1, §3.7.4.1):
// CONFIG_ADDRESS at 0xCF8 (a dword register: bit 31 enable, bus 23:16, device
// 15:11, function 10:8, register 7:2) and CONFIG_DATA at 0xCFC-0xCFF, where
// a byte, word or dword access at 0xCFC + n reaches register + n. Only a
// dword access at 0xCF8 is CONFIG_ADDRESS; other accesses to 0xCF8-0xCFB
// are ordinary I/O: 0xCF9 is the PIIX3 Reset Control register (82371SB
// datasheet, "RC - Reset Control Register"). Bus 0 holds the functions the
// VMM attached; configuration reads of anything else return all ones (no
// device answers: master abort), writes are dropped.
import type { IoDevice, IoRange, IoSize } from "./io-device.js";
import type { PciFunction } from "./pci-config-space.js";
import { SnapshotError, SnapshotReader, type Snapshotting } from "./snapshot.js";

export const CONFIG_ADDRESS = 0xcf8;
export const CONFIG_DATA = 0xcfc;
export const RESET_CONTROL = 0xcf9;
const ENABLE = 0x8000_0000;
/** Writable CONFIG_ADDRESS bits: enable, bus, device, function, register (bits 30:24 and 1:0 reserved, 0). */
const ADDRESS_MASK = 0x80ff_fffc;
const RC_SRST = 0x02;
const RC_RCPU = 0x04;

export interface PciHostOptions {
  /** Reset Control with RCPU written 1: the platform resets (Linux's reboot=pci). */
  onReset?: () => void;
}

export class PciHost implements IoDevice, Snapshotting {
  readonly name = "pci-host";
  readonly ports: readonly IoRange[] = [{ base: CONFIG_ADDRESS, count: 8 }];
  readonly ioWidth = 4;
  /** Bus 0's functions by devfn (device << 3 | function). */
  private readonly functions: (PciFunction | undefined)[] = new Array(256);
  private address = 0;
  private resetControl = 0;
  private readonly onReset: (() => void) | undefined;

  constructor(options: PciHostOptions = {}) {
    this.onReset = options.onReset;
  }

  /** Puts `fn` at bus 0, `device` (0-31), `func` (0-7); throws if taken (a VMM wiring bug). */
  attach(device: number, func: number, fn: PciFunction): void {
    if (!Number.isInteger(device) || device < 0 || device > 31 || !Number.isInteger(func) || func < 0 || func > 7) {
      throw new Error(`pci-host: no slot ${device}.${func}`);
    }
    const devfn = (device << 3) | func;
    if (this.functions[devfn]) throw new Error(`pci-host: slot ${device}.${func} is taken`);
    this.functions[devfn] = fn;
  }

  ioRead(port: number, size: IoSize): number {
    if (port >= CONFIG_DATA) return this.readData(port, size);
    if (port === CONFIG_ADDRESS && size === 4) return this.address >>> 0;
    let v = 0;
    for (let i = 0; i < size; i++) v |= (port + i === RESET_CONTROL ? this.resetControl : 0xff) << (8 * i);
    return v >>> 0;
  }

  ioWrite(port: number, size: IoSize, value: number): void {
    if (port >= CONFIG_DATA) {
      this.writeData(port, size, value);
    } else if (port === CONFIG_ADDRESS && size === 4) {
      this.address = (value & ADDRESS_MASK) >>> 0;
    } else if (port <= RESET_CONTROL && port + size > RESET_CONTROL) {
      this.writeResetControl((value >>> (8 * (RESET_CONTROL - port))) & 0xff);
    }
  }

  /** The function CONFIG_ADDRESS selects, if enabled, on bus 0, and present. */
  private target(): PciFunction | undefined {
    if (!(this.address & ENABLE) || (this.address >>> 16) & 0xff) return undefined;
    return this.functions[(this.address >>> 8) & 0xff];
  }

  /** An access within 0xCFC-0xCFF reaches the register as one access; bytes past 0xCFF float. */
  private readData(port: number, size: IoSize): number {
    const fn = this.target();
    const lane = port & 3;
    const base = this.address & 0xfc;
    if (lane + size <= 4) return fn ? fn.configRead(base + lane, size) : sizeMask(size);
    let v = 0;
    for (let i = 0; i < size; i++) {
      const b = fn && lane + i < 4 ? fn.configRead(base + lane + i, 1) : 0xff;
      v |= b << (8 * i);
    }
    return v >>> 0;
  }

  private writeData(port: number, size: IoSize, value: number): void {
    const fn = this.target();
    if (!fn) return;
    const lane = port & 3;
    const base = this.address & 0xfc;
    if (lane + size <= 4) {
      fn.configWrite(base + lane, size, value);
      return;
    }
    for (let i = 0; lane + i < 4; i++) fn.configWrite(base + lane + i, 1, (value >>> (8 * i)) & 0xff);
  }

  private writeResetControl(v: number): void {
    this.resetControl = v & RC_SRST; // RCPU self-clears once the reset starts
    if (v & RC_RCPU) this.onReset?.();
  }

  save(): unknown {
    const functions: unknown[] = [];
    this.functions.forEach((fn, devfn) => {
      if (fn) functions.push({ kind: "pci-slot", version: 1, devfn, state: fn.save() });
    });
    return { kind: "pci-host", version: 1, address: this.address, resetControl: this.resetControl, functions };
  }

  /** Restores the mechanism and every attached function (the snapshot must name exactly those slots), or nothing. */
  restore(state: unknown): void {
    const r = new SnapshotReader(state, "pci-host", 1);
    const address = r.uint("address", 32) & ADDRESS_MASK;
    const resetControl = r.uint("resetControl", 8) & RC_SRST;
    const attached = this.functions.filter((fn) => fn !== undefined).length;
    const seen = new Set<number>();
    const slots = r.children("functions", attached, "pci-slot", 1).map((slot) => {
      const devfn = slot.int("devfn", 0, 255);
      const fn = this.functions[devfn];
      if (seen.has(devfn)) throw new SnapshotError(`pci-host snapshot: slot ${devfn >>> 3}.${devfn & 7} appears twice`);
      seen.add(devfn);
      if (!fn) throw new SnapshotError(`pci-host snapshot: slot ${devfn >>> 3}.${devfn & 7} has no function here`);
      return { fn, state: slot.raw("state"), old: fn.save() };
    });
    try {
      for (const s of slots) s.fn.restore(s.state);
    } catch (e) {
      for (const s of slots) s.fn.restore(s.old);
      throw e;
    }
    this.address = address;
    this.resetControl = resetControl;
  }
}

function sizeMask(size: IoSize): number {
  return size === 4 ? 0xffff_ffff : (1 << (8 * size)) - 1;
}
