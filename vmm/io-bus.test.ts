// Oracle: the PC/AT I/O bus: a read nobody decodes sees the pulled-up data
// lines (all ones), and a 16/32-bit access to an 8-bit device is carried out
// as consecutive byte cycles, low byte at the lowest port (IA-32
// little-endian port order, SDM Vol. 1 §19.2 "I/O Port Addressing").
import { describe, expect, it } from "vitest";
import type { IoDevice, IoSize } from "../devices/io-device.js";
import { IoBus } from "./io-bus.js";

class ByteRegs implements IoDevice {
  readonly name = "regs";
  readonly ioWidth = 1;
  readonly log: string[] = [];
  constructor(
    readonly ports: { base: number; count: number }[],
    readonly regs = new Map<number, number>(),
  ) {}
  ioRead(port: number, size: IoSize): number {
    this.log.push(`r${size}@${port.toString(16)}`);
    return this.regs.get(port) ?? 0;
  }
  ioWrite(port: number, size: IoSize, value: number): void {
    this.log.push(`w${size}@${port.toString(16)}=${value.toString(16)}`);
    this.regs.set(port, value);
  }
}

describe("IoBus", () => {
  it("reads all ones from an unclaimed port for each access size", () => {
    const bus = new IoBus();
    expect(bus.read(0x80, 1)).toBe(0xff);
    expect(bus.read(0x80, 2)).toBe(0xffff);
    expect(bus.read(0x80, 4)).toBe(0xffff_ffff);
  });

  it("ignores writes to an unclaimed port", () => {
    const bus = new IoBus();
    expect(() => bus.write(0x80, 1, 0x55)).not.toThrow();
  });

  it("routes a byte access to the device that claims the port", () => {
    const dev = new ByteRegs([{ base: 0x3f8, count: 8 }]);
    const bus = new IoBus();
    bus.attach(dev);
    bus.write(0x3ff, 1, 0xa5);
    expect(bus.read(0x3ff, 1)).toBe(0xa5);
    expect(dev.log).toEqual(["w1@3ff=a5", "r1@3ff"]);
  });

  it("splits a 16-bit access to an 8-bit device into two byte cycles, low byte first", () => {
    const dev = new ByteRegs([{ base: 0x70, count: 2 }]);
    const bus = new IoBus();
    bus.attach(dev);
    bus.write(0x70, 2, 0x1234);
    expect(dev.log).toEqual(["w1@70=34", "w1@71=12"]);
    expect(bus.read(0x70, 2)).toBe(0x1234);
  });

  it("a 32-bit read straddling the end of a device fills the unclaimed bytes with ones", () => {
    const dev = new ByteRegs(
      [{ base: 0x70, count: 2 }],
      new Map([
        [0x70, 0x11],
        [0x71, 0x22],
      ]),
    );
    const bus = new IoBus();
    bus.attach(dev);
    expect(bus.read(0x70, 4)).toBe(0xffff_2211);
  });

  it("refuses overlapping claims", () => {
    const bus = new IoBus();
    bus.attach(new ByteRegs([{ base: 0x3f8, count: 8 }]));
    expect(() => bus.attach(new ByteRegs([{ base: 0x3ff, count: 1 }]))).toThrow(/overlaps .* at port 0x3ff/);
  });
});
